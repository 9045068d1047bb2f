"""Verifying an OpenID4VP 1.0 ``vp_token`` of SD-JWT VC presentations (§8.1, §8.6, Appendix B.3.6), pure.

``verify_vp_token(vp_token, *, request, trust, status, now)`` is the library call an app uses on what its
``response_uri`` received. The steps, each a typed refusal (``OnlineError.reason``):

1. the ``vp_token`` is a JSON object keyed by the DCQL credential ids, each id of the query answered and no other,
   each value an array of exactly one presentation (§8.1; ``multiple`` is not supported);
2. each presentation is an SD-JWT+KB verified by ``credentials.sdjwt.verify_sd_jwt``: the issuer's signature with
   the authority key from the hub's signed trust list (``trust_list_keys``: key, authority, its licence types,
   signing period, compromised keys), every Disclosure, ``exp``/``nbf``; the KB-JWT (B.3.6) signed by the
   ``cnf`` key, ``nonce`` = the request's, ``aud`` = the request's ``client_id``, ``iat`` within ``kb_max_age``,
   ``sd_hash`` over exactly what was presented;
3. the ``vct`` is one of the query's ``meta.vct_values``;
4. status (draft-ietf-oauth-status-list §8.3): the reference must be a list of the hub that issued the licence and
   of the authority that signed it, and the cached list must say VALID (``status`` is the counter's
   ``StatusSource``: revoked, suspended, missing or out-of-date lists are refused);
5. DCQL matching (``dcql.check_disclosed``): no Disclosure beyond the query, one claim set complete.

Single use of the nonce, one answer per request and refusing a replayed ``vp_token`` are the store's part
(``transactions``): this function reads no clock, store or network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from credentials.sdjwt import SdJwtError, disclosure_places, parse_vct, trust_list_keys, verify_sd_jwt
from credentials.sdjwt.verify import NEVER_DISCLOSED
from credentials.status_list import INVALID, SUSPENDED, VALID
from credentials.status_uri import parse_status_uri, status_name
from keys import TrustList
from verifier.online.dcql import CredentialQuery, check_disclosed
from verifier.online.errors import OnlineError
from verifier.online.request import PresentationRequest
from verifier.ports import StatusSource

MAX_VP_TOKEN = 512 * 1024
KB_MAX_AGE = 300  # seconds a KB-JWT stays fresh
LEEWAY = 10  # phone clocks drift


@dataclass(frozen=True)
class VerifiedCredential:
    """What one DCQL credential id received, verified: the disclosed licence claims and who issued them."""

    id: str
    vct: str
    licence_type: str
    authority_id: str
    claims: dict[str, Any]  # the disclosed claims only (registered claims such as cnf and status left out)
    authority_name: str = ""  # as the signed trust list names it

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "vct": self.vct, "licence_type": self.licence_type, "authority": self.authority_id,
                "authority_name": self.authority_name, "claims": self.claims}


def parse_vp_token(vp_token: object) -> dict[str, list[Any]]:
    """§8.1: a JSON object (or its text, as ``direct_post`` form-encodes it) of credential id → presentations."""
    if isinstance(vp_token, str):
        if len(vp_token) > MAX_VP_TOKEN:
            raise OnlineError("the vp_token is too large", "vp_token_malformed")
        try:
            vp_token = json.loads(vp_token, parse_constant=lambda name: None)
        except (ValueError, RecursionError) as exc:
            raise OnlineError("the vp_token is not JSON", "vp_token_malformed") from exc
    if not isinstance(vp_token, dict) or not vp_token:
        raise OnlineError("the vp_token must be a JSON object keyed by DCQL credential ids", "vp_token_malformed")
    for key, value in vp_token.items():
        if not isinstance(value, list) or not value:
            raise OnlineError(f"vp_token[{key!r}] must be a non-empty array of presentations", "vp_token_malformed")
    return vp_token


def verify_vp_token(vp_token: object, *, request: PresentationRequest, trust: TrustList | None,
                    status: StatusSource, now: int, kb_max_age: int = KB_MAX_AGE,
                    leeway: int = LEEWAY) -> dict[str, VerifiedCredential]:
    """Verify every presentation of ``vp_token`` against ``request``; raise ``OnlineError`` on the first refusal."""
    answers = parse_vp_token(vp_token)
    asked = {c.id for c in request.dcql.credentials}
    if set(answers) != asked:
        raise OnlineError(f"the vp_token answers {sorted(answers)}, the request asked for {sorted(asked)}",
                          "credential_missing")
    if trust is None:
        raise OnlineError("no current trust list: sync the verifier cache", "trust_unavailable")
    out = {}
    for query in request.dcql.credentials:
        presentations = answers[query.id]
        if len(presentations) != 1 or not isinstance(presentations[0], str):
            raise OnlineError(f"vp_token[{query.id!r}] must hold exactly one SD-JWT presentation",
                              "vp_token_malformed")
        out[query.id] = _one(presentations[0], query, request, trust, status, now, kb_max_age, leeway)
    return out


def _one(presentation: str, query: CredentialQuery, request: PresentationRequest, trust: TrustList,
         status: StatusSource, now: int, kb_max_age: int, leeway: int) -> VerifiedCredential:
    try:
        verified = verify_sd_jwt(presentation, issuer_key=trust_list_keys(trust, now=now), now=now,
                                 require_key_binding=True, nonce=request.nonce, audience=request.client_id,
                                 kb_max_age=kb_max_age, leeway=leeway, algorithms=("ES256",))
        places = disclosure_places(presentation)
    except SdJwtError as exc:
        raise OnlineError(f"credential {query.id!r}: {exc}", exc.reason) from exc
    vct = verified.vct
    if vct not in query.vct_values:
        raise OnlineError(f"credential {query.id!r} is a {vct!r}, not one the query asked for", "vct_not_requested")
    base, licence_type = parse_vct(vct)  # trust_list_keys accepted it, so it parses
    authority_id = verified.claims["iss"].rsplit("/", 1)[-1]
    _check_status(verified.status, base, authority_id, status, now)
    claims = {k: v for k, v in verified.claims.items() if k not in NEVER_DISCLOSED and k != "sub"}
    check_disclosed(query, claims, places.values())
    authority = trust.authority(authority_id)
    return VerifiedCredential(query.id, vct, licence_type, authority_id, claims, authority.name if authority else "")


def _check_status(reference: tuple[int, str] | None, base: str, authority_id: str, status: StatusSource,
                  now: int) -> None:
    if reference is None:
        raise OnlineError("the licence carries no status reference", "status_reference_invalid")
    idx, url = reference
    name = status_name(base, url)
    parsed = parse_status_uri(name)
    if parsed is None or parsed[0] != authority_id:
        raise OnlineError("the status reference is not a list of the authority that signed the licence",
                          "status_reference_invalid")
    found = status.lookup(name, idx, now)
    if found.value is None:
        raise OnlineError(found.detail or "no current status list", found.reason or "status_unknown")
    if found.value == INVALID:
        raise OnlineError("the issuer has revoked this licence", "revoked")
    if found.value == SUSPENDED:
        raise OnlineError("the issuer has suspended this licence", "suspended")
    if found.value != VALID:
        raise OnlineError(f"status value {found.value}", "status_invalid")
