"""Background jobs, run by one elected process (``service.leader``): in the web workers, or alone in ``tongban worker``.

The jobs: re-sign status lists older than half their ttl (``Issuer.refresh_due``; counters refuse a list past its
``exp``) and sign an audit anchor when one is due (``service.audit``). Each web worker starts the loop
(``TONGBAN_BACKGROUND_JOBS=1``, the default), but only the leader of the moment runs the jobs; with
``TONGBAN_BACKGROUND_JOBS=0`` the web workers run none and ``tongban worker`` (one process, or several: they elect
one too) does the work where an operator prefers it kept apart from request handling.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from service.leader import Leadership

log = logging.getLogger("tongban.worker")

TICK = 5.0  # seconds between leadership checks
REFRESH_EVERY = 15.0  # seconds between status-list checks (each list is re-signed at half its ttl)


@dataclass
class Job:
    name: str
    every: float
    run: Callable[[], object]
    last: float = field(default=-1e18)


def jobs_for(app: Any, settings: Any, clock: Callable[[], float] = time.time) -> list[Job]:
    from issuer.hub import ROOT_OWNER
    from keys.layout import Layout
    from service.audit import anchor_if_due

    issuer = app.extensions["tongban.issuer"]
    audit_log = app.extensions["tongban.idp"].audit
    jobs = [Job("status-refresh", REFRESH_EVERY, lambda: issuer.refresh_due(now=int(clock())))]
    if settings.audit_anchor_every:
        def anchor() -> object:
            now = int(clock())
            return anchor_if_due(audit_log, issuer.hub.rings.load(ROOT_OWNER).signer(now),
                                 Layout(settings.data_dir).audit_anchors, now=now, every=settings.audit_anchor_every)

        jobs.append(Job("audit-anchor", min(60.0, settings.audit_anchor_every), anchor))
    return jobs


def tick(leader: Leadership, jobs: list[Job], clock: Callable[[], float] = time.monotonic) -> list[str]:
    """One round: when leading, run every job that is due; returns the names run."""
    if not leader.held():
        return []
    ran = []
    for job in jobs:
        if clock() - job.last >= job.every:
            job.last = clock()
            try:
                job.run()
                ran.append(job.name)
            except Exception as exc:  # a background job must outlive one failure
                log.error("background job failed", extra={"event": "job_failed", "job": job.name,
                                                         "error": type(exc).__name__})
    return ran


def start_background(app: Any, settings: Any) -> threading.Event:
    """The loop in a daemon thread of this process (every web worker starts one; one leader runs the jobs)."""
    leader = Leadership(app.extensions["tongban.idp"].engine)
    jobs = jobs_for(app, settings)
    stop = threading.Event()

    def loop() -> None:
        while True:
            tick(leader, jobs)
            if stop.wait(TICK):
                leader.release()
                return

    threading.Thread(target=loop, name="background-jobs", daemon=True).start()
    return stop


@click.command("worker")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
def worker_command(data_dir: str | None) -> None:
    """Run the background jobs (status-list re-signing, audit anchors) in the foreground, elected among peers."""
    from service.app import create_app
    from service.config import Settings
    from service.logs import configure as configure_logs

    settings = Settings.from_env(data_dir)
    configure_logs(json_lines=settings.log_json, level=settings.log_level)
    app = create_app(settings)
    leader = Leadership(app.extensions["tongban.idp"].engine)
    jobs = jobs_for(app, settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo("tongban worker: background jobs (status lists, audit anchors), elected by advisory lock")
    try:
        while not stop.is_set():
            tick(leader, jobs)
            stop.wait(TICK)
    except KeyboardInterrupt:
        pass
    finally:
        leader.release()


__all__ = ["Job", "jobs_for", "start_background", "tick", "worker_command"]
