"""The counter, wired: a stand-alone app over a synced cache, and its place in the main app.

``tongban verifier serve --cache C`` runs ``create_counter_app``: the counter page and API alone, no
identity provider, no issuer, no database, reading only the verifier cache (synced beforehand with
``tongban verifier sync``). With ``--from URL`` it re-syncs by itself on a timer (``verifier.autosync``:
half the shortest cached ttl unless ``--sync-every`` says otherwise). The replay cache is in-process, or
Redis when ``REDIS_URL`` is set (several counter processes must share it). ``mount_counter`` adds the
counter and the issuer's publication endpoints to the main ``create_app``: its trust list is cached in
``<data>/counter-cache`` (synced at start-up and on the Sync button), its status lists are the hub's
published files themselves (``verifier.published``), so a status change is refused there at once.

Two-way mode (``--two-way`` / ``TONGBAN_COUNTER_TWO_WAY=1``) makes the page show the counter's own code
and accept only presentations made for it (``verifier.challenges``); its challenges live in the same place
as the replay cache: in-process, or Redis under ``REDIS_URL`` so every process behind one screen agrees.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click
from flask import Flask, Response

from credentials.counter_code import CounterCodeError, check_counter_id
from issuer.hub import Hub
from issuer.peers import refresh_due
from issuer.publication import publication_blueprint
from keys import KeysError, PublicKey
from keys.layout import Layout
from service.config import Settings
from service.counter_fetch import counter_fetcher
from service.headers import install_json_errors, install_security_headers
from verifier.autosync import AutoSync
from verifier.cache import DirectorySource, HttpSource, Source, SyncReport, VerifierCache
from verifier.challenges import ChallengeStore, MemoryChallengeStore, RedisChallengeStore, default_counter_id
from verifier.errors import VerifierError
from verifier.fetch import Fetcher
from verifier.ports import ReplayCache
from verifier.profiles import PROFILES, profile
from verifier.published import PublishedStatus
from verifier.replay import MemoryReplayCache, RedisReplayCache
from verifier.web import MAX_IMAGE_BYTES, counter_blueprint

log = logging.getLogger(__name__)


def replay_cache(redis_url: str = "") -> ReplayCache:
    return RedisReplayCache(redis_url) if redis_url else MemoryReplayCache()


def challenge_store(counter_id: str, redis_url: str = "") -> ChallengeStore:
    return RedisChallengeStore(redis_url, counter_id) if redis_url else MemoryChallengeStore(counter_id)


def _resync(cache: VerifierCache, source: Source, root: PublicKey | None = None,
            clock: Callable[[], float] = time.time) -> Callable[[], SyncReport]:
    return lambda: cache.sync(source, now=int(clock()), root=root)


def every(seconds: float, job: Callable[[], object], name: str) -> threading.Event:
    """Run ``job`` every ``seconds`` in a daemon thread (errors logged, never fatal); set the event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                job()
            except Exception:  # a background job must outlive one failure
                log.exception("%s failed", name)

    threading.Thread(target=loop, name=name, daemon=True).start()
    return stop


def create_counter_app(
    cache_dir: Path, *, redis_url: str = "", source_url: str | None = None,
    clock: Callable[[], float] = time.time, replay: ReplayCache | None = None, sync_every: int | None = None,
    two_way: bool = False, counter_id: str | None = None, challenges: ChallengeStore | None = None,
    profile_name: str | None = None, fetcher: Fetcher | None = None,
) -> Flask:
    """The counter alone. ``source_url`` (the issuer's publication base URL) enables the Sync button and the
    timer (``app.extensions["tongban.autosync"]``; ``start_autosync`` runs it in the background).

    ``two_way``: show the counter's code (id ``counter_id``, default ``default_counter_id(cache_dir)``).
    ``profile_name``: the counter's profile (``verifier.profiles``, default ``entrance``); ``fetcher``: 免证办."""
    cache = VerifierCache(cache_dir)
    if cache.root() is None:
        raise VerifierError(f"no synced verifier cache at {cache_dir}: run `tongban verifier sync` first")
    resync = _resync(cache, HttpSource(source_url), clock=clock) if source_url else None
    app = Flask("tongban.counter")
    if resync is not None:
        app.extensions["tongban.autosync"] = AutoSync(cache, resync, every=sync_every, clock=clock)
    if two_way and challenges is None:
        challenges = challenge_store(counter_id or default_counter_id(cache_dir), redis_url)
    app.config.update(MAX_CONTENT_LENGTH=MAX_IMAGE_BYTES + 1024,
                      TONGBAN_COUNTER_ID=challenges.counter_id if challenges else None)
    app.register_blueprint(counter_blueprint(cache, replay or replay_cache(redis_url), clock=clock, resync=resync,
                                             two_way=challenges, prof=profile(profile_name), fetcher=fetcher))

    @app.get("/")
    def _home() -> Response:
        return Response(status=302, headers={"Location": "/counter"})

    install_security_headers(app, https=False)
    install_json_errors(app)
    return app


def start_autosync(app: Flask, poll: float = 1.0) -> threading.Event | None:
    """Run the counter app's sync timer in the background (a first sync at once); None without a source."""
    autosync = app.extensions.get("tongban.autosync")
    if autosync is None:
        return None
    autosync.tick()
    return every(poll, autosync.tick, "counter-autosync")


def refresh_recognition(hub: Hub, clock: Callable[[], float] = time.time) -> list[str]:
    """互通互认 on the hub's schedule (``issuer.peers.refresh_due``): the recognised regions' trust lists and
    mirrored status lists fetched again when due (health-code lists expire in minutes), a lapsed region dropped,
    and this hub's own trust list re-signed before half its life is gone. Its own thread: a slow peer hub must
    not hold up the re-signing of this hub's status lists."""
    lines = refresh_due(hub, int(clock()), http=HttpSource)
    for line in lines:
        (log.warning if "not refreshed" in line or "no longer recognised" in line else log.info)("%s", line)
    return lines


class _TrustListOnly:
    """The hub's data directory as a source of its trust list only: the hub's counter reads status lists live."""

    def __init__(self, source: DirectorySource):
        self.source = source

    def trust_list(self) -> str:
        return self.source.trust_list()

    def status_lists(self) -> dict[str, bytes]:
        return {}


def mount_counter(app: Flask, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
    """Publication endpoints and the counter inside the main app: trust list cached in ``<data>/counter-cache``,
    status lists read from the published files at each verdict (``verifier.published.PublishedStatus``)."""
    app.register_blueprint(publication_blueprint(settings.data_dir, base_url=settings.issuer_url, clock=clock))
    layout = Layout(settings.data_dir)
    cache = VerifierCache(layout.counter_cache)
    source = _TrustListOnly(DirectorySource(settings.data_dir))
    published = PublishedStatus(layout.status, cache.trust_list)
    app.extensions["tongban.counter"] = (cache, published)  # the online verifier reads the same (service.oid4vp)

    def resync() -> SyncReport:
        root = None
        if cache.root() is None:
            try:
                root = PublicKey.from_jwk(json.loads(layout.hub_root_jwk.read_text()))
            except (OSError, ValueError, KeysError) as exc:
                raise VerifierError(f"no hub root key in {settings.data_dir}: run `tongban init` first") from exc
        now = int(clock())
        report = cache.sync(source, now=now, root=root)
        count, failed = published.check(now)  # the lists themselves: current, or why not (e.g. not re-signed)
        return replace(report, status_lists=count, failed=failed)

    try:
        resync()
    except (VerifierError, KeysError, OSError) as exc:
        log.warning("counter cache not synced at start-up: %s", exc)
    challenges = None
    if settings.counter_two_way:
        challenges = challenge_store(settings.counter_id or default_counter_id(cache.directory), settings.redis_url)
    app.register_blueprint(counter_blueprint(cache, replay_cache(settings.redis_url), clock=clock, resync=resync,
                                             status=published, two_way=challenges,
                                             prof=profile(settings.counter_profile),
                                             fetcher=counter_fetcher(settings.counter_fetch)))


@click.command("serve")
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=click.IntRange(1, 65535))
@click.option("--from", "source_url", metavar="URL",
              help="the issuer's publication base URL: the counter re-syncs from it by itself (and on its Sync button)")
@click.option("--sync-every", type=click.IntRange(0, 86400), metavar="SECONDS",
              help="with --from: seconds between syncs (default: half the shortest status-list ttl; 0: only on the "
                   "Sync button)")
@click.option("--two-way", is_flag=True,
              help="show this counter's own code (柜台码) and accept only presentations made for it")
@click.option("--counter-id", metavar="ID", help="this counter's id in two-way mode (1-64 of A-Z a-z 0-9 . _ -; "
              "default: the host name and a digest of the cache path; give processes behind one screen the same id)")
@click.option("--profile", "profile_name", type=click.Choice(list(PROFILES)), default="entrance", show_default=True,
              help="what the clerk sees: entrance (colour/validity, names masked), licence (full name, licence "
                   "facts, ID number masked), identity (full identity, portrait of a fetched licence)")
@click.option("--fetch", "fetch_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="免证办: the counter's fetch configuration (tongban clients add-counter --out): fetch the "
                   "licences holders authorise")
def serve_counter(cache_dir: Path, host: str, port: int, source_url: str | None, sync_every: int | None,
                  two_way: bool, counter_id: str | None, profile_name: str, fetch_file: Path | None) -> None:
    """Run the counter page alone (no identity provider, no database) from a synced cache."""
    if counter_id is not None:
        if not two_way:
            raise click.UsageError("--counter-id needs --two-way")
        try:
            check_counter_id(counter_id)
        except CounterCodeError as exc:
            raise click.BadParameter(str(exc), param_hint="--counter-id") from exc
    try:
        fetcher = counter_fetcher(fetch_file)
    except VerifierError as exc:
        raise click.BadParameter(str(exc), param_hint="--fetch") from exc
    app = create_counter_app(cache_dir, redis_url=Settings.from_env().redis_url, source_url=source_url,
                             sync_every=sync_every or None, two_way=two_way, counter_id=counter_id,
                             profile_name=profile_name, fetcher=fetcher)
    if source_url and sync_every != 0:
        start_autosync(app)
        autosync = app.extensions["tongban.autosync"]
        click.echo(f"syncing from {source_url} every {autosync.interval()} s")
    mode = f", two-way as counter {app.config['TONGBAN_COUNTER_ID']}" if two_way else ""
    mode += f", profile {profile_name}" + (", fetches authorised licences" if fetcher else "")
    click.echo(f"tongban counter at http://{host}:{port}/counter (cache {cache_dir}{mode})")
    app.run(host=host, port=port, threaded=True)
