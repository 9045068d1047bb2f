"""Attacks on the decision, as someone holding only a captured code (or a device key, or a stolen old key) would try.

Each test first shows the original accepted, then the attack refused with its own reason code.
"""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials import frame, unframe
from credentials.cbor import dumps
from credentials.cose import sign1
from credentials.credential import encode_payload, sign_credential
from credentials.presentation import credential_digest
from tests.conftest import examples
from tests.credentials.cbor_variants import Embedded, Tag, encode, presentation_tree, with_unprotected
from tests.verifier.test_pipeline import CREDENTIAL, HOLDER, ISSUER, NOW, credential_body, present, refused, run, trust_list
from verifier.replay import MemoryReplayCache

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def accepted_then(variant: bytes | str, original: str) -> tuple:
    """Show ``original`` to a counter (accepted), then ``variant`` to the same counter."""
    replay = MemoryReplayCache()
    first = run(original, replay=replay)
    assert first.valid, first
    return run(variant, replay=replay)


def high_s(raw_presentation: bytes, which: int) -> bytes:
    """Replace the ECDSA ``s`` of the credential (0) or the holder proof (1) by ``n - s``: still a valid signature."""
    tree = presentation_tree(raw_presentation)
    sign1_node = tree[which].value
    signature = sign1_node.value[3]
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    sign1_node.value[3] = r + (P256_ORDER - s).to_bytes(32, "big")
    return encode(tree)


# -- 1. replay by re-encoding, with no key ----------------------------------------------------------------

def test_flipped_s_in_the_holder_proof_is_the_same_presentation() -> None:
    """n - s verifies as well as s (ECDSA is malleable): the replay identity leaves signatures out, so it is ``replayed``."""
    original = present()
    flipped = high_s(unframe(original), 1)
    assert flipped != unframe(original)
    assert run(frame(flipped)).valid, "the flipped signature alone still verifies: the attack is real"
    refused(accepted_then(frame(flipped), original), "replayed")


def test_flipped_s_in_the_credential_breaks_the_holder_binding() -> None:
    original = present()
    refused(accepted_then(frame(high_s(unframe(original), 0)), original), "holder_signature_invalid")


@pytest.mark.parametrize("which, member", [(1, {33: b"x"}), (1, {4: b"kid"}), (0, {33: b"x"}), (0, {1: -7})],
                         ids=["proof-x5chain", "proof-kid", "credential-x5chain", "credential-alg-unprotected"])
def test_a_member_added_to_an_unprotected_header_is_refused(which: int, member: dict) -> None:
    original = present()
    refused(accepted_then(frame(with_unprotected(unframe(original), which, member)), original), "malformed_structure")


@pytest.mark.parametrize("choice", ["indefinite", "width"])
def test_re_encoded_lengths_are_malformed_cbor(choice: str) -> None:
    """Indefinite-length arrays, or every head one size longer than needed: same values, other bytes."""
    original = present()

    def choose(name: str, options: int) -> int:
        if choice == "indefinite" and name == "indefinite":
            return 1
        if choice == "width" and name == "width":
            return min(1, options - 1)
        return 0

    variant = encode(presentation_tree(unframe(original)), choose)
    assert variant != unframe(original)
    refused(accepted_then(frame(variant), original), "malformed_cbor")


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_no_re_encoding_of_an_accepted_code_is_accepted_again(data) -> None:
    original = present(challenge=b"property")
    raw = unframe(original)

    def choose(name: str, options: int) -> int:
        return data.draw(st.integers(0, options - 1), label=name)

    variant = encode(presentation_tree(raw), choose)
    decision = accepted_then(frame(variant), original)
    assert not decision.valid
    assert decision.reasons == (("replayed",) if variant == raw else ("malformed_cbor",))


def test_a_signed_credential_map_with_a_duplicate_key_never_verifies() -> None:
    cwt = cbor2.loads(encode_payload(credential_body()))
    claims = {**cwt[-65537][4]}
    for first, second in (("张三", "李四"), ("李四", "张三")):
        claims[1] = first
        doubled = (bytes([0xA0 + len(claims) + 1]) + b"".join(dumps(k) + dumps(v) for k, v in claims.items())
                   + dumps(1) + dumps(second))
        cwt[-65537][4] = "SENTINEL"
        credential = sign1(dumps(cwt).replace(dumps("SENTINEL"), doubled), ISSUER, kid=ISSUER.public.short_kid)
        refused(run(present(credential)), "malformed_cbor")


# -- 3. credential times ----------------------------------------------------------------------------------

def test_a_credential_issued_in_the_future_is_refused() -> None:
    ahead = sign_credential(credential_body(issued_at=NOW + 3600), ISSUER)
    refused(run(present(ahead)), "issued_in_future")
    slightly = sign_credential(credential_body(issued_at=NOW + 30), ISSUER)  # within the leeway: clocks drift
    assert run(present(slightly)).valid


def test_a_credential_dated_before_its_key_existed_is_refused() -> None:
    trust = trust_list(not_before=NOW - 100)
    early = sign_credential(credential_body(issued_at=NOW - 200), ISSUER)
    refused(run(present(early), trust=trust), "issued_outside_key_window")
    assert run(present(sign_credential(credential_body(issued_at=NOW - 50), ISSUER)), trust=trust).valid


# -- 5. unbounded numbers -----------------------------------------------------------------------------------

def proof_with(claims: dict, credential: bytes = CREDENTIAL) -> str:
    """A holder proof the holder signed themselves, with whatever claims they like."""
    proof = sign1(cbor2.dumps(claims, canonical=True), HOLDER, external_aad=credential_digest(credential))
    return frame(cbor2.dumps([credential, proof]))


@pytest.mark.parametrize("iat, reason", [
    (2**20000, "malformed_cbor"), (2**64, "malformed_cbor"), (2**64 - 1, "malformed_structure"),
    (2**53, "malformed_structure"), (-1, "malformed_structure"), (-(2**64), "malformed_structure"),
], ids=["2^20000", "2^64", "2^64-1", "2^53", "-1", "-2^64"])
def test_a_holder_time_out_of_range_is_refused_at_parse(iat: int, reason: str) -> None:
    decision = run(proof_with({6: iat}))
    refused(decision, reason)
    assert decision.presentation_age is None  # nothing downstream ever computed with the number


@pytest.mark.parametrize("field", ["issued_at", "expires_at", "not_before"])
def test_an_issuer_signed_time_out_of_range_is_refused(field: str) -> None:
    body = credential_body()
    payload = cbor2.loads(encode_payload(body))
    payload[{"issued_at": 6, "expires_at": 4, "not_before": 5}[field]] = 2**60
    credential = sign1(dumps(payload), ISSUER, kid=ISSUER.public.short_kid)
    refused(run(present(credential)), "malformed_structure")


# -- 6. reason codes that do not mislead ---------------------------------------------------------------------

def test_a_credential_claiming_another_algorithm_is_algorithm_mismatch() -> None:
    tree = presentation_tree(unframe(present()))
    tree[0].value.value[0] = Embedded({1: -8})  # EdDSA in the protected header, ES256 key in the trust list
    refused(run(frame(encode(tree))), "algorithm_mismatch")


def test_a_holder_proof_claiming_another_algorithm_is_algorithm_mismatch() -> None:
    tree = presentation_tree(unframe(present()))
    tree[1].value.value[0] = Embedded({1: -35})  # ES384
    refused(run(frame(encode(tree))), "algorithm_mismatch")


def test_tag_and_key_structure_of_the_writer() -> None:
    """Guard for the helpers above: the writer's tree really is the presentation's structure."""
    tree = presentation_tree(unframe(present()))
    assert isinstance(tree[0].value, Tag) and tree[0].value.tag == 18
    assert tree[1].value.value[1] == {}
