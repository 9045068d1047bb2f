"""Composition of the ``tongban`` command: each package contributes its commands and init steps here."""

from __future__ import annotations

from idp import cli as idp_cli
from issuer import cli as issuer_cli
from service import commands
from service.cli import INIT_STEPS, main, register
from service.config import Settings
from service.counter_app import serve_counter
from service.serve import serve
from verifier import cli as verifier_cli
from wallet import cli as wallet_cli

__all__ = ["main"]


def _wire() -> None:
    issuer_cli.attach(main, register, INIT_STEPS, Settings.from_env)  # first: it sets the key policy
    idp_cli.attach(main, INIT_STEPS, register, Settings.from_env)
    wallet_cli.attach(main, register)
    verifier_cli.attach(main, register)
    verifier_cli.verifier_group.add_command(serve_counter)  # `tongban verifier serve`: needs the composition root
    main.add_command(commands.issue)
    main.add_command(commands.demo)
    main.add_command(serve)


_wire()
