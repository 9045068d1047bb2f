"""Holder-bound presentations: round trip, the holder proof's binding to the credential, fuzzing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keys
from credentials import credential_digest, make_presentation, parse_presentation, unframe, verify_sign1
from credentials.cbor import dumps
from credentials.credential import CredentialBody, sign_credential
from credentials.errors import CredentialError, StructureError
from credentials.presentation import parse_presentation_bytes
from tests.conftest import examples
from tests.credentials.test_credential import as_parsed

FAST = settings(max_examples=examples(200), deadline=None)
ISSUER = keys.generate()
HOLDER = keys.generate()
NOW = 1_790_000_000


def body(holder: keys.PublicKey = HOLDER.public, serial: int = 1234) -> CredentialBody:
    return CredentialBody(
        licence_type="driving-licence", view="driving",
        claims={"name": "张三", "vehicle_classes": ["C1"], "valid_from": dt.date(2020, 5, 1),
                "valid_until": dt.date(2030, 5, 1)},
        serial=serial, version=1, issued_at=NOW, expires_at=NOW + 86400, holder_key=holder, status_idx=7,
        status_uri="tbsl:bj-traffic-police/1",
    )


CREDENTIAL = sign_credential(body(), ISSUER)
OTHER_CREDENTIAL = sign_credential(body(serial=5678), ISSUER)


@settings(max_examples=examples(30), deadline=None)
@given(st.integers(0, 2**40), st.none() | st.binary(max_size=64))
def test_round_trip(now: int, challenge: bytes | None) -> None:
    p = parse_presentation(make_presentation(CREDENTIAL, HOLDER, now=now, challenge=challenge))
    assert p.presented_at == now
    assert p.challenge == challenge
    assert p.credential_raw == CREDENTIAL
    assert p.credential == as_parsed(body())
    assert p.credential_digest == hashlib.sha256(CREDENTIAL).digest() == credential_digest(CREDENTIAL)


@settings(max_examples=examples(30), deadline=None)
@given(st.binary(min_size=16, max_size=16), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True))
def test_round_trip_with_audience(challenge: bytes, audience: str) -> None:
    p = parse_presentation(make_presentation(CREDENTIAL, HOLDER, now=NOW, challenge=challenge, audience=audience))
    assert (p.challenge, p.audience, p.presented_at) == (challenge, audience, NOW)
    assert parse_presentation(make_presentation(CREDENTIAL, HOLDER, now=NOW)).audience is None


def test_audience_is_signed_as_cwt_aud_beside_the_nonce() -> None:
    raw = unframe(make_presentation(CREDENTIAL, HOLDER, now=NOW, challenge=b"\x01" * 16, audience="bj-dc-3"))
    payload = cbor2.loads(cbor2.loads(raw)[1]).value[2]
    # Deterministic CBOR (RFC 8949 §4.2.1): keys 3, 6, 10 in bytewise order of their encodings.
    assert payload == bytes.fromhex("a3") + b"\x03\x67bj-dc-3" + b"\x06\x1a" + NOW.to_bytes(4, "big") + b"\x0a\x50" + b"\x01" * 16
    assert cbor2.loads(payload) == {3: "bj-dc-3", 6: NOW, 10: b"\x01" * 16}


@pytest.mark.parametrize("audience", ["", "a" * 65, "-starts-with-dash", "has space", "柜台", "a/b", "a\n"])
def test_audience_outside_the_counter_id_alphabet_is_refused(audience: str) -> None:
    with pytest.raises(StructureError):
        make_presentation(CREDENTIAL, HOLDER, now=NOW, audience=audience)


def test_wire_form_is_credential_and_proof() -> None:
    raw = unframe(make_presentation(CREDENTIAL, HOLDER, now=NOW, challenge=b"abc"))
    credential, proof = cbor2.loads(raw)
    assert credential == CREDENTIAL
    tagged = cbor2.loads(proof)
    assert tagged.tag == 18
    assert cbor2.loads(tagged.value[2]) == {6: NOW, 10: b"abc"}


def test_holder_proof_verifies_only_with_holder_key_and_this_credential_digest() -> None:
    p = parse_presentation(make_presentation(CREDENTIAL, HOLDER, now=NOW))
    assert verify_sign1(p.proof_sign1, HOLDER.public, external_aad=credential_digest(CREDENTIAL))
    assert not verify_sign1(p.proof_sign1, HOLDER.public, external_aad=credential_digest(OTHER_CREDENTIAL))
    assert not verify_sign1(p.proof_sign1, HOLDER.public)
    assert not verify_sign1(p.proof_sign1, keys.generate().public, external_aad=credential_digest(CREDENTIAL))
    assert not verify_sign1(p.proof_sign1, ISSUER.public, external_aad=credential_digest(CREDENTIAL))


def test_eddsa_holder() -> None:
    holder = keys.generate("EdDSA")
    raw = sign_credential(dataclasses.replace(body(), holder_key=holder.public), ISSUER)
    p = parse_presentation(make_presentation(raw, holder, now=NOW))
    assert p.credential.holder_key == holder.public
    assert verify_sign1(p.proof_sign1, holder.public, external_aad=p.credential_digest)
    assert not verify_sign1(p.proof_sign1, holder.public, external_aad=credential_digest(CREDENTIAL))


def test_challenge_longer_than_64_bytes_is_refused() -> None:
    make_presentation(CREDENTIAL, HOLDER, now=NOW, challenge=b"x" * 64)
    with pytest.raises(StructureError):
        make_presentation(CREDENTIAL, HOLDER, now=NOW, challenge=b"x" * 65)


@FAST
@given(st.binary(max_size=500))
def test_arbitrary_bytes_raise_only_credential_errors(data: bytes) -> None:
    try:
        parse_presentation_bytes(data)
    except CredentialError:
        pass


@FAST
@given(st.data())
def test_mutated_presentations_raise_only_credential_errors(data) -> None:
    raw = bytearray(unframe(make_presentation(CREDENTIAL, HOLDER, now=NOW, challenge=b"c")))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        parse_presentation_bytes(bytes(raw))
    except CredentialError:
        pass


PROOF_CLAIMS = st.dictionaries(
    st.sampled_from([6, 10, 3, 1, "iat", -65537, -65538]),
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.binary(max_size=70)
    | st.binary(min_size=15, max_size=17)
    | st.text(max_size=5) | st.sampled_from(["counter-1", "a" * 64, "a" * 65, "-x", "柜台", "a b", "A.b_c-9"])
    | st.floats(allow_nan=False),
    max_size=4,
)


@FAST
@given(PROOF_CLAIMS)
def test_holder_proof_claims_fuzz(claims: dict) -> None:
    # Changed with two-way counters: aud (3) is allowed, a text of the counter-id alphabet; the nonce is
    # bounded at parse time (<= 64 bytes) as it already was when made. With 免证办: a fetch handle (-65537) of
    # exactly 16 bytes.
    from credentials.cose import sign1

    proof = sign1(dumps(claims), HOLDER, external_aad=credential_digest(CREDENTIAL))
    raw = cbor2.dumps([CREDENTIAL, proof])
    aud = claims.get(3)
    handle = claims.get(-65537)
    valid = (set(claims) - {10, 3, -65537} == {6} and type(claims[6]) is int and 0 <= claims[6] < 2**53
             and (-65537 not in claims or (isinstance(handle, bytes) and len(handle) == 16))
             and (10 not in claims or (isinstance(claims[10], bytes) and len(claims[10]) <= 64))
             and (3 not in claims or (isinstance(aud, str) and 1 <= len(aud) <= 64 and aud[0] not in "._-"
                                      and all(c.isascii() and (c.isalnum() or c in "._-") for c in aud))))
    try:
        p = parse_presentation_bytes(raw)
    except StructureError:
        assert not valid
    else:
        assert valid
        assert p.presented_at == claims[6] and p.challenge == claims.get(10) and p.audience == aud
        assert p.fetch_handle == handle


@given(st.binary(min_size=16, max_size=16), st.none() | st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))
def test_round_trip_with_a_fetch_handle(handle: bytes, audience: str | None) -> None:
    p = parse_presentation(make_presentation(CREDENTIAL, HOLDER, now=NOW, fetch_handle=handle, audience=audience))
    assert p.fetch_handle == handle and p.audience == audience
    assert verify_sign1(p.proof_sign1, HOLDER.public, external_aad=credential_digest(CREDENTIAL))
    assert parse_presentation(make_presentation(CREDENTIAL, HOLDER, now=NOW)).fetch_handle is None


@pytest.mark.parametrize("handle", [b"", b"x" * 15, b"x" * 17, "x" * 16])
def test_a_fetch_handle_is_exactly_16_bytes(handle) -> None:
    with pytest.raises(StructureError):
        make_presentation(CREDENTIAL, HOLDER, now=NOW, fetch_handle=handle)


@pytest.mark.parametrize(
    "value",
    [[], [CREDENTIAL], [CREDENTIAL, CREDENTIAL, CREDENTIAL], {"a": 1}, [CREDENTIAL, "proof"], CREDENTIAL],
    ids=["empty", "one", "three", "map", "text-proof", "bare-credential"],
)
def test_wrong_shapes_are_refused(value) -> None:
    with pytest.raises(StructureError):
        parse_presentation_bytes(cbor2.dumps(value))


def test_trailing_bytes_are_refused() -> None:
    raw = unframe(make_presentation(CREDENTIAL, HOLDER, now=NOW))
    parse_presentation_bytes(raw)
    with pytest.raises(StructureError):
        parse_presentation_bytes(raw + b"\x00")
