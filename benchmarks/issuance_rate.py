"""Credentials issued per CPU-second, incl. status index and persistence, SQLite and PostgreSQL (issue 9, P6).

Run ``python benchmarks/issuance_rate.py`` (PostgreSQL at DATABASE_URL, default the local test server; skipped
when unreachable). It builds a demo hub in a temporary directory and issues driving licences (ES256, all three
views, claims sealed at rest) to fresh device keys, two ways:

* ``issue``: one ``Issuer.issue`` per credential (one transaction each), as the wallet endpoint does;
* ``issue_many``: ``Issuer.issue_many`` in batches of ``BENCH_BATCH`` (one allocation, one insert, one commit).

Figures are CPU seconds of this process (``time.process_time``; PostgreSQL's own work runs in its server
process, not counted, as the issue's figures do), medians of 3 runs. The bound, measured in the same run, is the
signatures alone: raw ES256 signs per CPU-second ÷ 3 views. Knobs: ``BENCH_N`` (default 3000), ``BENCH_BATCH``
(default 500). Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TONGBAN_DEV_PLAINTEXT_KEYS", "1")

import keys  # noqa: E402
from issuer.cli import engine_for, init_step, issuer_for  # noqa: E402
from issuer.service import IssueRequest  # noqa: E402
from storage import normalise_url  # noqa: E402

N = int(os.environ.get("BENCH_N", "3000"))
BATCH = int(os.environ.get("BENCH_BATCH", "500"))
PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CLAIMS = json.loads((ROOT / "examples" / "driving-licence.json").read_text())
VIEWS = 3


def cpu_rate(work, count: int) -> float:
    runs = []
    for _ in range(3):
        start = time.process_time()
        work()
        runs.append(count / (time.process_time() - start))
    return statistics.median(runs)


def sign_bound() -> float:
    key = keys.generate("ES256")
    data = os.urandom(300)
    return cpu_rate(lambda: [key.sign(data) for _ in range(2000)], 2000) / VIEWS


def rates(url: str, data: Path) -> dict[str, float]:
    settings = SimpleNamespace(data_dir=data, database_url=url, demo=True)
    init_step(settings, lambda _m: None)
    engine_for(settings)
    issuer = issuer_for(settings)
    holder_keys = [keys.generate("ES256").public for _ in range(64)]
    requests = [IssueRequest(CLAIMS, holder_keys[i % 64]) for i in range(N)]
    now = int(time.time())
    issuer.issue("driving-licence", CLAIMS, holder_keys[0], now=now)  # warm-up: list published, caches filled
    single = max(50, N // 10)

    def one_by_one() -> None:
        for request in requests[:single]:
            issuer.issue("driving-licence", request.raw_claims, request.holder_key, now=now)

    def batched() -> None:
        for i in range(0, N, BATCH):
            issuer.issue_many("driving-licence", requests[i:i + BATCH], now=now)

    return {"issue": cpu_rate(one_by_one, single), "issue_many": cpu_rate(batched, N)}


def main() -> None:
    results: dict[str, float] = {"sign_bound": sign_bound()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, value in rates(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "a").items():
            results[f"sqlite_{name}"] = value
        schema = "bench_" + uuid.uuid4().hex[:10]
        try:
            admin = create_engine(normalise_url(PG))
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
        except Exception as exc:  # no server: report SQLite only
            print(f"PostgreSQL skipped: {exc}")
        else:
            try:
                url = PG + ("&" if "?" in PG else "?") + f"options=-csearch_path%3D{schema}"
                for name, value in rates(url, Path(tmp) / "b").items():
                    results[f"postgresql_{name}"] = value
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    bound = results["sign_bound"]
    print(f"bound: {bound:.0f} credentials/CPU-s (raw ES256 signs ÷ {VIEWS} views)")
    for name, value in results.items():
        if name != "sign_bound":
            print(f"{name}: {value:.0f} credentials/CPU-s ({value / bound:.2f} of the bound; goal 5000/s)")
    print(json.dumps({k: round(v, 1) for k, v in results.items()}
                     | {f"{k}_ratio": round(v / bound, 3) for k, v in results.items() if k != "sign_bound"}))


if __name__ == "__main__":
    main()
