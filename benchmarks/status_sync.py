"""National-scale status sync (issue 16) and publication (issue 9, P8): a simulated day, then the database paths.

Run ``python benchmarks/status_sync.py``. Two parts, one JSON object as the last line:

1. **A simulated day at the list level** (no credentials are issued): 100 M entries of 2 bits in lists of 131,072
   (763 lists of one authority), 1 % not valid; 10,000 status changes an hour, in four bursts an hour of three
   seconds each, at random positions (the worst case for compression); the publisher signs one delta per second
   that has changes (``PUBLISH_INTERVAL``) and an empty one when its head is older than half the ttl (health-code
   lists: ttl 300 s); a counter syncs every 5 minutes (``verifier.feed_sync``'s path: verify each delta, apply,
   check the signed root, write its packed file). Printed: bytes downloaded per day (goal ≤ 1 MB) and once at
   installation, bytes stored (≤ 30 MB), counter CPU per sync (median and max, process time), the time from a
   status change to refusal at that counter (max; goal ≤ 10 min), the publisher's CPU per delta.
2. **The database paths**, SQLite (the embedded default) and PostgreSQL (``DATABASE_URL``, default the local test
   server; skipped when unreachable): ``BENCH_CREDENTIALS`` (default 1,000,000) credential rows are inserted
   directly, then revocations on one list through ``Issuer.set_status`` with the background publisher's run each
   second (revocations/s, goal ≥ 1,000; and how many signatures they cost), then ``status publish``
   (``Issuer.publish_all``) over all of them (goal < 1 s).

Bounds are printed beside each figure; they come from the issues, not from this machine. Figures swing when other
work shares the machine. ``BENCH_HOURS`` shortens the day (default 24).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TONGBAN_DEV_PLAINTEXT_KEYS", "1")

import keys  # noqa: E402
from credentials.cbor import dumps  # noqa: E402
from credentials.status_list import (  # noqa: E402
    FeedState,
    StatusList,
    list_digest,
    next_delta,
    sign_delta,
    verify_delta,
)
from verifier import packed  # noqa: E402

ENTRIES, SIZE, BITS = 100_000_000, 131_072, 2
LISTS = -(-ENTRIES // SIZE)
CHANGES_PER_HOUR, BURSTS_PER_HOUR, BURST_SECONDS = 10_000, 4, 3
TTL, LIFETIME, SYNC_EVERY, PUBLISH_INTERVAL = 300, 600, 300, 1
HOURS = int(os.environ.get("BENCH_HOURS", "24"))
N_CREDENTIALS = int(os.environ.get("BENCH_CREDENTIALS", "1000000"))
PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
AUTH = "bj-health"
SINGLE = int(os.environ.get("BENCH_REVOCATIONS", "600"))


def _initial_lists(rng: random.Random) -> dict[int, StatusList]:
    lists = {n: StatusList(SIZE, BITS) for n in range(1, LISTS + 1)}
    for pos in rng.sample(range(LISTS * SIZE), ENTRIES // 100):
        lists[pos // SIZE + 1].set(pos % SIZE, rng.choice((1, 2)))
    return lists


def _schedule(rng: random.Random) -> dict[int, list[tuple[float, int]]]:
    """Second of the day → [(time of the change, position)], bursts at random minutes of each hour."""
    per_burst = CHANGES_PER_HOUR // BURSTS_PER_HOUR
    by_second: dict[int, list[tuple[float, int]]] = {}
    for hour in range(HOURS):
        for start in rng.sample(range(hour * 3600, hour * 3600 + 3600 - BURST_SECONDS), BURSTS_PER_HOUR):
            for _ in range(per_burst):
                at = start + rng.random() * BURST_SECONDS
                by_second.setdefault(int(at), []).append((at, rng.randrange(LISTS * SIZE)))
    return by_second


def simulate_day() -> dict:
    rng = random.Random(16)
    key = keys.generate("ES256")
    lists = _initial_lists(rng)
    held = {n: (BITS, SIZE, list_digest(s)) for n, s in lists.items()}
    # Installation: the counter downloads every full list once (compressed, §4.1) and the feed's head.
    install_bytes = sum(len(zlib.compress(s.as_bytes(), 9)) + 110 for s in lists.values())
    counter = FeedState(AUTH, BITS, 0)
    head_delta, _ = next_delta(AUTH, head=0, issued_at=1, expires_at=1 + LIFETIME, ttl=TTL, bits=BITS, held={},
                               before={n: None for n in lists}, after=lists)
    counter = FeedState(AUTH, BITS, 1, 1 + LIFETIME, TTL, {n: s.copy() for n, s in lists.items()},
                        {n: d for n, (_, _, d) in held.items()})
    assert counter.root() == head_delta.root
    head, feed, pending_times = 1, [], []  # feed: (iat, raw delta, change times in it)
    publish_cpu, schedule = [], _schedule(rng)
    sync_cpu, downloaded, delays, stored = [], 0, [], 0
    phase = rng.randrange(SYNC_EVERY)
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        path = Path(tmp) / f"{AUTH}.tbsp"
        for second in range(1, HOURS * 3600 + 1):
            changes = schedule.get(second - 1, [])  # the publisher's run at `second` takes the second before it
            if changes or second - head >= TTL // 2:
                started = time.process_time()
                before, after = {}, {}
                for at, pos in changes:
                    n, idx = pos // SIZE + 1, pos % SIZE
                    if n not in before:
                        before[n] = lists[n].copy()
                    lists[n].set(idx, rng.choice([v for v in (0, 1, 2) if v != lists[n].get(idx)]))
                    after[n] = lists[n]
                    pending_times.append(at)
                delta, held = next_delta(AUTH, head=head, issued_at=second, expires_at=second + LIFETIME, ttl=TTL,
                                         bits=BITS, held=held, before=before, after=after)
                feed.append((second, sign_delta(delta, key, kid=b"bench"), pending_times))
                publish_cpu.append(time.process_time() - started)
                head, pending_times = second, []
            if second % SYNC_EVERY == phase:
                chain = [(iat, raw, times) for iat, raw, times in feed if iat > counter.head]
                downloaded += len(dumps([raw for _, raw, _ in chain]))
                started = time.process_time()
                counter = counter.apply_chain([verify_delta(raw, public_key=key.public, alg="ES256", authority_id=AUTH,
                                                            now=second) for _, raw, _ in chain])
                stored = packed.save(path, counter, fetched_at=second)
                sync_cpu.append(time.process_time() - started)
                delays += [second - at for _, _, times in chain for at in times]
                feed = [item for item in feed if item[0] > counter.head - LIFETIME]
    assert all(counter.lists[n].as_bytes() == lists[n].as_bytes() for n in lists if n in counter.lists)
    return {
        "entries": ENTRIES, "lists": LISTS, "hours": HOURS, "changes": sum(len(v) for v in schedule.values()),
        "deltas_signed": len(publish_cpu), "syncs": len(sync_cpu),
        "bytes_per_day": round(downloaded * 24 / HOURS), "install_bytes": install_bytes, "bytes_stored": stored,
        "sync_cpu_ms_median": round(statistics.median(sync_cpu) * 1000, 1),
        "sync_cpu_ms_max": round(max(sync_cpu) * 1000, 1),
        "publish_cpu_ms_median": round(statistics.median(publish_cpu) * 1000, 2),
        "change_to_refusal_s_max": round(max(delays), 1), "change_to_refusal_s_mean": round(statistics.mean(delays), 1),
    }


def _database(url: str, data: Path, pg_schema: str | None = None) -> dict:
    from sqlalchemy import insert

    from issuer import store
    from issuer.cli import engine_for, init_step, issuer_for

    settings = SimpleNamespace(data_dir=data, database_url=url, demo=True)
    init_step(settings, lambda _m: None)
    engine = engine_for(settings)
    issuer = issuer_for(settings)
    authority, now = "bj-traffic-police", int(time.time())
    rng = random.Random(9)
    uris = sorted({store.status_uri(authority, i // store.LIST_CAPACITY + 1) for i in range(0, N_CREDENTIALS,
                                                                                               store.LIST_CAPACITY)})
    with engine.begin() as conn:
        for uri in uris:
            store.register_list(conn, authority, uri, now)
    for start in range(0, N_CREDENTIALS, 20_000):
        rows = [{"elicence_id": f"B{i:012d}", "licence_type": "driving-licence", "authority_id": authority,
                 "holder_kid": "bench", "status_uri": store.status_uri(authority, i // store.LIST_CAPACITY + 1),
                 "status_idx": i % store.LIST_CAPACITY, "status": 1 if i % 100 == 0 else 0, "issued_at": now,
                 "expires_at": now + 86400 * 365, "claims": {}} for i in range(start, min(N_CREDENTIALS, start + 20_000))]
        with engine.begin() as conn:
            conn.execute(insert(store.issued), rows)
    issuer.publish_all(now=now)  # warm: files, feed head
    issuer.background = True  # as under `tongban serve`: changes wait up to a second to be signed together
    pool = [f"B{i:012d}" for i in rng.sample(range(min(N_CREDENTIALS, store.LIST_CAPACITY)), 60_000) if i % 100]
    single, pool = pool[:SINGLE], pool[SINGLE:]
    # 1. One revocation per call (`tongban revoke`, the admin page), one after another; the publisher's run each second.
    signatures, wall, cpu = _revoke(issuer, [[eid] for eid in single], threads=1)
    # 2. The same from 8 threads at once (8 clerks; on PostgreSQL their commits overlap).
    threaded = _revoke(issuer, [[eid] for eid in pool[:SINGLE]], threads=8)
    # 3. A burst through Issuer.set_statuses (a district's codes, a bulk job): 1,000 per transaction.
    bulk = _revoke(issuer, [pool[i:i + 1000] for i in range(SINGLE, len(pool) - 999, 1000)][:20], threads=1)
    time.sleep(PUBLISH_INTERVAL + 0.1)
    issuer.publish_pending(now=int(time.time()))
    published = store.dirty(engine) == {}
    started, cpu_start = time.perf_counter(), time.process_time()
    count = issuer.publish_all(now=int(time.time()))
    publish_s, publish_cpu = time.perf_counter() - started, time.process_time() - cpu_start
    engine.dispose()
    return {"credentials": N_CREDENTIALS,
            "revocations_per_s": round(SINGLE / wall), "revocations_per_cpu_s": round(SINGLE / cpu),
            "revocations_per_s_8_threads": round(SINGLE / threaded[1]),
            "revocations_per_s_bulk": round(20_000 / bulk[1]), "revocation_signatures": signatures + threaded[0] + bulk[0],
            "revocations": SINGLE * 2 + 20_000, "all_published": published,
            "status_publish_s": round(publish_s, 3), "status_publish_cpu_s": round(publish_cpu, 3),
            "lists_published": count}


def _revoke(issuer, batches: list[list[str]], threads: int) -> tuple[int, float, float]:
    """(signatures by the publisher's runs, wall seconds, CPU seconds of this process) for suspending ``batches``."""
    from concurrent.futures import ThreadPoolExecutor

    stop, signatures = threading.Event(), [0]

    def publisher() -> None:  # the background thread of `tongban serve`
        while not stop.wait(PUBLISH_INTERVAL):
            signatures[0] += issuer.publish_pending(now=int(time.time()))

    runner = threading.Thread(target=publisher, daemon=True)
    runner.start()
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda batch: issuer.set_statuses(batch, suspend=True, now=int(time.time())), batches))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    runner.join()
    return signatures[0], wall, cpu


def databases() -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = _database(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "a")
        try:
            from sqlalchemy import create_engine, text

            from storage import normalise_url
            schema = "bench_" + uuid.uuid4().hex[:10]
            admin = create_engine(normalise_url(PG))
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
        except Exception as exc:  # no server: SQLite only
            print(f"PostgreSQL skipped: {exc.__class__.__name__}")
            return results
        try:
            results["postgresql"] = _database(PG + ("&" if "?" in PG else "?") + f"options=-csearch_path%3D{schema}",
                                              Path(tmp) / "b")
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return results


def main() -> None:
    day = simulate_day()
    print(f"simulated {day['hours']} h: {day['entries']:,} entries in {day['lists']} lists, {day['changes']:,} changes,"
          f" {day['deltas_signed']} deltas signed, {day['syncs']} syncs")
    print(f"  downloaded per day      {day['bytes_per_day']:>12,} B   (goal <= 1,000,000; once at installation "
          f"{day['install_bytes']:,} B)")
    print(f"  stored at the counter   {day['bytes_stored']:>12,} B   (goal <= 30,000,000)")
    print(f"  counter CPU per sync    {day['sync_cpu_ms_median']:>12} ms  median, {day['sync_cpu_ms_max']} ms max")
    print(f"  change to refusal       {day['change_to_refusal_s_max']:>12} s   max (goal <= 600), "
          f"mean {day['change_to_refusal_s_mean']} s")
    print(f"  publisher CPU per delta {day['publish_cpu_ms_median']:>12} ms  median")
    dbs = databases()
    for name, figures in dbs.items():
        print(f"{name}: {figures['credentials']:,} credentials, revocations on one list (goal >= 1,000/s):")
        print(f"  one per call            {figures['revocations_per_s']:>8,}/s  ({figures['revocations_per_cpu_s']:,} per "
              f"CPU-second of this process)")
        print(f"  one per call, 8 threads {figures['revocations_per_s_8_threads']:>8,}/s")
        print(f"  1,000 per call          {figures['revocations_per_s_bulk']:>8,}/s")
        print(f"  {figures['revocations']:,} revocations cost {figures['revocation_signatures']} list signatures; "
              f"all published: {figures['all_published']}")
        print(f"  `status publish`        {figures['status_publish_s']:>8} s   (goal < 1 s; CPU "
              f"{figures['status_publish_cpu_s']} s, {figures['lists_published']} lists)")
    print(json.dumps({"day": day, "databases": dbs}))


if __name__ == "__main__":
    main()
