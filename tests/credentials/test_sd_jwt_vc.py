"""SD-JWT VCs as tongban issues them: issue → present → verify, the attacks each check stops, the reference
implementation (openwallet-foundation-labs ``sd-jwt``) verifying ours, and property tests of the parser."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from credentials.sdjwt import (
    SdJwtError,
    authority_iss,
    issue_sd_jwt_vc,
    join,
    present,
    sd_hash,
    split,
    trust_list_keys,
    vct_for,
    verify_sd_jwt,
)
from credentials.sdjwt.disclosures import encode_disclosure, parse_disclosure, resolve
from credentials.status_list import INVALID, SUSPENDED, VALID
from keys import Authority, TrustedKey, TrustList, b64url, generate, jws_encode
from tests.conftest import examples

HUB = "https://hub.example.cn"
NOW = 1_780_000_000
AUTHORITY = generate("ES256")
OTHER = generate("ES256")
DEVICE = generate("ES256")
CLAIMS = {"name": "张三", "birth_date": "1990-03-07", "vehicle_classes": ["C1", "D"], "licence_number": "110101199003071233",
          "valid_until": "2030-05-01", "age_over_18": True}
TRUST = TrustList(1, NOW - 100, NOW + 86400, (
    Authority("bj-traffic", "北京市公安局公安交通管理局", "110000", "T1", ("driving-licence",),
              (TrustedKey(AUTHORITY.public, NOW - 1000, NOW + 10**8),)),
    Authority("bj-health", "北京市卫生健康委员会", "110000", "H1", ("health-code",),
              (TrustedKey(OTHER.public, NOW - 1000, NOW + 10**8),)),
))


def issue(*, signer=AUTHORITY, authority="bj-traffic", licence="driving-licence", iat=NOW, exp=NOW + 3600,
          holder=DEVICE, claims=CLAIMS, decoys=1) -> str:
    return issue_sd_jwt_vc(claims, vct=vct_for(HUB, licence), iss=authority_iss(HUB, authority), iat=iat, exp=exp,
                           holder_key=holder.public, status_idx=7, status_uri=HUB + "/status/bj-traffic/1",
                           signer=signer, decoys=decoys)


def show(sd_jwt: str, names=("name", "vehicle_classes"), *, nonce="n-1", aud="https://app.example", iat=NOW,
         holder=DEVICE) -> str:
    return present(sd_jwt, names, holder_key=holder, nonce=nonce, audience=aud, iat=iat)


def check(presentation: str, *, now=NOW, status=None, **kw):
    options = {"nonce": "n-1", "audience": "https://app.example", "require_key_binding": True, **kw}
    return verify_sd_jwt(presentation, issuer_key=trust_list_keys(TRUST, now=now), now=now,
                         status_of=status or (lambda idx, uri: VALID), **options)


def reason(presentation: str, **kw) -> str:
    with pytest.raises(SdJwtError) as exc:
        check(presentation, **kw)
    return exc.value.reason


def test_issue_present_verify_discloses_only_what_was_chosen():
    result = check(show(issue(), ("name", "vehicle_classes", "age_equal_or_over.18")))
    assert result.claims["name"] == "张三" and result.claims["vehicle_classes"] == ["C1", "D"]
    assert result.claims["age_equal_or_over"] == {"18": True}
    assert "birth_date" not in result.claims and "licence_number" not in result.claims
    assert result.claims["vct"] == HUB + "/vct/driving-licence" and result.holder_key == DEVICE.public
    assert result.status == (7, HUB + "/status/bj-traffic/1") and result.key_bound
    assert result.header["typ"] == "dc+sd-jwt" and result.header["kid"] == AUTHORITY.kid


def test_every_licence_claim_is_a_disclosure_and_the_registered_ones_are_not():
    parts = split(issue(decoys=0))
    payload = json.loads(base64.urlsafe_b64decode(parts.jwt.split(".")[1] + "=="))
    assert set(payload) == {"iss", "iat", "exp", "vct", "cnf", "status", "_sd", "_sd_alg"}
    names = [parse_disclosure(d).name for d in parts.disclosures]
    # 6 claims, 2 array elements, the age object's "18" member
    assert sorted(n for n in names if n) == sorted([*CLAIMS.keys() - {"age_over_18"}, "age_equal_or_over", "18"])
    assert names.count(None) == 2


def test_decoys_hide_how_many_claims_there_are():
    payload = json.loads(base64.urlsafe_b64decode(split(issue(decoys=3)).jwt.split(".")[1] + "=="))
    assert len(payload["_sd"]) == 6 + 3 and payload["_sd"] == sorted(payload["_sd"])


def test_the_reference_implementation_verifies_our_sd_jwt_vc():
    """openwallet-foundation-labs/sd-jwt (the specification's reference code) as an independent verifier."""
    presentation = show(issue(), ("name", "age_equal_or_over.18"))
    issuer_jwk = JWK.from_json(json.dumps(AUTHORITY.public.jwk))
    verifier = SDJWTVerifier(presentation, lambda iss, header: issuer_jwk, expected_aud="https://app.example",
                             expected_nonce="n-1")
    claims = verifier.get_verified_payload()
    assert claims["name"] == "张三" and claims["age_equal_or_over"] == {"18": True}
    assert "vehicle_classes" not in claims and claims["cnf"]["jwk"] == DEVICE.public.jwk
    with pytest.raises(ValueError, match="nonce"):
        SDJWTVerifier(presentation, lambda iss, header: issuer_jwk, expected_aud="https://app.example",
                      expected_nonce="other")


# -- attacks --------------------------------------------------------------------------------------------------
def test_a_tampered_disclosure_is_refused():
    parts = split(show(issue(), ("name",)))
    salt, name, _ = json.loads(base64.urlsafe_b64decode(parts.disclosures[0] + "=="))
    forged = encode_disclosure(salt, name, "李四")
    assert reason(_kb(join(parts.jwt, [forged]))) == "disclosure_unreferenced"


def test_an_added_disclosure_is_refused():
    parts = split(issue())
    extra = encode_disclosure("c2FsdHNhbHRzYWx0c2FsdA", "licence_class", "A1")
    assert reason(_kb(join(parts.jwt, [*parts.disclosures, extra]))) == "disclosure_unreferenced"


def test_a_duplicated_disclosure_is_refused():
    parts = split(issue())
    presented = join(parts.jwt, [*parts.disclosures, parts.disclosures[0]])
    assert reason(_kb(presented)) == "disclosure_duplicate"


def _kb(presented: str, holder=DEVICE, **claims) -> str:
    """A KB-JWT over ``presented`` as given (no selection), so the test reaches the check it is about."""
    body = {"iat": NOW, "aud": "https://app.example", "nonce": "n-1", "sd_hash": sd_hash(presented), **claims}
    return presented + jws_encode(body, holder, headers={"typ": "kb+jwt"})


def test_a_digest_twice_in_the_payload_is_refused():
    parts = split(issue(decoys=0))
    payload = json.loads(base64.urlsafe_b64decode(parts.jwt.split(".")[1] + "=="))
    payload["_sd"].append(payload["_sd"][0])
    token = jws_encode(payload, AUTHORITY, headers={"typ": "dc+sd-jwt", "kid": AUTHORITY.kid})
    assert reason(_kb(join(token, parts.disclosures))) == "disclosure_duplicate"


def test_alg_none_is_refused():
    parts = split(issue())
    header = b64url(json.dumps({"alg": "none", "typ": "dc+sd-jwt", "kid": AUTHORITY.kid}).encode())
    unsigned = header + "." + parts.jwt.split(".")[1] + "."
    assert reason(_kb(join(unsigned, parts.disclosures))) == "sd_jwt_alg"


def test_hs256_with_the_public_key_as_secret_is_refused():
    parts = split(issue())
    payload = json.loads(base64.urlsafe_b64decode(parts.jwt.split(".")[1] + "=="))
    secret = base64.urlsafe_b64decode(AUTHORITY.public.jwk["x"] + "=")  # the public key's bytes as an HMAC key
    forged = jwt.encode(payload, secret, algorithm="HS256", headers={"typ": "dc+sd-jwt", "kid": AUTHORITY.kid})
    assert reason(_kb(join(forged, parts.disclosures))) == "sd_jwt_alg"


def test_an_unknown_sd_alg_is_refused():
    parts = split(issue())
    payload = json.loads(base64.urlsafe_b64decode(parts.jwt.split(".")[1] + "=="))
    payload["_sd_alg"] = "sha-999"
    token = jws_encode(payload, AUTHORITY, headers={"typ": "dc+sd-jwt", "kid": AUTHORITY.kid})
    assert reason(_kb(join(token, parts.disclosures))) == "sd_jwt_digest_alg"


def test_a_kb_jwt_with_the_wrong_sd_hash_is_refused():
    sd = issue()
    chosen = present(sd, ["name"], holder_key=None)
    more = present(sd, ["name", "birth_date"], holder_key=None)
    body = {"iat": NOW, "aud": "https://app.example", "nonce": "n-1", "sd_hash": sd_hash(chosen)}
    kb = jws_encode(body, DEVICE, headers={"typ": "kb+jwt"})
    assert check(chosen + kb).claims["name"] == "张三"
    assert reason(more + kb) == "kb_sd_hash"  # the KB-JWT moved onto a larger selection


def test_key_binding_attacks():
    sd = issue()
    assert reason(present(sd, ["name"], holder_key=None)) == "kb_missing"
    assert reason(show(sd, holder=generate("ES256"))) == "kb_invalid"  # another key than cnf
    assert reason(show(sd, nonce="old")) == "kb_nonce"
    assert reason(show(sd, aud="https://other.example")) == "kb_audience"
    assert reason(show(sd, iat=NOW - 3600)) == "kb_stale"
    chosen = present(sd, ["name"], holder_key=None)
    body = {"iat": NOW, "aud": "https://app.example", "nonce": "n-1", "sd_hash": sd_hash(chosen)}
    assert reason(chosen + jws_encode(body, DEVICE, headers={"typ": "JWT"})) == "kb_invalid"
    # A credential bound to another device: its KB-JWT made with our device is refused.
    assert reason(show(issue(holder=generate("ES256")))) == "kb_invalid"


def test_trust_list_checks():
    assert reason(show(issue(signer=generate("ES256")))) == "sd_jwt_unknown_key"
    assert reason(show(issue(signer=OTHER, authority="bj-health"))) == "issuer_not_authorised"  # not its licence type
    assert reason(show(issue(authority="bj-health"))) == "issuer_not_authorised"  # iss names another authority
    assert reason(show(issue(iat=NOW - 5000))) == "key_retired"  # dated before the key existed
    assert reason(show(issue(exp=NOW - 1))) == "sd_jwt_expired"


def test_status_is_checked():
    sd = show(issue())
    assert reason(sd, status=lambda idx, uri: INVALID) == "status_invalid"
    assert reason(sd, status=lambda idx, uri: SUSPENDED) == "status_suspended"
    seen = []
    check(sd, status=lambda idx, uri: seen.append((idx, uri)) or VALID)
    assert seen == [(7, HUB + "/status/bj-traffic/1")]


def test_an_sm2_authority_cannot_sign_sd_jwt_vc():
    with pytest.raises(SdJwtError) as exc:
        issue(signer=generate("SM2"))
    assert exc.value.reason == "sd_jwt_unsupported_alg"


def test_a_registered_claim_sent_as_a_disclosure_is_refused():
    """A payload whose issuer hid ``exp`` in a Disclosure (SD-JWT VC §3.2.2.2 forbids it)."""
    disclosure = encode_disclosure("c2FsdHNhbHRzYWx0c2FsdA", "exp", NOW + 10)
    from credentials.sdjwt.disclosures import digest

    payload = {"iss": authority_iss(HUB, "bj-traffic"), "iat": NOW, "vct": vct_for(HUB, "driving-licence"),
               "cnf": {"jwk": DEVICE.public.jwk}, "_sd": [digest(disclosure)], "_sd_alg": "sha-256"}
    token = jws_encode(payload, AUTHORITY, headers={"typ": "dc+sd-jwt", "kid": AUTHORITY.kid})
    assert reason(_kb(join(token, [disclosure]))) == "sd_jwt_claims"


def test_a_disclosed_name_already_present_is_refused():
    disclosure = encode_disclosure("c2FsdHNhbHRzYWx0c2FsdA", "name", "李四")
    from credentials.sdjwt.disclosures import digest

    with pytest.raises(SdJwtError) as exc:
        resolve({"name": "张三", "_sd": [digest(disclosure)]}, [disclosure])
    assert exc.value.reason == "disclosure_conflict"


# -- property tests ----------------------------------------------------------------------------------------------
VALID_PRESENTATION = show(issue())


@given(st.text(max_size=300))
@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
def test_any_text_is_refused_with_an_sd_jwt_error(text):
    with pytest.raises(SdJwtError):
        check(text)


@given(st.integers(min_value=0, max_value=len(VALID_PRESENTATION) - 1),
       st.sampled_from("~.-_AZaz09=+/ \x00é"))
@settings(max_examples=examples(300))
def test_a_changed_character_is_refused_with_an_sd_jwt_error(position, char):
    changed = VALID_PRESENTATION[:position] + char + VALID_PRESENTATION[position + 1:]
    if changed == VALID_PRESENTATION:
        return
    try:
        result = check(changed)
    except SdJwtError:
        return
    # Only a change in a base64url character's unused low bits could leave the bytes equal: then nothing changed.
    assert result.claims == check(VALID_PRESENTATION).claims


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                          max_size=3), max_leaves=10)


@given(json_values)
@settings(max_examples=examples(300))
def test_any_json_as_a_disclosure_parses_or_is_refused_cleanly(value):
    raw = b64url(json.dumps(value).encode())
    try:
        found = parse_disclosure(raw)
    except SdJwtError as exc:
        assert exc.reason == "disclosure_malformed"
        return
    assert isinstance(value, list) and len(value) in (2, 3) and found.salt == value[0]


@given(json_values, st.lists(st.text(alphabet="abcXYZ019-_", min_size=1, max_size=30), max_size=5))
@settings(max_examples=examples(300))
def test_resolve_takes_any_payload_and_disclosures_without_a_traceback(payload, disclosures):
    try:
        resolve(payload if isinstance(payload, dict) else {"x": payload}, disclosures)
    except SdJwtError:
        pass
