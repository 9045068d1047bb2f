"""The health commission's commands: ``health set``, ``health reissue --all``, ``proxies add | end | list``,
``authorities grant``. Attached to ``tongban`` by ``issuer.cli.attach``, which passes the ``--data`` option and
``desk(data_dir)`` (a ``HealthDesk`` on the configured database, the ``People`` port wired by the service).
"""

from __future__ import annotations

import getpass
import json
import multiprocessing
import queue
import time
from collections.abc import Callable

import click

from issuer.health.colours import COLOURS
from issuer.health.reissue import CHUNK, Plan
from issuer.health.service import HealthDesk
from issuer.health.staff import STAFF_ROLES


def mask(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[-4:] if len(id_number) == 18 else "***"


def run_workers(d: HealthDesk, plan: Plan, now: int, workers: int, progress: Callable[[int], None]) -> None:
    """``workers`` forked processes share the run (``Reissue.work``: each its own shard, starting at its own
    part of the chunks); their progress comes back over a queue. Any worker failing fails the command (exit 1)
    and leaves the run open: the next command resumes it."""
    run_id, ids, _ = plan
    fork = multiprocessing.get_context("fork")
    updates = fork.Queue()
    chunks = max(1, -(-len(ids) // CHUNK))

    def work(w: int) -> None:
        d.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        d.bulk.work(run_id, ids, now, updates.put, shard=1 + w, start=w * chunks // workers)

    procs = [fork.Process(target=work, args=(w,), daemon=True) for w in range(workers)]
    for proc in procs:
        proc.start()
    while any(proc.is_alive() for proc in procs) or not updates.empty():
        try:
            progress(updates.get(timeout=0.2))
        except queue.Empty:
            continue
    failed = [proc.exitcode for proc in procs if proc.exitcode != 0]
    if failed:
        raise click.ClickException(f"{len(failed)} of {workers} re-issue workers failed; run the command again "
                                   "to resume")


def attach(main: click.Group, data_option: Callable, desk: Callable[[str | None], HealthDesk]) -> None:
    @main.group("health")
    def health_group() -> None:
        """Health codes (the health commission): statuses and re-issue."""

    @health_group.command("set")
    @data_option
    @click.option("--id-number", required=True, help="the citizen's resident ID number")
    @click.option("--colour", required=True, type=click.Choice(COLOURS), help="green | yellow | red")
    @click.option("--reason", default="", help="why; required for yellow and red (green without one: 无异常)")
    @click.option("--region", help="GB/T 2260 division code (default: the authority's region)")
    @click.option("--name", help="the citizen's name, when they have no account")
    @click.option("--operator", is_flag=True,
                  help="an operator's override: change a citizen outside the authority's region (audited as "
                       "operator:<user>)")
    def health_set(data_dir: str | None, id_number: str, colour: str, reason: str, region: str | None,
                   name: str | None, operator: bool) -> None:
        """Set a citizen's health-code colour; re-issues their codes and suspends the previous ones. Audited.

        Acts for the authority that owns health codes, within its region, like its staff at /admin; a citizen
        registered elsewhere is refused (exit 2) unless --operator is given."""
        actor = f"{'operator' if operator else 'cli'}:{getpass.getuser()}"
        result = desk(data_dir).set_status(id_number, colour, reason, actor=actor, now=int(time.time()), name=name,
                                           region=region, operator=operator)
        click.echo(f"{mask(result.status.id_number)}: {result.status.colour} ({result.status.reason}); "
                   f"{len(result.reissued)} code(s) re-issued, {len(result.suspended)} suspended")

    @health_group.command("reissue")
    @data_option
    @click.option("--all", "all_", is_flag=True, required=True, help="every citizen's current health code")
    @click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
                  help="processes re-issuing in parallel (PostgreSQL; SQLite has one writer, so they take turns)")
    def health_reissue(data_dir: str | None, all_: bool, workers: int) -> None:
        """Re-issue every current health code to the device it is bound to; an interrupted run resumes."""
        d, now = desk(data_dir), int(time.time())
        plan = run_id, ids, resumed = d.reissue_plan(now)
        if resumed:
            click.echo(f"resuming re-issue run {run_id}: {len(ids)} code(s) left")
        with click.progressbar(length=len(ids), label="re-issuing health codes", show_pos=True) as bar:
            if workers == 1:
                d.reissue_all(now, plan=plan, progress=bar.update)
            else:
                run_workers(d, plan, now, workers, bar.update)
                d.bulk.finish(run_id, now, set())
        click.echo(f"re-issue run {run_id} done: {len(ids)} code(s) in this pass")

    @main.group("proxies")
    def proxies_group() -> None:
        """Family proxies for health codes."""

    @proxies_group.command("add")
    @data_option
    @click.option("--relative", required=True, help="ID number or phone of the citizen whose code is shown")
    @click.option("--proxy", required=True, help="ID number or phone of the family member who shows it")
    @click.option("--recorded-by", required=True, help="the authority recording it at a counter, e.g. bj-health")
    def proxies_add(data_dir: str | None, relative: str, proxy: str, recorded_by: str) -> None:
        """Record a proxy at a counter (granted_via = counter)."""
        d = desk(data_dir)
        d.issuer.hub.authority(recorded_by)
        grant = d.grant_proxy(d.person(relative), proxy, via="counter", recorded_by=recorded_by, now=int(time.time()))
        click.echo(f"proxy {grant.id}: {grant.proxy_name} may show {grant.relative_name}'s health code")

    @proxies_group.command("end")
    @data_option
    @click.option("--id", "proxy_id", required=True, type=click.IntRange(1), help="the proxy's id")
    @click.option("--relative", required=True, help="ID number or phone of the citizen who granted it")
    @click.option("--recorded-by", required=True, help="the authority recording the end at a counter")
    def proxies_end(data_dir: str | None, proxy_id: int, relative: str, recorded_by: str) -> None:
        """End a proxy at the relative's request; the proxy's code is revoked in the status list."""
        d = desk(data_dir)
        d.issuer.hub.authority(recorded_by)
        grant, revoked = d.end_proxy(proxy_id, d.person(relative).id_number, by=recorded_by, now=int(time.time()))
        click.echo(f"proxy {grant.id} ended; {len(revoked)} code(s) revoked")

    @proxies_group.command("list")
    @data_option
    @click.option("--id-number", required=True)
    def proxies_list(data_dir: str | None, id_number: str) -> None:
        """Proxies a citizen granted and holds, as JSON."""
        d = desk(data_dir)
        found = d.proxies(d.person(id_number).id_number)
        click.echo(json.dumps({k: [p.to_json() for p in v] for k, v in found.items()}, ensure_ascii=False))

    @main.group("authorities")
    def authorities_group() -> None:
        """Issuing authorities and their staff."""

    @authorities_group.command("grant")
    @data_option
    @click.option("--username", required=True, help="the staff member's resident ID number")
    @click.option("--authority", required=True, help="authority id, e.g. bj-health")
    @click.option("--role", default="officer", show_default=True, type=click.Choice(STAFF_ROLES))
    def authorities_grant(data_dir: str | None, username: str, authority: str, role: str) -> None:
        """Make an account staff of an authority (who may then sign in to /admin)."""
        changed = desk(data_dir).grant_staff(username, authority, role, int(time.time()))
        click.echo(f"{mask(username.strip().upper())}: {role} of {authority}" + ("" if changed else " (unchanged)"))



__all__ = ["attach"]
