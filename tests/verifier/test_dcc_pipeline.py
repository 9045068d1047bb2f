"""The counter's DCC decision (verifier.dcc_pipeline) on codes made here: the valid path, then each attack."""

from __future__ import annotations

import json
import zlib

import base45
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.dcc_world import DAY, NOW, RECOVERY, TEST, VACCINATION, kid_mapping, make_cert, pcr_entry, sign_dcc, vaccination
from verifier.dcc_display import present_dcc
from verifier.dcc_pipeline import verify_dcc
from verifier.dcc_trust import DscStore, import_signers
from verifier.display import present


@pytest.fixture(scope="module")
def signer():
    return make_cert(eku=(TEST, VACCINATION, RECOVERY))


@pytest.fixture(scope="module")
def rsa_signer():
    return make_cert(key_type="rsa", cn="DSC RSA")


def store_of(tmp_path, *signers) -> DscStore:
    records, report = import_signers(kid_mapping(*signers), now=NOW)
    assert not report.refused
    store = DscStore(tmp_path)
    store.save(records, now=NOW)
    return store


@pytest.fixture
def store(tmp_path, signer, rsa_signer):
    return store_of(tmp_path, signer, rsa_signer)


def decide(store, text, now=NOW):
    return verify_dcc(text, signers=store, now=now)


def test_a_valid_vaccination_shows_names_dob_and_dose(store, signer):
    decision = decide(store, sign_dcc(vaccination(), signer))
    assert decision.valid, decision
    assert decision.licence_type == "eu-dcc" and decision.view == "vaccination"
    assert decision.claims["dcc_name"] == "Gabriele Musterfrau-Gößinger"
    assert decision.claims["dcc_name_std"] == "MUSTERFRAU<GOESSINGER, GABRIELE"
    assert decision.claims["dcc_dob"] == "1998-02-26" and decision.claims["dcc_dose"] == "2/2"
    shown = present(decision)["display"]
    assert shown["verdict"] == "valid" and "EU Digital COVID Certificate" in shown["licence"]["label"]
    rows = {c["name"]: c["value"] for c in shown["claims"]}
    assert rows["dcc_product"].startswith("Comirnaty") and rows["dcc_name"] == "Gabriele Musterfrau-Gößinger"


def test_ps256_on_an_rsa_signer_verifies(store, rsa_signer):
    assert decide(store, sign_dcc(vaccination(), rsa_signer)).valid


def test_test_and_recovery_facts(store, signer):
    test = decide(store, sign_dcc(vaccination(v=None, t=[pcr_entry()]), signer))
    assert test.valid and test.view == "test" and test.claims["dcc_sample_time"] == "2026-05-27T08:00:00Z"
    positive = decide(store, sign_dcc(vaccination(v=None, t=[pcr_entry("260373001")]), signer))
    assert positive.valid and positive.reasons == ("dcc_test_positive",)
    assert "positive" in present_dcc(positive)["display"]["warnings"][0]["en"]
    recovery = {"tg": "840539006", "fr": "2026-01-02", "co": "AT", "is": "BMSGPK", "df": "2026-01-12",
                "du": "2026-07-01", "ci": "URN:UVCI:01:AT:R#1"}
    rec = decide(store, sign_dcc(vaccination(v=None, r=[recovery]), signer))
    assert rec.valid and rec.claims["dcc_valid_until"] == "2026-07-01"


def test_doses_written_as_floats_read_as_whole_numbers(store, signer):
    entry = {**vaccination()["v"][0], "dn": 1.0, "sd": 2.0}
    assert decide(store, sign_dcc(vaccination(v=[entry]), signer)).claims["dcc_dose"] == "1/2"


def test_a_damaged_signer_file_is_a_decision(tmp_path, signer):
    store = store_of(tmp_path, signer)
    doc = json.loads(store.path.read_text())
    doc["signers"][0]["der"] = "AAAA"
    store.path.write_text(json.dumps(doc))
    assert decide(DscStore(tmp_path), sign_dcc(vaccination(), signer)).reasons == ("dcc_trust_missing",)


def test_no_imported_list_says_so(tmp_path, signer):
    assert decide(DscStore(tmp_path), sign_dcc(vaccination(), signer)).reasons == ("dcc_trust_missing",)


# -- attacks --------------------------------------------------------------------------------------------------

def test_resigned_by_an_untrusted_key_under_the_trusted_kid(store, signer):
    forger = make_cert()
    decision = decide(store, sign_dcc(vaccination(), signer, sign_with=forger.key))
    assert decision.reasons == ("dcc_bad_signature",) and decision.claims == {}
    assert present(decision)["display"]["claims"] == []  # nothing attacker-written on the screen


def test_resigned_by_an_untrusted_signer_with_its_own_kid(store):
    assert decide(store, sign_dcc(vaccination(), make_cert())).reasons == ("dcc_unknown_signer",)


def test_the_protected_kid_wins_over_the_unprotected_one(store, signer, rsa_signer):
    # Signed by `signer`, protected kid right, an unprotected kid naming another trusted signer: still valid.
    swapped = sign_dcc(vaccination(), signer, unprotected={4: rsa_signer.kid})
    assert decide(store, swapped).valid
    # Protected kid names another signer, unprotected the real one: the protected one is looked up and fails.
    wrong_protected = sign_dcc(vaccination(), signer, kid=rsa_signer.kid, unprotected={4: signer.kid})
    assert not decide(store, wrong_protected).valid
    # Only an unprotected kid (allowed, hcert §3.2.1): rewriting it to another trusted signer breaks the check.
    only_unprotected = sign_dcc(vaccination(), signer, kid_where="unprotected")
    assert decide(store, only_unprotected).valid
    moved = sign_dcc(vaccination(), signer, kid_where="unprotected", unprotected={4: rsa_signer.kid})
    assert not decide(store, moved).valid


def test_a_dsc_outside_its_validity(tmp_path):
    old = make_cert(not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    store = DscStore(tmp_path)
    records, _ = import_signers(kid_mapping(old), now=NOW - 2 * DAY)  # imported while it was still valid
    store.save(records, now=NOW - 2 * DAY)
    code = sign_dcc(vaccination(), old, iat=NOW - 3 * DAY)
    assert decide(store, code, now=NOW - 2 * DAY).valid
    assert decide(store, code).reasons == ("dcc_signer_expired",)
    # A code back-dated before its DSC existed (a stolen key after the DSC was replaced, say) fails too.
    young = make_cert(not_before=NOW - DAY)
    assert decide(store_of(tmp_path / "y", young), sign_dcc(vaccination(), young, iat=NOW - 10 * DAY)).reasons == (
        "dcc_signed_outside_signer_validity",)


@pytest.mark.parametrize(("eku", "kind", "ok"), [
    ((TEST,), "vaccination", False), ((RECOVERY,), "test", False), ((VACCINATION,), "vaccination", True),
    ((TEST, RECOVERY), "recovery", True), (None, "test", True),
])
def test_key_usage_restricts_the_kind(tmp_path, eku, kind, ok):
    dsc = make_cert(eku=eku)
    hcert = {"vaccination": vaccination(), "test": vaccination(v=None, t=[pcr_entry()]),
             "recovery": vaccination(v=None, r=[{"tg": "840539006", "fr": "2026-01-02", "co": "AT", "is": "X",
                                                 "df": "2026-01-12", "du": "2026-07-01", "ci": "U"}])}[kind]
    decision = decide(store_of(tmp_path, dsc), sign_dcc(hcert, dsc))
    assert decision.valid is ok and (ok or decision.reasons == ("dcc_key_usage",))


def test_an_unrelated_eku_restricts_too(tmp_path):
    """RFC 5280 §4.2.1.12: an EKU limits the key to what it lists (the suite's IS/3 holds this)."""
    from cryptography.x509.oid import ExtendedKeyUsageOID
    dsc = make_cert(eku=(ExtendedKeyUsageOID.CODE_SIGNING,))
    assert decide(store_of(tmp_path, dsc), sign_dcc(vaccination(), dsc)).reasons == ("dcc_key_usage",)


def test_algorithm_must_fit_the_key(store, signer, rsa_signer):
    # PS256 named over an EC signer's kid (signed with some RSA key): the key decides, refused before any check.
    forged = sign_dcc(vaccination(), signer, alg=-37, sign_with=rsa_signer.key)
    assert decide(store, forged).reasons == ("dcc_algorithm_mismatch",)
    assert decide(store, sign_dcc(vaccination(), rsa_signer, alg=-7, sign_with=signer.key)).reasons == (
        "dcc_algorithm_mismatch",)
    for alg in (-35, -8, -257, 0):  # ES384, EdDSA, RS256, nonsense
        assert decide(store, sign_dcc(vaccination(), signer, alg=alg)).reasons == ("dcc_algorithm_unsupported",)


def test_an_unprotected_alg_cannot_change_the_algorithm(store, signer):
    code = sign_dcc(vaccination(), signer, protected_extra={}, unprotected={1: -37})
    assert decide(store, code).valid  # the protected alg wins; the unprotected one is not even read


def test_times(store, signer):
    assert decide(store, sign_dcc(vaccination(), signer, exp=NOW - 1)).reasons == ("dcc_expired",)
    assert decide(store, sign_dcc(vaccination(), signer, exp=NOW)).valid  # exp itself still counts (see pipeline)
    assert decide(store, sign_dcc(vaccination(), signer, iat=NOW + DAY)).reasons == ("dcc_issued_in_future",)
    code = sign_dcc(vaccination(), signer, payload=cbor2.dumps({1: "AT", 4: NOW + DAY, -260: {1: vaccination()}}))
    assert decide(store, code).reasons == ("dcc_cwt",)


@pytest.mark.parametrize("hcert", [
    vaccination(t=[pcr_entry()]),  # two kinds
    vaccination(v=[]),
    {k: v for k, v in vaccination().items() if k != "dob"},
    vaccination(nam={"fn": "X"}),
    vaccination(v=[{**vaccination()["v"][0], "dn": 0}]),
    vaccination(v=[{**vaccination()["v"][0], "co": "Austria"}]),
    vaccination(ver="2.0.0"),
])
def test_schema_failures_are_dcc_schema_and_show_nothing(store, signer, hcert):
    decision = decide(store, sign_dcc(hcert, signer))
    assert decision.reasons == ("dcc_schema",) and decision.claims == {}


def test_non_deterministic_cbor_is_accepted_for_a_foreign_code(store, signer):
    # Indefinite-length map and an over-long integer head: a deterministic-only parser would refuse this.
    payload = (b"\xbf\x01" + cbor2.dumps("AT") + b"\x04\x1b" + (NOW + DAY).to_bytes(8, "big")
               + b"\x06" + cbor2.dumps(NOW - DAY) + b"\x39\x01\x03" + cbor2.dumps({1: vaccination()}) + b"\xff")
    assert decide(store, sign_dcc(None, signer, payload=payload)).valid


def test_bounded_inputs(store, signer):
    bomb = "HC1:" + base45.b45encode(zlib.compress(b"\x00" * (2 * 1024 * 1024), 9)).decode()
    assert len(bomb) < 8_000  # fits the text limit: the inflate bound is what stops it
    assert decide(store, bomb).reasons == ("too_large",)
    assert decide(store, "HC1:" + "A" * 9000).reasons == ("too_large",)
    assert decide(store, "HC1:" + "!!!!").reasons == ("dcc_base45",)
    assert decide(store, "HC1:" + "00").reasons == ("dcc_not_compressed",)
    assert decide(store, "HC2:" + "AB").reasons == ("dcc_unsupported_version",)
    deep = 0
    for _ in range(20):
        deep = [deep]
    deep = cbor2.dumps(deep)
    assert decide(store, sign_dcc(None, signer, payload=deep)).reasons == ("dcc_cbor",)
    big = cbor2.dumps({1: "AT", 4: NOW + DAY, 6: NOW, -260: {1: vaccination(pad="x" * 70_000)}})
    assert decide(store, sign_dcc(None, signer, payload=big)).reasons == ("too_large",)


def test_crit_headers_are_refused(store, signer):
    assert decide(store, sign_dcc(vaccination(), signer, protected_extra={2: [99]})).reasons == ("dcc_cose",)


def test_cwt_tag_and_untagged_messages(store, signer):
    assert decide(store, sign_dcc(vaccination(), signer, tagged=False)).valid


B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(4, 10_000), st.sampled_from(B45))
def test_one_changed_character_is_refused_by_a_named_check(tmp_path, signer, position, char):
    store = store_of(tmp_path, signer) if not (tmp_path / "dcc-signers.json").exists() else DscStore(tmp_path)
    code = _VALID.setdefault("code", sign_dcc(vaccination(), signer))
    i = position % len(code)
    mutated = code[:i] + char + code[i + 1:]
    decision = decide(store, mutated)
    assert decision.valid == (mutated == code)
    assert decision.reasons != ("dcc_malformed",), decision.detail  # never the catch-all: a specific check refused


_VALID: dict[str, str] = {}
