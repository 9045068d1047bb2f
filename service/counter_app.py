"""The counter, wired: a stand-alone app over a synced cache, and its place in the main app.

``tongban verifier serve --cache C`` runs ``create_counter_app``: the counter page and API alone, no
identity provider, no issuer, no database, reading only the verifier cache (synced beforehand with
``tongban verifier sync``). The replay cache is in-process, or Redis when ``REDIS_URL`` is set (several
counter processes must share it). ``mount_counter`` adds the counter and the issuer's publication
endpoints to the main ``create_app``, with a cache in ``<data>/counter-cache`` synced from the data
directory at start-up and on the page's Sync button.

Two-way mode (``--two-way`` / ``TONGBAN_COUNTER_TWO_WAY=1``) makes the page show the counter's own code
and accept only presentations made for it (``verifier.challenges``); its challenges live in the same place
as the replay cache: in-process, or Redis under ``REDIS_URL`` so every process behind one screen agrees.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask, Response

from credentials.counter_code import CounterCodeError, check_counter_id
from issuer.publication import publication_blueprint
from keys import KeysError, PublicKey
from service.config import Settings
from service.headers import install_json_errors, install_security_headers
from verifier.cache import DirectorySource, HttpSource, Source, SyncReport, VerifierCache
from verifier.challenges import ChallengeStore, MemoryChallengeStore, RedisChallengeStore, default_counter_id
from verifier.errors import VerifierError
from verifier.ports import ReplayCache
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


def create_counter_app(
    cache_dir: Path, *, redis_url: str | None = None, source_url: str | None = None,
    clock: Callable[[], float] = time.time, replay: ReplayCache | None = None,
    two_way: bool = False, counter_id: str | None = None, challenges: ChallengeStore | None = None,
) -> Flask:
    """The counter alone. ``source_url`` (the issuer's publication base URL) enables the Sync button.

    ``two_way``: show the counter's code (id ``counter_id``, default ``default_counter_id(cache_dir)``)."""
    cache = VerifierCache(cache_dir)
    if cache.root() is None:
        raise VerifierError(f"no synced verifier cache at {cache_dir}: run `tongban verifier sync` first")
    if redis_url is None:
        redis_url = os.environ.get("REDIS_URL", "")
    resync = _resync(cache, HttpSource(source_url), clock=clock) if source_url else None
    app = Flask("tongban.counter")
    if two_way and challenges is None:
        challenges = challenge_store(counter_id or default_counter_id(cache_dir), redis_url)
    app.config.update(MAX_CONTENT_LENGTH=MAX_IMAGE_BYTES + 1024,
                      TONGBAN_COUNTER_ID=challenges.counter_id if challenges else None)
    app.register_blueprint(counter_blueprint(cache, replay or replay_cache(redis_url), clock=clock, resync=resync,
                                             two_way=challenges))

    @app.get("/")
    def _home() -> Response:
        return Response(status=302, headers={"Location": "/counter"})

    install_security_headers(app, https=False)
    install_json_errors(app)
    return app


def mount_counter(app: Flask, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
    """Publication endpoints and the counter (cache ``<data>/counter-cache``) inside the main app."""
    app.register_blueprint(publication_blueprint(settings.data_dir))
    cache = VerifierCache(settings.data_dir / "counter-cache")
    source = DirectorySource(settings.data_dir)

    def resync() -> SyncReport:
        root = None
        if cache.root() is None:
            try:
                root = PublicKey.from_jwk(json.loads((settings.data_dir / "hub-root.jwk").read_text()))
            except (OSError, ValueError, KeysError) as exc:
                raise VerifierError(f"no hub root key in {settings.data_dir}: run `tongban init` first") from exc
        return cache.sync(source, now=int(clock()), root=root)

    try:
        resync()
    except (VerifierError, KeysError, OSError) as exc:
        log.warning("counter cache not synced at start-up: %s", exc)
    challenges = None
    if settings.counter_two_way:
        challenges = challenge_store(settings.counter_id or default_counter_id(cache.directory), settings.redis_url)
    app.register_blueprint(counter_blueprint(cache, replay_cache(settings.redis_url), clock=clock, resync=resync,
                                             two_way=challenges))


@click.command("serve")
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=click.IntRange(1, 65535))
@click.option("--from", "source_url", metavar="URL",
              help="the issuer's publication base URL: the page re-syncs from it (Sync button, and by itself when due)")
@click.option("--two-way", is_flag=True,
              help="show this counter's own code (柜台码) and accept only presentations made for it")
@click.option("--counter-id", metavar="ID", help="this counter's id in two-way mode (1-64 of A-Z a-z 0-9 . _ -; "
              "default: the host name and a digest of the cache path; give processes behind one screen the same id)")
def serve_counter(cache_dir: Path, host: str, port: int, source_url: str | None, two_way: bool,
                  counter_id: str | None) -> None:
    """Run the counter page alone (no identity provider, no database) from a synced cache."""
    if counter_id is not None:
        if not two_way:
            raise click.UsageError("--counter-id needs --two-way")
        try:
            check_counter_id(counter_id)
        except CounterCodeError as exc:
            raise click.BadParameter(str(exc), param_hint="--counter-id") from exc
    app = create_counter_app(cache_dir, source_url=source_url, two_way=two_way, counter_id=counter_id)
    mode = f", two-way as counter {app.config['TONGBAN_COUNTER_ID']}" if two_way else ""
    click.echo(f"tongban counter at http://{host}:{port}/counter (cache {cache_dir}{mode})")
    app.run(host=host, port=port, threaded=True)
