"""The ``tongban`` command: wires every package's click commands into one group.

Every known error becomes a one-line message naming what is wrong, with exit status 2; nothing
a user types can produce a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import click

from keys import KeysError
from storage import StorageError

USAGE_ERRORS: tuple[type[Exception], ...] = (KeysError, StorageError)


class SafeGroup(click.Group):
    """A click group that turns package errors into ``error: ...`` and exit status 2.

    Click's own usage errors (a missing option, a bad value) are printed the same way: one line naming
    what is wrong and where to look, instead of click's three-line usage block.
    """

    def invoke(self, ctx: click.Context):  # click's signature
        try:
            return super().invoke(ctx)
        except USAGE_ERRORS as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            click.echo(f"error: {' '.join(exc.format_message().split())}{where}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=SafeGroup)
@click.version_option(package_name="tongban")
def main() -> None:
    """tongban (通办): real-name identity, e-licence issuer, wallet and offline verifier."""


def register(*errors: type[Exception]) -> None:
    """Let a package declare the exceptions that mean 'bad input' at the command line."""
    global USAGE_ERRORS
    USAGE_ERRORS = USAGE_ERRORS + tuple(e for e in errors if e not in USAGE_ERRORS)


INIT_LOCK_ID = 7243030  # service.schema 7243000, idp.audit 7243010, service.leader 7243020


@contextlib.contextmanager
def one_init_at_a_time(settings) -> Iterator[None]:
    """Several `tongban init` at once (containers starting together) take turns: a file lock on the data directory
    (its hub.json, key rings and trust list are read, changed and written back) and, on PostgreSQL, a session
    advisory lock (instances with their own data directories seed the same tables). The later ones find the work
    done: every step is idempotent."""
    import fcntl

    from sqlalchemy import text

    from storage import make_engine

    with open(settings.data_dir / ".init.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        engine = make_engine(settings.database_url)
        try:
            with engine.connect() as conn:
                postgres = conn.dialect.name == "postgresql"
                if postgres:
                    conn.execute(text(f"SELECT pg_advisory_lock({INIT_LOCK_ID})"))
                    conn.commit()
                try:
                    yield
                finally:
                    if postgres:
                        conn.rollback()
                        conn.execute(text(f"SELECT pg_advisory_unlock({INIT_LOCK_ID})"))
                        conn.commit()
        finally:
            engine.dispose()


# Steps of `tongban init`, in order. Each package appends one (see service/wiring.py); a step takes the
# settings and an ``echo`` for its one-line progress reports, and must be idempotent.
INIT_STEPS: list = []


@main.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
@click.option("--region", metavar="CODE", help="GB/T 2260 code of the provincial-level division this hub serves, "
              "e.g. 310000 (上海市); default $TONGBAN_REGION, else the directory's, else 110000 (北京市)")
@click.option("--suite", "suite_name", default=None, metavar="standard|guomi",
              help="cryptographic suite of a new hub: guomi (国密) signs with SM2/SM3 and seals personal data with "
                   "SM4 (default $TONGBAN_SUITE, else standard: ES256, AES-256-GCM)")
def init(data_dir: str | None, region: str | None, suite_name: str | None) -> None:
    """Create (or complete) a demo hub: authorities, keys, trust list, demo people. Idempotent."""
    from dataclasses import replace

    from service import production
    from service.config import Settings, _suite, region_setting

    settings = Settings.from_env(data_dir)
    if region is not None:
        try:
            settings = replace(settings, region=region_setting("--region", region))
        except ValueError as exc:
            raise click.BadParameter(str(exc).removeprefix("--region: "), param_hint="--region") from exc
    if suite_name is not None:
        settings = replace(settings, suite=_suite(suite_name))
    production.check_files(settings)  # TONGBAN_DEMO=0 on a demo directory: refuse before anything is written
    production.check_passphrase_before_sealing(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.data_dir.chmod(0o700)  # keys, secrets and the SQLite file: the service's user only
    with one_init_at_a_time(settings):
        for step in INIT_STEPS:
            step(settings, click.echo)
    if not settings.demo:
        from idp.provider import Provider

        production.check_accounts(settings, Provider.from_settings(settings, load_keys=False))
