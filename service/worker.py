"""Background jobs, run by one elected process (``service.leader``): in the web workers, or alone in ``tongban worker``.

The jobs: publish committed status changes every second, one signature per changed list however many changes
(``Issuer.publish_pending``, driven by the dirty marks in the database, so a crash loses nothing); re-sign status
lists older than half their ttl (``Issuer.refresh_due``; counters refuse a list past its ``exp``); refresh the
recognised regions (互通互认, ``service.counter_app.refresh_recognition``, in its own thread: a slow peer hub must not
hold up this hub's lists); and sign an audit anchor when one is due (``service.audit``). Each web worker starts the loop
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

TICK = 5.0  # seconds between leadership checks, at most (the most frequent job sets the pace)
REFRESH_EVERY = 15.0  # seconds between status-list checks (each list is re-signed at half its ttl)
PUBLISH_EVERY = 1.0  # seconds: status changes are signed in one go per list at most this often
RECOGNITION_EVERY = 15.0  # seconds between checks of the recognised regions (each is fetched when due)


@dataclass
class Job:
    name: str
    every: float
    run: Callable[[], object]
    last: float = field(default=-1e18)


def in_own_thread(name: str, work: Callable[[], object]) -> Callable[[], object]:
    """``work`` started in a daemon thread of its own, at most one at a time (a call while it runs is skipped)."""
    running = threading.Lock()

    def run() -> None:
        try:
            work()
        except Exception as exc:  # as tick(): a background job must outlive one failure
            log.error("background job failed", extra={"event": "job_failed", "job": name, "error": type(exc).__name__})
        finally:
            running.release()

    def start() -> object:
        if not running.acquire(blocking=False):
            return "still running"
        threading.Thread(target=run, name=name, daemon=True).start()
        return "started"

    return start


def hub_jobs(issuer: Any, clock: Callable[[], float] = time.time) -> list[Job]:
    """The hub's publication jobs: status changes, status-list re-signing, recognised regions."""
    from service.counter_app import refresh_recognition

    return [
        Job("status-publish", PUBLISH_EVERY, lambda: issuer.publish_pending(now=int(clock()))),
        Job("status-refresh", REFRESH_EVERY, lambda: issuer.refresh_due(now=int(clock()))),
        Job("recognition-refresh", RECOGNITION_EVERY,
            in_own_thread("recognition-refresh", lambda: refresh_recognition(issuer.hub, clock))),
    ]


def pace(jobs: list[Job]) -> float:
    return min([TICK, *(job.every for job in jobs)])


def jobs_for(app: Any, settings: Any, clock: Callable[[], float] = time.time) -> list[Job]:
    from issuer.hub import ROOT_OWNER
    from keys.layout import Layout
    from service.audit import anchor_if_due

    issuer = app.extensions["tongban.issuer"]
    audit_log = app.extensions["tongban.idp"].audit
    jobs = hub_jobs(issuer, clock)
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
    # Changes made in this process wait up to PUBLISH_EVERY for the leader (here or elsewhere) to sign them together.
    app.extensions["tongban.issuer"].background = True

    def loop() -> None:
        while True:
            tick(leader, jobs)
            if stop.wait(pace(jobs)):
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
            stop.wait(pace(jobs))
    except KeyboardInterrupt:
        pass
    finally:
        leader.release()


__all__ = ["Job", "hub_jobs", "in_own_thread", "jobs_for", "start_background", "tick", "worker_command"]
