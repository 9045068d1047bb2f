"""A small hub for the counter tests, made through the real command line: init, wallet init, issue.

Presentations are made with the wallet library, each with a distinct challenge: ECDSA in pycose is
deterministic, so two presentations of one view in the same second would otherwise be the same bytes
(one code shown twice, i.e. ``replayed``). The counter shows no challenge, so any challenge is accepted.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from werkzeug.serving import make_server

from credentials import licence_type, make_presentation
from service.wiring import main
from wallet.holder import Wallet
from wallet.presenter import choose_view

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_challenges = itertools.count()


def run(*args: str, code: int | None = 0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, f"tongban {' '.join(args)} → {result.exit_code}: {result.output}"
    return result


@dataclass
class World:
    base: Path
    data: Path
    wallet: Path

    def issue(self, licence: str = "driving-licence", claims: Path | None = None) -> str:
        return run("issue", licence, "--data", str(self.data), "--wallet", str(self.wallet),
                   "--claims", str(claims or EXAMPLES / f"{licence}.json")).output.strip()

    def present(self, eid: str, disclose: str | None = None, now: int | None = None) -> str:
        wallet = Wallet(self.wallet)
        stored = wallet.load(eid)
        now = int(time.time()) if now is None else now
        view = choose_view(licence_type(stored.licence_type), disclose.split(",") if disclose else None, stored.views)
        return make_presentation(stored.views[view.name], wallet.device_key(now), now=now,
                                 challenge=f"t{next(_challenges)}".encode())

    def issue_health_code(self, colour: str = "green", reason: str = "", shown_by: str | None = "李四") -> str:
        """A real health code from the issuer library (the CLI's ``issue`` does not take health codes)."""
        import json

        from issuer.cli import issuer_for
        from issuer.health import views_for
        from service.config import Settings
        from wallet.holder import StoredCredential

        claims = {**json.loads((EXAMPLES / "health-code.json").read_text(encoding="utf-8")), "colour": colour,
                  "reason": reason}
        if shown_by is None:
            claims.pop("shown_by")
        else:
            claims["shown_by"] = shown_by
        wallet = Wallet(self.wallet)
        issued = issuer_for(Settings.from_env(self.data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"})).issue(
            "health-code", claims, wallet.public_key(), now=int(time.time()), views=views_for(shown_by is not None),
            lifetime=24 * 3600)
        wallet.store(StoredCredential(issued.elicence_id, issued.licence_type, issued.authority_id, issued.views))
        return issued.elicence_id

    def revoke(self, eid: str, *extra: str) -> None:
        run("revoke", "--data", str(self.data), *extra, eid)


def make_world(base: Path) -> World:
    world = World(base, base / "data", base / "wallet")
    run("init", "--data", str(world.data))
    run("wallet", "init", "--wallet", str(world.wallet))
    return world


@contextmanager
def serving(app) -> Iterator[str]:  # a WSGI app
    """Serve ``app`` on 127.0.0.1 on a free port in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.01), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
