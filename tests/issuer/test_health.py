"""Health codes: a status change re-issues the holder's code and suspends the old one, audited; proxies."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import keys
from credentials import licence_type, parse_credential
from issuer import health
from issuer.errors import NotAuthorisedError, ValidationError
from issuer.health import ProxyError, UnknownPerson
from tests.issuer.conftest import LI, PEOPLE, WANG, ZHANG, ZHAO


def _device():
    return keys.generate()


def test_first_fetch_issues_a_green_code_and_a_second_fetch_returns_the_same(health_world):
    desk, device, now = health_world.desk, _device(), int(time.time())
    code = desk.fetch(ZHANG, "张三", device.public, now=now)
    assert code.colour == "green" and set(code.views) == {"full", "code"}
    _, body = parse_credential(code.views["code"])
    assert body.claims == {"name": "张三", "colour": "green", "reason": "无异常", "region": "110000"}
    assert body.expires_at == now + health.DEFAULT_LIFETIME
    _, full = parse_credential(code.views["full"])
    assert full.claims["reason"] == "无异常" and full.claims["id_number"] == ZHANG
    assert desk.fetch(ZHANG, "张三", device.public, now=now + 5).elicence_id == code.elicence_id


def test_status_change_reissues_and_suspends_the_old_code(health_world):
    w, device, now = health_world, _device(), int(time.time())
    old = w.desk.fetch(ZHANG, "张三", device.public, now=now)
    result = w.desk.set_status(ZHANG, "red", "密接 / close contact", actor="staff:test", now=now)
    assert result.suspended == (old.elicence_id,) and len(result.reissued) == 1
    new = w.desk.fetch(ZHANG, "张三", device.public, now=now)
    assert new.elicence_id == result.reissued[0] != old.elicence_id and new.colour == "red"
    w.sync(now)
    refused = w.check(old.views["code"], device, now)
    assert not refused.valid and refused.reasons == ("suspended",)
    accepted = w.check(new.views["code"], device, now)
    assert accepted.valid and accepted.claims["colour"] == "red" and accepted.licence_type == "health-code"
    assert accepted.issuer["id"] == "bj-health"
    full = w.check(new.views["full"], device, now)
    assert full.valid and full.claims["reason"] == "密接 / close contact"


def test_every_change_is_audited(health_world):
    desk, now = health_world.desk, int(time.time())
    desk.set_status(ZHAO, "yellow", "行程 / travel", actor="staff:a", now=now)
    desk.set_status(ZHAO, "red", "阳性 / positive", actor="cli:b", now=now + 1)
    desk.set_status(LI, "yellow", "行程 / travel", actor="operator:c", now=now + 2, operator=True)  # Shenzhen
    trail = [e.to_json() for e in desk.audit(ZHAO)]
    assert trail == [
        {"at": now, "actor": "staff:a", "old_colour": None, "new_colour": "yellow", "reason": "行程 / travel"},
        {"at": now + 1, "actor": "cli:b", "old_colour": "yellow", "new_colour": "red", "reason": "阳性 / positive"},
    ]
    status = desk.status(ZHAO)
    assert (status.colour, status.name, status.seq) == ("red", "赵敏", 2)
    assert [e.actor for e in desk.audit(LI)] == ["operator:c"]
    assert desk.audit(WANG) == []


def test_unknown_citizen_and_bad_values_are_refused(health_world):
    desk, now = health_world.desk, int(time.time())
    with pytest.raises(UnknownPerson):
        desk.set_status("11010519491231002X", "red", "x", actor="x", now=now)
    with pytest.raises(ValidationError, match="colour"):
        desk.set_status(ZHANG, "purple", "x", actor="x", now=now)
    with pytest.raises(ValidationError, match="id_number"):
        desk.set_status("110101199003071234", "red", "x", actor="x", now=now)
    with pytest.raises(ValidationError, match="region"):
        desk.set_status(ZHANG, "red", "x", actor="x", now=now, region="119900")
    assert desk.audit(ZHANG) == []


def test_another_device_gets_a_new_code_and_the_old_device_code_is_suspended(health_world):
    w, a, b, now = health_world, _device(), _device(), int(time.time())
    first = w.desk.fetch(WANG, "王芳", a.public, now=now)
    second = w.desk.fetch(WANG, "王芳", b.public, now=now)
    assert first.elicence_id != second.elicence_id
    w.sync(now)
    assert w.check(first.views["code"], a, now).reasons == ("suspended",)
    assert w.check(second.views["code"], b, now).valid
    assert w.check(second.views["code"], a, now).reasons == ("holder_signature_invalid",)


def test_proxy_fetches_the_relatives_code_then_the_relative_ends_it(health_world):
    w, now = health_world, int(time.time())
    zhang_phone, proxy_phone = _device(), _device()
    w.desk.fetch(ZHANG, "张三", zhang_phone.public, now=now)
    grant = w.desk.grant_proxy(PEOPLE[ZHANG], "13700137000", via="self", recorded_by="citizen:sub-zhang", now=now)
    assert (grant.relative_name, grant.proxy_name, grant.granted_via) == ("张三", "李四", "self")
    assert w.desk.proxies(LI)["held"][0].id == grant.id and w.desk.proxies(ZHANG)["granted"][0].id == grant.id
    code = w.desk.fetch(LI, "李四", proxy_phone.public, now=now, proxy_id=grant.id, requester_id_number=LI)
    assert set(code.views) == {"proxy-full", "proxy-code"}
    w.sync(now)
    shown = w.check(code.views["proxy-code"], proxy_phone, now)
    assert shown.valid and shown.claims == {"name": "张三", "colour": "green", "reason": "无异常", "region": "110000",
                                         "shown_by": "李四"}
    # a status change reaches the proxy's copy too
    changed = w.desk.set_status(ZHANG, "yellow", "行程 / travel", actor="staff:t", now=now)
    assert len(changed.reissued) == 2
    code = w.desk.fetch(LI, "李四", proxy_phone.public, now=now, proxy_id=grant.id, requester_id_number=LI)
    assert code.colour == "yellow"
    # somebody else cannot use the grant; the proxy cannot end it
    with pytest.raises(ProxyError):
        w.desk.fetch(WANG, "王芳", proxy_phone.public, now=now, proxy_id=grant.id, requester_id_number=WANG)
    with pytest.raises(ProxyError):
        w.desk.end_proxy(grant.id, LI, by="citizen:li", now=now)
    ended, revoked = w.desk.end_proxy(grant.id, ZHANG, by="citizen:zhang", now=now)
    assert ended.ended_at == now and revoked == (code.elicence_id,)
    w.sync(now)
    assert w.check(code.views["proxy-code"], proxy_phone, now).reasons == ("revoked",)
    with pytest.raises(ProxyError, match="ended"):
        w.desk.fetch(LI, "李四", proxy_phone.public, now=now, proxy_id=grant.id, requester_id_number=LI)
    # the relative's own code is untouched
    own = w.desk.fetch(ZHANG, "张三", zhang_phone.public, now=now)
    assert w.check(own.views["code"], zhang_phone, now).valid


def test_proxy_by_id_number_counter_and_refusals(health_world):
    desk, now = health_world.desk, int(time.time())
    grant = desk.grant_proxy(PEOPLE[ZHAO], WANG, via="counter", recorded_by="bj-health", now=now)
    assert grant.granted_via == "counter" and grant.recorded_by == "bj-health"
    assert desk.grant_proxy(PEOPLE[ZHAO], WANG, via="counter", recorded_by="bj-health", now=now).id == grant.id
    with pytest.raises(ValidationError, match="own proxy"):
        desk.grant_proxy(PEOPLE[ZHAO], ZHAO, via="self", recorded_by="x", now=now)
    with pytest.raises(UnknownPerson):
        desk.grant_proxy(PEOPLE[ZHAO], "13900000000", via="self", recorded_by="x", now=now)
    with pytest.raises(ValidationError):
        desk.grant_proxy(PEOPLE[ZHAO], "not a person", via="self", recorded_by="x", now=now)


def test_staff_roles(health_world):
    desk, now = health_world.desk, int(time.time())
    assert desk.grant_staff(WANG, "bj-health", "officer", now) is True
    assert desk.grant_staff(WANG, "bj-health", "officer", now) is False
    assert desk.require_health_staff(WANG) == "officer"
    desk.grant_staff(ZHAO, "bj-traffic-police", "officer", now)
    for who in (ZHAO, ZHANG, None):
        with pytest.raises(NotAuthorisedError):
            desk.require_health_staff(who)


def test_codes_are_short_lived_and_configurable(health_world):
    desk, now = health_world.desk, int(time.time())
    desk.policy = health.HealthPolicy(lifetime=3600, refresh_margin=600)
    code = desk.fetch(ZHAO, "赵敏", _device().public, now=now)
    assert code.expires_at == now + 3600
    with pytest.raises(ValidationError):
        health.HealthPolicy(lifetime=10)


def test_catalogue_views_keep_the_proxy_marker_apart():
    ltype = licence_type("health-code")
    assert ltype.code == 4
    assert not any("shown_by" in ltype.view(v).claims for v in health.OWN_VIEWS)
    assert all("shown_by" in ltype.view(v).claims for v in health.PROXY_VIEWS)


@given(st.text(max_size=60))
def test_colour_parser_accepts_exactly_the_three_colours(text):
    if text.strip().lower() in ("green", "yellow", "red"):
        assert health.parse_colour(text) == text.strip().lower()
    else:
        with pytest.raises(ValidationError):
            health.parse_colour(text)


@given(st.one_of(st.none(), st.text(max_size=300), st.integers(), st.lists(st.text())))
def test_reason_parser_never_raises_anything_but_validation_error(value):
    try:
        reason = health.parse_reason(value)
    except ValidationError:
        return
    assert reason and len(reason) <= 200 and reason == reason.strip()


@given(st.one_of(st.text(max_size=50), st.integers(), st.none()))
def test_person_ref_parser(value):
    try:
        kind, normalised = health.parse_person_ref(value)
    except ValidationError:
        return
    assert (kind, len(normalised)) in {("phone", 11), ("id_number", 18)}


@given(st.text(alphabet="0123456789", min_size=0, max_size=8))
def test_region_parser(value):
    try:
        assert health.parse_region(value) == value
    except ValidationError:
        pass


def test_concurrent_changes_and_fetches_for_one_citizen_serialise(health_world):
    from concurrent.futures import ThreadPoolExecutor

    desk, device, now = health_world.desk, _device(), int(time.time())
    desk.fetch(ZHAO, "赵敏", device.public, now=now)
    colours = ["green", "yellow", "red"] * 4

    def change(i: int):
        return desk.set_status(ZHAO, colours[i], f"change {i}", actor=f"staff:{i}", now=now)

    def fetch(_: int):
        return desk.fetch(ZHAO, "赵敏", device.public, now=now)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(change, range(len(colours))))
        fetched = list(pool.map(fetch, range(6)))
    assert desk.status(ZHAO).seq == len(colours)  # no lost update
    assert len(desk.audit(ZHAO)) == len(colours)
    assert sorted(len(r.reissued) for r in results) == [1] * len(colours)
    assert len({f.elicence_id for f in fetched}) == 1  # the same current code for every fetch
    health_world.sync(now)
    current = desk.fetch(ZHAO, "赵敏", device.public, now=now)
    assert health_world.check(current.views["code"], device, now).valid
    previous = [r.suspended[0] for r in results]
    assert len(set(previous)) == len(previous)  # each change replaced a different code: a chain, not a fork


def test_validation_of_health_code_claims():
    from issuer.validation import validate_claims

    ltype = licence_type("health-code")
    base = {"name": "张三", "id_number": "110101199003071233", "colour": "red", "reason": "", "region": "110105"}
    assert validate_claims(ltype, base)["reason"] == "无异常"
    assert "shown_by" not in validate_claims(ltype, base)
    assert validate_claims(ltype, {**base, "shown_by": "李四"})["shown_by"] == "李四"
    for change, field in (({"colour": "blue"}, "colour"), ({"region": "123"}, "region"), ({"region": "119900"}, "region"),
                          ({"id_number": "110101199003071234"}, "id_number"), ({"shown_by": ""}, "shown_by"),
                          ({"vehicle_classes": ["C1"]}, "vehicle_classes")):
        with pytest.raises(ValidationError) as caught:
            validate_claims(ltype, {**base, **change})
        assert caught.value.field == field
    del base["colour"]
    with pytest.raises(ValidationError, match="colour: is required"):
        validate_claims(ltype, base)


def test_two_reissue_runs_started_together_share_one_run_and_reissue_each_code_once(health_world):
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from issuer import store
    from issuer.health import store as health_store

    desk, now = health_world.desk, int(time.time())
    people = [(ZHANG, "张三"), (LI, "李四"), (WANG, "王芳"), (ZHAO, "赵敏")]
    for id_number, name in people:
        desk.fetch(id_number, name, _device().public, now=now)
    first, second = desk.reissue_plan(now), desk.reissue_plan(now)  # two commands started together
    assert first[0] == second[0] and (first[2], second[2]) == (False, True) and first[1] == second[1]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda plan: desk.reissue_all(now, plan=plan), (first, second)))
    with desk.engine.connect() as conn:
        kids = Counter(r[0] for r in conn.execute(select(store.issued.c.holder_kid)))
        runs = conn.execute(select(health_store.health_reissue_runs)).all()
    assert sorted(kids.values()) == [2, 2, 2, 2]  # first issue + exactly one re-issue each
    assert len(runs) == 1 and runs[0].finished_at is not None and runs[0].open_slot is None
    # the next run is a new one
    assert desk.reissue_plan(now)[2] is False
