"""Shared fixtures: server reachability (skip on a laptop, fail in CI) and the shared vectors folder."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from hypothesis import settings

# The vectors live in the repository (tests/vectors, with their licences), so a clean clone runs them.
_IN_REPO = Path(__file__).resolve().parent / "vectors"
SHARED_VECTORS = _IN_REPO if _IN_REPO.is_dir() else Path(__file__).resolve().parents[2] / "shared" / "vectors"
REQUIRE_SERVERS = os.environ.get("TONGBAN_REQUIRE_SERVERS") == "1"

# Two tiers (see the README): `pytest` is the everyday command, about two minutes; `pytest --slow` adds the long
# scenarios. Property tests run a fifth of their examples in the everyday tier and all of them with
# TONGBAN_THOROUGH=1, which CI sets for its second pass (`pytest --slow -m "slow or property"`).
THOROUGH = os.environ.get("TONGBAN_THOROUGH") == "1"
# No per-example deadline: on a shared two-core machine a deadline measures the load, not the code (speed lives in
# benchmarks/).
settings.register_profile("everyday", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=100, deadline=None)
settings.load_profile("thorough" if THOROUGH else "everyday")


def examples(count: int) -> int:
    """A property test's example count: ``count`` in the thorough pass, a fifth of it (at least 10) every day."""
    return count if THOROUGH else max(10, count // 5)


POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_server(name: str, host: str, port: int) -> None:
    """Skip when a server is unreachable, except in CI (TONGBAN_REQUIRE_SERVERS=1), where it fails."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if REQUIRE_SERVERS:
        pytest.fail(message + " (CI requires it)")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> str:
    need_server("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture
def redis_url() -> str:
    need_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL


def vectors(*parts: str) -> Path:
    """A folder of ../shared/vectors, or a clean skip where it is absent (a user's machine)."""
    path = SHARED_VECTORS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared vectors not present at {path}")
    return path


@pytest.fixture(scope="session")
def app_template(tmp_path_factory) -> Path:
    """A data directory ``create_app`` has already filled once (ES256 and 3072-bit RSA key rings, the service
    secret, the SQLite tables): a test copies it (``copy_template``) instead of generating its own RSA key."""
    from dataclasses import replace

    from service.app import create_app
    from service.config import Settings

    data = tmp_path_factory.mktemp("app-template")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
        app = create_app(replace(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url="http://127.0.0.1:1"))
        app.extensions["tongban.idp"].engine.dispose()
    return data


# What `tongban init` reads from the environment besides TONGBAN_DEMO: cleared for the demo template below.
_INIT_ENV = ("DATABASE_URL", "REDIS_URL", "TONGBAN_REGION", "TONGBAN_SUITE", "TONGBAN_KEY_PASSPHRASE",
             "TONGBAN_DEV_PLAINTEXT_KEYS", "TONGBAN_ISSUER_URL", "TONGBAN_PROXY_HOPS", "TONGBAN_TLS_TERMINATED_BY_PROXY",
             "TONGBAN_IDP_SECRET", "TONGBAN_ISSUER_SECRET", "TONGBAN_PKCS11_MODULE")


@pytest.fixture(scope="session")
def demo_init_template(tmp_path_factory) -> Path:
    """A data directory exactly as ``tongban init`` leaves it in demo mode (SQLite inside it, no servers), made
    once per test process: tests that need a demo hub but do not test ``init`` itself copy it (``demo_data``)
    instead of generating the root, authority and RSA keys and sealing the demo records again (~1.5 s each).
    Copies share their keys, so a test that needs two independent hubs runs ``init`` for the second."""
    from click.testing import CliRunner

    from service.wiring import main

    data = tmp_path_factory.mktemp("init-template") / "data"
    with pytest.MonkeyPatch.context() as patch:
        for name in _INIT_ENV:
            patch.delenv(name, raising=False)
        patch.setenv("TONGBAN_DEMO", "1")
        result = CliRunner().invoke(main, ["init", "--data", str(data)])
    assert result.exit_code == 0, result.output
    return data


@pytest.fixture
def demo_data(demo_init_template, tmp_path) -> Path:
    """This test's own copy of the demo data directory (``demo_init_template``) at ``tmp_path / "data"``."""
    return copy_template(demo_init_template, tmp_path / "data")


def copy_template(template: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true",
                     help="also run the tests marked slow (whole-service runs in their own processes, fault injection); "
                          "CI runs them after the README's command: pytest --slow -m slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that talks to PostgreSQL or Redis ``servers``, so ``-m "not browser and not servers"`` is a
    fast inner loop (the fixtures name the servers; a parametrised ``servers`` mode counts too); every hypothesis
    test ``property``; and every browser scenario ``slow`` but one ``smoke`` test per page. Tests marked ``slow``
    are left out (deselected, and counted as such) unless ``--slow`` is given."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)
        if item.get_closest_marker("browser") and not item.get_closest_marker("smoke"):
            item.add_marker(pytest.mark.slow)
        params = getattr(getattr(item, "callspec", None), "params", {})
        modes = {v for v in params.values() if isinstance(v, str)}
        server_fixtures = {"postgres_url", "redis_url", "redis_cluster_url", "redis_sentinel_url"}
        if server_fixtures & set(getattr(item, "fixturenames", ())) or {"servers", "postgres", "redis"} & modes:
            item.add_marker(pytest.mark.servers)
    if not config.getoption("--slow"):
        slow = [item for item in items if item.get_closest_marker("slow")]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if not item.get_closest_marker("slow")]


# -- SoftHSM2 (PKCS#11) ------------------------------------------------------------------------------------
SOFTHSM_MODULE = next((m for m in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
                       if Path(m).exists()), None)
SOFTHSM_PIN = "123456"


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory):
    """A fresh SoftHSM2 token ``tongban-test`` (one per worker process: the module reads SOFTHSM2_CONF once, when it
    is loaded). Skips without SoftHSM2 on a laptop; fails in CI (.ci/run installs the Debian package)."""
    import shutil
    import subprocess

    if SOFTHSM_MODULE is None or shutil.which("softhsm2-util") is None:
        message = "SoftHSM2 is not installed (apt-get install softhsm2)"
        if REQUIRE_SERVERS:
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)
    from keys.pkcs11 import Pkcs11Token

    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "tongban-test", "--pin", SOFTHSM_PIN,
                    "--so-pin", "87654321"], check=True, capture_output=True, env={**os.environ})
    return Pkcs11Token(SOFTHSM_MODULE, "tongban-test", SOFTHSM_PIN)


# -- Redis topologies: a three-node Cluster and a Sentinel over its own master, started per test process ------------
def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _free_cluster_ports(count: int) -> list[int]:
    """Ports whose cluster bus port (port + 10000) is free too, so below 55536."""
    import random

    def free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False

    found: list[int] = []
    while len(found) < count:
        port = random.randrange(20000, 30000)
        if port not in found and free(port) and free(port + 10000):
            found.append(port)
    return found


def _redis_binary() -> str:
    import shutil

    found = shutil.which("redis-server")
    if found is None or shutil.which("redis-cli") is None:
        message = "redis-server/redis-cli are not installed (apt-get install redis-server)"
        if REQUIRE_SERVERS:
            pytest.fail(message + " (CI requires them)")
        pytest.skip(message)
    return found


def _wait(check, what: str) -> None:
    import time

    for _ in range(200):
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} did not come up")


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory):
    """``redis+cluster://`` to three cluster-enabled redis-server processes (no replicas), slots spread over all."""
    import subprocess

    binary, ports = _redis_binary(), _free_cluster_ports(3)
    home = tmp_path_factory.mktemp("redis-cluster")
    procs = [subprocess.Popen([binary, "--port", str(p), "--cluster-enabled", "yes", "--cluster-config-file",
                               f"nodes-{p}.conf", "--dir", str(home), "--save", "", "--appendonly", "no",
                               "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for p in ports]
    try:
        for p in ports:
            _wait(lambda p=p: _reachable("127.0.0.1", p), f"redis-server on {p}")
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-replicas",
                        "0", "--cluster-yes"], check=True, capture_output=True, timeout=30)
        _wait(lambda: b"cluster_state:ok" in subprocess.run(["redis-cli", "-p", str(ports[0]), "cluster", "info"],
                                                             capture_output=True).stdout, "the cluster")
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_sentinel_url(tmp_path_factory):
    """``redis+sentinel://`` to one sentinel watching its own master (service ``tbmaster``)."""
    import subprocess

    binary, (master, sentinel) = _redis_binary(), _free_ports(2)
    home = tmp_path_factory.mktemp("redis-sentinel")
    conf = home / "sentinel.conf"
    conf.write_text(f"port {sentinel}\nbind 127.0.0.1\nsentinel monitor tbmaster 127.0.0.1 {master} 1\n"
                    "sentinel down-after-milliseconds tbmaster 5000\n")
    procs = [subprocess.Popen([binary, "--port", str(master), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen([binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait(lambda: _reachable("127.0.0.1", master) and _reachable("127.0.0.1", sentinel), "redis sentinel")
        _wait(lambda: str(master).encode() in subprocess.run(
            ["redis-cli", "-p", str(sentinel), "sentinel", "get-master-addr-by-name", "tbmaster"],
            capture_output=True).stdout, "the sentinel's master")
        yield f"redis+sentinel://127.0.0.1:{sentinel}/tbmaster/0"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
