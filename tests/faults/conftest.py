"""Fault injection: the service under gunicorn, in production mode, with its OWN Redis process and PostgreSQL
behind an in-process TCP proxy (``proxy.FaultProxy``) that can refuse or stall, so a test can take a store away
and bring it back without touching the shared servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from storage.sql import normalise_url
from tests.faults.proxy import FaultProxy

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A redis-server of the test's own (no persistence), stoppable and restartable on the same port."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.directory)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


class Service:
    """``gunicorn service.wsgi:app`` as the Dockerfile runs it (TONGBAN_DEMO=0 aside: demo data keeps init fast)."""

    def __init__(self, env: dict[str, str], workers: int = 2):
        self.port = free_port()
        self.env = {**env, "TONGBAN_ISSUER_URL": f"http://127.0.0.1:{self.port}"}
        self.log = Path(env["TONGBAN_DATA"]) / f"gunicorn-{self.port}.log"
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [BIN / "gunicorn", "-c", "python:service.gunicorn_conf", "-w", str(self.workers), "-k", "gthread",
                 "--threads", "4", "--graceful-timeout", "2",
                 "-b", f"127.0.0.1:{self.port}", "service.wsgi:app"],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def wait_ready(self, timeout: float = 60) -> float:
        """Seconds until /readyz answers 200."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if self.get("/readyz", timeout=5).status_code == 200:
                    return time.monotonic() - start
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"not ready in {timeout} s: {self.log.read_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    from tests.conftest import POSTGRES_URL, need_server

    need_server("PostgreSQL", "127.0.0.1", 5432)
    schema = "tb_fault_" + uuid.uuid4().hex[:10]
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="module")
def pg_proxy():
    proxy = FaultProxy(5432)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    import shutil

    from tests.conftest import REQUIRE_SERVERS

    if shutil.which("redis-server") is None:
        (pytest.fail if REQUIRE_SERVERS else pytest.skip)("redis-server is not installed (the fault tests run their own)")
    redis = OwnRedis(tmp_path_factory.mktemp("redis"))
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory, pg_url, pg_proxy, own_redis):
    """An initialised hub (`tongban init`, `tongban migrate` straight to PostgreSQL), served by gunicorn through
    the proxy with TONGBAN_MIGRATE_AT_START=0, as in the container."""
    data = tmp_path_factory.mktemp("hub")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    env.update(TONGBAN_DATA=str(data), DATABASE_URL=pg_url, REDIS_URL=own_redis.url, TONGBAN_DEV_PLAINTEXT_KEYS="1",
               PYTHONPATH=str(ROOT))
    for command in (["init"], ["migrate"]):
        done = subprocess.run([BIN / "tongban", *command], env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    proxied = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{pg_proxy.port}")
    server = Service({**env, "DATABASE_URL": proxied, "TONGBAN_MIGRATE_AT_START": "0", "TONGBAN_RETRY_AFTER": "2"})
    server.start()
    server.wait_ready()
    # every worker built (a request lands on either): a worker still building when a test takes PostgreSQL away
    # would answer from service.deferred instead
    oks = 0
    while oks < 10:
        oks = oks + 1 if server.get("/readyz", headers={"Connection": "close"}).status_code == 200 else 0
    yield server
    server.stop()
