"""A presentation request (OpenID4VP 1.0 §5) and its signed Request Object (§5.10 / JAR, RFC 9101), pure.

The app's request, as the wallet receives it by reference (§5.10: ``request_uri``, fetched with GET):
``client_id`` (pre-registered, §5.9.1: no prefix, see below), ``response_type`` ``vp_token``, ``response_mode``
``direct_post`` (§8.2) with ``response_uri``, ``nonce`` (16 random bytes) and ``state`` (16 more), ``dcql_query``
(§6), ``iss`` = ``client_id``, ``aud`` = ``https://self-issued.me/v2`` (§5.8: no wallet metadata), ``iat`` and
``exp``, and ``purpose`` (a tongban member: the words the wallet shows under "why"). Header: ``typ``
``oauth-authz-req+jwt`` (RFC 9101 §10.8), ``alg`` ES256, ``kid`` the thumbprint of the app's request key.

Why a pre-registered client identifier (§5.9.1) rather than ``redirect_uri:`` or ``x509_san_dns:``: a
``redirect_uri:`` request must not be signed (§5.9.3), so the wallet could not tell who asks; ``x509_san_dns``
needs a certificate authority that apps and the wallet both trust. The hub already registers government apps
(``tongban clients add``), so ``--verifier`` adds a request-signing key and a purpose to that registration and
the hub publishes both (``/verifier/clients/<id>``) to its own wallet, the way a wallet knows its pre-registered
verifiers.

The wallet link is ``openid4vp://?client_id=...&request_uri=...`` (cross-device, as a QR) or the hub's wallet page
with the same parameters (same-device: a web wallet owns no URL scheme).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt

from credentials.sdjwt.disclosures import b64url_strict, strict_json
from credentials.sdjwt.errors import SdJwtError
from keys import PrivateKey, PublicKey, b64url, jws_decode, jws_encode
from verifier.online.dcql import DcqlQuery, parse_dcql
from verifier.online.errors import OnlineError

TYP = "oauth-authz-req+jwt"
WALLET_AUDIENCE = "https://self-issued.me/v2"
RESPONSE_TYPE = "vp_token"
RESPONSE_MODE = "direct_post"
SCHEME = "openid4vp://"
DEFAULT_TTL = 300
MAX_PURPOSE = 200


@dataclass(frozen=True)
class PresentationRequest:
    id: str  # the transaction: in request_uri and response_uri, 16 random bytes
    client_id: str
    nonce: str
    state: str
    request_uri: str
    response_uri: str
    dcql: DcqlQuery
    purpose: str
    iat: int
    exp: int
    same_device: bool = False

    def claims(self) -> dict[str, Any]:
        """The Request Object's claims (§5.1, §5.10)."""
        return {"iss": self.client_id, "aud": WALLET_AUDIENCE, "client_id": self.client_id,
                "response_type": RESPONSE_TYPE, "response_mode": RESPONSE_MODE, "response_uri": self.response_uri,
                "nonce": self.nonce, "state": self.state, "dcql_query": self.dcql.to_json(),
                "purpose": self.purpose, "iat": self.iat, "exp": self.exp}

    def to_json(self) -> str:
        return json.dumps({**self.claims(), "id": self.id, "request_uri": self.request_uri,
                           "same_device": self.same_device}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PresentationRequest:
        data = json.loads(text)
        return cls(data["id"], data["client_id"], data["nonce"], data["state"], data["request_uri"],
                   data["response_uri"], parse_dcql(data["dcql_query"]), data["purpose"], data["iat"], data["exp"],
                   data.get("same_device", False))


def new_request(*, client_id: str, dcql: object, base_url: str, purpose: str, now: int, ttl: int = DEFAULT_TTL,
                same_device: bool = False, random: Callable[[int], bytes] = secrets.token_bytes) -> PresentationRequest:
    """A fresh request for ``dcql`` (JSON data, checked by ``parse_dcql``); URLs under the hub's ``base_url``."""
    query = parse_dcql(dcql)
    if not isinstance(purpose, str) or not 0 < len(purpose.strip()) <= MAX_PURPOSE:
        raise OnlineError(f"purpose is 1-{MAX_PURPOSE} characters saying why the app asks", "request_invalid")
    if not 30 <= ttl <= 3600:
        raise OnlineError("a request lives 30 s to 1 h", "request_invalid")
    transaction = b64url(random(16))
    base = f"{base_url.rstrip('/')}/verifier/requests/{transaction}"
    return PresentationRequest(transaction, client_id, b64url(random(16)), b64url(random(16)), base + "/request.jwt",
                               base + "/response", query, purpose.strip(), now, now + ttl, same_device)


def sign_request_object(request: PresentationRequest, signer: PrivateKey) -> str:
    """§5.10 / RFC 9101 §4: the Request Object, signed by the app's registered key."""
    return jws_encode(request.claims(), signer, headers={"typ": TYP, "kid": signer.kid})


def wallet_link(client_id: str, request_uri: str, *, base: str = SCHEME) -> str:
    """§5.10 by reference: only ``client_id`` and ``request_uri`` travel in the link (the rest is signed)."""
    return base + "?" + urlencode({"client_id": client_id, "request_uri": request_uri})


def verify_request_object(token: object, *, key: PublicKey, client_id: str, now: int, leeway: int = 30) -> dict:
    """The wallet's checks of a Request Object (``wallet/static/share.js`` makes the same ones in the browser):
    signed by the registered key with ES256 and ``typ`` ``oauth-authz-req+jwt``, for the ``client_id`` of the
    link (§5.10.1), current, and asking for ``vp_token`` by ``direct_post``."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 32_768:
        raise OnlineError("the request object is not a compact JWS", "request_invalid")
    try:
        header = strict_json(b64url_strict(token.split(".")[0], "the request object header"))
    except SdJwtError as exc:
        raise OnlineError(f"the request object header is not valid: {exc}", "request_invalid") from exc
    if not isinstance(header, dict) or header.get("typ") != TYP or header.get("alg") != "ES256" \
            or header.get("kid") != key.kid:
        raise OnlineError(f"the request object must be typ {TYP}, ES256, signed by the app's key",
                          "request_signature")
    try:
        claims = strict_json(jws_decode(token, key))
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise OnlineError("the request object's signature does not verify with the app's key",
                          "request_signature") from exc
    except SdJwtError as exc:
        raise OnlineError(str(exc), "request_invalid") from exc
    if not isinstance(claims, dict) or claims.get("client_id") != client_id or claims.get("iss") != client_id:
        raise OnlineError("the request object is for another client_id than the link's", "request_invalid")
    if claims.get("response_type") != RESPONSE_TYPE or claims.get("response_mode") != RESPONSE_MODE:
        raise OnlineError("only response_type vp_token with response_mode direct_post is supported",
                          "request_invalid")
    exp, iat = claims.get("exp"), claims.get("iat")
    if type(exp) is not int or type(iat) is not int or iat > now + leeway or now >= exp:
        raise OnlineError("the request object is expired or not yet valid", "request_expired")
    parse_dcql(claims.get("dcql_query"))
    return claims
