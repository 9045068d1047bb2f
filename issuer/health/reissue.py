"""The resumable bulk re-issue (``tongban health reissue --all``): every current code re-signed to the device it
is bound to, one transaction per code with its checkpoint (``health_reissue_runs``), so an interrupted run
resumes where it stopped and two commands started together share one run, each code done exactly once.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from issuer.health import proxy_store
from issuer.health import store as t
from issuer.health.codes import Codes
from issuer.health.context import HealthContext, Touched
from issuer.health.errors import HealthError

Plan = tuple[int, list[int], bool]  # (run id, code ids still to do, resumed?)


class Reissue:
    def __init__(self, ctx: HealthContext, codes: Codes):
        self.ctx = ctx
        self.codes = codes

    def plan(self, now: int) -> Plan:
        """(run id, code ids still to do, resumed?) of the open run, or of a new one over every current code.

        At most one run is open (a UNIQUE slot): two commands started together share it, and the per-code
        checkpoint in ``one`` gives each code to exactly one of them."""
        for _attempt in range(3):
            with self.ctx.engine.begin() as conn:
                run = conn.execute(select(t.health_reissue_runs).where(t.health_reissue_runs.c.open_slot == 1)).first()
                if run is not None:
                    return run.id, self._todo(conn, run.last_id, run.cutoff_id), True
                cutoff = conn.execute(select(func.coalesce(func.max(t.health_codes.c.id), 0))).scalar_one()
                try:
                    with conn.begin_nested():
                        run_id = conn.execute(insert(t.health_reissue_runs).values(
                            started_at=now, cutoff_id=cutoff, last_id=0, done=0, open_slot=1)).inserted_primary_key[0]
                except IntegrityError:
                    continue  # another command opened a run just now: join it
                return run_id, self._todo(conn, 0, cutoff), False
        raise HealthError("could not open or join a re-issue run; try again")

    @staticmethod
    def _todo(conn: Connection, last_id: int, cutoff: int) -> list[int]:
        return [r[0] for r in conn.execute(select(t.health_codes.c.id).where(
            t.health_codes.c.id > last_id, t.health_codes.c.id <= cutoff).order_by(t.health_codes.c.id))]

    def one(self, run_id: int, code_id: int, now: int, touched: Touched) -> str | None:
        """Re-issue one code and advance the checkpoint in the same transaction: done exactly once."""
        with self.ctx.engine.begin() as conn:
            run = conn.execute(select(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id)
                               .with_for_update()).first()
            if run is None or run.finished_at is not None or code_id <= run.last_id:
                return None  # another process did it
            binding = conn.execute(select(t.health_codes).where(t.health_codes.c.id == code_id)).first()
            new_id = None
            if binding is not None:
                status = conn.execute(select(t.health_status).where(
                    t.health_status.c.subject_hash == binding.subject_hash).with_for_update()).first()
                new_id, _ = self.codes.reissue(conn, binding, self.ctx.status_of(status), now, touched)
            conn.execute(update(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id).values(
                last_id=code_id, done=t.health_reissue_runs.c.done + 1))
        return new_id

    def finish(self, run_id: int, now: int, touched: Touched) -> None:
        self.ctx.publish_touched(touched, now)
        with self.ctx.engine.begin() as conn:
            # the issued-code log need only name codes that could still be shown: expired ones go (daily run)
            conn.execute(proxy_store.health_issued.delete().where(proxy_store.health_issued.c.expires_at <= now))
            conn.execute(update(t.health_reissue_runs).where(t.health_reissue_runs.c.id == run_id,
                                                             t.health_reissue_runs.c.finished_at.is_(None))
                         .values(finished_at=now, open_slot=None))

    def all(self, now: int, plan: Plan | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Work through ``plan`` (default: ``plan(now)``); status lists are re-signed at the end, also when a
        failure stops the run (the next call resumes from the checkpoint)."""
        run_id, ids, _ = plan or self.plan(now)
        touched: Touched = set()
        try:
            for code_id in ids:
                self.one(run_id, code_id, now, touched)
                if progress:
                    progress(code_id)
        finally:
            self.ctx.publish_touched(touched, now)  # what was done is visible to counters even if the run stopped
        self.finish(run_id, now, set())
        return len(ids)


__all__ = ["Plan", "Reissue"]
