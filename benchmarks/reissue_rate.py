"""``tongban health reissue --all``: health codes re-issued per second, SQLite and PostgreSQL (issue 9, P6).

Run ``python benchmarks/reissue_rate.py`` (PostgreSQL at DATABASE_URL, default the local test server; skipped
when unreachable). It builds a demo hub, binds ``BENCH_CODES`` (default 2000) citizens' codes to devices (one
fetch each, not timed), then re-issues them all: in this process (``--workers 1``) and, on PostgreSQL, with
``BENCH_WORKERS`` (default 2) forked workers. Printed: wall-clock codes/s (the goal, 2,000/s, is wall clock), CPU
seconds of this process and its workers, and the per-CPU-second rate. The bound, from the same run: raw ES256
signs per CPU-second ÷ 2 (a citizen's own code has two views). Last line: one JSON object.
"""

from __future__ import annotations

import datetime as dt
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

from stdnum.cn import ric  # noqa: E402

import keys  # noqa: E402
from issuer.cli import desk_for, init_step  # noqa: E402
from issuer.health.cli import run_workers  # noqa: E402
from storage import normalise_url  # noqa: E402

CODES = int(os.environ.get("BENCH_CODES", "2000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def id_number(n: int) -> str:
    """The ``n``-th of many distinct valid resident ID numbers (Dongcheng, born from 1950 on, one a day)."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=n // 500)
    base = f"110101{born:%Y%m%d}{n % 500:03d}"
    return base + ric.calc_check_digit(base + "0")


def sign_bound() -> float:
    key, data = keys.generate("ES256"), os.urandom(200)
    start = time.process_time()
    for _ in range(2000):
        key.sign(data)
    return 2000 / (time.process_time() - start) / 2


def rates(url: str, data: Path, workers: tuple[int, ...]) -> dict[str, float]:
    settings = SimpleNamespace(data_dir=data, database_url=url, demo=True)
    init_step(settings, lambda _m: None)
    desk = desk_for(settings)
    now = int(time.time())
    device = keys.generate("ES256").public
    for n in range(CODES):
        number = id_number(n)
        desk.fetch(number, f"测试{n}", device, now=now)
    found = {}
    for count in workers:
        plan = desk.reissue_plan(now)
        wall, cpu = time.perf_counter(), _cpu()
        if count == 1:
            desk.reissue_all(now, plan=plan)
        else:
            run_workers(desk, plan, now, count, lambda _n: None)
            desk.bulk.finish(plan[0], now, set())
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        found[f"workers{count}_per_s"] = len(plan[1]) / wall
        found[f"workers{count}_per_cpu_s"] = len(plan[1]) / cpu
    desk.engine.dispose()
    return found


def main() -> None:
    results: dict[str, float] = {"bound_per_cpu_s": sign_bound()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, value in rates(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "a", (1,)).items():
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
                for name, value in rates(url, Path(tmp) / "b", (1, WORKERS)).items():
                    results[f"postgresql_{name}"] = value
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    print(f"bound: {results['bound_per_cpu_s']:.0f} codes/CPU-s (raw ES256 signs ÷ 2 views)")
    for name, value in results.items():
        if name != "bound_per_cpu_s":
            print(f"{name}: {value:.0f} codes ({CODES} codes; goal 2000/s wall)")
    print(json.dumps({k: round(v, 1) for k, v in results.items()}))


if __name__ == "__main__":
    main()
