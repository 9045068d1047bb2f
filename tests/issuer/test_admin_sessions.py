"""``issuer.admin_sessions``: /admin sign-ins on the server, with an injected clock (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from issuer.admin_sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, AdminSessions, admin_sessions

T0 = 1_800_000_000


def _new(sessions: AdminSessions, sub: str = "sub-wang", sid: str = "sid-1", now: int = T0) -> str:
    return sessions.create(sub=sub, idp_sid=sid, name="王芳", subject="h" * 64, id_token="id.token.x", now=now)


def test_the_cookie_value_is_random_and_only_its_digest_is_stored(health_world):
    sessions = AdminSessions(health_world.desk.engine, health_world.desk.vault)
    a, b = _new(sessions), _new(sessions)
    assert a != b and len(a) >= 43
    with sessions.engine.connect() as conn:
        stored = {r.id_hash for r in conn.execute(select(admin_sessions))}
    assert a not in stored and b not in stored and len(stored) == 2
    found = sessions.get(a, T0 + 1)
    assert (found.sub, found.idp_sid, found.name, found.id_token) == ("sub-wang", "sid-1", "王芳", "id.token.x")
    assert len(found.csrf) >= 32 and found.csrf != sessions.get(b, T0 + 1).csrf
    for junk in (None, "", 5, "x" * 65, a + "x", a.upper()):
        assert sessions.get(junk, T0 + 1) is None


def test_idle_timeout_restarts_with_each_request(health_world):
    sessions = AdminSessions(health_world.desk.engine, health_world.desk.vault)
    sid = _new(sessions)
    assert sessions.get(sid, T0 + IDLE_TIMEOUT - 1) is not None  # active: the idle clock restarts
    assert sessions.get(sid, T0 + 2 * IDLE_TIMEOUT - 2) is not None
    assert sessions.get(sid, T0 + 3 * IDLE_TIMEOUT - 2) is None  # left alone 30 min
    assert sessions.get(sid, T0 + 2 * IDLE_TIMEOUT - 2) is None  # and gone for good (deleted)


def test_absolute_timeout_however_active(health_world):
    sessions = AdminSessions(health_world.desk.engine, health_world.desk.vault)
    sid = _new(sessions)
    now = T0
    while now + IDLE_TIMEOUT // 2 < T0 + ABSOLUTE_TIMEOUT:
        now += IDLE_TIMEOUT // 2
        assert sessions.get(sid, now) is not None
    assert sessions.get(sid, T0 + ABSOLUTE_TIMEOUT) is None
    assert sessions.get(sid, T0 - 1) is None  # gone, also for a clock set back


def test_a_clock_set_back_before_sign_in_does_not_revive_or_extend(health_world):
    sessions = AdminSessions(health_world.desk.engine, health_world.desk.vault)
    sid = _new(sessions)
    assert sessions.get(sid, T0 - 10) is None


def test_sign_out_and_back_channel_logout_end_exactly_their_sessions(health_world):
    sessions = AdminSessions(health_world.desk.engine, health_world.desk.vault)
    one, two, other_sid, other_sub = (_new(sessions, sid="sid-1"), _new(sessions, sid="sid-1"),
                                      _new(sessions, sid="sid-2"), _new(sessions, sub="sub-li", sid="sid-3"))
    assert sessions.end(one).id_token == "id.token.x"
    assert sessions.get(one, T0) is None and sessions.end(one) is None
    assert sessions.end_idp(sid="sid-1", sub="sub-li") == 0  # sid and sub must both match
    assert sessions.end_idp(sid="sid-1", sub=None) == 1
    assert sessions.get(two, T0) is None and sessions.get(other_sid, T0) is not None
    assert sessions.end_idp(sid=None, sub=None) == 0
    assert sessions.end_idp(sid=None, sub="sub-wang") == 1  # sub alone: every session of that person
    assert sessions.get(other_sid, T0) is None and sessions.get(other_sub, T0) is not None


def test_expired_rows_are_swept_at_the_next_sign_in(health_world):
    sessions = AdminSessions(health_world.desk.engine, health_world.desk.vault)
    _new(sessions)
    _new(sessions, now=T0 + ABSOLUTE_TIMEOUT + 1)
    with sessions.engine.connect() as conn:
        assert len(conn.execute(select(admin_sessions)).all()) == 1
