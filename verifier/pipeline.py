"""The offline decision: ``verify(payload, *, trust, status, replay, now) -> Decision``.

A list of named checks, run in order; the first that fails decides, with its reason code. Nothing
here touches the network, the clock or a global: trust list, status cache, replay cache and time are
passed in. Any input, however malformed, gives a Decision, never an exception.

    decode → parse → trust_list → issuer_key → recognition → issuer_authorised → key_window → key_retired → issuer_signature
    → issued_at → validity → status → disclosure → holder_signature → freshness → replay

Parsing accepts only deterministic CBOR with bounded numbers (``credentials.cbor``); the replay
identity is a digest of signed content only (``Presentation.replay_identity``), so no re-encoding,
unsigned header member or ECDSA ``s`` ↔ ``n - s`` swap makes a captured code new again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credentials import CredentialError, Presentation, licence_type, unframe, verify_sign1
from credentials.cose import algorithm_matches
from credentials.credential import check_view
from credentials.elicence_id import format_id
from credentials.presentation import parse_presentation_bytes
from credentials.status_list import INVALID, SUSPENDED, VALID
from keys import Authority, TrustedKey, TrustList
from verifier.errors import Reject, VerifierError
from verifier.ports import Policy, ReplayCache, StatusSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    valid: bool
    reasons: tuple[str, ...]
    detail: str = ""
    licence_type: str | None = None
    view: str | None = None
    elicence_id: str | None = None
    issuer: dict[str, Any] | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    presentation_age: int | None = None
    checks_passed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid, "reasons": list(self.reasons), "detail": self.detail,
            "licence_type": self.licence_type, "view": self.view, "elicence_id": self.elicence_id,
            "issuer": self.issuer, "claims": self.claims, "presentation_age": self.presentation_age,
            "checks_passed": list(self.checks_passed),
        }


@dataclass
class _Context:
    payload: str | bytes
    trust: TrustList | None
    status: StatusSource
    replay: ReplayCache
    now: int
    policy: Policy
    raw: bytes = b""
    presentation: Presentation | None = None
    authority: Authority | None = None
    key: TrustedKey | None = None
    warnings: list[str] = field(default_factory=list)


def _decode(ctx: _Context) -> None:
    ctx.raw = ctx.payload if isinstance(ctx.payload, bytes) else unframe(ctx.payload)


def _parse(ctx: _Context) -> None:
    ctx.presentation = parse_presentation_bytes(ctx.raw)


def _trust_list(ctx: _Context) -> None:
    if ctx.trust is None:
        raise Reject("trust_list_missing", "no trust list cached: run `tongban verifier sync`")
    if ctx.trust.expires_at <= ctx.now:
        raise Reject("trust_list_expired", "the cached trust list has expired: sync again")


def _issuer_key(ctx: _Context) -> None:
    found = ctx.trust.find_key(ctx.presentation.credential_sign1.kid or b"")
    if found is None:
        if ctx.trust.compromised(ctx.presentation.credential_sign1.kid or b""):
            raise Reject("key_compromised", "the hub withdrew the credential's key as compromised: re-issue needed")
        raise Reject("unknown_key", "the credential's key is not in the trust list")
    ctx.authority, ctx.key = found


def _recognition(ctx: _Context) -> None:
    """Another region's authority is trusted only while that region's own signed list is (互通互认): this hub's
    list may live longer than the peer's, and a peer hub that stopped vouching must not be vouched for here."""
    until = ctx.authority.recognised_until
    if until is not None and ctx.now >= until:
        raise Reject("recognition_expired", f"{ctx.authority.id} is another region's authority and this hub's "
                     f"recognition of it lapsed at {until}: the hub must refresh it (`tongban hub refresh`)")


def _issuer_authorised(ctx: _Context) -> None:
    if not ctx.authority.may_issue(ctx.presentation.credential.licence_type):
        raise Reject("issuer_not_authorised",
                     f"{ctx.authority.id} may not issue {ctx.presentation.credential.licence_type}")


def _key_window(ctx: _Context) -> None:
    if not ctx.key.verifies_at(ctx.now):
        raise Reject("key_expired", "the issuer key is outside its validity window")


def _key_retired(ctx: _Context) -> None:
    # A retired key verifies what it signed until not_after, but signs nothing after signs_until. Both times
    # are the issuer's own clock, so no leeway: an old key file signing with a back-dated iat is the only way
    # past this, and that is why compromise (not rotation) is the answer to a leaked key.
    if ctx.presentation.credential.issued_at > ctx.key.signs_until:
        raise Reject("key_retired", "the credential was signed after its issuer key was retired")


def _issuer_signature(ctx: _Context) -> None:
    # The algorithm comes from the trust list's key, never from the credential's header.
    if not algorithm_matches(ctx.presentation.credential_sign1, ctx.key.public):
        raise Reject("algorithm_mismatch", f"the credential names another algorithm than its key's {ctx.key.public.alg}")
    if not verify_sign1(ctx.presentation.credential_sign1, ctx.key.public):
        raise Reject("bad_signature", "the issuer's signature does not verify")


def _issued_at(ctx: _Context) -> None:
    """A credential cannot have been signed in the future, nor outside its key's own window."""
    iat, leeway = ctx.presentation.credential.issued_at, ctx.policy.validity_leeway
    if iat > ctx.now + leeway:
        raise Reject("issued_in_future", "the credential says it was issued later than now")
    if not ctx.key.not_before <= iat <= ctx.key.not_after:
        raise Reject("issued_outside_key_window", "the credential was dated outside its issuer key's validity window")


def _validity(ctx: _Context) -> None:
    body, leeway = ctx.presentation.credential, ctx.policy.validity_leeway
    if body.not_before is not None and ctx.now + leeway < body.not_before:
        raise Reject("not_yet_valid", "the credential is not valid yet")
    if ctx.now - leeway >= body.expires_at:
        raise Reject("expired", "the credential has expired")


def _status(ctx: _Context) -> None:
    body = ctx.presentation.credential
    found = ctx.status.lookup(body.status_uri_for(ctx.authority.id), body.status_idx, ctx.now)
    if found.authority_id not in (None, ctx.authority.id):
        # A list of another authority never answers for this credential, whatever a sync brings.
        raise Reject("status_reference_invalid", "the status list belongs to another authority")
    if found.value is None and found.reason == "status_reference_invalid" and (
            found.as_of is None or body.issued_at < found.as_of):
        raise Reject("status_reference_invalid", found.detail or "the status reference points nowhere")
    if found.value is None:
        if not ctx.policy.accept_status_unknown:
            raise Reject("status_unknown", found.detail or "no current status list is cached")
        ctx.warnings.append("status_unknown")
    elif found.value == INVALID:
        raise Reject("revoked", "the issuer has revoked this credential")
    elif found.value == SUSPENDED:
        raise Reject("suspended", "the issuer has suspended this credential")
    elif found.value != VALID:
        raise Reject("status_invalid", f"status value {found.value}")


def _disclosure(ctx: _Context) -> None:
    try:
        check_view(ctx.presentation.credential)
    except CredentialError as exc:
        raise Reject(exc.reason, str(exc)) from exc


def _holder_signature(ctx: _Context) -> None:
    p = ctx.presentation
    if not algorithm_matches(p.proof_sign1, p.credential.holder_key):
        raise Reject("algorithm_mismatch", "the holder proof names another algorithm than the device key's")
    if not verify_sign1(p.proof_sign1, p.credential.holder_key, external_aad=p.credential_digest):
        raise Reject("holder_signature_invalid", "not signed by the device the credential was issued to")
    if ctx.policy.challenge is not None and p.challenge != ctx.policy.challenge:
        raise Reject("challenge_mismatch", "the presentation does not answer this counter's challenge")
    _audience_and_challenge(ctx)


def _audience_and_challenge(ctx: _Context) -> None:
    """A two-way counter (``Policy.audience`` set) takes only what was made for it, just now (issue 7).

    Both values are under the holder's signature checked just above: ``aud`` (CWT, RFC 8392 §3.1.3) must be
    this counter's id and the nonce (EAT, RFC 9711 §4.1) one of the challenges the counter says it issued and
    that are still open. A one-way counter (no audience) accepts a presentation with or without an ``aud``:
    the phone may have scanned some other counter's code.
    """
    p, policy = ctx.presentation, ctx.policy
    if policy.audience is not None and p.audience != policy.audience:
        raise Reject("audience_mismatch", "the presentation was made for another counter" if p.audience
                     else "this counter takes only codes made after scanning its own counter code")
    if policy.challenges is not None and (p.challenge is None or p.challenge not in policy.challenges):
        raise Reject("challenge_mismatch", "the presentation does not answer a current challenge of this counter")


def _freshness(ctx: _Context) -> None:
    age = ctx.now - ctx.presentation.presented_at
    if age > ctx.policy.freshness_window:
        raise Reject("stale", f"presented {age} s ago; the window is {ctx.policy.freshness_window} s")
    if age < -ctx.policy.clock_skew:
        raise Reject("presented_in_future", "the phone's clock is ahead of the counter's")


def _replay(ctx: _Context) -> None:
    key = ctx.presentation.replay_identity
    ttl = ctx.policy.freshness_window + ctx.policy.clock_skew + 1
    if not ctx.replay.first_seen(key, now=ctx.now, ttl=ttl):
        raise Reject("replayed", "this exact presentation was already shown")


CHECKS: tuple[tuple[str, Callable[[_Context], None]], ...] = (
    ("decode", _decode), ("parse", _parse), ("trust_list", _trust_list), ("issuer_key", _issuer_key),
    ("recognition", _recognition), ("issuer_authorised", _issuer_authorised), ("key_window", _key_window),
    ("key_retired", _key_retired),
    ("issuer_signature", _issuer_signature), ("issued_at", _issued_at), ("validity", _validity), ("status", _status),
    ("disclosure", _disclosure),
    ("holder_signature", _holder_signature), ("freshness", _freshness), ("replay", _replay),
)


def verify(
    payload: str | bytes, *, trust: TrustList | None, status: StatusSource, replay: ReplayCache, now: int,
    policy: Policy | None = None,
) -> Decision:
    ctx = _Context(payload, trust, status, replay, now, policy or Policy())
    passed: list[str] = []
    for name, check in CHECKS:
        try:
            check(ctx)
        except Reject as reject:
            return _decision(ctx, False, (reject.reason,), reject.detail, passed)
        except CredentialError as exc:
            return _decision(ctx, False, (exc.reason,), str(exc), passed)
        except VerifierError as exc:  # an adapter failed (the replay cache unreachable, ...): say which
            log.warning("check %s: %s", name, exc)
            return _decision(ctx, False, (exc.reason,), f"{name}: {exc}", passed)
        except Exception as exc:  # a verifier must answer, whatever the input
            log.warning("check %s failed unexpectedly: %r", name, exc)
            return _decision(ctx, False, ("malformed_structure",), f"{name}: unreadable input", passed)
        passed.append(name)
    return _decision(ctx, True, tuple(ctx.warnings), "", passed)


def _issuer(authority: Authority | None) -> dict[str, Any] | None:
    if authority is None:
        return None
    found: dict[str, Any] = {"id": authority.id, "name": authority.name, "region": authority.region}
    if authority.recognised_until is not None:  # another region's, through this hub's mutual recognition
        found["recognised_until"] = authority.recognised_until
    return found


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _decision(ctx: _Context, valid: bool, reasons: tuple[str, ...], detail: str, passed: list[str]) -> Decision:
    p, authority = ctx.presentation, ctx.authority
    if p is None:
        return Decision(valid, reasons, detail, checks_passed=tuple(passed))
    trusted = "issuer_signature" in passed
    elicence_id = None
    if trusted:
        ltype = licence_type(p.credential.licence_type)
        try:
            elicence_id = format_id(ltype.national_code, authority.issuer_code, p.credential.serial, p.credential.version)
        except CredentialError:
            elicence_id = None  # signed, but the serial or version does not fit the national identifier
    return Decision(
        valid=valid, reasons=reasons, detail=detail, licence_type=p.credential.licence_type, view=p.credential.view,
        elicence_id=elicence_id,
        issuer=_issuer(authority),
        # Claims are shown only once the issuer's signature holds; before that they are attacker-chosen text.
        claims={k: _json_value(v) for k, v in p.credential.claims.items()} if trusted else {},
        presentation_age=ctx.now - p.presented_at, checks_passed=tuple(passed),
    )
