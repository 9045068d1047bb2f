"""Identity-provider throughput under gunicorn on one core, with PostgreSQL and Redis.

Run ``python benchmarks/idp_throughput.py`` (servers at DATABASE_URL / REDIS_URL, default the local test
ones). It starts ``gunicorn service.wsgi:app`` pinned to CPU 0 (``taskset``), drives it from this process
over HTTP with a few client threads, and prints figures, then one JSON object as the last line:

- refresh-token grants/s (each one rotates the token: a row update plus an insert in PostgreSQL);
- code exchanges/s (codes minted straight into Redis, exchanged with PKCE and client_secret_basic, each
  yields a signed ES256 ID token);
- password logins/s through the login form at Argon2id m=7 MiB, t=5, against the bare Argon2id verify
  rate measured in this process on one core in the same run (goal: ratio >= 0.8);
- Redis bytes per SSO session (MEMORY USAGE of one session key holding two clients; goal <= 1 KB).
Goals are printed next to the figures, never asserted. Knobs: ``BENCH_SECONDS`` (per phase, default 5),
``BENCH_GUNICORN`` (worker options, default ``-w 2 -k gthread --threads 4``), ``BENCH_KEEP_LOG=1`` (print
the server log). The figures swing widely when other work shares the machine; compare runs on a quiet one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idp.accounts import HASHER  # noqa: E402
from idp.grants import Code  # noqa: E402
from idp.provider import Provider  # noqa: E402
from idp.registry import DEMO_PEOPLE, TableRegistry  # noqa: E402
from service.config import Settings  # noqa: E402
from storage.sql import normalise_url  # noqa: E402

PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
THREADS = 8
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_for(seconds: float, work) -> tuple[int, float]:
    """Run ``work(session)`` in THREADS threads until time is up; returns (operations, elapsed)."""
    stop, counts = time.monotonic() + seconds, [0] * THREADS

    def worker(i: int) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            work(session, i)
            counts[i] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), time.monotonic() - start


def main() -> None:
    schema = "tb_bench_" + uuid.uuid4().hex[:8]
    admin = create_engine(normalise_url(PG))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    db_url = normalise_url(PG) + ("&" if "?" in PG else "?") + f"options=-csearch_path%3D{schema}"
    data = Path(tempfile.mkdtemp(prefix="tb-bench-"))
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TONGBAN_DATA": str(data), "DATABASE_URL": db_url, "REDIS_URL": REDIS,
           "TONGBAN_ISSUER_URL": issuer, "TONGBAN_DEV_PLAINTEXT_KEYS": "1"}
    os.environ.update({k: env[k] for k in ("TONGBAN_DEV_PLAINTEXT_KEYS",)})
    provider = Provider.from_settings(Settings.from_env(data, env=env))
    TableRegistry(provider.engine, provider.secrets).add(DEMO_PEOPLE)
    account = provider.accounts.register("张三", "110101199003071233", "13800138000", "tongban-demo-2024", 0)
    client = provider.clients.add("bench", ["http://127.0.0.1:9/cb"])
    auth = (client["client_id"], client["client_secret"])
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    workers = os.environ.get("BENCH_GUNICORN", "-w 2 -k gthread --threads 4").split()
    gunicorn = [*pin, str(Path(sys.executable).parent / "gunicorn"), *workers, "-b", f"127.0.0.1:{port}",
                "service.wsgi:app"]
    log = open(data / "gunicorn.log", "w")  # closed with the server
    proc = subprocess.Popen(gunicorn, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    results: dict = {"server": f"gunicorn {' '.join(workers)}" + (", pinned to CPU 0" if pin else ""),
                     "client_threads": THREADS, "seconds_per_phase": SECONDS}
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                requests.get(issuer + "/jwks.json", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        session = provider.sessions.create(account.sub, int(time.time()), "real-name", ["pwd"])

        def mint_code() -> str:
            value = uuid.uuid4().hex + uuid.uuid4().hex
            provider.grants.save_code(value, Code(client["client_id"], "http://127.0.0.1:9/cb", "openid profile",
                                                  account.sub, int(time.time()), session.sid, "real-name", ["pwd"],
                                                  "nonce", CHALLENGE, "S256"))
            return value

        def exchange(http: requests.Session, _i: int) -> dict:
            resp = http.post(issuer + "/token", auth=auth, data={
                "grant_type": "authorization_code", "code": mint_code(), "redirect_uri": "http://127.0.0.1:9/cb",
                "code_verifier": VERIFIER})
            assert resp.status_code == 200, resp.text
            return resp.json()

        ops, elapsed = run_for(SECONDS, exchange)
        results["code_exchanges_per_s"] = round(ops / elapsed, 1)

        chains = [exchange(requests.Session(), 0)["refresh_token"] for _ in range(THREADS)]

        def refresh(http: requests.Session, i: int) -> None:
            resp = http.post(issuer + "/token", auth=auth,
                             data={"grant_type": "refresh_token", "refresh_token": chains[i]})
            assert resp.status_code == 200, resp.text
            chains[i] = resp.json()["refresh_token"]

        ops, elapsed = run_for(SECONDS, refresh)
        results["refresh_grants_per_s"] = round(ops / elapsed, 1)

        csrf: dict[int, str] = {}

        def login(http: requests.Session, i: int) -> None:
            if i not in csrf:  # the form is shown once per browser; each iteration is one sign-in POST
                page = http.get(issuer + "/login").text
                csrf[i] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            resp = http.post(issuer + "/login", allow_redirects=False, data={
                "csrf_token": csrf[i], "username": "110101199003071233", "password": "tongban-demo-2024"})
            assert resp.status_code == 302, resp.status_code
            http.cookies.pop("tb_sid", None)

        ops, elapsed = run_for(SECONDS, login)
        results["password_logins_per_s"] = round(ops / elapsed, 1)

        stored = HASHER.hash("tongban-demo-2024")
        os.sched_setaffinity(0, {0}) if hasattr(os, "sched_setaffinity") else None
        n, start = 0, time.monotonic()
        while time.monotonic() - start < SECONDS / 2:
            HASHER.verify(stored, "tongban-demo-2024")
            n += 1
        results["bare_argon2id_verifies_per_s"] = round(n / (time.monotonic() - start), 1)
        results["login_to_hash_ratio"] = round(results["password_logins_per_s"]
                                               / results["bare_argon2id_verifies_per_s"], 2)

        bench = provider.sessions.create(account.sub, int(time.time()), "real-name", ["pwd", "otp"])
        provider.sessions.add_client(bench, client["client_id"])
        provider.sessions.add_client(bench, "tb-" + "x" * 16)
        results["redis_bytes_per_sso_session"] = provider.store.memory_usage(f"sess:{bench.sid}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        provider.engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        log.close()
        if os.environ.get("BENCH_KEEP_LOG"):
            print((data / "gunicorn.log").read_text()[-3000:], file=sys.stderr)
        shutil.rmtree(data, ignore_errors=True)

    goals = {"code_exchanges_per_s": ">= 500", "refresh_grants_per_s": ">= 500", "login_to_hash_ratio": ">= 0.8",
             "redis_bytes_per_sso_session": "<= 1024"}
    for key, value in results.items():
        print(f"{key:32} {value}" + (f"   (goal {goals[key]})" if key in goals else ""))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
