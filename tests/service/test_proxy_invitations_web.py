"""Family proxies by invitation over HTTP (issue 8, item 3): no real-name oracle, two-sided consent, rate limits.

The attack it replaces: POST /issuer/proxies with somebody's phone number answered 201 with their real name, and
404 for a number nobody uses, without any limit: any signed-in citizen could learn who owns a number.
"""

from __future__ import annotations

import json
import statistics
import time

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import keys
from issuer.health import invitations_web
from tests.conftest import examples
from tests.service import test_health_web
from tests.service.test_health_web import CITIZENS, auth, fetch, token_for

service = test_health_web.service  # the live service (embedded and PostgreSQL + Redis), a module-scoped fixture

URL = "/issuer/proxy-invitations"
UNKNOWN_PHONE = "13900000001"
UNKNOWN_ID = "11010519491231002X"  # a valid GB 11643 number nobody registered


def reset_limits(svc) -> None:
    counters = svc.app.extensions["tongban.health"].counters
    desk = svc.desk()
    for who in CITIZENS.values():
        counters.delete(f"proxy-invite:account:{desk.hash(who[1])}")
    counters.delete("proxy-invite:address:127.0.0.1")


@pytest.fixture(autouse=True)
def _fresh_limits(service):
    reset_limits(service)
    yield
    reset_limits(service)


def invite(svc, who: str, to) -> requests.Response:
    return requests.post(svc.url + URL, json={"to": to}, headers=auth(token_for(svc, who)), timeout=5)


def answer(svc, who: str, invitation_id: str, status: str) -> requests.Response:
    return requests.patch(f"{svc.url}{URL}/{invitation_id}", json={"status": status},
                          headers=auth(token_for(svc, who)), timeout=5)


def listing(svc, who: str) -> dict:
    r = requests.get(svc.url + URL, headers=auth(token_for(svc, who)), timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def normalised(r: requests.Response) -> tuple:
    """Status, headers and body with the random id (and the date, and the request id: random for every request,
    service.logs) taken out."""
    invitation_id = r.json()["id"]
    headers = {k: v.replace(invitation_id, "ID") for k, v in r.headers.items()
               if k.lower() not in ("date", "x-request-id")}
    return r.status_code, headers, r.content.replace(invitation_id.encode(), b"ID")


def test_known_and_unknown_numbers_get_byte_identical_answers(service):
    answers = [invite(service, "zhao", to) for to in (CITIZENS["li"][2], UNKNOWN_PHONE, CITIZENS["li"][1], UNKNOWN_ID,
                                                      "+86 137-0013-7000")]
    assert [r.status_code for r in answers] == [202] * 5, [r.text for r in answers]
    first = normalised(answers[0])
    assert all(normalised(r) == first for r in answers[1:])
    ids = {r.json()["id"] for r in answers}
    assert len(ids) == 5 and all(len(i) == 24 for i in ids)
    body = answers[0].json()
    assert body == {"id": body["id"], "status": "pending", "expires_in": 7 * 24 * 3600}
    assert answers[0].headers["Location"] == f"{URL}/{body['id']}"
    assert all("李" not in r.text for r in answers)
    # the inviter's own list shows the numbers masked and no name, known or not
    sent = {i["id"]: i for i in listing(service, "zhao")["sent"]}
    assert [sent[r.json()["id"]]["to"] for r in answers] == [
        "137****7000", "139****0001", "440***********4569", "110***********002X", "137****7000"]
    assert all(sent[i]["status"] == "pending" and sent[i]["name"] is None for i in ids)
    assert "李四" not in json.dumps(listing(service, "zhao"), ensure_ascii=False)


def test_known_and_unknown_numbers_take_similar_time(service, monkeypatch):
    monkeypatch.setattr(invitations_web, "INVITE_LIMITS", (("account", 10_000, 60), ("address", 10_000, 60)))
    token = auth(token_for(service, "zhao"))
    session = requests.Session()

    def timed(to: str) -> float:
        started = time.perf_counter()
        r = session.post(service.url + URL, json={"to": to}, headers=token, timeout=5)
        assert r.status_code == 202
        return time.perf_counter() - started

    known, unknown = [], []
    for _ in range(25):  # interleaved, so a busy moment hits both alike
        known.append(timed(CITIZENS["li"][2]))
        unknown.append(timed(UNKNOWN_PHONE))
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"invite median: known number {k * 1000:.1f} ms, unknown number {u * 1000:.1f} ms")
    assert max(k, u) / min(k, u) < 1.5


def test_invitee_accepts_then_the_inviter_learns_the_name_and_the_proxy_shows_the_code(service):
    r = invite(service, "zhang", CITIZENS["li"][2])
    invitation_id = r.json()["id"]
    # 李四 sees it, with the inviter's name masked and what accepting allows
    received = [i for i in listing(service, "li")["received"] if i["id"] == invitation_id]
    assert len(received) == 1 and received[0]["inviter"] == "张*" and received[0]["status"] == "pending"
    assert "代为出示" in received[0]["allows"] and "on their behalf" in received[0]["allows"]
    assert "张三" not in json.dumps(received, ensure_ascii=False)
    # nobody else sees or answers it: not a third person, not the inviter
    assert invitation_id not in [i["id"] for i in listing(service, "zhao")["received"]]
    for who in ("zhao", "zhang"):
        refused = answer(service, who, invitation_id, "accepted")
        assert (refused.status_code, refused.json()["error"]) == (404, "invitation_not_found")
    sent = [i for i in listing(service, "zhang")["sent"] if i["id"] == invitation_id][0]
    assert sent["status"] == "pending" and sent["name"] is None
    # accepted: the grant is made, self-granted, two-sided
    accepted = answer(service, "li", invitation_id, "accepted")
    assert accepted.status_code == 200, accepted.text
    grant = accepted.json()["proxy"]
    assert (grant["relative_name"], grant["proxy_name"], grant["granted_via"], grant["active"]) == (
        "张三", "李四", "self", True)
    assert accepted.json()["invitation"]["status"] == "accepted"
    # the same answer again: the same grant; another answer, or a withdrawal now: refused cleanly
    again = answer(service, "li", invitation_id, "accepted")
    assert again.status_code == 200 and again.json()["proxy"]["id"] == grant["id"]
    declined = answer(service, "li", invitation_id, "declined")
    assert (declined.status_code, declined.json()["error"]) == (409, "invitation_closed")
    gone = requests.delete(f"{service.url}{URL}/{invitation_id}", headers=auth(token_for(service, "zhang")), timeout=5)
    assert (gone.status_code, gone.json()["error"]) == (409, "invitation_closed")
    # now the inviter sees the name
    sent = [i for i in listing(service, "zhang")["sent"] if i["id"] == invitation_id][0]
    assert sent["status"] == "accepted" and sent["name"] == "李四" and sent["proxy_id"] == grant["id"]
    assert invitation_id not in [i["id"] for i in listing(service, "li")["received"]]
    # and 李四 shows 张三's code
    code = fetch(service, "li", keys.generate(), proxy_id=grant["id"])
    assert code.status_code == 200 and code.json()["summary"]["shown_by"] == "李四"
    assert requests.delete(f"{service.url}/issuer/proxies/{grant['id']}", headers=auth(token_for(service, "zhang")),
                           timeout=5).status_code == 200


def test_decline_and_withdraw(service):
    first = invite(service, "zhang", CITIZENS["zhao"][1]).json()["id"]
    assert answer(service, "zhao", first, "declined").json()["proxy"] is None
    sent = [i for i in listing(service, "zhang")["sent"] if i["id"] == first][0]
    assert sent["status"] == "declined" and sent["name"] is None
    late = answer(service, "zhao", first, "accepted")
    assert (late.status_code, late.json()["error"]) == (409, "invitation_closed")
    assert answer(service, "zhao", first, "declined").status_code == 200  # the same answer again

    second = invite(service, "zhang", CITIZENS["zhao"][2]).json()["id"]
    assert second in [i["id"] for i in listing(service, "zhao")["received"]]
    not_yours = requests.delete(f"{service.url}{URL}/{second}", headers=auth(token_for(service, "zhao")), timeout=5)
    assert (not_yours.status_code, not_yours.json()["error"]) == (404, "invitation_not_found")
    for _ in range(2):  # idempotent
        r = requests.delete(f"{service.url}{URL}/{second}", headers=auth(token_for(service, "zhang")), timeout=5)
        assert r.status_code == 200 and r.json()["invitation"]["status"] == "withdrawn"
    assert second not in [i["id"] for i in listing(service, "zhao")["received"]]
    assert second not in [i["id"] for i in listing(service, "zhang")["sent"]]
    refused = answer(service, "zhao", second, "accepted")
    assert (refused.status_code, refused.json()["error"]) == (409, "invitation_closed")
    for bad in ("x", "a" * 24, "../../etc", "%00" * 8):
        r = answer(service, "zhao", bad, "accepted")
        assert r.status_code == 404 and r.json()["error"] in ("invitation_not_found", "not_found"), (bad, r.text)


def test_an_expired_invitation_cannot_be_accepted(service):
    from issuer.health import Person

    w = service.app.extensions["tongban.health"]
    name, id_number, _phone, _pw = CITIZENS["zhang"]
    week_ago = int(time.time()) - 7 * 24 * 3600 - 1
    invitation_id = w.invitations.invite(Person(id_number, name), CITIZENS["li"][2], recorded_by="citizen:test",
                                         now=week_ago)
    assert invitation_id not in [i["id"] for i in listing(service, "li")["received"]]
    r = answer(service, "li", invitation_id, "accepted")
    assert (r.status_code, r.json()["error"]) == (410, "invitation_expired")
    sent = [i for i in listing(service, "zhang")["sent"] if i["id"] == invitation_id][0]
    assert sent["status"] == "expired"


def test_yourself_and_malformed_numbers_are_refused_without_counting(service):
    for to in (CITIZENS["zhao"][1], CITIZENS["zhao"][2], "hello", "", None, 13700137000, "110101199003071234"):
        r = invite(service, "zhao", to)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_request"), (to, r.text)
    for _ in range(10):
        assert invite(service, "zhao", UNKNOWN_PHONE).status_code == 202  # the refusals above did not count


def test_invitations_are_rate_limited_per_account_and_per_address(service):
    for _ in range(10):
        assert invite(service, "zhao", UNKNOWN_PHONE).status_code == 202
    r = invite(service, "zhao", CITIZENS["li"][2])
    assert r.status_code == 429 and r.json()["error"] == "too_many_invitations"
    assert 0 < int(r.headers["Retry-After"]) <= 24 * 3600 and "分钟后再试" in r.json()["error_description"]
    # another account is not affected by zhao's limit; the address limit (30 an hour) stops a sweep over accounts
    for who in ("zhang", "li"):
        for _ in range(10):
            assert invite(service, who, UNKNOWN_PHONE).status_code == 202
    r = invite(service, "officer", UNKNOWN_PHONE)
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 3600


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.none(), st.integers(), st.text(max_size=30), st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.sampled_from(["to", "status", "x"]),
                    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                              st.text(max_size=40), st.sampled_from(["13700137000", UNKNOWN_ID, "accepted"]),
                              st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers())),
                    max_size=3),
), invitation_id=st.one_of(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=30),
                           st.just("a" * 24)))
@example(payload={"to": "+8613700137000"}, invitation_id="a" * 24)
@example(payload={"status": "accepted"}, invitation_id="a" * 24)
def test_any_invitation_body_gets_a_json_answer_never_a_500(service, payload, invitation_id):
    headers = {**auth(token_for(service, "zhao")), "Content-Type": "application/json"}
    for method, path in (("POST", URL), ("PATCH", f"{URL}/{invitation_id}"), ("DELETE", f"{URL}/{invitation_id}")):
        r = requests.request(method, service.url + path, data=json.dumps(payload), headers=headers, timeout=5)
        assert r.status_code in (200, 202) or 400 <= r.status_code < 500, (method, r.status_code, r.text[:200])
        assert r.headers["Content-Type"].startswith("application/json") and r.json()
