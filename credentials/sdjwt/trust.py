"""The SD-JWT VC issuer key from tongban's signed trust list (draft-ietf-oauth-sd-jwt-vc §3.5 leaves the
mechanism open; ours is the one the counters already use, ``keys.trust_list``).

The header ``kid`` (RFC 7638 thumbprint) must name a key of an authority in the list; that authority must be
the one ``iss`` names (``<credential issuer>/authorities/<id>``) and be allowed to issue the licence type the
``vct`` names; the key must verify at ``now`` and the credential's ``iat`` must fall inside the key's signing
period (a retired key's later signatures are refused, as for QR credentials); a withdrawn key is
``key_compromised``. A recognised region's authority counts until its recognition ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from credentials.sdjwt.errors import SdJwtError
from credentials.sdjwt.vc import authority_iss, parse_vct
from keys import KeysError, PublicKey, TrustList, b64url_decode


def trust_list_keys(trust: TrustList, *, now: int) -> Callable[[dict[str, Any], dict[str, Any]], PublicKey]:
    """An ``issuer_key`` callback for ``verify_sd_jwt`` that reads ``trust``."""

    def issuer_key(header: dict[str, Any], payload: dict[str, Any]) -> PublicKey:
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= 64:
            raise SdJwtError("the SD-JWT names no key (kid)", "sd_jwt_unknown_key")
        found = next(((a, k) for a in trust.authorities for k in a.keys if k.public.kid == kid), None)
        if found is None:
            short = _short(kid)
            if short is not None and trust.compromised(short):
                raise SdJwtError("the issuer key was withdrawn as compromised", "key_compromised")
            raise SdJwtError("no authority in the trust list has this key", "sd_jwt_unknown_key")
        authority, key = found
        parsed = parse_vct(payload.get("vct"))
        if parsed is None or not authority.may_issue(parsed[1]):
            raise SdJwtError(f"{authority.id} may not issue this vct", "issuer_not_authorised")
        if payload.get("iss") != authority_iss(parsed[0], authority.id):
            raise SdJwtError("iss is not the authority that holds the signing key", "issuer_not_authorised")
        if authority.recognised_until is not None and now > authority.recognised_until:
            raise SdJwtError("the authority's recognition has ended", "recognition_expired")
        if not key.verifies_at(now):
            raise SdJwtError("the issuer key is outside its validity window", "key_expired")
        iat = payload.get("iat")
        if type(iat) is not int or not key.not_before <= iat <= key.signs_until:
            raise SdJwtError("the credential is dated outside its key's signing period", "key_retired")
        return key.public

    return issuer_key


def _short(kid: str) -> bytes | None:
    try:
        return b64url_decode(kid)[:8]
    except KeysError:
        return None
