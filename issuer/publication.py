"""What offline verifiers download, published over HTTP from the files the issuer already writes.

    GET /trust/hub-root.jwk          the hub root public key (a verifier pins it out of band; served for convenience)
    GET /trust/trust-list.jwt        the signed trust list (application/jwt)
    GET /status/<authority>/<n>      one Token Status List: CWT by default, JWT on ``Accept: application/statuslist+jwt``
    GET /status/index.json           every status list URI (tbsl:<authority>/<n>) with its URL and latest iat, and each
                                     authority's delta feed with its head
    GET /status/<authority>/since/<iat>  the signed deltas from head <iat> to the newest (a CBOR array of CWTs), or
                                     410 ``take_full_list`` (an iat the hub does not know, or too far behind)
    GET /status/<authority>/head     the newest delta alone (its signed root checks a full download)

The index is cached publicly, so its URLs are built from the configured base URL (``TONGBAN_ISSUER_URL``),
never from the request's ``Host`` or ``X-Forwarded-Host``: a forged header would otherwise be stored by a
shared cache and served to every verifier (web cache poisoning). Without a base URL they are root-relative.

Token Status List (draft-ietf-oauth-status-list) §8.1: the status list is fetched with HTTP GET from its
URI and the response is content-negotiated between ``application/statuslist+jwt`` and
``application/statuslist+cwt``; §13.7 (caching): ``Cache-Control: max-age`` follows the token's ``ttl``, counted
from its signed ``iat`` (an intermediary never keeps a list past ``iat + ttl``, when the hub has re-signed it).
Everything here is read-only and served from the data directory; path segments are checked against
strict patterns before any file is touched, and anything else is a 404. The deltas (tongban's extension, format in
``credentials.status_list.delta``) are written by ``issuer.status_publisher``; a chain is served only when it is
unbroken from the counter's head, and only when it is smaller than the full lists it replaces.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Response, abort, jsonify, request

from credentials.cbor import dumps
from credentials.status_list import peek_times
from credentials.status_uri import (
    delta_chain,
    feed_files,
    format_status_uri,
    parse_status_uri,
    status_file,
    status_files,
)
from issuer.status_publisher import read_head
from keys.layout import Layout

DELTAS_TYPE = "application/tbsl-deltas+cbor"
DELTA_TYPE = "application/tbsl-delta+cwt"
MAX_CHAIN_BYTES = 1024 * 1024  # beyond this a counter is better off with the full lists
_AUTHORITY = re.compile(r"[a-z0-9][a-z0-9-]{0,62}", re.ASCII)
_IAT = re.compile(r"0|[1-9][0-9]{0,15}", re.ASCII)
CWT_TYPE = "application/statuslist+cwt"
JWT_TYPE = "application/statuslist+jwt"
TRUST_LIST_MAX_AGE = 300  # a rotated key or a new authority reaches counters within minutes
ROOT_MAX_AGE = 86400


def _cached(body: bytes, mimetype: str, max_age: int) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.add_etag()
    response = response.make_conditional(request)
    response.headers.pop("Date", None)  # the server sends its own; two would be ambiguous
    return response


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        abort(404)


def status_lists(data_dir: Path) -> list[tuple[str, str, int]]:
    """(uri, authority, list number) of every status list published in ``data_dir``, sorted."""
    return sorted((uri, *parse_status_uri(uri)) for uri in status_files(Layout(data_dir).status, "cwt"))


def status_max_age(cwt: bytes, now: int) -> int:
    """Seconds an HTTP cache may keep this list: until its ``iat + ttl`` (0 when unreadable or already due)."""
    times = peek_times(cwt)
    if times is None or times[2] is None:
        return 0
    iat, exp, ttl = times
    until = iat + ttl if exp is None else min(iat + ttl, exp)
    return max(0, min(ttl, until - now))


def _take_full(message: str) -> Response:
    response = jsonify(error="take_full_list", message=message)
    response.status_code = 410
    response.headers["Cache-Control"] = "no-store"
    return response


def publication_blueprint(data_dir: Path, *, base_url: str = "", clock: Callable[[], float] = time.time) -> Blueprint:
    """The endpoints over ``data_dir``; ``base_url`` (the service's public URL) prefixes the index's URLs."""
    bp = Blueprint("publication", __name__)
    base = base_url.rstrip("/")

    @bp.get("/trust/hub-root.jwk")
    def hub_root() -> Response:
        return _cached(_read(Layout(data_dir).hub_root_jwk), "application/jwk+json", ROOT_MAX_AGE)

    @bp.get("/trust/trust-list.jwt")
    def trust_list() -> Response:
        return _cached(_read(Layout(data_dir).trust_list), "application/jwt", TRUST_LIST_MAX_AGE)

    @bp.get("/status/index.json")
    def index() -> Response:
        status_dir = Layout(data_dir).status
        lists = []
        for uri, authority, n in status_lists(data_dir):
            times = peek_times(_read(status_file(status_dir, uri, "cwt")))
            lists.append({"uri": uri, "url": f"{base}/status/{authority}/{n}", "iat": times[0] if times else None})
        feeds = []
        for authority in sorted({authority for _, authority, _ in status_lists(data_dir)}):
            head = read_head(data_dir, authority)
            if head is not None:
                feeds.append({"authority": authority, "head": head["iat"], "lists": len(head["lists"]),
                              "since": f"{base}/status/{authority}/since/{{iat}}",
                              "head_url": f"{base}/status/{authority}/head"})
        response = jsonify(
            trust_list=f"{base}/trust/trust-list.jwt",
            hub_root=f"{base}/trust/hub-root.jwk",
            status_lists=lists,
            feeds=feeds,
        )
        response.headers["Cache-Control"] = f"public, max-age={TRUST_LIST_MAX_AGE}"
        return response

    @bp.get("/status/<authority>/since/<iat>")
    def since(authority: str, iat: str) -> Response:
        if not _AUTHORITY.fullmatch(authority) or not _IAT.fullmatch(iat):
            abort(404)
        chain = delta_chain(Layout(data_dir).status, authority, int(iat), MAX_CHAIN_BYTES)
        if chain is None:
            return _take_full(f"no delta chain from {iat}: download the lists of {authority} and its head")
        response = Response(dumps(chain), mimetype=DELTAS_TYPE)
        response.headers["Cache-Control"] = "public, max-age=1"
        return response

    @bp.get("/status/<authority>/head")
    def head(authority: str) -> Response:
        if not _AUTHORITY.fullmatch(authority):
            abort(404)
        files = feed_files(Layout(data_dir).status, authority)
        if not files:
            abort(404)
        response = Response(_read(files[-1][2]), mimetype=DELTA_TYPE)
        response.headers["Cache-Control"] = "public, max-age=1"
        return response

    @bp.get("/status/<authority>/<list_no>")
    def status_list(authority: str, list_no: str) -> Response:
        uri = f"tbsl:{authority}/{list_no}"
        # Exactly the canonical form: no leading zeros, no case folding, nothing that could walk the file system.
        if parse_status_uri(uri) is None or format_status_uri(*parse_status_uri(uri)) != uri:
            abort(404)
        # §8.1: the JWT only when asked for it (and preferred); the compact CWT otherwise.
        best = request.accept_mimetypes.best_match([CWT_TYPE, JWT_TYPE], default=CWT_TYPE)
        suffix = "jwt" if best == JWT_TYPE else "cwt"
        body = _read(status_file(Layout(data_dir).status, uri, suffix))
        cwt = body if suffix == "cwt" else _read(status_file(Layout(data_dir).status, uri, "cwt"))
        response = _cached(body, JWT_TYPE if suffix == "jwt" else CWT_TYPE, status_max_age(cwt, int(clock())))
        response.vary.add("Accept")
        return response

    return bp
