"""The resumable bulk re-issue (``tongban health reissue --all``): every current code re-signed to the device it
is bound to, in chunks, so an interrupted run resumes where it stopped and several workers share one run, each
code done exactly once.

**Run.** At most one run is open (``health_reissue_runs``, a UNIQUE slot): it covers the codes that existed when
it opened (``id <= cutoff_id``). Two commands started together join the same run.

**Chunks and checkpoint.** The codes are cut by id into chunks of ``CHUNK`` ids (the size is kept with the run,
so a resumed run cuts the same way). A chunk is re-issued in one transaction that first inserts the chunk's
marker (a row ``health-reissue:<run>:<chunk>`` in ``issuer_counters``, holding how many codes it covered): the
marker is the checkpoint, committed or rolled back with the chunk's codes. A second worker reaching the same
chunk fails that insert (on PostgreSQL it waits until the first commits or rolls back) and moves on; after a
crash the marker is gone with the work and the chunk is done again. So no code is skipped or done twice, and
the per-chunk batch (``Codes.reissue_many`` → ``Issuer.issue_many``) is what makes it fast: one allocation,
one insert, one commit per chunk. Each worker allocates status indexes from its own shard (``issuer.store``).

Runs opened by older code kept ``last_id`` (every code up to it done); it is still honoured when resuming one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from issuer import store
from issuer.health import proxy_store
from issuer.health import store as t
from issuer.health.codes import Codes
from issuer.health.context import HealthContext, Touched
from issuer.health.errors import HealthError

Plan = tuple[int, list[int], bool]  # (run id, code ids still to do, resumed?)
CHUNK = 500  # codes per transaction: large enough that the per-transaction work is noise, small enough to redo
_counters = store.counters


def _size_name(run_id: int) -> str:
    return f"health-reissue-size:{run_id}"


def _marker_prefix(run_id: int) -> str:
    return f"health-reissue:{run_id}:"


class Reissue:
    def __init__(self, ctx: HealthContext, codes: Codes):
        self.ctx = ctx
        self.codes = codes

    def plan(self, now: int) -> Plan:
        """(run id, code ids still to do, resumed?) of the open run, or of a new one over every current code."""
        for _attempt in range(3):
            with self.ctx.engine.begin() as conn:
                run = conn.execute(select(t.health_reissue_runs).where(t.health_reissue_runs.c.open_slot == 1)).first()
                if run is not None:
                    return run.id, self._todo(conn, run), True
                cutoff = conn.execute(select(func.coalesce(func.max(t.health_codes.c.id), 0))).scalar_one()
                try:
                    with conn.begin_nested():
                        run_id = conn.execute(insert(t.health_reissue_runs).values(
                            started_at=now, cutoff_id=cutoff, last_id=0, done=0, open_slot=1)).inserted_primary_key[0]
                        # Every marker so far is a finished run's, which nobody reads any more (no chunk of a
                        # finished run is done: ``chunk`` checks under a lock that ``finish`` waits for).
                        conn.execute(delete(_counters).where(_counters.c.name.like("health-reissue%")))
                        conn.execute(insert(_counters).values(name=_size_name(run_id), next_value=CHUNK))
                except IntegrityError:
                    continue  # another command opened a run just now: join it
                run = conn.execute(select(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id)).one()
                return run_id, self._todo(conn, run), False
        raise HealthError("could not open or join a re-issue run; try again")

    @staticmethod
    def _chunk_size(conn: Connection, run_id: int) -> int:
        size = conn.execute(select(_counters.c.next_value).where(_counters.c.name == _size_name(run_id))).scalar()
        return int(size) if size else CHUNK

    def _todo(self, conn: Connection, run) -> list[int]:  # a health_reissue_runs row
        size = self._chunk_size(conn, run.id)
        prefix = _marker_prefix(run.id)
        done = {int(name[len(prefix):]) for (name,) in conn.execute(
            select(_counters.c.name).where(_counters.c.name.like(prefix + "%")))}
        ids = conn.execute(select(t.health_codes.c.id).where(
            t.health_codes.c.id > run.last_id, t.health_codes.c.id <= run.cutoff_id).order_by(t.health_codes.c.id))
        return [code_id for (code_id,) in ids if code_id // size not in done]

    def chunks(self, run_id: int, ids: list[int]) -> Iterator[tuple[int, list[int]]]:
        """``ids`` (ascending) cut into the run's chunks: (chunk number, its ids)."""
        with self.ctx.engine.connect() as conn:
            size = self._chunk_size(conn, run_id)
        current, members = None, []
        for code_id in ids:
            if code_id // size != current and members:
                yield current, members
                members = []
            current = code_id // size
            members.append(code_id)
        if members:
            yield current, members

    def chunk(self, run_id: int, number: int, ids: list[int], now: int, touched: Touched, *, shard: int = 1) -> bool:
        """Re-issue one chunk and record its marker in the same transaction; False when it was done already
        (by another worker, or the run has finished)."""
        with self.ctx.engine.begin() as conn:
            # FOR SHARE: workers do not wait on each other here, but ``finish`` waits until no chunk is under way.
            run = conn.execute(select(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id)
                               .with_for_update(read=True)).first()
            if run is None or run.finished_at is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(insert(_counters).values(name=f"{_marker_prefix(run_id)}{number}", next_value=len(ids)))
            except IntegrityError:
                return False  # another worker did this chunk
            codes = t.health_codes
            subjects = sorted({r[0] for r in conn.execute(select(codes.c.subject_hash).where(codes.c.id.in_(ids)))})
            # Lock the citizens' status rows (in one order: no deadlock with another chunk), then read the
            # bindings again: a fetch that committed meanwhile is seen, one that comes later waits for us.
            statuses = {row.subject_hash: self.ctx.status_of(row) for row in conn.execute(
                select(t.health_status).where(t.health_status.c.subject_hash.in_(subjects))
                .order_by(t.health_status.c.subject_hash).with_for_update())}
            bindings = conn.execute(select(codes).where(codes.c.id.in_(ids)).order_by(codes.c.id)).all()
            self.codes.reissue_many(conn, bindings, statuses, now, touched, shard=shard)
        return True

    def work(self, run_id: int, ids: list[int], now: int, progress: Callable[[int], None] | None = None, *,
             shard: int = 1, start: int = 0) -> None:
        """Do every chunk of ``ids`` not done yet, beginning at the ``start``-th (workers begin at different
        places and meet at the end); the lists this touched are re-signed at the end, also after a failure."""
        touched: Touched = set()
        chunks = list(self.chunks(run_id, ids))
        start = start % len(chunks) if chunks else 0
        try:
            for number, members in chunks[start:] + chunks[:start]:
                if self.chunk(run_id, number, members, now, touched, shard=shard) and progress:
                    progress(len(members))  # only chunks this worker did: each is reported once
        finally:
            self.ctx.publish_touched(touched, now)  # what was done is visible to counters even if the run stopped

    def done(self, run_id: int) -> int:
        """How many codes the run's committed chunks covered."""
        with self.ctx.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(_counters.c.next_value), 0)).where(
                _counters.c.name.like(_marker_prefix(run_id) + "%"))).scalar_one())

    def finish(self, run_id: int, now: int, touched: Touched) -> None:
        self.ctx.publish_touched(touched, now)
        done = self.done(run_id)
        with self.ctx.engine.begin() as conn:
            # the issued-code log need only name codes that could still be shown: expired ones go (daily run)
            conn.execute(proxy_store.health_issued.delete().where(proxy_store.health_issued.c.expires_at <= now))
            conn.execute(update(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id,
                                                             t.health_reissue_runs.c.finished_at.is_(None))
                         .values(finished_at=now, open_slot=None, done=t.health_reissue_runs.c.done + done))

    def all(self, now: int, plan: Plan | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Work through ``plan`` (default: ``plan(now)``) in this process, then close the run; ``progress`` gets
        the number of codes of each chunk done. Returns how many codes the plan held."""
        run_id, ids, _ = plan or self.plan(now)
        self.work(run_id, ids, now, progress)
        self.finish(run_id, now, set())
        return len(ids)


__all__ = ["CHUNK", "Plan", "Reissue"]
