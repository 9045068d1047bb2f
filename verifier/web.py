"""The counter: one page for a clerk (scanner field, camera) and a small JSON API around ``verify``.

    GET  /counter                    the page (static JS and CSS only: the CSP forbids inline scripts)
    GET  /counter/api/state          what the cache holds: trust list version, last sync (and last attempt), until
                                     when its status lists count as current, whether re-sync is possible
    POST /counter/api/verify         {"qr": "TB1:..."} → Decision JSON (+ ``display``: words, labels, masked names);
                                     an EU DCC, {"qr": "HC1:..."}, goes to ``verifier.dcc_pipeline``
    POST /counter/api/scan-image     a JPEG / PNG camera frame → decoded with zxing-cpp, then as /verify
    POST /counter/api/sync           re-sync the cache (only where the app was given a source); ``failed`` lists
                                     each status list refused, with its reason code and words
    GET  /counter/api/challenge      two-way mode: the counter code to show now (``TBC1:...``, its QR as an SVG
                                     data URL, when it rotates); 404 ``two_way_off`` on a one-way counter

After a failed sync, each verdict carries ``display.status_data``: how old the status it was decided on is.

The counter's profile (``verifier.profiles``: entrance, the default; licence; identity) decides which claims
leave this server and how they are masked; the page says which view it asks holders for. A valid code that
carries the holder's fetch authorisation (免证办) is fetched from the issuer by ``fetcher``
(``verifier.fetch``), after the offline verdict, and shown beside it (``display.fetched``, the portrait on an
``identity`` counter); a counter without a fetcher says it is not registered to fetch.

Two-way mode (``two_way=`` a ``verifier.challenges.ChallengeStore``): the page shows the counter's own
code, and ``verify`` takes only presentations that name this counter and sign one of its open challenges
(``Policy.audience`` / ``Policy.challenges``, looked up here before the pure pipeline runs). A valid
answer consumes its challenge (atomically: of two answers to one challenge only one is valid), and the
page shows the next one.

Bad input is a JSON 400 naming what is wrong (413 when too large), never a 500. POST bodies must carry
their real content type (``application/json``, ``image/jpeg``, ``image/png``): a cross-site form cannot
send those without a CORS preflight this app never answers.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from credentials import parse_presentation
from credentials.dcc import is_dcc
from storage import events
from verifier.cache import SyncReport, VerifierCache
from verifier.challenges import MAX_AGE, ROTATE_SECONDS, ChallengeStore
from verifier.dcc_pipeline import verify_dcc
from verifier.dcc_trust import DscStore
from verifier.display import error_display, present
from verifier.errors import VerifierError
from verifier.fetch import Fetcher
from verifier.image import read_qr_bytes
from verifier.pipeline import Decision, verify
from verifier.ports import Policy, ReplayCache, StatusLookup, StatusSource
from verifier.profiles import Profile, profile
from verifier.qr_svg import qr_svg_data_url
from verifier.reasons import explain

MAX_QR_CHARS = 8 * 1024  # a TB1 code is well under 2 kB; the framing layer has its own limit too
MAX_JSON_BYTES = 32 * 1024
MAX_IMAGE_BYTES = 4 * 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png")


class BadRequest(Exception):  # an HTTP answer, mapped to 400 below
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class _Recorded:
    """The status source, remembering the answer it gave (one per request: how old was the status used?)."""

    def __init__(self, inner: StatusSource):
        self.inner, self.found = inner, None

    def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
        self.found = self.inner.lookup(uri, idx, now)
        return self.found


def counter_blueprint(
    cache: VerifierCache, replay: ReplayCache, *, clock: Callable[[], float] = time.time,
    resync: Callable[[], SyncReport] | None = None, policy: Policy | None = None, status: StatusSource | None = None,
    two_way: ChallengeStore | None = None, prof: Profile | None = None, fetcher: Fetcher | None = None,
) -> Blueprint:
    """The counter over ``cache`` (trust list, sync state); status from ``status`` (default: the cache's lists);
    ``prof`` its profile (default ``entrance``); ``fetcher`` fetches licences the holder authorised (免证办)."""
    bp = Blueprint("counter", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/counter/static")
    policy = policy or Policy()
    prof = prof or profile(None)
    source = status or cache
    dcc_signers = DscStore(cache.directory)

    def status_age(found: StatusLookup | None, now: int) -> int | None:
        """Seconds since the status data behind the verdict was signed (the list's iat, or the head of the deltas
        the counter applied): every verdict says how current its revocation status is."""
        if found is None or found.issued_at is None:
            return None
        return max(0, now - found.issued_at)

    def decide(payload: str) -> Response:
        now = int(clock())
        recorded = _Recorded(source)
        if is_dcc(payload):  # an EU DCC (HC1:): static, foreign, no challenge to answer even on a two-way counter
            return verdict(verify_dcc(payload, signers=dcc_signers, now=now), None)
        try:
            decision = two_way_decision(payload, now, recorded) if two_way else verify(
                payload, trust=cache.trust_list(now), status=recorded, replay=replay, now=now, policy=policy)
        except VerifierError as exc:  # the challenge store is down: no verdict rather than an unchecked one
            decision = Decision(False, (exc.reason,), str(exc))
        return verdict(decision, status_age(recorded.found, now), fetched_for(payload, decision))

    def fetched_for(payload: str, decision: Decision) -> dict[str, Any] | None:
        """免证办: a valid code with the holder's fetch authorisation is fetched (after the offline verdict)."""
        if not decision.valid:
            return None
        try:
            handle = parse_presentation(payload).fetch_handle
        except Exception:
            return None
        if handle is None:
            return None
        if fetcher is None:
            return {"ok": False, "code": "fetch_not_configured"}
        return fetcher.fetch(payload)

    def verdict(decision: Decision, age: int | None, fetched: dict[str, Any] | None = None) -> Response:
        events.emit("verification", valid=decision.valid, reasons=tuple(decision.reasons))  # metrics by reason
        response = jsonify(present(decision, status_age=age, prof=prof, fetched=fetched))
        response.headers["Cache-Control"] = "no-store"
        return response

    def two_way_decision(payload: str, now: int, status: StatusSource) -> Decision:
        bound = dataclasses.replace(policy, audience=two_way.counter_id, challenges=two_way.acceptable(now))
        decision = verify(payload, trust=cache.trust_list(now), status=status, replay=replay, now=now, policy=bound)
        if decision.valid and not two_way.consume(parse_presentation(payload).challenge, now):
            # Another presentation answered this challenge between the look-up and now.
            decision = dataclasses.replace(decision, valid=False, reasons=("challenge_mismatch",),
                                           detail="this challenge has just been answered by another presentation")
        return decision

    def body(limit: int, types: tuple[str, ...]) -> bytes:
        if request.mimetype not in types:
            raise BadRequest("unsupported_content_type",
                             f"send the body as {' or '.join(types)}, not {request.mimetype or 'no content type'}")
        if request.content_length is not None and request.content_length > limit:
            raise BadRequest("too_large", f"the body is larger than {limit} bytes", 413)
        request.max_content_length = limit
        return request.get_data(cache=False)

    @bp.errorhandler(BadRequest)
    def _bad_request(exc: BadRequest) -> tuple[Response, int]:
        return jsonify(error_display(exc.code, exc.message)), exc.status

    @bp.errorhandler(413)
    def _too_large(_exc: Exception) -> tuple[Response, int]:
        return jsonify(error_display("too_large", "the body is too large")), 413

    @bp.get("/counter")
    def page() -> str:
        return render_template("counter/page.html", can_resync=resync is not None,
                               counter_id=two_way.counter_id if two_way else None, profile=prof.to_json(),
                               can_fetch=fetcher is not None)

    @bp.get("/counter/api/state")
    def state() -> Response:
        now = int(clock())
        trust = cache.trust_list(now)
        return jsonify(
            now=now, trust_list_version=trust.version if trust else None,
            trust_list_expires_at=trust.expires_at if trust else None,
            last_sync=cache.last_sync(), last_attempt=cache.last_attempt(), can_resync=resync is not None,
            status_current_until=source.status_current_until() if hasattr(source, "status_current_until") else None,
            profile=prof.to_json(), can_fetch=fetcher is not None,
        )

    @bp.get("/counter/api/challenge")
    def challenge() -> Response:
        if two_way is None:
            raise BadRequest("two_way_off", "this counter runs one-way: it shows no counter code", 404)
        now = int(clock())
        try:
            issued = two_way.current(now)
        except VerifierError as exc:
            raise BadRequest(exc.reason, str(exc), 503) from exc
        code = issued.code
        response = jsonify(counter_id=issued.counter_id, code=code, issued_at=issued.issued_at, now=now,
                           rotates_at=issued.issued_at + ROTATE_SECONDS, valid_until=issued.issued_at + MAX_AGE,
                           image=qr_svg_data_url(code))
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.post("/counter/api/verify")
    def verify_text() -> Response:
        raw = body(MAX_JSON_BYTES, ("application/json",))
        try:
            doc: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest("malformed_json", f"the body is not JSON: {exc}") from exc
        if not isinstance(doc, dict) or set(doc) != {"qr"}:
            raise BadRequest("malformed_request", 'send exactly {"qr": "TB1:..."}')
        qr = doc["qr"]
        if not isinstance(qr, str) or not qr.strip():
            raise BadRequest("malformed_request", '"qr" must be the scanned text, a non-empty string')
        if len(qr) > MAX_QR_CHARS:
            raise BadRequest("too_large", f'"qr" is longer than {MAX_QR_CHARS} characters')
        return decide(qr.strip())

    @bp.post("/counter/api/scan-image")
    def scan_image() -> Response:
        data = body(MAX_IMAGE_BYTES, IMAGE_TYPES)
        if not data:
            raise BadRequest("image_unreadable", "the body is empty: send one JPEG or PNG frame")
        try:
            text = read_qr_bytes(data, "the camera frame")
        except VerifierError as exc:
            raise BadRequest(exc.reason, str(exc)) from exc
        return decide(text)

    @bp.post("/counter/api/sync")
    def sync() -> Response:
        if resync is None:
            raise BadRequest("sync_unavailable", "this counter syncs from the command line: tongban verifier sync", 404)
        body(1024, ("application/json",))
        try:
            report = resync()
        except VerifierError as exc:
            raise BadRequest(exc.reason, f"sync failed: {exc}", 502) from exc
        failed = [{"uri": uri, "reason": reason, "zh": explain(reason).zh, "en": explain(reason).en}
                  for uri, reason in sorted(report.failed.items())]
        return jsonify(trust_list_version=report.trust_list_version, trust_list_updated=report.trust_list_updated,
                       status_lists=report.status_lists, failed=failed, last_sync=cache.last_sync())

    return bp
