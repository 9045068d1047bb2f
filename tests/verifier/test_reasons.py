"""Every reason code the verifier can report has words a clerk understands, in Chinese and English."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from verifier.reasons import REASONS, TYPE_REASONS, explain

ROOT = Path(__file__).resolve().parents[2]
# What the pipeline runs: its own checks, the credential parser it calls, and the adapters it is given.
SOURCES = [
    "verifier/pipeline.py", "verifier/errors.py", "verifier/replay.py", "verifier/image.py", "verifier/web.py",
    "verifier/cache.py", "credentials/errors.py", "credentials/framing.py", "credentials/cbor.py", "credentials/cose.py",
    "credentials/credential.py", "credentials/presentation.py", "credentials/elicence_id.py",
    "keys/trust_list.py",  # a sync from the page's button reports these
    "verifier/challenges.py", "credentials/counter_code.py",  # two-way counters
    # EU DCCs: the format steps, the pipeline, the signer import
    "credentials/dcc/qr.py", "credentials/dcc/cose.py", "credentials/dcc/cwt.py", "credentials/dcc/schema.py",
    "verifier/dcc_pipeline.py", "verifier/dcc_trust.py", "keys/x509_dsc.py",
]
ERROR_CLASSES = {"TrustListError", "Reject", "VerifierError", "CredentialError", "FramingError", "StructureError", "ClaimError",
                 "BadRequest", "CounterCodeError", "DccError", "CertificateError"}


def codes_in(rel: str) -> set[str]:
    """Reason codes in one file: ``reason = "..."`` class attributes and the code argument of error constructors."""
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "reason" for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found.add(node.value.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ERROR_CLASSES:
            # Reject(code, detail) and BadRequest(code, ...) name the code first; the errors name it second.
            position = 0 if node.func.id in ("Reject", "BadRequest") else 1
            if node.func.id == "ClaimError":
                found.add("invalid_claim")
            elif len(node.args) > position and isinstance(node.args[position], ast.Constant):
                found.add(node.args[position].value)
    return found


def all_codes() -> set[str]:
    return set().union(*(codes_in(rel) for rel in SOURCES))


def test_the_scan_finds_the_pipeline_codes():
    codes = all_codes()
    assert {"revoked", "suspended", "stale", "replayed", "bad_signature", "unknown_prefix", "malformed_cbor",
            "disclosure_mismatch", "no_qr_code", "replay_cache_unavailable"} <= codes
    assert len(codes) > 35


def test_every_code_has_words():
    missing = sorted(all_codes() - set(REASONS))
    assert not missing, f"reason codes without words in verifier/reasons.py: {missing}"


@pytest.mark.parametrize("code", sorted(REASONS))
def test_words_are_sentences_in_both_languages(code):
    reason = REASONS[code]
    assert reason.code == code and reason.action in ("retry", "refuse", "sync")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reason.zh), "the Chinese sentence has Chinese in it"
    assert reason.en[0].isupper() and reason.en.isascii() and "_" not in reason.en


def test_an_unknown_code_still_gets_a_sentence():
    reason = explain("something_new")
    assert reason.code == "something_new" and reason.zh and reason.en and reason.action == "refuse"


def test_type_specific_words_override_only_their_type():
    assert explain("suspended", "health-code") is TYPE_REASONS[("health-code", "suspended")]
    assert explain("suspended", "driving-licence") is REASONS["suspended"] and explain("suspended") is REASONS["suspended"]
    for (_ltype, code), reason in TYPE_REASONS.items():
        assert code in REASONS and reason.code == code and reason.zh and reason.en.isascii()
