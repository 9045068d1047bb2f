"""Family-proxy invitations as an application service, on SQLite and PostgreSQL: state rules and races."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from issuer import health
from issuer.errors import ValidationError
from issuer.health import Person, proxy_store
from issuer.health.invitations import InvitationClosed, InvitationExpired, InvitationNotFound, ProxyInvitations
from tests.issuer.conftest import LI, WANG, ZHANG, ZHAO

ZHANG_P = Person(ZHANG, "张三", "13800138000")
LI_P = Person(LI, "李四", "13700137000")
WANG_P = Person(WANG, "王芳", "13900139000")
ZHAO_P = Person(ZHAO, "赵敏", None)


def test_invite_by_phone_or_id_number_reaches_the_holder_of_that_number(health_world):
    inv, now = ProxyInvitations(health_world.desk), int(time.time())
    by_phone = inv.invite(ZHANG_P, "+86 137 0013 7000", recorded_by="citizen:z", now=now)
    by_id = inv.invite(ZHANG_P, LI.lower(), recorded_by="citizen:z", now=now)
    nobody = inv.invite(ZHANG_P, "13900000001", recorded_by="citizen:z", now=now)
    assert len({by_phone, by_id, nobody}) == 3
    assert [r.id for r in inv.received(LI_P, now)] == [by_id, by_phone]
    assert inv.received(LI_P, now)[0].inviter == "张*"
    assert inv.received(Person(LI, "李四"), now)[0].id == by_id  # without a phone: only the ID-number one
    assert inv.received(WANG_P, now) == [] and inv.received(ZHANG_P, now) == []
    with health_world.desk.engine.connect() as conn:  # no raw number is kept
        rows = [dict(r._mapping) for r in conn.execute(select(proxy_store.health_invitations))]
    stored = repr(rows)
    assert "13700137000" not in stored and LI not in stored and "13900000001" not in stored
    assert {r["invitee_hint"] for r in rows} == {"137****7000", "440***********4569", "139****0001"}


def test_own_numbers_are_refused(health_world):
    inv, now = ProxyInvitations(health_world.desk), int(time.time())
    for own in (ZHANG, ZHANG_P.phone, "+86" + ZHANG_P.phone):
        with pytest.raises(ValidationError, match="own number"):
            inv.invite(ZHANG_P, own, recorded_by="citizen:z", now=now)


def test_accept_makes_one_grant_and_answers_are_final(health_world):
    inv, now = ProxyInvitations(health_world.desk), int(time.time())
    invitation_id = inv.invite(ZHANG_P, LI_P.phone, recorded_by="citizen:sub-zhang", now=now)
    with pytest.raises(InvitationNotFound):
        inv.answer(invitation_id, WANG_P, "accepted", now)
    with pytest.raises(InvitationNotFound):
        inv.answer(invitation_id, ZHANG_P, "accepted", now)  # the inviter is not the invitee
    received, grant = inv.answer(invitation_id, LI_P, "accepted", now)
    assert received.status == "accepted" and (grant.relative_name, grant.proxy_name) == ("张三", "李四")
    assert (grant.granted_via, grant.recorded_by) == ("self", "citizen:sub-zhang")
    assert inv.answer(invitation_id, LI_P, "accepted", now + 5)[1].id == grant.id
    with pytest.raises(InvitationClosed):
        inv.answer(invitation_id, LI_P, "declined", now)
    with pytest.raises(InvitationClosed):
        inv.withdraw(invitation_id, ZHANG, now)
    sent = inv.sent(ZHANG, now)[0]
    assert (sent.status, sent.name, sent.proxy_id) == ("accepted", "李四", grant.id)
    assert health_world.desk.proxies(LI)["held"][0].id == grant.id


def test_expiry_and_withdrawal(health_world):
    inv, now = ProxyInvitations(health_world.desk), int(time.time())
    old = inv.invite(ZHANG_P, LI, recorded_by="citizen:z", now=now - health.INVITATION_LIFETIME)
    assert inv.received(LI_P, now) == []
    with pytest.raises(InvitationExpired):
        inv.answer(old, LI_P, "accepted", now)
    assert inv.sent(ZHANG, now)[0].status == "expired"
    pending = inv.invite(ZHANG_P, LI, recorded_by="citizen:z", now=now)
    with pytest.raises(InvitationNotFound):
        inv.withdraw(pending, LI, now)
    assert inv.withdraw(pending, ZHANG, now).status == "withdrawn"
    with pytest.raises(InvitationClosed):
        inv.answer(pending, LI_P, "accepted", now)
    assert health_world.desk.proxies(LI)["held"] == []
    # rows expired for more than 30 days are purged by the next invitation
    inv.invite(ZHANG_P, WANG, recorded_by="citizen:z", now=now + health.INVITATION_LIFETIME + 31 * 24 * 3600)
    with pytest.raises(InvitationNotFound):
        inv.answer(old, LI_P, "accepted", now)


def test_concurrent_accepts_make_one_grant_and_accept_races_withdraw_cleanly(health_world):
    inv, now = ProxyInvitations(health_world.desk), int(time.time())
    invitation_id = inv.invite(ZHAO_P, WANG, recorded_by="citizen:zhao", now=now)
    barrier = threading.Barrier(6)

    def accept(_: int):
        barrier.wait()
        return inv.answer(invitation_id, WANG_P, "accepted", now)[1].id

    with ThreadPoolExecutor(6) as pool:
        assert len(set(pool.map(accept, range(6)))) == 1
    assert len(health_world.desk.proxies(ZHAO)["granted"]) == 1

    for _round in range(5):
        racing = inv.invite(ZHAO_P, LI, recorded_by="citizen:zhao", now=now)
        start = threading.Barrier(2)

        def answer(racing=racing, start=start):
            start.wait()
            try:
                return inv.answer(racing, LI_P, "accepted", now)[1]
            except InvitationClosed:
                return None

        def withdraw(racing=racing, start=start):
            start.wait()
            try:
                return inv.withdraw(racing, ZHAO, now)
            except InvitationClosed:
                return None

        with ThreadPoolExecutor(2) as pool:
            granted, withdrawn = pool.submit(answer), pool.submit(withdraw)
            granted, withdrawn = granted.result(), withdrawn.result()
        assert (granted is None) != (withdrawn is None)  # exactly one of them won
        held = [g for g in health_world.desk.proxies(LI)["held"] if g.ended_at is None]
        assert len(held) == (1 if granted is not None else 0)
        sent = {i.id: i.status for i in inv.sent(ZHAO, now)}
        assert sent.get(racing) == ("accepted" if granted is not None else None)  # withdrawn ones are not listed
        if granted is not None:
            health_world.desk.end_proxy(granted.id, ZHAO, by="citizen:zhao", now=now)


@given(st.one_of(st.none(), st.integers(), st.text(max_size=20), st.sampled_from(["accepted", "declined"])))
def test_answer_parser(value):
    try:
        assert health.parse_answer(value) in ("accepted", "declined")
    except ValidationError:
        assert value not in ("accepted", "declined")


@given(st.text(max_size=12))
def test_masked_names_keep_only_the_ends(name):
    masked = health.mask_name(name)
    stripped = name.strip()
    assert len(masked) == len(stripped) or (not stripped and masked == "")
    if len(stripped) >= 2:
        assert masked[0] == stripped[0] and set(masked[1:-1]) <= {"*"}
