"""A two-way counter's challenges: the store contract (memory and a real Redis), the HTTP API with an
injected clock, single use, and two counter processes sharing one Redis behind one screen."""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask

from credentials.counter_code import parse_counter_code
from tests.counter_world import make_world, run
from verifier.cache import VerifierCache
from verifier.challenges import (
    MAX_AGE,
    ROTATE_SECONDS,
    MemoryChallengeStore,
    RedisChallengeStore,
    default_counter_id,
)
from verifier.errors import VerifierError
from verifier.replay import MemoryReplayCache, RedisReplayCache
from verifier.web import counter_blueprint

T0 = 1_790_000_000


def counting_tokens():
    numbers = itertools.count(1)
    return lambda: next(numbers).to_bytes(16, "big")


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
def make_store(request):
    """A factory of stores for one counter id; with Redis (one server, or a Cluster: each script touches one key),
    every store made shares the same key."""
    if request.param == "memory":
        return lambda counter_id="c-1", token=None: MemoryChallengeStore(counter_id, token=token or counting_tokens())
    url = request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")
    prefix = f"test-challenge-{uuid.uuid4().hex}:"
    return lambda counter_id="c-1", token=None: RedisChallengeStore(url, counter_id, prefix=prefix,
                                                                    token=token or counting_tokens())


def processes(make_store, n: int, **kwargs) -> list:
    """``n`` counter processes of one counter: threads sharing one memory store, or separate Redis clients."""
    first = make_store(**kwargs)
    if isinstance(first, MemoryChallengeStore):
        return [first] * n
    return [first] + [make_store(**kwargs) for _ in range(n - 1)]


# -- the store contract ---------------------------------------------------------------------------------------------
def test_current_is_stable_until_it_rotates_after_30_s(make_store):
    store = make_store()
    first = store.current(T0)
    assert first.issued_at == T0 and len(first.challenge) == 16 and first.counter_id == "c-1"
    assert store.current(T0 + ROTATE_SECONDS - 1) == first
    second = store.current(T0 + ROTATE_SECONDS)
    assert second.challenge != first.challenge and second.issued_at == T0 + ROTATE_SECONDS
    assert parse_counter_code(second.code).challenge == second.challenge


def test_the_previous_challenge_stays_acceptable_until_60_s(make_store):
    store = make_store()
    first = store.current(T0)
    second = store.current(T0 + 30)
    assert store.acceptable(T0 + 30) == {first.challenge, second.challenge}
    assert store.acceptable(T0 + MAX_AGE) == {first.challenge, second.challenge}
    assert store.acceptable(T0 + MAX_AGE + 1) == {second.challenge}, "older than 60 s"
    third = store.current(T0 + 60)
    assert store.acceptable(T0 + 60) == {second.challenge, third.challenge}, "only current + previous are kept"


def test_only_current_and_previous_are_kept(make_store):
    store = make_store()
    issued = [store.current(T0 + 30 * i).challenge for i in range(4)]
    assert store.acceptable(T0 + 90) == set(issued[2:])


def test_consume_is_single_use_and_rotates_the_current(make_store):
    store = make_store()
    first = store.current(T0)
    assert store.consume(first.challenge, T0 + 5) is True
    assert store.consume(first.challenge, T0 + 5) is False, "a challenge is answered once"
    assert first.challenge not in store.acceptable(T0 + 5)
    nxt = store.current(T0 + 6)
    assert nxt.challenge != first.challenge and nxt.issued_at == T0 + 6, "the next person gets a new challenge"


def test_answering_the_current_keeps_the_previous_open(make_store):
    store = make_store()
    old = store.current(T0)
    cur = store.current(T0 + 30)
    assert store.consume(cur.challenge, T0 + 31)
    new = store.current(T0 + 32)
    assert store.acceptable(T0 + 32) == {old.challenge, new.challenge}


def test_consume_refuses_unknown_and_too_old(make_store):
    store = make_store()
    first = store.current(T0)
    assert store.consume(bytes(16), T0) is False
    assert store.consume(first.challenge, T0 + MAX_AGE + 1) is False
    assert store.consume(first.challenge, T0) is False, "a too-old answer still used it up"


def test_counters_do_not_share_challenges(make_store):
    here, there = make_store("here", lambda: os.urandom(16)), make_store("there", lambda: os.urandom(16))
    mine = here.current(T0)
    there.current(T0)
    assert mine.challenge not in there.acceptable(T0)
    assert there.consume(mine.challenge, T0) is False


def test_exactly_one_of_many_racing_answers_wins(make_store):
    stores = processes(make_store, 6)
    challenge = stores[0].current(T0).challenge
    results, barrier = [], threading.Barrier(len(stores))

    def answer(store):
        barrier.wait()
        results.append(store.consume(challenge, T0 + 1))

    threads = [threading.Thread(target=answer, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]


def test_racing_rotations_agree_on_one_current(make_store):
    stores = processes(make_store, 6, token=lambda: os.urandom(16))
    stores[0].current(T0)
    results, barrier = [], threading.Barrier(len(stores))

    def rotate(store):
        barrier.wait()
        results.append(store.current(T0 + 30))

    threads = [threading.Thread(target=rotate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.challenge for r in results}) == 1, "every process behind one screen shows the same code"


def test_unreachable_redis_is_a_named_error():
    store = RedisChallengeStore("redis://127.0.0.1:1/0", "c-1")
    for call in (lambda: store.current(T0), lambda: store.acceptable(T0), lambda: store.consume(bytes(16), T0)):
        with pytest.raises(VerifierError) as exc:
            call()
        assert exc.value.reason == "challenge_store_unavailable"


def test_default_counter_id_is_stable_per_machine_and_cache(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert default_counter_id(one, "counter-pc") == default_counter_id(one, "counter-pc")
    assert default_counter_id(one, "counter-pc") != default_counter_id(two, "counter-pc")
    assert default_counter_id(one, "counter-pc").startswith("counter-pc-")
    assert default_counter_id(one, "柜台 1号.local").startswith("1-local-")
    assert default_counter_id(one, "").startswith("counter-")
    assert len(default_counter_id(one, "x" * 200)) <= 64
    parse_counter_code(MemoryChallengeStore(default_counter_id(one)).current(T0).code)


# -- the HTTP API ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("two-way"))
    world.eid = world.issue()
    world.cache = world.base / "cache"
    run("verifier", "sync", "--data", str(world.data), "--cache", str(world.cache))
    return world


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def counter(world, store, clock=time.time, replay=None):
    app = Flask(f"counter-{uuid.uuid4().hex}")
    app.register_blueprint(counter_blueprint(VerifierCache(world.cache), replay or MemoryReplayCache(), clock=clock,
                                             two_way=store))
    return app.test_client()


def present_for(world, code_text: str, *, now: int | None = None, disclose: str | None = None) -> str:
    """What the wallet does after scanning the counter's code: sign its id and challenge."""
    return run("wallet", "present", "--wallet", str(world.wallet), "--credential", world.eid,
               "--counter-code", code_text, *(["--now", _iso(now)] if now else []),
               *(["--disclose", disclose] if disclose else [])).output.strip()


def _iso(now: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now))


def verify(client, qr: str) -> dict:
    response = client.post("/counter/api/verify", json={"qr": qr})
    assert response.status_code == 200
    return response.get_json()


def test_challenge_endpoint_gives_the_code_and_its_qr(world):
    client = counter(world, MemoryChallengeStore("bj-dc-3"))
    response = client.get("/counter/api/challenge")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    code = parse_counter_code(body["code"])
    assert body["counter_id"] == code.counter_id == "bj-dc-3"
    assert body["issued_at"] == code.issued_at and body["rotates_at"] == code.issued_at + 30
    assert body["valid_until"] == code.issued_at + 60 and abs(body["now"] - time.time()) < 5
    assert body["image"].startswith("data:image/svg+xml;base64,")
    page = client.get("/counter").get_data(as_text=True)
    assert 'id="counter-code"' in page and "bj-dc-3" in page


def test_the_qr_image_reads_back_as_the_code(world, tmp_path):
    import base64

    from verifier.image import read_qr_bytes

    body = counter(world, MemoryChallengeStore("bj-dc-3")).get("/counter/api/challenge").get_json()
    svg = base64.b64decode(body["image"].split(",", 1)[1])
    png = _svg_to_png(svg, tmp_path)
    assert read_qr_bytes(png, "the counter code") == body["code"]


def _svg_to_png(svg: bytes, tmp_path: Path) -> bytes:
    """Rasterise the SVG's squares with PIL (the SVG is only rects: fill white, then the path's unit squares)."""
    import io
    import re

    from PIL import Image, ImageDraw

    size = int(re.search(rb'viewBox="0 0 (\d+) \d+"', svg).group(1))
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y in re.findall(rb"M(\d+),(\d+)H", svg):
        draw.rectangle([int(x) * scale, int(y) * scale, (int(x) + 1) * scale - 1, (int(y) + 1) * scale - 1], fill=0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_one_way_counter_has_no_challenge_and_shows_none(world):
    app = Flask("one-way")
    app.register_blueprint(counter_blueprint(VerifierCache(world.cache), MemoryReplayCache()))
    client = app.test_client()
    response = client.get("/counter/api/challenge")
    assert response.status_code == 404 and response.get_json()["error"] == "two_way_off"
    assert 'id="counter-code"' not in client.get("/counter").get_data(as_text=True)


def test_rotation_with_an_injected_clock(world):
    clock = Clock(time.time())
    client = counter(world, MemoryChallengeStore("bj-dc-3"), clock=clock)
    first = client.get("/counter/api/challenge").get_json()
    clock.now += 29
    assert client.get("/counter/api/challenge").get_json()["code"] == first["code"]
    clock.now += 1
    second = client.get("/counter/api/challenge").get_json()
    assert second["code"] != first["code"] and second["issued_at"] == first["issued_at"] + 30


def test_verify_end_to_end_and_single_use(world):
    client = counter(world, MemoryChallengeStore("bj-dc-3"))
    code = client.get("/counter/api/challenge").get_json()["code"]
    first = verify(client, present_for(world, code))
    assert first["valid"] is True, first
    # The same challenge answered again, by a new presentation (the same phone, a second person's screenshot of
    # the counter code): the challenge is spent.
    again = verify(client, present_for(world, code, disclose="age"))
    assert again["valid"] is False and again["reasons"] == ["challenge_mismatch"]
    assert again["display"]["reason"]["zh"].startswith("二维码不是针对本柜台")
    nxt = client.get("/counter/api/challenge").get_json()["code"]
    assert nxt != code, "answered: the page shows a new challenge at once"
    assert verify(client, present_for(world, nxt))["valid"]


def test_another_counters_code_and_one_way_codes_are_refused(world):
    here, there = counter(world, MemoryChallengeStore("bj-dc-3")), counter(world, MemoryChallengeStore("bj-dc-4"))
    here.get("/counter/api/challenge")
    code_there = there.get("/counter/api/challenge").get_json()["code"]
    body = verify(here, present_for(world, code_there))
    assert body["valid"] is False and body["reasons"] == ["audience_mismatch"]
    assert "其他柜台" in body["display"]["reason"]["zh"] and "another counter" in body["display"]["reason"]["en"]
    assert verify(here, world.present(world.eid))["reasons"] == ["audience_mismatch"]


def test_old_challenge_is_refused_after_60_s(world):
    clock = Clock(time.time())
    client = counter(world, MemoryChallengeStore("bj-dc-3"), clock=clock)
    code = client.get("/counter/api/challenge").get_json()["code"]
    clock.now += 30
    client.get("/counter/api/challenge")  # rotated: the first is the previous one, still open
    assert verify(client, present_for(world, code, now=int(clock.now)))["valid"]
    code = client.get("/counter/api/challenge").get_json()["code"]
    clock.now += 61
    body = verify(client, present_for(world, code, now=int(clock.now)))
    assert body["valid"] is False and body["reasons"] == ["challenge_mismatch"]


def test_scanning_the_counter_code_into_the_counter_says_what_it_is(world):
    client = counter(world, MemoryChallengeStore("bj-dc-3"))
    code = client.get("/counter/api/challenge").get_json()["code"]
    body = verify(client, code)
    assert body["valid"] is False and body["reasons"] == ["counter_code"]
    assert "柜台码" in body["display"]["reason"]["zh"]


def test_an_unreachable_store_gives_a_verdict_with_its_reason_never_a_500(world):
    client = counter(world, RedisChallengeStore("redis://127.0.0.1:1/0", "bj-dc-3"))
    response = client.get("/counter/api/challenge")
    assert response.status_code == 503 and response.get_json()["error"] == "challenge_store_unavailable"
    body = verify(client, world.present(world.eid))
    assert body["valid"] is False and body["reasons"] == ["challenge_store_unavailable"]


@pytest.mark.redis
def test_two_counter_processes_behind_one_screen_share_redis(world, redis_url):
    """The page talks to process A, the phone's code is checked by process B: they agree, once."""
    prefix = f"test-two-way-{uuid.uuid4().hex}:"
    replay_prefix = f"test-two-way-replay-{uuid.uuid4().hex}:"

    def process():
        return counter(world, RedisChallengeStore(redis_url, "bj-dc-3", prefix=prefix),
                       replay=RedisReplayCache(redis_url, prefix=replay_prefix))

    a, b = process(), process()
    code = a.get("/counter/api/challenge").get_json()["code"]
    assert b.get("/counter/api/challenge").get_json()["code"] == code, "one screen, one code"
    assert verify(b, present_for(world, code))["valid"]
    assert verify(a, present_for(world, code, disclose="age"))["reasons"] == ["challenge_mismatch"]
    assert a.get("/counter/api/challenge").get_json()["code"] != code
