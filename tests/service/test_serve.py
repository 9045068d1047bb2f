"""`tongban serve` and the README's gunicorn command start the provider and answer discovery."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen) -> dict:
    for _ in range(300):
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            return requests.get(url, timeout=5).json()
        except requests.RequestException:
            time.sleep(0.1)
    pytest.fail("server did not answer")


@pytest.mark.parametrize("how", ["serve", pytest.param("gunicorn", marks=pytest.mark.slow)])
def test_server_starts_and_serves_discovery(tmp_path, how):
    port = _free_port()
    env = {**os.environ, "TONGBAN_DATA": str(tmp_path), "TONGBAN_ISSUER_URL": f"http://127.0.0.1:{port}"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    subprocess.run([BIN / "tongban", "init"], env=env, check=True, capture_output=True)
    if how == "serve":
        cmd = [BIN / "tongban", "serve", "--port", str(port)]
    else:
        cmd = [BIN / "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "service.wsgi:app"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        meta = _wait_for(f"http://127.0.0.1:{port}/.well-known/openid-configuration", proc)
        assert meta["issuer"] == f"http://127.0.0.1:{port}"
        jwks = requests.get(meta["jwks_uri"], timeout=5).json()
        assert sorted(k["alg"] for k in jwks["keys"]) == ["ES256", "RS256"]  # workers agree: one key per ring
        login = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert login.status_code == 200 and 'name="username"' in login.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()
