"""Issue 10's scale-out topology without containers: two gunicorn masters (each its own workers) sharing one
PostgreSQL, one Redis and one data directory (a shared volume: keys, trust list, status lists), behind Debian's
nginx with TLS (the development certificate of ``keys.dev_tls``) configured as ``deploy/nginx.conf`` is.

A citizen signs in to an app through nginx; one instance is killed (SIGKILL, master and workers); the app refreshes
its tokens, reads UserInfo and signs the citizen in again silently (SSO): all through the other instance, nothing
lost. Marked slow (CI's second pass); skips without nginx on a laptop, fails in CI (.ci/run installs it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from idp.cli import DEMO_CITIZEN
from keys.dev_tls import dev_certificate
from tests.conftest import REQUIRE_SERVERS
from tests.faults.conftest import BIN, ROOT, Service, free_port
from tests.idp.conftest import Browser, query

pytestmark = [pytest.mark.slow, pytest.mark.servers]
REDIRECT = "https://app.example/cb"

NGINX_CONF = """
user root;
worker_processes 1;
error_log {home}/error.log warn;
pid {home}/nginx.pid;
events {{}}
http {{
  access_log {home}/access.log;
  client_body_temp_path {home}/body;
  proxy_temp_path {home}/proxy;
  fastcgi_temp_path {home}/fastcgi;
  uwsgi_temp_path {home}/uwsgi;
  scgi_temp_path {home}/scgi;
  upstream tongban {{
    server 127.0.0.1:{a} max_fails=2 fail_timeout=5s;
    server 127.0.0.1:{b} max_fails=2 fail_timeout=5s;
    keepalive 8;
  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate     {cert};
    ssl_certificate_key {key};
    location = /metrics {{ return 404; }}
    location = /token {{
      proxy_pass http://tongban;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host:$server_port;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_connect_timeout 2s;
      proxy_read_timeout 10s;
      proxy_next_upstream error timeout http_503 non_idempotent;
      proxy_next_upstream_tries 2;
    }}
    location / {{
      proxy_pass http://tongban;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host:$server_port;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Request-ID $request_id;
      proxy_connect_timeout 2s;
      proxy_read_timeout 10s;
      proxy_next_upstream error timeout http_503;
      proxy_next_upstream_tries 2;
    }}
  }}
}}
"""


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        (pytest.fail if REQUIRE_SERVERS else pytest.skip)("nginx is not installed (apt-get install nginx)")
    return found


@pytest.fixture(scope="module")
def topology(tmp_path_factory, nginx_binary, pg_url, own_redis):
    data, home = tmp_path_factory.mktemp("shared-hub"), tmp_path_factory.mktemp("nginx")
    port = free_port()
    public = f"https://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    env.update(TONGBAN_DATA=str(data), DATABASE_URL=pg_url, REDIS_URL=own_redis.url, TONGBAN_DEV_PLAINTEXT_KEYS="1",
               PYTHONPATH=str(ROOT), TONGBAN_ISSUER_URL=public, TONGBAN_PROXY_HOPS="1")
    for command in (["init"], ["migrate"]):
        done = subprocess.run([BIN / "tongban", *command], env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    added = subprocess.run([BIN / "tongban", "clients", "add", "--name", "某市政务应用", "--redirect-uri", REDIRECT,
                            "--scope", "openid", "--scope", "profile", "--subject-type", "public"],
                           env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    client = json.loads(added.stdout)
    instances = [Service({**env, "TONGBAN_MIGRATE_AT_START": "0"}) for _ in range(2)]
    for instance in instances:
        instance.env["TONGBAN_ISSUER_URL"] = public  # Service sets its own port; behind nginx the issuer is nginx's
        instance.start()
    for instance in instances:
        instance.wait_ready()
    cert, key, _ = dev_certificate(home / "tls", ["127.0.0.1"])
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (home / sub).mkdir()
    conf = home / "nginx.conf"
    conf.write_text(NGINX_CONF.format(home=home, port=port, a=instances[0].port, b=instances[1].port, cert=cert, key=key))
    nginx = subprocess.Popen([nginx_binary, "-c", str(conf), "-p", str(home), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                if requests.get(public + "/readyz", verify=str(cert), timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise AssertionError(f"nginx did not answer: {(home / 'error.log').read_text()[-2000:]}")
        yield {"public": public, "cert": str(cert), "client": client, "instances": instances, "home": home}
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        nginx.stderr.close()
        for instance in instances:
            instance.stop()


def _kill(instance: Service) -> None:
    """SIGKILL to the master and every worker: the instance vanishes as a crashed machine would."""
    pids = [instance.proc.pid, *instance.worker_pids()]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    instance.proc.wait(timeout=10)


def _sign_in(topology, browser: Browser, prompt: str | None = None) -> dict[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": topology["client"]["client_id"], "redirect_uri": REDIRECT,
              "scope": "openid profile", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
              "code_challenge": challenge, "code_challenge_method": "S256", **({"prompt": prompt} if prompt else {})}
    out = browser.go(topology["public"] + "/authorize?" + urlencode(params))
    if out is None and 'name="password"' in browser.page.text:
        out = browser.login()
    if out is None:
        out = browser.submit("/consent", decision="allow")
    assert out and out.startswith(REDIRECT), browser.page.text[:500]
    code = query(out)["code"]
    answer = requests.post(topology["public"] + "/token", verify=topology["cert"], timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier},
        auth=(topology["client"]["client_id"], topology["client"]["client_secret"]))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_citizen_signed_in_through_nginx_keeps_everything_when_one_instance_dies(topology):
    public, cert = topology["public"], topology["cert"]
    browser = Browser(type("Door", (), {"url": public})())
    browser.http.verify = cert
    browser.http.trust_env = False  # else REQUESTS_CA_BUNDLE overrides the session's verify (a requests quirk)
    tokens = _sign_in(topology, browser)
    info = requests.get(public + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                        verify=cert, timeout=10)
    assert info.status_code == 200 and info.json()["name"] == DEMO_CITIZEN["name"]
    access_log = (topology["home"] / "access.log").read_text()
    assert access_log.count("\n") > 3

    _kill(topology["instances"][0])
    survivor = topology["instances"][1]
    auth = (topology["client"]["client_id"], topology["client"]["client_secret"])
    refreshed = requests.post(public + "/token", verify=cert, timeout=10, auth=auth,
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text  # the rotation state lives in PostgreSQL, not in A
    fresh = refreshed.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    info = requests.get(public + "/userinfo", headers={"Authorization": f"Bearer {fresh['access_token']}"},
                        verify=cert, timeout=10)
    assert info.status_code == 200 and info.json()["sub"]  # the access token lives in Redis, not in A
    old = requests.get(public + "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                       verify=cert, timeout=10)
    assert old.status_code == 200  # an access token issued by A before it died still works until it expires
    again = _sign_in(topology, browser, prompt="none")  # the SSO session lives in Redis: no password, no consent
    assert again["access_token"] != fresh["access_token"]
    reuse = requests.post(public + "/token", verify=cert, timeout=10, auth=auth,
                          data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert reuse.status_code in (200, 400)  # within the grace window the same pair again, else reuse detection
    assert survivor.get("/readyz").status_code == 200
    jwks = requests.get(public + "/jwks.json", verify=cert, timeout=10)
    assert jwks.status_code == 200 and jwks.json()["keys"]  # one key set: the instances share the data directory
