"""Two-way counters wired: `tongban verifier serve --two-way`, TONGBAN_COUNTER_TWO_WAY in the main app, and the
command-line wallet and verifier taking a counter code (`--counter-code`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from click.testing import CliRunner

from credentials.counter_code import make_counter_code, parse_counter_code
from service.app import create_app
from service.config import ConfigError, Settings
from service.counter_app import create_counter_app
from service.wiring import main
from tests.counter_world import make_world, run
from verifier.challenges import default_counter_id


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("two-way-app"))
    world.eid = world.issue()
    world.cache = world.base / "cache"
    run("verifier", "sync", "--data", str(world.data), "--cache", str(world.cache))
    return world


def present(world, code: str, *extra: str) -> str:
    return run("wallet", "present", "--wallet", str(world.wallet), "--credential", world.eid, "--counter-code", code,
               *extra).output.strip()


def verdict(client, qr: str) -> dict:
    response = client.post("/counter/api/verify", json={"qr": qr})
    assert response.status_code == 200, response.data
    return response.get_json()


def test_counter_alone_in_two_way_mode(world):
    client = create_counter_app(world.cache, redis_url="", two_way=True, counter_id="window-7").test_client()
    code = client.get("/counter/api/challenge").get_json()["code"]
    assert parse_counter_code(code).counter_id == "window-7"
    assert verdict(client, world.present(world.eid))["reasons"] == ["audience_mismatch"]
    assert verdict(client, present(world, code))["valid"] is True


def test_counter_alone_defaults_to_a_stable_id_and_to_one_way(world):
    two_way = create_counter_app(world.cache, redis_url="", two_way=True)
    assert two_way.config["TONGBAN_COUNTER_ID"] == default_counter_id(world.cache)
    one_way = create_counter_app(world.cache, redis_url="").test_client()
    assert one_way.get("/counter/api/challenge").status_code == 404
    assert verdict(one_way, world.present(world.eid))["valid"] is True


def test_main_app_two_way_from_the_environment(world):
    env = {"TONGBAN_COUNTER_TWO_WAY": "1", "TONGBAN_COUNTER_ID": "bj-dongcheng-3"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
        app = create_app(replace(Settings.from_env(world.data, env=env), issuer_url="http://127.0.0.1:1"))
    client = app.test_client()
    body = client.get("/counter/api/challenge").get_json()
    assert body["counter_id"] == "bj-dongcheng-3"
    assert 'id="counter-code"' in client.get("/counter").get_data(as_text=True)
    assert verdict(client, present(world, body["code"]))["valid"] is True
    assert verdict(client, present(world, body["code"], "--disclose", "age"))["reasons"] == ["challenge_mismatch"]
    wallet = client.get("/wallet/")
    assert "camera=(self)" in wallet.headers["Permissions-Policy"], "the wallet may open the camera (scan.js)"
    assert "default-src 'self'" in wallet.headers["Content-Security-Policy"]
    assert '<script type="module" src="/wallet/static/wallet.js">' in wallet.get_data(as_text=True)
    for asset in ("scan.js", "vendor/jsqr-1.4.0.js", "vendor/LICENSE-jsqr.txt"):
        with client.get(f"/wallet/static/{asset}") as response:
            assert response.status_code == 200, asset


@pytest.mark.parametrize(("env", "name"), [
    ({"TONGBAN_COUNTER_TWO_WAY": "yes"}, "TONGBAN_COUNTER_TWO_WAY"),
    ({"TONGBAN_COUNTER_ID": "窗口 3"}, "TONGBAN_COUNTER_ID"),
    ({"TONGBAN_COUNTER_ID": "x" * 65}, "TONGBAN_COUNTER_ID"),
    ({"TONGBAN_COUNTER_PROFILE": "admin"}, "TONGBAN_COUNTER_PROFILE"),
])
def test_bad_settings_are_refused_with_their_name(tmp_path, env, name):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(tmp_path, env=env)
    defaults = Settings.from_env(tmp_path, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"})
    assert defaults.counter_two_way is False and defaults.counter_profile == "entrance" and defaults.counter_fetch == ""


def test_cli_wallet_and_verify_take_the_counter_code(world):
    now = int(time.time())
    code = make_counter_code("window-7", os.urandom(16), now)
    qr = present(world, code)
    ok = run("verify", "--cache", str(world.cache), "--counter-code", code, qr)
    assert json.loads(ok.output)["valid"] is True
    other = make_counter_code("window-8", os.urandom(16), now)
    refused = run("verify", "--cache", str(world.cache), "--counter-code", other, present(world, code), code=1)
    assert json.loads(refused.output)["reasons"] == ["audience_mismatch"]
    plain = run("verify", "--cache", str(world.cache), "--counter-code", code, world.present(world.eid), code=1)
    assert json.loads(plain.output)["reasons"] == ["audience_mismatch"]


@pytest.mark.parametrize("args", [
    ["wallet", "present", "--credential", "x", "--counter-code", "TBC1:XYZ"],
    ["wallet", "present", "--credential", "x", "--counter-code", "TB1:ABC"],
    ["wallet", "present", "--credential", "x", "--counter-code", "TBC1:AB", "--challenge", "c"],
    ["verify", "--counter-code", "nonsense", "TB1:ABC"],
    ["verifier", "serve", "--counter-id", "a b", "--two-way"],
    ["verifier", "serve", "--counter-id", "window-7"],
])
def test_bad_counter_options_are_usage_errors(world, args):
    where = {"wallet": ["--wallet", str(world.wallet)], "verify": ["--cache", str(world.cache)],
             "verifier": ["--cache", str(world.cache)]}[args[0]]
    result = CliRunner().invoke(main, [*args, *where])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "error" in result.output.lower()


def test_tongban_verifier_serve_two_way(world):
    """The real command in its own process, two-way: the page shows the code; a bound presentation verifies."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    process = subprocess.Popen(  # our own interpreter and arguments
        [sys.executable, "-c", "from service.wiring import main; main()", "verifier", "serve", "--cache",
         str(world.cache), "--port", str(port), "--two-way", "--counter-id", "window-9"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(base + "/counter/api/challenge", timeout=2) as response:
                    body = json.loads(response.read())
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()
                time.sleep(0.2)
        assert body["counter_id"] == "window-9"
        request = urllib.request.Request(base + "/counter/api/verify", method="POST",
                                         data=json.dumps({"qr": present(world, body["code"])}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["valid"] is True
    finally:
        process.terminate()
        process.wait(10)
        first_line = process.stdout.readline().decode()
        process.stdout.close()
    assert "two-way as counter window-9" in first_line
