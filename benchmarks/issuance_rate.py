"""Credentials issued per second through ``issuer.service.Issuer.issue``, in-process, SQLite and PostgreSQL.

Run ``python benchmarks/issuance_rate.py`` (PostgreSQL at DATABASE_URL, default the local test server; skipped
when unreachable). It builds a demo hub in a temporary directory, issues N driving licences (ES256, all views)
to fresh device keys, and prints the rate per database, then one JSON object as the last line. Since personal
data is encrypted at rest each issuance also seals its claims (AES-GCM); compare with a run on an older
checkout to see what that costs. Knobs: ``BENCH_N`` (default 300). Figures swing when other work shares the
machine.
"""

from __future__ import annotations

import json
import os
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
from storage import normalise_url  # noqa: E402

N = int(os.environ.get("BENCH_N", "300"))
PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CLAIMS = json.loads((ROOT / "examples" / "driving-licence.json").read_text())


def rate(url: str, data: Path) -> float:
    settings = SimpleNamespace(data_dir=data, database_url=url, demo=True)
    init_step(settings, lambda _m: None)
    engine_for(settings)
    issuer = issuer_for(settings)
    holders = [keys.generate("ES256").public for _ in range(N)]
    now = int(time.time())
    issuer.issue("driving-licence", CLAIMS, holders[0], now=now)  # warm-up: list published, caches filled
    start = time.perf_counter()
    for holder in holders:
        issuer.issue("driving-licence", CLAIMS, holder, now=now)
    return N / (time.perf_counter() - start)


def main() -> None:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = rate(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "a")
        schema = "bench_" + uuid.uuid4().hex[:10]
        try:
            admin = create_engine(normalise_url(PG))
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
        except Exception as exc:  # no server: report SQLite only
            print(f"PostgreSQL skipped: {exc}")
        else:
            try:
                results["postgresql"] = rate(PG + ("&" if "?" in PG else "?") + f"options=-csearch_path%3D{schema}",
                                             Path(tmp) / "b")
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    for name, value in results.items():
        print(f"{name}: {value:.0f} credentials/s ({N} driving licences, all views)")
    print(json.dumps({k: round(v, 1) for k, v in results.items()}))


if __name__ == "__main__":
    main()
