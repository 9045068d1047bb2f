"""The counter wired: alone (`tongban verifier serve`), inside the main app, and syncing from the main app over HTTP."""

from __future__ import annotations

import io
import json
import os
import uuid
from dataclasses import replace

import pytest
from click.testing import CliRunner
from PIL import Image

from service.app import create_app
from service.config import Settings
from service.counter_app import create_counter_app, replay_cache
from service.wiring import main
from tests.counter_world import make_world, run, serving
from verifier.errors import VerifierError
from verifier.replay import MemoryReplayCache, RedisReplayCache
from wallet.qr import write_png


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("counter-app"))
    world.eid = world.issue()
    world.cache = world.base / "cache"
    run("verifier", "sync", "--data", str(world.data), "--cache", str(world.cache))
    return world


@pytest.fixture(scope="module")
def main_app(world):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
        yield create_app(replace(Settings.from_env(world.data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url="http://127.0.0.1:1"))


def verdict(client, qr: str) -> dict:
    response = client.post("/counter/api/verify", json={"qr": qr})
    assert response.status_code == 200, response.data
    return response.get_json()


# -- alone -----------------------------------------------------------------------------------------------------
def test_counter_alone_verifies_from_its_cache(world):
    client = create_counter_app(world.cache, redis_url="").test_client()
    assert client.get("/").headers["Location"] == "/counter"
    assert verdict(client, world.present(world.eid))["valid"] is True
    assert client.get("/authorize").status_code == 404, "no identity provider in the counter app"
    assert client.get("/trust/trust-list.jwt").status_code == 404, "no publication either"


def test_counter_alone_sends_the_security_headers(world):
    client = create_counter_app(world.cache, redis_url="").test_client()
    for response in (client.get("/counter"), client.post("/counter/api/verify", json={"qr": "x"})):
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "camera=(self)" in response.headers["Permissions-Policy"]
    response = client.get("/nowhere")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_counter_alone_needs_a_synced_cache(tmp_path):
    with pytest.raises(VerifierError, match="tongban verifier sync"):
        create_counter_app(tmp_path / "empty")
    result = CliRunner().invoke(main, ["verifier", "serve", "--cache", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "tongban verifier sync" in result.output and "Traceback" not in result.output


def test_replay_cache_choice(redis_url):
    assert isinstance(replay_cache(""), MemoryReplayCache)
    assert isinstance(replay_cache(redis_url), RedisReplayCache)


@pytest.mark.redis
def test_two_counter_processes_share_replays_through_redis(world, redis_url):
    prefix = f"test-counter-{uuid.uuid4().hex}:"
    first = create_counter_app(world.cache, replay=RedisReplayCache(redis_url, prefix=prefix)).test_client()
    second = create_counter_app(world.cache, replay=RedisReplayCache(redis_url, prefix=prefix)).test_client()
    qr = world.present(world.eid)
    assert verdict(first, qr)["valid"] is True
    assert verdict(second, qr)["reasons"] == ["replayed"]


# -- inside the main app -----------------------------------------------------------------------------------------
def test_main_app_mounts_the_counter_with_a_cache_synced_at_start_up(world, main_app):
    assert (world.data / "counter-cache" / "root.jwk").exists()
    client = main_app.test_client()
    page = client.get("/counter")
    assert page.status_code == 200 and 'id="sync"' in page.get_data(as_text=True)
    assert verdict(client, world.present(world.eid))["valid"] is True


def test_main_app_sync_button_picks_up_a_revocation(world, main_app):
    client = main_app.test_client()
    eid = world.issue()
    world.revoke(eid)
    response = client.post("/counter/api/sync", json={})
    assert response.status_code == 200 and response.get_json()["status_lists"] == 4
    body = verdict(client, world.present(eid))
    assert body["reasons"] == ["revoked"] and body["display"]["reason"]["en"].startswith("The issuing authority has revoked")


def test_main_app_takes_camera_frames_larger_than_its_form_limit(world, main_app, tmp_path):
    png = tmp_path / "qr.png"
    write_png(world.present(world.eid), png)
    frame = Image.frombytes("RGB", (1280, 960), os.urandom(1280 * 960 * 3))  # sensor noise compresses badly
    with Image.open(png) as qr:
        frame.paste(qr.convert("RGB").resize((700, 700)), (290, 130))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=92)
    assert len(out.getvalue()) > 64 * 1024
    response = main_app.test_client().post("/counter/api/scan-image", data=out.getvalue(), content_type="image/jpeg")
    assert response.status_code == 200 and response.get_json()["valid"] is True
    # ... while everything else keeps the main app's 64 KiB limit.
    assert main_app.test_client().post("/counter/api/verify", data=b"{" * 70_000,
                                       content_type="application/json").status_code == 413


def test_main_app_starts_without_a_hub(tmp_path, monkeypatch):
    """No `tongban init` yet: the app still starts; the counter says it has no trust list."""
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    app = create_app(replace(Settings.from_env(tmp_path, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url="http://127.0.0.1:1"))
    client = app.test_client()
    response = client.post("/counter/api/sync", json={})
    assert response.status_code == 502 and "tongban init" in response.get_json()["message"]


# -- a stand-alone counter syncing from the main app over HTTP ------------------------------------------------------
def test_sync_from_the_main_app_over_http(world, main_app, tmp_path):
    with serving(main_app) as url:
        cache = tmp_path / "remote-cache"
        run("verifier", "sync", "--from", url, "--cache", str(cache), "--root", str(world.data / "hub-root.jwk"))
        counter = create_counter_app(cache, redis_url="", source_url=url).test_client()
        eid = world.issue()
        assert counter.post("/counter/api/sync", json={}).status_code == 200
        assert verdict(counter, world.present(eid))["valid"] is True
        world.revoke(eid)
        assert counter.post("/counter/api/sync", json={}).status_code == 200
        assert verdict(counter, world.present(eid))["reasons"] == ["revoked"]


def test_tongban_verifier_serve_runs_the_counter_alone(world):
    """The real command in its own process: the page and the API answer; nothing else is mounted."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    process = subprocess.Popen(  # our own interpreter and arguments
        [sys.executable, "-c", "from service.wiring import main; main()", "verifier", "serve", "--cache",
         str(world.cache), "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(base + "/counter", timeout=2) as response:
                    page = response.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()
                time.sleep(0.2)
        assert 'id="qr"' in page
        request = urllib.request.Request(base + "/counter/api/verify", method="POST",
                                         data=json.dumps({"qr": world.present(world.eid)}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["valid"] is True
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(base + "/authorize", timeout=5)
        assert exc.value.code == 404
        exc.value.close()
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
