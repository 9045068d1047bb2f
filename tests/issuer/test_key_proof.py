"""The OpenID4VCI key proof (issuer.key_proof, §8.2.1.1): each rule, and the attacks on the nonce and the key."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import keys
from issuer.errors import KeyProofRefused
from issuer.key_proof import check_key_proof

AUD, NOW = "https://tb.example", 1_800_000_000


def _jwt(header: dict, claims: dict, signer: keys.PrivateKey) -> str:
    h = keys.b64url(json.dumps(header).encode())
    c = keys.b64url(json.dumps(claims).encode())
    return f"{h}.{c}.{keys.b64url(signer.sign(f'{h}.{c}'.encode()))}"


class Nonces:
    def __init__(self, *values: str):
        self.left = set(values)

    def consume(self, value: str) -> bool:
        if value in self.left:
            self.left.discard(value)
            return True
        return False


def _check(token, nonces: Nonces | None = None, now: int = NOW, algorithms=("ES256", "EdDSA")):
    nonces = nonces or Nonces("n1")
    return check_key_proof(token, audience=AUD, now=now, consume_nonce=nonces.consume, algorithms=algorithms)


DEVICE = keys.generate()
HEADER = {"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": DEVICE.public.jwk}
CLAIMS = {"aud": AUD, "iat": NOW, "nonce": "n1"}


def test_a_good_proof_gives_the_device_key_and_uses_up_its_nonce():
    nonces = Nonces("n1")
    assert _check(_jwt(HEADER, CLAIMS, DEVICE), nonces).kid == DEVICE.public.kid
    assert nonces.left == set()
    with pytest.raises(KeyProofRefused) as caught:  # the same proof again: its nonce is gone
        _check(_jwt(HEADER, CLAIMS, DEVICE), nonces)
    assert caught.value.error == "invalid_nonce"


def test_aud_may_be_a_list_naming_us():
    assert _check(_jwt(HEADER, {**CLAIMS, "aud": ["x", AUD]}, DEVICE)).kid == DEVICE.public.kid


def test_an_ed25519_device_key_proves_with_eddsa_where_allowed():
    device = keys.generate("EdDSA")
    header = {**HEADER, "alg": "EdDSA", "jwk": device.public.jwk}
    assert _check(_jwt(header, CLAIMS, device)).kid == device.public.kid
    with pytest.raises(KeyProofRefused, match="signed with ES256"):
        _check(_jwt(header, CLAIMS, device), algorithms=("ES256",))


@pytest.mark.parametrize("token", [
    _jwt({**HEADER, "typ": "JWT"}, CLAIMS, DEVICE),
    _jwt({**HEADER, "alg": "EdDSA"}, CLAIMS, DEVICE),  # alg that does not match the key
    _jwt({**HEADER, "alg": "none"}, CLAIMS, DEVICE),
    _jwt({**HEADER, "alg": "HS256"}, CLAIMS, DEVICE),
    _jwt({**HEADER, "kid": "k"}, CLAIMS, DEVICE),
    _jwt({**HEADER, "jku": "https://evil.example/jwks"}, CLAIMS, DEVICE),
    _jwt({**HEADER, "x5u": "https://evil.example/cert"}, CLAIMS, DEVICE),
    _jwt({**HEADER, "jwk": {**DEVICE.public.jwk, "d": "AAAA"}}, CLAIMS, DEVICE),
    _jwt(HEADER, {**CLAIMS, "aud": "https://evil.example"}, DEVICE),
    _jwt(HEADER, {k: v for k, v in CLAIMS.items() if k != "aud"}, DEVICE),
    _jwt(HEADER, {**CLAIMS, "iat": NOW - 301}, DEVICE),
    _jwt(HEADER, {**CLAIMS, "iat": NOW + 301}, DEVICE),
    _jwt(HEADER, {**CLAIMS, "iat": True}, DEVICE),
    _jwt(HEADER, {**CLAIMS, "iat": 10**30}, DEVICE),
    _jwt(HEADER, {**CLAIMS, "nonce": "unknown"}, DEVICE),
    _jwt(HEADER, {**CLAIMS, "nonce": 1}, DEVICE),
    _jwt(HEADER, CLAIMS, keys.generate()),  # signed by another key than the one it names
    "x" * 5000,
    "",
    None,
])
def test_each_rule_refuses(token):
    with pytest.raises(KeyProofRefused) as caught:
        _check(token)
    assert caught.value.error in ("invalid_proof", "invalid_nonce")


@pytest.mark.parametrize("broken", [
    _jwt(HEADER, {**CLAIMS, "aud": "https://evil.example"}, DEVICE),
    _jwt(HEADER, CLAIMS, keys.generate()),
    _jwt(HEADER, {**CLAIMS, "iat": NOW - 3600}, DEVICE),
])
def test_a_proof_that_fails_does_not_burn_the_citizens_nonce(broken):
    nonces = Nonces("n1")
    with pytest.raises(KeyProofRefused):
        _check(broken, nonces)
    assert nonces.left == {"n1"}


_PROOF_KEY = keys.generate()


@given(st.one_of(st.none(), st.integers(), st.text(max_size=200),
                 st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=",
                                  max_size=80), min_size=3, max_size=3).map(".".join),
                 st.tuples(st.dictionaries(st.sampled_from(["typ", "alg", "jwk", "kid", "crit"]),
                                           st.one_of(st.text(max_size=20), st.integers(), st.none()), max_size=4),
                           st.dictionaries(st.sampled_from(["aud", "iat", "nonce", "exp"]),
                                           st.one_of(st.text(max_size=20), st.integers(), st.none()), max_size=3))
                 .map(lambda hc: _jwt({"typ": "openid4vci-proof+jwt", **hc[0]}, hc[1], _PROOF_KEY))))
def test_any_proof_text_is_refused_with_a_key_proof_error(token):
    with pytest.raises(KeyProofRefused):
        _check(token)
