"""Red to refused: how long a citizen set red keeps a green health code that counters accept (issue 7).

(a) The hub's own counter (inside ``create_app``) reads the published lists: it refuses the old code at once.
(b) A stand-alone counter (``tongban verifier serve --from URL``) syncing on its timer from the hub over HTTP
refuses it within the health list's ttl + one sync interval (10 min at most by default). Time is simulated
(an injected clock), the hub's background re-signing included; the measured red-to-refused time is printed
and recorded as the test property ``red_to_refused_seconds``.
"""

from __future__ import annotations

import itertools
import json
import shutil
import threading
import time
from dataclasses import replace

import pytest

import keys
import service.wiring  # noqa: F401 - fills INIT_STEPS
from credentials import make_presentation
from credentials.catalogue import HEALTH_STATUS
from idp.cli import DEMO_CITIZEN
from service.app import create_app
from service.cli import INIT_STEPS
from service.config import Settings
from service.counter_app import create_counter_app
from tests.counter_world import serving
from verifier.cache import HttpSource, VerifierCache

ID, NAME = DEMO_CITIZEN["id_number"], DEMO_CITIZEN["name"]
HEALTH = "tbsl:bj-health/1"
_challenge = itertools.count()


class Clock:
    def __init__(self, now: int):
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
        data = tmp_path_factory.mktemp("budget")
        settings = replace(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url="http://127.0.0.1:1")
        for step in INIT_STEPS:
            step(settings, lambda _line: None)
        yield create_app(settings), data


def verdict(client, code, device: keys.PrivateKey, now: int) -> dict:
    qr = make_presentation(code.views["code"], device, now=now, challenge=f"b{next(_challenge)}".encode())
    response = client.post("/counter/api/verify", json={"qr": qr})
    assert response.status_code == 200
    return response.get_json()


def test_the_hubs_own_counter_refuses_a_code_the_moment_its_holder_is_set_red(hub):
    app, _ = hub
    desk, client = app.extensions["tongban.health"].desk, app.test_client()
    device = keys.generate()
    green = desk.fetch(ID, NAME, device.public, now=int(time.time()))
    assert verdict(client, green, device, int(time.time()))["display"]["health"]["code"] == "green"
    desk.set_status(ID, "red", "密接 / close contact", actor="test:officer", now=int(time.time()))
    body = verdict(client, green, device, int(time.time()))  # no sync, no wait
    assert body["valid"] is False and body["reasons"] == ["suspended"] and body["display"]["health"] is None
    desk.set_status(ID, "green", "", actor="test:officer", now=int(time.time()))


def test_the_hubs_own_counter_keeps_the_newer_list_when_an_older_file_is_copied_back(hub):
    app, data = hub
    desk, client = app.extensions["tongban.health"].desk, app.test_client()
    device = keys.generate()
    green = desk.fetch(ID, NAME, device.public, now=int(time.time()))
    path = data / "status" / "bj-health" / "1.cwt"
    old = path.read_bytes()
    assert verdict(client, green, device, int(time.time()))["valid"] is True
    desk.set_status(ID, "yellow", "行程 / travel", actor="test:officer", now=int(time.time()))
    assert verdict(client, green, device, int(time.time()))["reasons"] == ["suspended"]
    newer = path.read_bytes()
    try:
        shutil.copyfile(path, path.with_name("held.tmp"))
        path.with_name("held.tmp").write_bytes(old)
        path.with_name("held.tmp").replace(path)  # the attack: a copied data directory's older list
        assert verdict(client, green, device, int(time.time()))["reasons"] == ["suspended"]
        sync = client.post("/counter/api/sync", json={}).get_json()
        assert {"uri": HEALTH, "reason": "status_list_rollback"}.items() <= sync["failed"][0].items()
    finally:
        path.write_bytes(newer)
        desk.set_status(ID, "green", "", actor="test:officer", now=int(time.time()))


def test_a_counter_syncing_on_its_timer_refuses_within_ttl_plus_one_interval(hub, tmp_path, record_property):
    app, data = hub
    desk, issuer = app.extensions["tongban.health"].desk, app.extensions["tongban.issuer"]
    clock = Clock(int(time.time()))
    issuer.publish_all(now=clock.now)
    device = keys.generate()
    green = desk.fetch(ID, NAME, device.public, now=clock.now)
    root = keys.PublicKey.from_jwk(json.loads((data / "hub-root.jwk").read_text()))

    def second() -> None:
        """One simulated second: the hub's refresher (every 15 s) and the counter's timer get their turn."""
        clock.now += 1
        if clock.now % 15 == 0:
            issuer.refresh_due(now=clock.now)
        autosync.tick()

    with serving(app) as url:
        VerifierCache(tmp_path / "cache").sync(HttpSource(url), now=clock.now, root=root)
        counter = create_counter_app(tmp_path / "cache", redis_url="", source_url=url, clock=clock)
        autosync, client = counter.extensions["tongban.autosync"], counter.test_client()
        assert autosync.interval() == HEALTH_STATUS.ttl // 2 == 150  # half the shortest ttl: the health lists'
        autosync.tick()
        for _ in range(400):  # long enough for the hub to re-sign and the counter to sync a few times
            second()
            assert verdict(client, green, device, clock.now)["valid"] is True, clock.now
        # Worst case: the officer sets the citizen red just after the counter's sync.
        while autosync.next_at - clock.now != autosync.interval() - 1:
            second()
        red_at = clock.now
        desk.set_status(ID, "red", "密接 / close contact", actor="test:officer", now=red_at)
        while (body := verdict(client, green, device, clock.now))["valid"]:
            assert clock.now - red_at <= 600, "still accepted 10 minutes after the citizen was set red"
            second()
        measured = clock.now - red_at
        assert body["reasons"] == ["suspended"]
        assert measured <= HEALTH_STATUS.ttl + autosync.interval()
        print(f"\nred-to-refused at a stand-alone counter syncing every {autosync.interval()} s: {measured} s (simulated)")
        record_property("red_to_refused_seconds", measured)

    # The hub is gone now: the next syncs fail, and each verdict says how old its status data is.
    for _ in range(autosync.interval() + 30):
        second()
    assert counter.extensions["tongban.autosync"].cache.last_attempt()["ok"] is False
    body = verdict(client, green, device, clock.now)
    assert body["reasons"] == ["suspended"]
    data_age = body["display"]["status_data"]
    assert data_age["minutes"] >= 2 and data_age["zh"] == f"状态数据 {data_age['minutes']} 分钟前更新"
    assert data_age["en"] == f"status data {data_age['minutes']} min old"
    # ... and once the held list's exp has passed, the counter no longer claims to know.
    for _ in range(HEALTH_STATUS.lifetime):
        clock.now += 1
    assert verdict(client, green, device, clock.now)["reasons"] == ["status_unknown"]
    desk.set_status(ID, "green", "", actor="test:officer", now=clock.now)


def test_refreshers_in_several_workers_re_sign_each_due_list_once(hub):
    app, data = hub
    issuer = app.extensions["tongban.issuer"]
    now = int(time.time()) + 5000
    issuer.publish_all(now=now)
    assert issuer.refresh_due(now=now + HEALTH_STATUS.ttl // 2 - 1) == 0  # nothing due yet
    counts, start = [], threading.Barrier(4)

    def worker() -> None:
        start.wait()
        counts.append(issuer.refresh_due(now=now + HEALTH_STATUS.ttl // 2))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(counts) == 1, counts  # the health list only (licence lists are due at 30 min), re-signed once
