"""A lost /token response must not sign the citizen out (issue 10 item 1), and reuse still revokes (RFC 9700
§4.14.2): retries within the grace window get the same pair; everything else presenting a used token revokes."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from idp.rotation import Attempt, Outcome, RotationPolicy, Stored, decide
from storage.errors import StorageUnavailable
from storage.kv import RedisStore
from tests.conftest import examples
from tests.idp.conftest import Browser
from tests.idp.test_negatives import exchange, get_code, refresh, userinfo


def signed_in(idp, **client_options) -> tuple[dict, dict]:
    client = idp.client(**client_options)
    return client, exchange(idp, client, get_code(idp, Browser(idp), client)).json()


def family_revoked(idp, refresh_token: str) -> bool:
    from idp.grants import digest

    with idp.provider.engine.connect() as conn:
        return conn.execute(text("SELECT f.revoked_at FROM idp_token_families f JOIN idp_refresh_tokens r "
                                 "ON r.family_id = f.family_id WHERE r.token_hash = :h"),
                            {"h": digest(refresh_token)}).scalar() is not None


def shift(idp, refresh_token: str, column: str, seconds: int) -> None:
    """Move a recorded instant into the past (the database's clock is the only one we do not control)."""
    from idp.grants import digest

    table = "idp_refresh_tokens" if column == "rotated_at" else "idp_token_families"
    where = ("token_hash = :h" if table == "idp_refresh_tokens" else
             "family_id = (SELECT family_id FROM idp_refresh_tokens WHERE token_hash = :h)")
    with idp.provider.engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET {column} = {column} - :s WHERE {where}"),  # fixed table and column names
                     {"s": seconds, "h": digest(refresh_token)})


def test_retry_of_a_lost_response_gets_the_same_pair(idp):
    client, tokens = signed_in(idp)
    first = refresh(idp, client, tokens["refresh_token"]).json()  # the client never saw this answer
    again = refresh(idp, client, tokens["refresh_token"])
    assert again.status_code == 200
    retried = again.json()
    assert (retried["access_token"], retried["refresh_token"]) == (first["access_token"], first["refresh_token"])
    assert 0 < retried["expires_in"] <= first["expires_in"] and retried["scope"] == first["scope"]
    assert userinfo(idp, retried["access_token"]) == 200
    assert not family_revoked(idp, tokens["refresh_token"])
    following = refresh(idp, client, retried["refresh_token"])  # the chain goes on from the pair it got
    assert following.status_code == 200


def test_concurrent_retries_all_get_one_pair(idp):
    client, tokens = signed_in(idp)
    answers, barrier = [], threading.Barrier(6)

    def send() -> None:
        barrier.wait()
        answers.append(refresh(idp, client, tokens["refresh_token"]))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 6
    assert len({(a.json()["access_token"], a.json()["refresh_token"]) for a in answers}) == 1
    assert not family_revoked(idp, tokens["refresh_token"])
    with idp.provider.engine.connect() as conn:  # one successor, not six
        assert conn.execute(text("SELECT count(*) FROM idp_refresh_tokens")).scalar() == 2


def test_retry_after_the_new_token_was_used_is_reuse(idp):
    client, tokens = signed_in(idp)
    new = refresh(idp, client, tokens["refresh_token"]).json()
    newest = refresh(idp, client, new["refresh_token"]).json()
    late = refresh(idp, client, tokens["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert family_revoked(idp, tokens["refresh_token"])
    assert userinfo(idp, newest["access_token"]) == 401


def test_retry_after_the_grace_window_is_reuse(idp):
    client, tokens = signed_in(idp)
    new = refresh(idp, client, tokens["refresh_token"]).json()
    shift(idp, tokens["refresh_token"], "rotated_at", idp.provider.rotation.grace + 1)
    assert refresh(idp, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(idp, client, new["refresh_token"]).json()["error"] == "invalid_grant"  # family revoked


@pytest.mark.parametrize("idp", ["embedded"], indirect=True)
def test_retry_with_other_parameters_is_reuse(idp):
    client, tokens = signed_in(idp)
    refresh(idp, client, tokens["refresh_token"])
    narrower = requests.post(idp.url + "/token", auth=(client["client_id"], client["client_secret"]), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": "openid"})
    assert narrower.json()["error"] == "invalid_grant" and family_revoked(idp, tokens["refresh_token"])
    # another client presenting a used token: reuse too, although it authenticates correctly as itself
    client, tokens = signed_in(idp)
    refresh(idp, client, tokens["refresh_token"])
    thief = idp.client()
    assert refresh(idp, thief, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert family_revoked(idp, tokens["refresh_token"])


@pytest.mark.parametrize("idp", ["embedded"], indirect=True)
def test_scope_beyond_the_grant_is_refused_and_nothing_rotates(idp):
    client, tokens = signed_in(idp)
    wider = requests.post(idp.url + "/token", auth=(client["client_id"], client["client_secret"]), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": "openid phone"})
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    assert refresh(idp, client, tokens["refresh_token"]).status_code == 200  # still unused: rolled back


def test_family_ends_at_its_absolute_lifetime(idp):
    client, tokens = signed_in(idp)
    new = refresh(idp, client, tokens["refresh_token"]).json()
    shift(idp, new["refresh_token"], "created_at", idp.provider.rotation.family_lifetime)
    assert refresh(idp, client, new["refresh_token"]).json()["error"] == "invalid_grant"
    intro = requests.post(idp.url + "/introspect", data={"token": new["refresh_token"]},
                          auth=(client["client_id"], client["client_secret"])).json()
    assert intro == {"active": False}


@pytest.mark.parametrize("idp", ["servers"], indirect=True)
def test_store_outage_before_commit_leaves_the_token_unused(idp):
    """Redis fails while the access token is written: the SQL rotation rolls back, and the plain retry after
    the outage rotates normally (before, the rotation had committed and the retry revoked the family)."""
    client, tokens = signed_in(idp)
    grants, working = idp.provider.grants, idp.provider.grants.store
    grants.store = RedisStore("redis://127.0.0.1:1/0")  # a real adapter at a port where nothing listens
    try:
        with pytest.raises(StorageUnavailable):
            idp.provider.refresh.rotate(tokens["refresh_token"], Attempt(client["client_id"], None, None, int(time.time())))
    finally:
        grants.store = working
    after = refresh(idp, client, tokens["refresh_token"])
    assert after.status_code == 200 and not family_revoked(idp, tokens["refresh_token"])


# -- the rules alone --------------------------------------------------------------------------------------------
POLICY = RotationPolicy(grace=30, family_lifetime=86400)
ATTEMPT = Attempt("c1", None, None, 1_000_000)


def stored(**changes) -> Stored:
    base = dict(family_id="f", used=True, expires_at=2_000_000, rotated_at=ATTEMPT.now - 5,
                request_digest=ATTEMPT.digest, reply="sealed", successor_used=False, client_id="c1", sub="s",
                scope="openid", sid=None, revoked_at=None, family_created=ATTEMPT.now - 100, dpop_jkt=None)
    return Stored(**{**base, **changes})


@pytest.mark.parametrize("changes,outcome", [
    ({}, Outcome.REPLAY),
    ({"rotated_at": ATTEMPT.now - 31}, Outcome.REUSE),
    ({"rotated_at": ATTEMPT.now + 5}, Outcome.REUSE),  # a rotation "in the future" is no retry of it
    ({"successor_used": True}, Outcome.REUSE),
    ({"successor_used": None}, Outcome.REUSE),  # rotated before replies were kept
    ({"reply": None}, Outcome.REUSE),
    ({"request_digest": Attempt("c1", "openid", None, 0).digest}, Outcome.REUSE),
    ({"request_digest": Attempt("c2", None, None, 0).digest}, Outcome.REUSE),
    ({"family_created": ATTEMPT.now - 86400}, Outcome.REUSE),
    ({"revoked_at": 1}, Outcome.INVALID),
    ({"used": False}, Outcome.RACE),
    ({"used": False, "expires_at": ATTEMPT.now}, Outcome.INVALID),
    ({"used": False, "client_id": "c2"}, Outcome.INVALID),
    ({"used": False, "dpop_jkt": "k"}, Outcome.INVALID),
    ({"used": False, "family_created": ATTEMPT.now - 86400}, Outcome.INVALID),
])
def test_decide(changes, outcome):
    assert decide(stored(**changes), False, ATTEMPT, POLICY) is outcome


def test_digest_separates_its_parts():
    assert Attempt("a", "b c", None, 0).digest != Attempt("a b", "c", None, 0).digest
    assert Attempt("a", None, "k", 0).digest != Attempt("a", "k", None, 0).digest


@pytest.mark.parametrize("grace,lifetime", [(-1, 86400), (301, 86400), (30, 10), (30, 10**9)])
def test_policy_bounds(grace, lifetime):
    with pytest.raises(ValueError):
        RotationPolicy(grace=grace, family_lifetime=lifetime)


_times = st.integers(min_value=0, max_value=2 * ATTEMPT.now)


@settings(max_examples=examples(100), deadline=None)
@given(row=st.one_of(st.none(), st.builds(
    Stored, family_id=st.just("f"), used=st.booleans(), expires_at=_times, rotated_at=st.one_of(st.none(), _times),
    request_digest=st.sampled_from([None, ATTEMPT.digest, Attempt("c2", None, None, 0).digest]),
    reply=st.sampled_from([None, "", "sealed"]), successor_used=st.sampled_from([None, False, True]),
    client_id=st.sampled_from(["c1", "c2"]), sub=st.just("s"), scope=st.just("openid"), sid=st.none(),
    revoked_at=st.one_of(st.none(), _times), family_created=_times, dpop_jkt=st.sampled_from([None, "k"]))),
    claimed=st.booleans())
def test_decide_never_gives_a_pair_it_should_not(row, claimed):
    outcome = decide(row, claimed, ATTEMPT, POLICY)
    if claimed:
        assert outcome is Outcome.ROTATE
        return
    assert outcome is not Outcome.ROTATE
    if outcome is Outcome.REPLAY:  # the same pair again only for the same request, soon, before the new one was used
        assert row.used and row.revoked_at is None and row.reply and row.successor_used is False
        assert row.request_digest == ATTEMPT.digest and 0 <= ATTEMPT.now - row.rotated_at <= POLICY.grace
    if row is None or row.revoked_at is not None:
        assert outcome is Outcome.INVALID
    elif row.used and outcome is not Outcome.REPLAY:
        assert outcome is Outcome.REUSE  # a used token is never just "invalid": it revokes


def test_code_for_an_account_deleted_meanwhile_is_invalid_grant(idp):
    """The exchange no longer loads the account (issue 9 P4): the family's foreign key refuses it instead."""
    client, browser = idp.client(), Browser(idp)
    code = get_code(idp, browser, client)
    sub = idp.provider.accounts.find("110101199003071233").sub
    assert idp.provider.accounts.delete(sub, int(time.time()))
    refused = exchange(idp, client, code)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
