"""The EU DCC public test suite (dgc-testdata, tests/vectors/dcc): every file's EXPECTEDRESULTS, each flag checked
at the step it names (dgc-testdata README, "Code Validation"), through the code the counter runs.

| flag | step | input (the README's) |
|---|---|---|
| UNPREFIX | ``qr.unprefix`` | PREFIX, equal to BASE45 |
| B45DECODE | ``qr.base45_decode`` | BASE45 (else PREFIX's), equal to COMPRESSED |
| COMPRESSION | ``qr.decompress`` | COMPRESSED (else PREFIX's), equal to COSE |
| VERIFY | the pipeline's checks up to ``issuer_signature`` | COSE (else PREFIX's), TESTCTX.CERTIFICATE imported |
| DECODE | ``cose.parse_cose`` + ``cwt.parse_claims`` | COSE (else PREFIX's), equal to CBOR |
| VALIDJSON | the whole chain from PREFIX | equal to JSON |
| SCHEMAVALIDATION | ``schema.check_hcert`` | the decoded certificate (else CBOR) |
| EXPIRATIONCHECK | ``dcc_pipeline.check_times`` at VALIDATIONCLOCK | COSE (else PREFIX's) |
| KEYUSAGE | VERIFY, then ``Certificate.allows_kind`` | COSE, CERTIFICATE |
| PICTUREDECODE | ``verifier.image.read_qr`` (zxing-cpp) | 2DCODE, equal to PREFIX |
| VALIDOBJECT | ``schema.check_hcert`` | JSON |

Not checked: EXPECTEDENCODE (JSON → CBOR is the issuer's step, not a verifier's). BG's four files carry a flag
the README does not define, ``EXPTECTEDEXPIRED`` (sic), always true; read as the expiration check passing, which
holds for all four (read as "expired", it would contradict their ``exp`` claims, all after the clock).
No file is excluded: the suite marks none broken.

Then every file whose flags are all true must be valid through the whole pipeline, except three whose flags
leave out a step that the counter checks and that fails there (``FULL_PIPELINE_EXCEPTIONS``, each with why).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib
from pathlib import Path

import base45
import cbor2
import pytest

from credentials.dcc import check_hcert, parse_claims, parse_cose
from credentials.dcc.cwt import as_json
from credentials.dcc.qr import base45_decode, cose_bytes, decompress, unprefix
from credentials.errors import CredentialError
from keys.x509_dsc import CertificateError, dsc_kid, read_certificate
from tests.conftest import SHARED_VECTORS
from verifier.dcc_pipeline import check_times, verify_dcc
from verifier.dcc_trust import DscStore, import_signers
from verifier.errors import Reject, VerifierError
from verifier.image import read_qr

DCC = SHARED_VECTORS / "dcc"
FULL_PIPELINE_EXCEPTIONS = {
    # Signed (iat 2021-02-16) before its DSC's notBefore (2021-05-11): the counter refuses a code dated outside its
    # signer's validity; the file has no flag for the DSC's window.
    "BG/2DCode/raw/4.json": "dcc_signed_outside_signer_validity",
    # A test certificate signed by a DSC whose EKU names vaccination only; the file sets no KEYUSAGE flag.
    "LI/2DCode/raw/4.json": "dcc_key_usage",
    # iat 2021-06-10, six days after the file's VALIDATIONCLOCK; the file sets no EXPIRATIONCHECK flag.
    "LU/2DCode/raw/INCERT_R_DCC_Recovery.json": "dcc_issued_in_future",
}


def _cases() -> list[tuple[str, dict]]:
    if not DCC.exists():
        return []
    return [(str(p.relative_to(DCC)), json.loads(p.read_text())) for p in sorted(DCC.rglob("*.json"))]


CASES = _cases()


def _clock(doc: dict) -> int:
    text = doc["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00")
    head, _, rest = text.partition(".")  # 2021-06-08T20:17:27.9906293+00:00: Python reads at most 6 digits
    if rest:
        text = head + rest.lstrip("0123456789")
    when = dt.datetime.fromisoformat(text)
    return int((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp())


def _store(doc: dict, tmp_path: Path) -> DscStore:
    store = DscStore(tmp_path)
    der = base64.b64decode(doc["TESTCTX"]["CERTIFICATE"])
    records, report = import_signers(json.dumps({base64.b64encode(dsc_kid(der)).decode(): [doc["TESTCTX"]["CERTIFICATE"]]})
                                     .encode(), now=0)
    assert not report.refused, report.refused
    store.save(records, now=0)
    return store


def _cose(doc: dict) -> bytes:
    return bytes.fromhex(doc["COSE"]) if doc.get("COSE") else cose_bytes(doc["PREFIX"])


def _as_hc1(cose: bytes) -> str:
    return "HC1:" + base45.b45encode(zlib.compress(cose)).decode()


def _cbor_field(doc: dict) -> dict:
    """The file's CBOR: the certificate alone (as the README says) or, in most countries' files, the whole CWT."""
    value = cbor2.loads(bytes.fromhex(doc["CBOR"]))
    if isinstance(value, dict) and isinstance(value.get(-260), dict):
        value = value[-260][1]
    return as_json(value, "CBOR")


def _hcert_from_code(doc: dict) -> dict:
    try:
        return parse_claims(parse_cose(cose_bytes(doc["PREFIX"])).payload).hcert
    except CredentialError:
        return _cbor_field(doc)


def _kind(hcert: dict) -> str:
    try:
        return check_hcert(hcert).kind
    except CredentialError:
        return next(k for key, k in (("v", "vaccination"), ("t", "test"), ("r", "recovery")) if hcert.get(key))


def step_unprefix(doc, _tmp):
    return unprefix(doc["PREFIX"]) == doc.get("BASE45", unprefix(doc["PREFIX"]))


def step_b45(doc, _tmp):
    raw = base45_decode(doc.get("BASE45") or unprefix(doc["PREFIX"]))
    return "COMPRESSED" not in doc or raw == bytes.fromhex(doc["COMPRESSED"])


def step_compression(doc, _tmp):
    raw = bytes.fromhex(doc["COMPRESSED"]) if doc.get("COMPRESSED") else base45_decode(unprefix(doc["PREFIX"]))
    return "COSE" not in doc or decompress(raw) == bytes.fromhex(doc["COSE"])


def step_verify(doc, tmp):
    decision = verify_dcc(_as_hc1(_cose(doc)), signers=_store(doc, tmp), now=_clock(doc))
    return "issuer_signature" in decision.checks_passed


def step_decode(doc, _tmp):
    hcert = parse_claims(parse_cose(_cose(doc)).payload).hcert
    return "CBOR" not in doc or hcert == _cbor_field(doc)


def step_valid_json(doc, _tmp):
    return parse_claims(parse_cose(cose_bytes(doc["PREFIX"])).payload).hcert == doc["JSON"]


def step_schema(doc, _tmp):
    check_hcert(_hcert_from_code(doc))
    return True


def step_expiration(doc, _tmp):
    try:
        check_times(parse_claims(parse_cose(_cose(doc)).payload), _clock(doc))
    except Reject:
        return False
    return True


def step_key_usage(doc, tmp):
    if not step_verify(doc, tmp):
        return False
    cert = read_certificate(base64.b64decode(doc["TESTCTX"]["CERTIFICATE"]))
    return cert.allows_kind(_kind(parse_claims(parse_cose(_cose(doc)).payload).hcert))


def step_picture(doc, tmp):
    png = tmp / "code.png"
    png.write_bytes(base64.b64decode(doc["2DCODE"]))
    return read_qr(png) == doc["PREFIX"]


def step_valid_object(doc, _tmp):
    check_hcert(doc["JSON"])
    return True


STEPS = {
    "EXPECTEDUNPREFIX": step_unprefix, "EXPECTEDB45DECODE": step_b45, "EXPECTEDCOMPRESSION": step_compression,
    "EXPECTEDVERIFY": step_verify, "EXPECTEDDECODE": step_decode, "EXPECTEDVALIDJSON": step_valid_json,
    "EXPECTEDSCHEMAVALIDATION": step_schema, "EXPECTEDEXPIRATIONCHECK": step_expiration,
    "EXPTECTEDEXPIRED": step_expiration, "EXPECTEDKEYUSAGE": step_key_usage, "EXPECTEDPICTUREDECODE": step_picture,
    "EXPECTEDVALIDOBJECT": step_valid_object,
}
NOT_A_VERIFIER_STEP = {"EXPECTEDENCODE"}
# The README's mandatory fields per step: a file that sets a flag without its step's input cannot run it.
NEEDS = {"EXPECTEDPICTUREDECODE": ("2DCODE",), "EXPECTEDVALIDJSON": ("JSON",), "EXPECTEDVALIDOBJECT": ("JSON",)}


def _run(step, doc, tmp) -> bool:
    try:
        return bool(step(doc, tmp))
    except (CredentialError, Reject, CertificateError, VerifierError, ValueError):  # the step refused its input
        return False
    except Exception as exc:  # the verifier itself would have answered with a Decision; here it is a test bug
        pytest.fail(f"{step.__name__} raised {exc!r}")


@pytest.fixture(scope="module", autouse=True)
def _vectors_present():
    if not CASES:
        pytest.skip(f"DCC vectors not present at {DCC}")


@pytest.mark.parametrize(("name", "doc"), CASES, ids=[name for name, _ in CASES])
def test_every_expected_result_at_its_step(name, doc, tmp_path):
    expected = doc.get("EXPECTEDRESULTS", {})
    unknown = set(expected) - set(STEPS) - NOT_A_VERIFIER_STEP
    assert not unknown, f"{name}: flags this harness does not know: {unknown}"
    runnable = {flag: want for flag, want in expected.items()
                if flag in STEPS and all(doc.get(field) for field in NEEDS.get(flag, ()))}
    wrong = {flag: want for flag, want in runnable.items() if _run(STEPS[flag], doc, tmp_path) != want}
    assert not wrong, f"{name} ({doc['TESTCTX'].get('DESCRIPTION')}): expected {wrong}"


def test_every_flag_is_exercised_both_ways_where_the_suite_has_both():
    seen: dict[tuple[str, bool], int] = {}
    for _, doc in CASES:
        for flag, want in doc.get("EXPECTEDRESULTS", {}).items():
            seen[(flag, want)] = seen.get((flag, want), 0) + 1
    assert seen[("EXPECTEDVERIFY", True)] > 100 and seen[("EXPECTEDVERIFY", False)] >= 4
    assert seen[("EXPECTEDKEYUSAGE", False)] >= 7 and seen[("EXPECTEDEXPIRATIONCHECK", False)] >= 2
    assert len(CASES) >= 150


def _pipeline_flags(doc: dict) -> dict:
    return {k: v for k, v in doc.get("EXPECTEDRESULTS", {}).items() if k != "EXPECTEDPICTUREDECODE"}


# Files with a signer certificate and verifier flags (the others hold only step checks, run above).
PIPELINE_CASES = [(n, d) for n, d in CASES if d.get("TESTCTX", {}).get("CERTIFICATE") and _pipeline_flags(d)]


@pytest.mark.parametrize(("name", "doc"), PIPELINE_CASES, ids=[name for name, _ in PIPELINE_CASES])
def test_the_whole_pipeline_agrees(name, doc, tmp_path):
    """All flags true → valid (but for the three named above); a verifier-step flag false → invalid."""
    expected = _pipeline_flags(doc)
    decision = verify_dcc(doc["PREFIX"], signers=_store(doc, tmp_path), now=_clock(doc))
    if name in FULL_PIPELINE_EXCEPTIONS:
        assert decision.reasons == (FULL_PIPELINE_EXCEPTIONS[name],)
    elif all(expected.values()):
        assert decision.valid, f"{name}: {decision.reasons} {decision.detail}"
        assert decision.claims["dcc_name_std"] and decision.claims["dcc_dob"]
    else:
        assert not decision.valid, name
