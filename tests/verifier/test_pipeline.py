"""The offline decision pipeline over a tiny in-memory world: every reason code, fuzzing, byte flips."""

from __future__ import annotations

import dataclasses
import datetime as dt

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keys
from credentials import make_presentation, unframe
from credentials.cbor import dumps
from credentials.cose import sign1
from credentials.credential import CredentialBody, encode_payload, sign_credential
from credentials.status_list import INVALID, SUSPENDED, VALID
from tests.conftest import examples
from verifier.pipeline import CHECKS, Decision, verify
from verifier.ports import Policy, StatusLookup
from verifier.replay import MemoryReplayCache

FAST = settings(max_examples=examples(200), deadline=None)
NOW = 1_790_000_000
AUTHORITY_ID = "bj-traffic-police"
URI = "tbsl:bj-traffic-police/1"
IDX = 42
ISSUER = keys.generate()
HOLDER = keys.generate()


class DictStatus:
    """A status source answering from a dict {(uri, idx): value}; missing entries are unknown."""

    def __init__(self, values: dict[tuple[str, int], int | None], authority_id: str | None = AUTHORITY_ID):
        self.values, self.authority_id, self.calls = values, authority_id, []

    def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
        self.calls.append((uri, idx, now))
        value = self.values.get((uri, idx))
        return StatusLookup(value, self.authority_id if value is not None else None)


def trust_list(*, issuer: keys.PublicKey = ISSUER.public, licence_types=("driving-licence",),
               not_before: int = NOW - 86400, not_after: int = NOW + 86400 * 365, expires_at: int = NOW + 86400,
               ) -> keys.TrustList:
    authority = keys.Authority(
        id=AUTHORITY_ID, name="北京市公安局公安交通管理局", region="110000", issuer_code="11110000000021135M",
        licence_types=tuple(licence_types), keys=(keys.TrustedKey(issuer, not_before, not_after),),
    )
    return keys.TrustList(version=1, issued_at=NOW - 3600, expires_at=expires_at, authorities=(authority,))


def credential_body(**changes) -> CredentialBody:
    body = CredentialBody(
        licence_type="driving-licence", view="driving",
        claims={"name": "张三", "vehicle_classes": ["C1"], "valid_from": dt.date(2020, 5, 1),
                "valid_until": dt.date(2030, 5, 1)},
        serial=1234, version=1, issued_at=NOW - 86400, expires_at=NOW + 86400 * 30, holder_key=HOLDER.public,
        status_idx=IDX, status_uri=URI,
    )
    return dataclasses.replace(body, **changes)


CREDENTIAL = sign_credential(credential_body(), ISSUER)


def present(credential: bytes = CREDENTIAL, *, holder: keys.PrivateKey = HOLDER, at: int = NOW,
            challenge: bytes | None = None) -> str:
    return make_presentation(credential, holder, now=at, challenge=challenge)


def run(payload, *, trust: keys.TrustList | None | str = "default", status=None, replay=None, now: int = NOW,
        policy: Policy | None = None) -> Decision:
    return verify(
        payload, trust=trust_list() if trust == "default" else trust,
        status=status if status is not None else DictStatus({(URI, IDX): VALID}),
        replay=replay if replay is not None else MemoryReplayCache(), now=now, policy=policy,
    )


def refused(decision: Decision, reason: str) -> None:
    assert decision.valid is False
    assert decision.reasons == (reason,), decision


TEXT = present()
BINARY = unframe(TEXT)


def test_valid_presentation() -> None:
    status = DictStatus({(URI, IDX): VALID})
    decision = run(TEXT, status=status)
    assert decision.valid is True, decision
    assert decision.reasons == ()
    assert decision.licence_type == "driving-licence" and decision.view == "driving"
    assert decision.claims == {"name": "张三", "vehicle_classes": ["C1"], "valid_from": "2020-05-01",
                               "valid_until": "2030-05-01"}
    assert decision.issuer["id"] == AUTHORITY_ID
    assert decision.elicence_id.startswith("1.2.156.3005.2.11100000000013338W001.11110000000021135M.00001234.001.")
    assert decision.presentation_age == 0
    assert status.calls == [(URI, IDX, NOW)]
    assert decision.checks_passed == tuple(name for name, _check in CHECKS)


def test_valid_from_binary_form_too() -> None:
    assert run(BINARY).valid is True


def test_eddsa_issuer_and_holder() -> None:
    issuer, holder = keys.generate("EdDSA"), keys.generate("EdDSA")
    credential = sign_credential(credential_body(holder_key=holder.public), issuer)
    decision = run(present(credential, holder=holder), trust=trust_list(issuer=issuer.public))
    assert decision.valid is True, decision


@FAST
@given(st.text(max_size=400))
def test_arbitrary_text_is_refused_never_raises(text: str) -> None:
    decision = run(text)
    assert decision.valid is False and decision.reasons and all(decision.reasons)


@FAST
@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_refused_never_raise(data: bytes) -> None:
    decision = run(data)
    assert decision.valid is False and decision.reasons and all(decision.reasons)


@FAST
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=400))
def test_arbitrary_base45_after_prefix_is_refused(body: str) -> None:
    decision = run("TB1:" + body)
    assert decision.valid is False and decision.reasons


def flips() -> list[tuple[int, int]]:
    return [(pos, mask) for pos in range(len(BINARY)) for mask in (0x01, 0x80)]


def test_every_single_byte_flip_is_refused() -> None:
    """XOR 0x01 and XOR 0x80 at every position of the binary presentation: never accepted, never raises."""
    failures = []
    for pos, mask in flips():
        flipped = bytearray(BINARY)
        flipped[pos] ^= mask
        try:
            decision = run(bytes(flipped))
        except Exception as exc:  # collected and reported below
            failures.append((pos, mask, repr(exc)))
            continue
        if decision.valid or not decision.reasons:
            failures.append((pos, mask, decision))
    assert len(flips()) == 2 * len(BINARY) > 500
    assert not failures, failures


# --- status --------------------------------------------------------------------------------------------------


def test_revoked() -> None:
    refused(run(TEXT, status=DictStatus({(URI, IDX): INVALID})), "revoked")


def test_suspended() -> None:
    refused(run(TEXT, status=DictStatus({(URI, IDX): SUSPENDED})), "suspended")


def test_status_other_value() -> None:
    refused(run(TEXT, status=DictStatus({(URI, IDX): 3})), "status_invalid")


def test_status_looked_up_at_the_credential_index() -> None:
    refused(run(TEXT, status=DictStatus({(URI, IDX + 1): VALID})), "status_unknown")
    refused(run(TEXT, status=DictStatus({("tbsl:other/1", IDX): VALID})), "status_unknown")


def test_status_unknown_refused_by_default_and_accepted_with_warning_by_policy() -> None:
    refused(run(TEXT, status=DictStatus({})), "status_unknown")
    decision = run(TEXT, status=DictStatus({}), policy=Policy(accept_status_unknown=True))
    assert decision.valid is True
    assert decision.reasons == ("status_unknown",)


def test_revoked_even_when_status_unknown_is_accepted() -> None:
    policy = Policy(accept_status_unknown=True)
    refused(run(TEXT, status=DictStatus({(URI, IDX): INVALID}), policy=policy), "revoked")


def test_status_list_of_another_authority_is_an_invalid_reference() -> None:
    """No sync can make another authority's list answer for this credential: not ``status_unknown``."""
    refused(run(TEXT, status=DictStatus({(URI, IDX): VALID}, authority_id="someone-else")), "status_reference_invalid")


def test_invalid_reference_is_refused_even_when_status_unknown_is_accepted() -> None:
    class Nowhere:
        def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
            return StatusLookup(None, reason="status_reference_invalid", detail="index outside the list")

    refused(run(TEXT, status=Nowhere(), policy=Policy(accept_status_unknown=True)), "status_reference_invalid")


def test_a_list_missing_at_the_last_sync_is_unknown_for_a_newer_credential() -> None:
    """``as_of``: the source had no such list then; a credential issued since may name a list created since."""
    body = credential_body()

    class Missing:
        def __init__(self, as_of: int):
            self.as_of = as_of

        def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
            return StatusLookup(None, reason="status_reference_invalid", as_of=self.as_of)

    refused(run(TEXT, status=Missing(body.issued_at + 1)), "status_reference_invalid")
    refused(run(TEXT, status=Missing(body.issued_at)), "status_unknown")


# --- time ----------------------------------------------------------------------------------------------------


def test_freshness_window_edges() -> None:
    assert run(present(at=NOW - 60)).valid is True
    refused(run(present(at=NOW - 61)), "stale")
    assert run(TEXT, now=NOW + 60).valid is True
    refused(run(TEXT, now=NOW + 61), "stale")


def test_presented_in_future() -> None:
    assert run(present(at=NOW + 10)).valid is True
    refused(run(present(at=NOW + 11)), "presented_in_future")


def test_replayed() -> None:
    replay = MemoryReplayCache()
    assert run(TEXT, replay=replay).valid is True
    refused(run(TEXT, replay=replay), "replayed")
    refused(run(BINARY, replay=replay, now=NOW + 30), "replayed")
    assert run(present(at=NOW + 1), replay=replay, now=NOW + 1).valid is True  # a new proof is a new presentation


def test_expired() -> None:
    credential = sign_credential(credential_body(expires_at=NOW - 61), ISSUER)
    refused(run(present(credential)), "expired")
    at_leeway = sign_credential(credential_body(expires_at=NOW - 59), ISSUER)
    assert run(present(at_leeway)).valid is True


def test_not_yet_valid() -> None:
    credential = sign_credential(credential_body(not_before=NOW + 61), ISSUER)
    refused(run(present(credential)), "not_yet_valid")
    within = sign_credential(credential_body(not_before=NOW + 60), ISSUER)
    assert run(present(within)).valid is True


# --- trust ---------------------------------------------------------------------------------------------------


def test_unknown_key() -> None:
    refused(run(TEXT, trust=trust_list(issuer=keys.generate().public)), "unknown_key")


def test_issuer_not_authorised() -> None:
    refused(run(TEXT, trust=trust_list(licence_types=("resident-id",))), "issuer_not_authorised")


def test_key_expired() -> None:
    refused(run(TEXT, trust=trust_list(not_after=NOW - 1)), "key_expired")
    refused(run(TEXT, trust=trust_list(not_before=NOW + 1)), "key_expired")


def test_trust_list_missing() -> None:
    refused(run(TEXT, trust=None), "trust_list_missing")


def test_trust_list_expired() -> None:
    refused(run(TEXT, trust=trust_list(expires_at=NOW)), "trust_list_expired")


# --- signatures ----------------------------------------------------------------------------------------------


def test_challenge_mismatch() -> None:
    policy = Policy(challenge=b"counter-7")
    assert run(present(challenge=b"counter-7"), policy=policy).valid is True
    refused(run(present(challenge=b"counter-8"), policy=policy), "challenge_mismatch")
    refused(run(TEXT, policy=policy), "challenge_mismatch")


def test_holder_signature_invalid() -> None:
    refused(run(present(holder=keys.generate())), "holder_signature_invalid")


def test_holder_proof_bound_to_its_credential() -> None:
    """A proof moved onto another credential of the same holder does not verify."""
    other = sign_credential(credential_body(serial=5678), ISSUER)
    _, proof = cbor2.loads(BINARY)
    refused(run(cbor2.dumps([other, proof])), "holder_signature_invalid")


def forged_credential(**changes) -> bytes:
    """Signed by an attacker key, but naming the trusted issuer's kid."""
    attacker = keys.generate()
    return sign1(encode_payload(credential_body(**changes)), attacker, kid=ISSUER.public.short_kid)


def test_bad_issuer_signature_shows_no_claims() -> None:
    decision = run(present(forged_credential(claims={"name": "李四", "vehicle_classes": ["A1"],
                                                     "valid_from": dt.date(2020, 1, 1),
                                                     "valid_until": dt.date(2040, 1, 1)})))
    refused(decision, "bad_signature")
    assert decision.claims == {}
    assert decision.elicence_id is None
    assert "issuer_signature" not in decision.checks_passed


def test_claims_are_empty_whenever_the_issuer_signature_failed() -> None:
    decision = run(present(forged_credential()))
    refused(decision, "bad_signature")
    assert decision.claims == {}


def test_eddsa_key_in_trust_list_does_not_verify_es256_credential() -> None:
    """The algorithm comes from the trust list's key: an ES256 credential under an Ed25519 key is refused as such."""
    ed = keys.generate("EdDSA")
    credential = sign1(encode_payload(credential_body()), ISSUER, kid=ed.public.short_kid)
    refused(run(present(credential), trust=trust_list(issuer=ed.public)), "algorithm_mismatch")


@pytest.mark.parametrize("changes", [{"serial": 10**8}, {"serial": -1}, {"version": 0}, {"version": 1000}],
                         ids=["serial-9-digits", "serial-negative", "version-0", "version-4-digits"])
def test_out_of_range_serial_or_version_is_a_decision_not_an_exception(changes) -> None:
    decision = run(present(forged_credential(**changes)))
    # A negative serial is refused when parsed (numbers are bounded there); the others fail the signature.
    refused(decision, "malformed_structure" if changes.get("serial", 0) < 0 else "bad_signature")
    assert decision.elicence_id is None and decision.claims == {}


@pytest.mark.parametrize("changes", [{"serial": 10**8}, {"version": 0}], ids=["serial-9-digits", "version-0"])
def test_issuer_signed_out_of_range_serial_still_gives_a_decision(changes) -> None:
    decision = run(present(sign_credential(credential_body(**changes), ISSUER)))
    assert isinstance(decision, Decision)
    assert decision.elicence_id is None


def test_disclosure_mismatch() -> None:
    """A view code with claims that are not exactly the view's (signed by the trusted issuer)."""
    payload = cbor2.loads(encode_payload(credential_body()))
    del payload[-65537][4][1]  # drop "name" from the driving view
    credential = sign1(dumps(payload), ISSUER, kid=ISSUER.public.short_kid)
    refused(run(present(credential)), "disclosure_mismatch")
