"""Verifying an SD-JWT (RFC 9901 §7.1, §7.3) and an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc §3), pure.

The pipeline, each step a typed refusal (``SdJwtError.reason``):

1. framing (``serialization.split``: sizes, parts);
2. the Issuer-signed JWT's header: ``typ`` as expected (``dc+sd-jwt`` for a VC, RFC 8725 §3.11), ``alg`` never
   ``none`` and one the caller allows; the key comes from the caller's ``issuer_key`` (the trust list,
   ``credentials.sdjwt.trust``), never from the token, and its own algorithm must be the header's (RFC 8725 §3.1);
3. the signature (``keys.jws``), then the payload as strict JSON (no duplicate names);
4. ``_sd_alg`` and the Disclosures (``disclosures.resolve``: every §7.1 "MUST reject");
5. times (``iat``, ``nbf``, ``exp``) against the caller's ``now``; numbers bounded to [0, 2^53);
6. for a VC: ``vct``, ``iss``, ``cnf.jwk`` (public members only) and the ``status`` reference;
7. Key Binding (§7.3): required when the caller asks; ``typ`` ``kb+jwt``, the ``cnf`` key's algorithm,
   ``aud`` and ``nonce`` as expected, ``iat`` within ``kb_max_age``, ``sd_hash`` over the presented SD-JWT;
8. status (draft-ietf-oauth-status-list §8.3) through the caller's ``status_of(idx, uri)``.

Clock, keys and status are injected: nothing here reads the clock, the network or a file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import jwt

from credentials.sdjwt.disclosures import b64url_strict, resolve, strict_json
from credentials.sdjwt.errors import SdJwtError
from credentials.sdjwt.holder import KB_TYP
from credentials.sdjwt.serialization import sd_hash, split
from credentials.sdjwt.vc import TYP
from credentials.status_list import INVALID, SUSPENDED, VALID, StatusListError, parse_status_reference
from keys import KeyFormatError, PublicKey, jws_decode

MAX_NUMBER = 2**53
KB_MAX_AGE = 300
NEVER_DISCLOSED = frozenset({"iss", "iat", "nbf", "exp", "cnf", "vct", "status"})  # SD-JWT VC §3.2.2.2
_FORBIDDEN_KEY_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})


@dataclass(frozen=True)
class VerifiedSdJwt:
    claims: dict[str, Any]  # the processed payload: disclosed claims, registered claims; no _sd, no _sd_alg
    header: dict[str, Any]
    issuer_key: PublicKey
    holder_key: PublicKey | None
    key_bound: bool
    status: tuple[int, str] | None  # (idx, uri)

    @property
    def vct(self) -> str | None:
        return self.claims.get("vct")


def _header(token: str, what: str, reason_alg: str = "sd_jwt_alg") -> dict[str, Any]:
    try:
        header = strict_json(b64url_strict(token.split(".")[0], f"the {what} header"))
    except SdJwtError as exc:
        raise SdJwtError(f"the {what} header is not valid: {exc}", "kb_invalid" if what == "KB-JWT" else None) from exc
    if not isinstance(header, dict):
        raise SdJwtError(f"the {what} header must be a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise SdJwtError(f"the {what} must be signed (alg {alg!r} refused)", reason_alg)
    return header


def _verified_payload(token: str, key: PublicKey, what: str, reason: str) -> dict[str, Any]:
    try:
        payload = jws_decode(token, key)
    except jwt.InvalidAlgorithmError as exc:
        raise SdJwtError(f"the {what} is not signed with its key's algorithm {key.alg}", "sd_jwt_alg"
                         if reason == "sd_jwt_signature" else reason) from exc
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise SdJwtError(f"the {what}'s signature does not verify", reason) from exc
    claims = strict_json(payload)
    if not isinstance(claims, dict):
        raise SdJwtError(f"the {what}'s payload must be a JSON object", reason)
    return claims


def _time(claims: dict[str, Any], name: str, *, required: bool, reason: str = "sd_jwt_claims") -> int | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if type(value) is not int or not 0 <= value < MAX_NUMBER:
        raise SdJwtError(f"{name} must be an integer number of seconds in [0, 2^53)", reason)
    return value


def verify_sd_jwt(text: object, *, issuer_key: Callable[[dict[str, Any], dict[str, Any]], PublicKey], now: int,
                  typ: str | None = TYP, algorithms: Collection[str] = ("ES256", "EdDSA"),
                  require_key_binding: bool = False, nonce: str | None = None, audience: str | None = None,
                  kb_max_age: int = KB_MAX_AGE, leeway: int = 0,
                  status_of: Callable[[int, str], int] | None = None, vc: bool = True) -> VerifiedSdJwt:
    """Verify a presented SD-JWT (VC) and return what it discloses; raise ``SdJwtError`` with a reason code.

    ``issuer_key(header, unverified_payload)`` returns the key that must have signed it (raising ``SdJwtError``
    ``sd_jwt_unknown_key`` when none may); ``typ=None`` skips the header check (RFC 9901's own examples use
    ``example+sd-jwt``); ``vc=False`` skips the SD-JWT VC claims (plain RFC 9901 examples).
    """
    parts = split(text)
    header = _header(parts.jwt, "Issuer-signed JWT")
    if typ is not None and header.get("typ") != typ:
        raise SdJwtError(f"the SD-JWT's typ must be {typ}, not {header.get('typ')!r}", "sd_jwt_typ")
    if header["alg"] not in algorithms:
        raise SdJwtError(f"the SD-JWT must be signed with {' or '.join(sorted(algorithms))}", "sd_jwt_alg")
    if _FORBIDDEN_KEY_HEADERS & set(header):
        raise SdJwtError("the SD-JWT names its own key or critical extensions; its key comes from the trust list",
                         "sd_jwt_alg")
    unverified = strict_json(b64url_strict(parts.jwt.split(".")[1], "the SD-JWT payload"))
    if not isinstance(unverified, dict):
        raise SdJwtError("the SD-JWT payload must be a JSON object")
    key = issuer_key(header, unverified)
    if key.alg != header["alg"]:
        raise SdJwtError(f"the SD-JWT's alg {header['alg']} is not its issuer key's ({key.alg})", "sd_jwt_alg")
    payload = _verified_payload(parts.jwt, key, "SD-JWT", "sd_jwt_signature")
    claims, places = resolve(payload, list(parts.disclosures))
    if vc and any(len(place) == 1 and place[0] in NEVER_DISCLOSED for place in places.values()):
        raise SdJwtError("an SD-JWT VC's registered claims may not be selectively disclosed", "sd_jwt_claims")
    _check_times(claims, now, leeway, vc=vc)
    bound = parts.kb_jwt is not None
    holder = _holder_key(claims) if vc or bound else None  # RFC 9901's own examples carry placeholder keys
    status = None
    if vc:
        if not isinstance(claims.get("vct"), str) or not isinstance(claims.get("iss"), str):
            raise SdJwtError("an SD-JWT VC must carry vct and iss as strings", "sd_jwt_claims")
        if "status" in claims:
            try:
                status = parse_status_reference(claims["status"])
            except StatusListError as exc:
                raise SdJwtError(str(exc), "sd_jwt_claims") from exc
    if require_key_binding and not bound:
        raise SdJwtError("the presentation has no Key Binding JWT", "kb_missing")
    if bound:
        if holder is None:
            raise SdJwtError("a Key Binding JWT without a cnf key in the SD-JWT", "kb_invalid")
        _check_key_binding(parts.kb_jwt, parts.without_kb, holder, now=now, nonce=nonce, audience=audience,
                           max_age=kb_max_age, leeway=leeway)
    if status is not None and status_of is not None:
        value = status_of(*status)
        if value != VALID:
            reason = {INVALID: "status_invalid", SUSPENDED: "status_suspended"}.get(value, "status_invalid")
            raise SdJwtError(f"the credential's status is {value}", reason)
    return VerifiedSdJwt(claims, header, key, holder, bound, status)


def _check_times(claims: dict[str, Any], now: int, leeway: int, *, vc: bool) -> None:
    iat = _time(claims, "iat", required=vc)
    exp = _time(claims, "exp", required=False)
    nbf = _time(claims, "nbf", required=False)
    if iat is not None and iat > now + leeway:
        raise SdJwtError("the SD-JWT is issued in the future", "sd_jwt_not_yet_valid")
    if nbf is not None and nbf > now + leeway:
        raise SdJwtError("the SD-JWT is not valid yet", "sd_jwt_not_yet_valid")
    if exp is not None and now - leeway >= exp:
        raise SdJwtError("the SD-JWT has expired", "sd_jwt_expired")


def _holder_key(claims: dict[str, Any]) -> PublicKey | None:
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict) or "d" in jwk:
        raise SdJwtError("cnf must hold a public jwk", "sd_jwt_claims")
    try:
        return PublicKey.from_jwk(jwk)
    except KeyFormatError as exc:
        raise SdJwtError(f"cnf.jwk is not a usable key: {exc}", "sd_jwt_claims") from exc


def _check_key_binding(kb: str, presented: str, holder: PublicKey, *, now: int, nonce: str | None,
                       audience: str | None, max_age: int, leeway: int) -> None:
    """RFC 9901 §7.3 step 5."""
    header = _header(kb, "KB-JWT", "kb_invalid")
    if header.get("typ") != KB_TYP:
        raise SdJwtError(f"the KB-JWT's typ must be {KB_TYP}", "kb_invalid")
    if header["alg"] != holder.alg or _FORBIDDEN_KEY_HEADERS & set(header):
        raise SdJwtError("the KB-JWT must be signed by the cnf key with its own algorithm", "kb_invalid")
    claims = _verified_payload(kb, holder, "KB-JWT", "kb_invalid")
    iat = _time(claims, "iat", required=True, reason="kb_invalid")
    if iat > now + leeway or now - iat > max_age + leeway:
        raise SdJwtError(f"the KB-JWT's iat is not within {max_age} s of now", "kb_stale")
    if audience is None or claims.get("aud") != audience:
        raise SdJwtError("the KB-JWT is for another audience", "kb_audience")
    if nonce is None or claims.get("nonce") != nonce:
        raise SdJwtError("the KB-JWT's nonce is not this request's", "kb_nonce")
    if claims.get("sd_hash") != sd_hash(presented):
        raise SdJwtError("the KB-JWT's sd_hash does not cover this presentation", "kb_sd_hash")
