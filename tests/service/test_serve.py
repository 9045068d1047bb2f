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


@pytest.mark.slow
def test_serve_tls_answers_https_with_the_certificate_whose_fingerprint_it_printed(tmp_path):
    """`tongban serve --tls`: a self-signed certificate for 127.0.0.1 and localhost, its fingerprint printed, the
    issuer URL https; a client that trusts exactly that certificate gets discovery, a plain-HTTP client nothing."""
    import hashlib
    import ssl

    port = _free_port()
    env = {**os.environ, "TONGBAN_DATA": str(tmp_path)}
    for name in ("DATABASE_URL", "REDIS_URL", "TONGBAN_ISSUER_URL"):
        env.pop(name, None)
    subprocess.run([BIN / "tongban", "init"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([BIN / "tongban", "serve", "--tls", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        printed = proc.stdout.readline() + proc.stdout.readline()
        assert "SHA-256 fingerprint" in printed, printed
        cert = tmp_path / "dev-tls" / "dev-tls.crt"
        meta = None
        for _ in range(300):
            try:
                meta = requests.get(f"https://127.0.0.1:{port}/.well-known/openid-configuration", verify=str(cert),
                                    timeout=5).json()
                break
            except requests.exceptions.SSLError:
                raise
            except requests.RequestException:
                time.sleep(0.1)
        assert meta and meta["issuer"] == f"https://127.0.0.1:{port}"
        served = ssl.get_server_certificate(("127.0.0.1", port))
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).hexdigest().upper()
        assert ":".join(digest[i:i + 2] for i in range(0, 64, 2)) in printed
        with pytest.raises(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=3)
        with pytest.raises(requests.exceptions.SSLError):  # no CA vouches for it: a browser asks, a client refuses
            requests.get(f"https://127.0.0.1:{port}/.well-known/openid-configuration", timeout=3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
