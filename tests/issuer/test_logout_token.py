"""``issuer.logout_token``: OIDC Back-Channel Logout 1.0 §2.6, each check with the token that breaks it.

Tokens are signed with PyJWT (the IdP signs with joserfc: the live round trip is in tests/service).
"""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

import keys
from issuer.logout_token import EVENT, LogoutTokenError, verify_logout_token

ISS, AUD, NOW = "https://tb.example", "tongban-admin-id", 1_800_000_000
IDP_KEY, OTHER_KEY = keys.generate(), keys.generate()
JWKS = {"keys": [IDP_KEY.public.public_jwk()]}
GOOD = {"iss": ISS, "aud": AUD, "iat": NOW, "exp": NOW + 120, "jti": "j1", "sub": "sub-1", "sid": "sid-1",
        "events": {EVENT: {}}}


def token(claims: dict | None = None, *, key: keys.PrivateKey = IDP_KEY, **header) -> str:
    """A JWS over any claims (PyJWT's encoder refuses some malformed ones: these are the attacker's)."""
    head = keys.b64url(json.dumps({"alg": "ES256", "typ": "logout+jwt", "kid": IDP_KEY.public.kid,
                                   **header}).encode())
    body = keys.b64url(json.dumps(GOOD if claims is None else claims).encode())
    return f"{head}.{body}.{keys.b64url(key.sign(f'{head}.{body}'.encode()))}"


def check(value: object, *, used: set | None = None, now: int = NOW, jwks: dict = JWKS):
    used = set() if used is None else used

    def first_use(jti: str) -> bool:
        if jti in used:
            return False
        used.add(jti)
        return True

    return verify_logout_token(value, jwks=jwks, issuer=ISS, client_id=AUD, now=now, first_use=first_use)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_good_token_names_the_session_and_its_jti_works_once():
    used: set = set()
    found = check(token(), used=used)
    assert (found.sid, found.sub, found.jti) == ("sid-1", "sub-1", "j1")
    with pytest.raises(LogoutTokenError, match="already used"):
        check(token(), used=used)  # replayed
    assert check(token({**GOOD, "aud": ["x", AUD], "sid": None} | {"jti": "j2"}), used=used).sub == "sub-1"


def _without(*names: str) -> dict:
    return {k: v for k, v in GOOD.items() if k not in names}


@pytest.mark.parametrize(("bad", "why"), [
    (token(key=OTHER_KEY), "Signature verification failed"),  # forged: signed by a key the IdP does not hold
    (token(key=OTHER_KEY, kid=OTHER_KEY.public.kid), "does not publish"),
    (token(typ="JWT"), "typed logout\\+jwt"),  # an ID token's header
    (token({**GOOD, "iss": "https://evil.example"}), "(?i)issuer"),
    (token({**GOOD, "aud": "another-client"}), "(?i)audience"),
    (token({**GOOD, "iat": NOW - 301, "exp": NOW + 600}), "iat is not recent"),  # expired (stale)
    (token({**GOOD, "iat": NOW + 61}), "iat is not recent"),  # from the future
    (token({**GOOD, "exp": NOW - 61}), "expired"),
    (token({**GOOD, "iat": str(NOW)}), "iat"),
    (token(_without("sub", "sid")), "neither sid nor sub"),
    (token({**GOOD, "sid": ""}), "sid malformed"),
    (token({**GOOD, "sub": 5}), "(?i)sub"),
    (token(_without("events")), "events"),
    (token({**GOOD, "events": {EVENT: "yes"}}), "back-channel logout event"),
    (token({**GOOD, "events": {"http://example/other": {}}}), "back-channel logout event"),
    (token({**GOOD, "nonce": "n"}), "nonce"),
    (token(_without("jti")), "jti"),
    (token({**GOOD, "jti": 7}), "(?i)jti|JWT ID"),
    (token(_without("iat")), "iat"),
    ("", "missing"), (None, "missing"), ("x" * 9000, "too long"), ("a.b.c", "not a JWS"),
    (_b64({"alg": "none", "typ": "logout+jwt", "kid": IDP_KEY.public.kid}) + "." + _b64(GOOD) + ".", "alg"),
    (jwt.encode(GOOD, "secret-secret-secret-secret-secret", algorithm="HS256",
                headers={"typ": "logout+jwt", "kid": IDP_KEY.public.kid}), "alg"),
])
def test_each_broken_token_is_refused(bad, why):
    with pytest.raises(LogoutTokenError, match=why):
        check(bad)


def test_a_refused_token_does_not_burn_the_jti_of_a_real_one():
    used: set = set()
    with pytest.raises(LogoutTokenError):
        check(token({**GOOD, "nonce": "n"}), used=used)
    with pytest.raises(LogoutTokenError):
        check(token(key=OTHER_KEY), used=used)
    assert check(token(), used=used).jti == "j1"


def test_a_malformed_key_in_the_set_is_a_refusal_not_a_crash():
    with pytest.raises(LogoutTokenError):
        check(token(), jwks={"keys": [{"kid": IDP_KEY.public.kid, "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]})
    with pytest.raises(LogoutTokenError):
        check(token(), jwks={"keys": [IDP_KEY.public.public_jwk()] * 2})  # an ambiguous kid
    with pytest.raises(LogoutTokenError):
        check(token(), jwks={"keys": "nope"})


@given(st.one_of(st.none(), st.integers(), st.text(max_size=300), st.binary(max_size=50),
                 st.builds(lambda h, c, s: f"{h}.{c}.{s}", st.text(max_size=40), st.text(max_size=40),
                           st.text(max_size=40)),
                 st.builds(lambda c: token(c), st.dictionaries(st.sampled_from(list(GOOD) + ["nonce"]),
                                                                st.one_of(st.none(), st.integers(), st.text(max_size=8),
                                                                          st.just({EVENT: {}})), max_size=9))))
def test_anything_is_either_a_logout_request_or_a_logout_token_error(value):
    try:
        found = check(value)
    except LogoutTokenError:
        return
    assert found.sid or found.sub
