"""Whatever a signed trust list's claims hold, reading it gives a TrustList or a TrustListError: nothing else."""

from __future__ import annotations

import copy
import json

import jwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keys
from keys import Authority, TrustedKey, TrustList, TrustListError, verify_trust_list
from tests.conftest import examples

NOW = 1_800_000_000
ROOT = keys.generate()
ISSUER = keys.generate()
BURNT = keys.generate()
MAX = 2**53

BASE = TrustList(4, NOW, NOW + 3600, (
    Authority("tp", "交管局", "110000", "11110000000021135M", ("driving-licence",),
              (TrustedKey(ISSUER.public, NOW - 10, NOW + 10**6, NOW + 5),), (BURNT.public.short_kid,)),
)).to_claims()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated_claims(draw):
    claims = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        target = claims
        try:
            for step in path[:-1]:
                target = target[step]
            if draw(st.booleans()) and isinstance(target, dict):
                target.pop(path[-1], None)
            else:
                target[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
    return claims


def _in_range(trust: TrustList) -> bool:
    numbers = [trust.version, trust.issued_at, trust.expires_at]
    for authority in trust.authorities:
        for key in authority.keys:
            numbers += [key.not_before, key.not_after, key.signs_until]
    return all(type(n) is int and 0 <= n < MAX for n in numbers)


@settings(max_examples=examples(400), deadline=None)
@given(mutated_claims())
def test_from_claims_gives_a_trust_list_or_a_trust_list_error(claims):
    try:
        trust = TrustList.from_claims(claims)
    except TrustListError as exc:
        assert exc.reason == "trust_list_malformed"
        return
    assert _in_range(trust)
    assert all(isinstance(a.id, str) and all(isinstance(t, str) for t in a.licence_types) for a in trust.authorities)


@settings(max_examples=examples(400), deadline=None)
@given(json_values)
def test_any_json_as_the_whole_claims_set(value):
    try:
        TrustList.from_claims(value)
    except TrustListError as exc:
        assert exc.reason == "trust_list_malformed"


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_claims())
def test_signed_mutations_give_a_trust_list_or_a_trust_list_error(claims):
    # Signed as raw JSON: PyJWT's jwt.encode would itself refuse some of these claim sets (a non-text iss).
    token = jwt.api_jws.PyJWS().encode(json.dumps(claims).encode(), ROOT.crypto_key(), algorithm=ROOT.alg,
                                       headers={"typ": "tongban-trust-list+jwt"})
    try:
        trust = verify_trust_list(token, ROOT.public, now=NOW, allow_expired=True)
    except TrustListError as exc:
        assert exc.reason in {"trust_list_malformed", "trust_list_not_yet_valid"}
        return
    assert _in_range(trust)
