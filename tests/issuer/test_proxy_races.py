"""Family proxies under concurrency (issue 8, item 2), on SQLite and on the real PostgreSQL.

The attack: while the relative ends a proxy, the proxy keeps fetching codes in parallel. Before ending and
fetching serialised on the grant, a fetch that had read the grant as active inserted its code after the end had
revoked and deleted the bindings: a VALID code, 24 h long, that the next status change skipped too (re-issue
passed over ended proxies). After ``end_proxy`` returns, every code ever fetched for that grant must be refused
by a counter that synced; after ``set_status`` returns, no code of that person is valid with an older colour.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import update

import keys
from issuer.health import ProxyError
from issuer.health import store as health_store
from tests.issuer.conftest import LI, PEOPLE, WANG, ZHANG

pytestmark = pytest.mark.slow  # thread races over real servers: in CI's slow pass

ROUNDS = 15
FETCHERS = 3


def _collect_fetches(desk, who: str, name: str, stop: threading.Event, out: list, errors: list, *, start,
                     now: int, proxy_id: int = 0) -> None:
    """Fetch again and again, each time from a new device (so each fetch issues a new code), until ``stop`` or
    the proxy has ended."""
    start.wait()
    while not stop.is_set():
        device = keys.generate()
        try:
            code = desk.fetch(who, name, device.public, now=now, proxy_id=proxy_id, requester_id_number=who)
        except ProxyError:
            return
        except Exception as exc:  # reported by the test, never swallowed
            errors.append(exc)
            return
        out.append((code, device))


def _valid_codes(world, fetched, now: int) -> list:
    world.sync(now)
    valid = []
    for code, device in fetched:
        view = code.views.get("proxy-code") or code.views["code"]
        decision = world.check(view, device, now)
        if decision.valid:
            valid.append((code, decision))
    return valid


def test_ending_a_proxy_while_it_fetches_leaves_no_valid_code(health_world):
    w, base = health_world, int(time.time())
    leaks = []
    for round_no in range(ROUNDS):
        now = base + round_no * 1000
        grant = w.desk.grant_proxy(PEOPLE[ZHANG], LI, via="counter", recorded_by="bj-health", now=now)
        first = keys.generate()
        fetched = [(w.desk.fetch(LI, "李四", first.public, now=now, proxy_id=grant.id, requester_id_number=LI), first)]
        start, stop, errors = threading.Barrier(FETCHERS + 1), threading.Event(), []
        threads = [threading.Thread(target=_collect_fetches, args=(w.desk, LI, "李四", stop, fetched, errors),
                                    kwargs={"start": start, "now": now, "proxy_id": grant.id})
                   for _ in range(FETCHERS)]
        for thread in threads:
            thread.start()
        start.wait()
        time.sleep(0.01 * (round_no % 4))  # vary where in a fetch the end lands
        w.desk.end_proxy(grant.id, ZHANG, by="citizen:zhang", now=now)
        # end has returned: from here on nothing fetched for this grant may be valid
        stop.set()
        for thread in threads:
            thread.join(30)
        assert errors == []
        leaks += [(round_no, c.elicence_id) for c, _ in _valid_codes(w, fetched, now + 100)]
        with pytest.raises(ProxyError, match="ended"):
            w.desk.fetch(LI, "李四", keys.generate().public, now=now, proxy_id=grant.id, requester_id_number=LI)
    assert leaks == []


def test_status_changes_while_the_proxy_and_the_citizen_fetch_leave_no_code_of_an_older_colour(health_world):
    w, base = health_world, int(time.time())
    grant = w.desk.grant_proxy(PEOPLE[ZHANG], WANG, via="counter", recorded_by="bj-health", now=base)
    colours = ["red", "yellow", "green"]
    stale = []
    for round_no in range(ROUNDS):
        now = base + round_no * 1000
        fetched, errors = [], []
        start, stop = threading.Barrier(3), threading.Event()
        threads = [
            threading.Thread(target=_collect_fetches, args=(w.desk, WANG, "王芳", stop, fetched, errors),
                             kwargs={"start": start, "now": now, "proxy_id": grant.id}),
            threading.Thread(target=_collect_fetches, args=(w.desk, ZHANG, "张三", stop, fetched, errors),
                             kwargs={"start": start, "now": now}),
        ]
        for thread in threads:
            thread.start()
        start.wait()
        time.sleep(0.01 * (round_no % 4))
        colour = colours[round_no % 3]
        result = w.desk.set_status(ZHANG, colour, f"round {round_no}", actor="staff:race", now=now)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert errors == []
        assert result.status.colour == colour
        for code, decision in _valid_codes(w, fetched, now + 100):
            if decision.claims["colour"] != colour:
                stale.append((round_no, code.elicence_id, decision.claims["colour"], colour))
    assert stale == []


def test_a_status_change_suspends_a_stray_proxy_code_too(health_world):
    """Defence in depth: a proxy's code that lost its binding (as the race above once left one) is still found
    through the issued-code log: a status change revokes it when its proxy has ended, else suspends it."""
    w, now = health_world, int(time.time())
    ended = w.desk.grant_proxy(PEOPLE[ZHANG], LI, via="counter", recorded_by="bj-health", now=now)
    active = w.desk.grant_proxy(PEOPLE[ZHANG], WANG, via="counter", recorded_by="bj-health", now=now)
    li_phone, wang_phone = keys.generate(), keys.generate()
    li_code = w.desk.fetch(LI, "李四", li_phone.public, now=now, proxy_id=ended.id, requester_id_number=LI)
    wang_code = w.desk.fetch(WANG, "王芳", wang_phone.public, now=now, proxy_id=active.id, requester_id_number=WANG)
    with w.desk.engine.begin() as conn:  # what the lost race left behind: an ended grant, its code unbound
        conn.execute(health_store.health_codes.delete().where(health_store.health_codes.c.proxy_id.in_(
            [ended.id, active.id])))
        conn.execute(update(health_store.health_proxies).where(health_store.health_proxies.c.id == ended.id)
                     .values(ended_at=now, ended_by="race"))
    w.sync(now)
    assert w.check(li_code.views["proxy-code"], li_phone, now).valid  # the leak
    w.desk.set_status(ZHANG, "red", "密接", actor="staff:t", now=now)
    w.sync(now + 10)
    assert w.check(li_code.views["proxy-code"], li_phone, now + 10).reasons == ("revoked",)
    assert w.check(wang_code.views["proxy-code"], wang_phone, now + 10).reasons == ("suspended",)
    again = w.desk.fetch(WANG, "王芳", wang_phone.public, now=now, proxy_id=active.id, requester_id_number=WANG)
    assert w.check(again.views["proxy-code"], wang_phone, now + 10).claims["colour"] == "red"


def test_ending_a_proxy_revokes_its_unbound_codes(health_world):
    w, now = health_world, int(time.time())
    grant = w.desk.grant_proxy(PEOPLE[ZHANG], LI, via="counter", recorded_by="bj-health", now=now)
    device = keys.generate()
    code = w.desk.fetch(LI, "李四", device.public, now=now, proxy_id=grant.id, requester_id_number=LI)
    with w.desk.engine.begin() as conn:
        conn.execute(health_store.health_codes.delete().where(health_store.health_codes.c.proxy_id == grant.id))
    _, revoked = w.desk.end_proxy(grant.id, ZHANG, by="citizen:zhang", now=now)
    assert revoked == (code.elicence_id,)
    w.sync(now)
    assert w.check(code.views["proxy-code"], device, now).reasons == ("revoked",)


def test_the_daily_run_forgets_expired_codes_only(health_world):
    from sqlalchemy import func, select

    from issuer.health import proxy_store

    desk, now = health_world.desk, int(time.time())
    desk.fetch(ZHANG, "张三", keys.generate().public, now=now)
    desk.fetch(LI, "李四", keys.generate().public, now=now)

    def logged() -> set[int]:
        with desk.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(proxy_store.health_issued.c.expires_at))}

    assert logged() == {now + desk.policy.lifetime}
    later = now + 2 * 24 * 3600  # both codes expired a day ago; the daily run re-issues them
    desk.reissue_all(later)
    assert logged() == {later + desk.policy.lifetime}
    with desk.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(proxy_store.health_issued)).scalar_one() == 2
