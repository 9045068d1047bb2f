"""An SD-JWT VC (draft-ietf-oauth-sd-jwt-vc, §3) of a tongban licence, signed by the authority's key.

Header (§3.2.1): ``typ`` ``dc+sd-jwt``, ``alg`` the authority key's, ``kid`` its RFC 7638 thumbprint (the key is
found in the hub's signed trust list). Claims (§3.2.2): ``vct`` per licence type (``vct_for``), ``iss`` the
authority (``<credential issuer>/authorities/<id>``), ``iat``, ``nbf`` (when the licence starts later), ``exp``
(the licence's validity, capped by the signing key's window), ``cnf.jwk`` the holder's device key (RFC 7800
§3.2), ``status`` → ``{"status_list": {"idx", "uri"}}`` (draft-ietf-oauth-status-list §6.1; the list's URL).
None of these is selectively disclosable (§3.2.2.2 forbids it); every licence claim is, recursively:
``vehicle_classes`` as an array whose elements are disclosed one by one, and ``age_over_18`` as
``age_equal_or_over: {"18": ...}`` (the shape the EU PID's SD-JWT VC uses), each level on its own.

Signing goes through a ``keys`` private key (in memory or inside a PKCS#11 token). JOSE registers no SM2
algorithm, so an authority whose key is SM2 cannot issue SD-JWT VCs: refused with ``sd_jwt_unsupported_alg``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from credentials.catalogue import AGE_OVER_18
from credentials.sdjwt.disclosures import conceal
from credentials.sdjwt.errors import SdJwtError
from credentials.sdjwt.serialization import join
from credentials.status_list import status_reference
from keys import PrivateKey, PublicKey, jws_encode

TYP = "dc+sd-jwt"
SIGNING_ALGORITHMS = ("ES256",)  # what the credential configurations announce; EdDSA holders are fine
REGISTERED = ("iss", "iat", "nbf", "exp", "vct", "cnf", "status", "sub")
_VCT = re.compile(r"(?P<base>https?://[^\s?#]+)/vct/(?P<type>[a-z0-9-]{1,40})")


def vct_for(issuer_url: str, type_name: str) -> str:
    """The ``vct`` of a licence type: ``<credential issuer>/vct/<type>`` (a URL the issuer controls, §3.2.2.1)."""
    return f"{issuer_url.rstrip('/')}/vct/{type_name}"


def parse_vct(vct: object) -> tuple[str, str] | None:
    """(credential issuer URL, licence type name) of a tongban ``vct``; None for any other value."""
    match = _VCT.fullmatch(vct) if isinstance(vct, str) else None
    return (match.group("base"), match.group("type")) if match else None


def authority_iss(issuer_url: str, authority_id: str) -> str:
    return f"{issuer_url.rstrip('/')}/authorities/{authority_id}"


def licence_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """tongban claims (dates as dates or ISO text) in JSON form, ``age_over_18`` as ``age_equal_or_over``."""
    out: dict[str, Any] = {}
    for name, value in claims.items():
        if isinstance(value, dt.date):
            value = value.isoformat()
        if name == AGE_OVER_18:
            out["age_equal_or_over"] = {"18": bool(value)}
        else:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def issue_sd_jwt_vc(claims: Mapping[str, Any], *, vct: str, iss: str, iat: int, exp: int, holder_key: PublicKey,
                    status_idx: int, status_uri: str, signer: PrivateKey, nbf: int | None = None, decoys: int = 1,
                    salt: Callable[[], str] | None = None) -> str:
    """Sign one SD-JWT VC with every claim of ``claims`` selectively disclosable; returns ``jwt~d1~...~dN~``."""
    if signer.alg not in SIGNING_ALGORITHMS:
        raise SdJwtError(f"an SD-JWT VC is signed with {', '.join(SIGNING_ALGORITHMS)}; this authority's key is "
                         f"{signer.alg} (JOSE has no SM2 algorithm): issue tongban-cose instead",
                         "sd_jwt_unsupported_alg")
    body = licence_claims(claims)
    clash = set(body) & set(REGISTERED)
    if clash:
        raise SdJwtError(f"licence claims may not use the registered names {sorted(clash)}", "sd_jwt_claims")
    fixed: dict[str, Any] = {"iss": iss, "iat": iat, "exp": exp, "vct": vct,
                             "cnf": {"jwk": dict(holder_key.jwk)}, "status": status_reference(status_idx, status_uri)}
    if nbf is not None:
        fixed["nbf"] = nbf
    payload, disclosures = conceal({**fixed, **body}, keep=fixed, decoys=decoys,
                                   **({"salt": salt} if salt else {}))
    try:
        token = jws_encode(payload, signer, headers={"typ": TYP, "kid": signer.kid})
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise SdJwtError(f"cannot sign with this key: {exc}", "sd_jwt_unsupported_alg") from exc
    return join(token, disclosures)
