"""Key lifecycle: key material, key rings with rotation, keys at rest, JWKS and the signed trust list."""

from keys.at_rest import AtRestPolicy, mark_development
from keys.csrf import csrf_token_matches, new_csrf_token
from keys.errors import KeyAtRestError, KeyFormatError, KeysError, NoSigningKeyError, TrustListError
from keys.jws import jws_decode, jws_encode
from keys.keyring import KeyRing, KeyRingStore, ManagedKey
from keys.layout import Layout
from keys.material import PublicKey, b64url, b64url_decode, jwk_thumbprint
from keys.private_key import PrivateKey, generate, private_from_jwk
from keys.trust_list import Authority, TrustedKey, TrustList, sign_trust_list, verify_trust_list


def jwks(keys: list[ManagedKey], now: int | None = None) -> dict:
    """JWKS (RFC 7517 §5) of the keys still inside their verification window."""
    return {"keys": [k.public.public_jwk() for k in keys if now is None or k.verifies_at(now)]}


__all__ = [
    "AtRestPolicy", "Authority", "KeyAtRestError", "KeyFormatError", "KeyRing", "KeyRingStore", "KeysError", "Layout",
    "ManagedKey", "NoSigningKeyError", "PrivateKey", "PublicKey", "TrustList", "TrustListError", "TrustedKey",
    "b64url", "b64url_decode", "csrf_token_matches", "generate", "jwk_thumbprint", "jwks", "jws_decode", "jws_encode",
    "mark_development",
    "new_csrf_token", "private_from_jwk", "sign_trust_list", "verify_trust_list",
]
