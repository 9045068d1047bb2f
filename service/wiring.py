"""Composition of the ``tongban`` command: each package contributes its commands and init steps here."""

from __future__ import annotations

from service.cli import INIT_STEPS, main, register

__all__ = ["main"]


def _wire() -> None:
    """Import each package's CLI adapter and hang it on the root group."""
    # Packages add themselves below, e.g.:
    #   from issuer import cli as issuer_cli
    #   issuer_cli.attach(main, INIT_STEPS, register)
    from idp import cli as idp_cli
    from service.serve import serve

    idp_cli.attach(main, INIT_STEPS, register)
    main.add_command(serve)


_wire()
