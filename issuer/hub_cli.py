"""``tongban hub recognise | refresh | peers``: mutual recognition of other regions (互通互认) at the command line.

``hub_at(data_dir)`` (the hub under the settings) and ``peer_http`` (how to read a peer hub over HTTP, the
verifier's ``HttpSource``) are injected by ``issuer.cli`` and ``service.wiring``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click

from credentials.regions import DEFAULT_REGION, region_label
from issuer.errors import IssuerError
from issuer.hub import Hub
from issuer.peer_store import utc
from issuer.peers import PeerSource


def attach(main: click.Group, data_option: Callable, hub_at: Callable[[str | None], Hub],
           peer_http: Callable[[str], PeerSource] | None) -> None:
    @main.group("hub")
    def hub_group() -> None:
        """The hub: mutual recognition of other regions (互通互认)."""

    @hub_group.command("recognise")
    @data_option
    @click.option("--peer-data", "peer_dir", type=click.Path(file_okay=False),
                  help="the other region's published data directory (trust list and status lists)")
    @click.option("--peer-url", "peer_url", metavar="URL",
                  help="or the other region's hub URL (its /trust and /status endpoints)")
    @click.option("--peer-root", "peer_root", required=True, type=click.Path(dir_okay=False),
                  help="the other region's hub root public key (JWK), obtained out of band")
    def recognise_command(data_dir: str | None, peer_dir: str | None, peer_url: str | None, peer_root: str) -> None:
        """Recognise another region's authorities (互通互认); `hub refresh` (and `tongban serve`) keep them current.

        Exit status 1 when some of the peer's status lists were refused (each is named, with its reason)."""
        import json
        from pathlib import Path

        from issuer.peers import open_source, recognise
        from keys import PublicKey

        if (peer_dir is None) == (peer_url is None):
            raise click.UsageError("give the peer as --peer-data DIR or as --peer-url URL (one of them)")
        source_text = peer_url or str(Path(peer_dir).resolve())
        try:
            root = PublicKey.from_jwk(json.loads(Path(peer_root).read_text()))
        except (OSError, ValueError) as exc:
            raise IssuerError(f"cannot read the peer region's root key {peer_root}: {exc}") from exc
        source = open_source(source_text, peer_http)
        try:
            token, lists = source.trust_list(), source.status_lists()
        except (OSError, ValueError) as exc:
            raise IssuerError(f"cannot read the peer region at {source_text}: {exc}") from exc
        now = int(time.time())
        hub = hub_at(data_dir)
        result = recognise(hub, root=root, trust_list_token=token, status_lists=lists, now=now, source=source_text)
        trust_list = hub.publish_trust_list(now)
        until = next((a.recognised_until for a in trust_list.authorities if a.id in result.authorities), None)
        click.echo(f"recognised {len(result.authorities)} authorities of region {region_label(result.region)} "
                   f"({', '.join(result.authorities)}), its trust list version {result.version}; "
                   f"{result.status_lists} status list(s) mirrored; trust list version {trust_list.version}"
                   + (f"; recognised until {utc(until)} unless refreshed" if until else ""))
        for uri, why in sorted(result.refused.items()):
            click.echo(f"refused {uri}: {why}", err=True)
        if result.refused:
            raise SystemExit(1)

    @hub_group.command("refresh")
    @data_option
    @click.option("--all", "force", is_flag=True, help="every recognised region now, not only those due")
    def refresh_command(data_dir: str | None, force: bool) -> None:
        """Fetch the recognised regions' trust lists and status lists again (those due; --all: every one) and
        re-sign this hub's trust list if that is due. `tongban serve` does this by itself. Exit status 1 when a
        region could not be refreshed or was dropped (its trust list expired)."""
        from issuer.peers import refresh_due

        hub = hub_at(data_dir)
        if not hub.peers():
            click.echo("no region is recognised (see `tongban hub recognise`)")
            return
        failed = False
        for line in refresh_due(hub, int(time.time()), http=peer_http, force=force):
            click.echo(line)
            failed = failed or "not refreshed" in line or "no longer recognised" in line
        if failed:
            raise SystemExit(1)  # for cron: a region could not be refreshed or was dropped

    @hub_group.command("peers")
    @data_option
    def peers_command(data_dir: str | None) -> None:
        """The recognised regions: region, root kid, source, peer trust-list version, until when, last error."""
        hub = hub_at(data_dir)
        now = int(time.time())
        click.echo(f"this hub: region {region_label(hub.region() or DEFAULT_REGION)}")
        for r in hub.peers():
            state = "recognised" if r.expires_at > now else "LAPSED"
            click.echo(f"{region_label(r.region)}  root {r.kid}  {state} until {utc(r.expires_at)}  version {r.version}  "
                       f"from {r.source}  next refresh {utc(r.refresh_at)}"
                       + (f"  last error: {r.last_error}" if r.last_error else ""))
