"""The counter's decision on an EU DCC (``HC1:``): ``verify_dcc(text, *, signers, now) -> Decision``.

A list of named checks beside ``verifier.pipeline``'s, with the same ``Decision`` (``licence_type`` "eu-dcc",
``view`` the kind, ``claims`` the facts a clerk compares, shown only once the signature holds):

    decode → claims → signer_list → signer → algorithm → issuer_signature → signer_validity → times → schema
    → key_usage

hcert spec v1.0.5: §3 framing (``credentials.dcc.qr``), §3.2 COSE and the kid (protected header first,
``credentials.dcc.cose`` says why), §3.2.2 ES256 / PS256 only, the key deciding which, §3.3 CWT claims
(a code whose ``exp`` has passed is invalid; one issued in the future too), §5.1.1 the DSC's extended key
usage for the kind. The DSC must be valid now and must have been valid when it signed (``iat``): a DSC
that expired, or a code back-dated into a DSC's window after the DSC was withdrawn from the trust list, fail.
No status list or replay check: a DCC is a static code shown many times, and the EU has no revocation for
it that a counter could hold offline here. No holder binding either: the clerk compares the name and date
of birth with the holder's passport, which is why the verdict shows the name in full (tongban's own codes
mask it: they are bound to the holder's phone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credentials.dcc import SUPPORTED_ALGS, DccClaims, DccSign1, Hcert, check_hcert, parse_claims, parse_cose
from credentials.dcc.qr import cose_bytes
from credentials.errors import CredentialError
from keys.x509_dsc import Certificate
from verifier.dcc_trust import DscStore
from verifier.errors import Reject, VerifierError
from verifier.pipeline import Decision

log = logging.getLogger(__name__)
LICENCE_TYPE = "eu-dcc"
LEEWAY = 300  # seconds a foreign issuer's clock may run ahead of the counter's (iat in the "future")
TEST_DETECTED = "260373001"  # SNOMED CT "Detected" (eu-dcc value set test-result)


@dataclass
class _Context:
    text: str
    signers: DscStore
    now: int
    sign1: DccSign1 | None = None
    claims: DccClaims | None = None
    candidates: list[tuple[Certificate, dict[str, Any]]] = field(default_factory=list)
    signer: Certificate | None = None
    country: str | None = None
    hcert: Hcert | None = None
    warnings: list[str] = field(default_factory=list)


def _decode(ctx: _Context) -> None:
    ctx.sign1 = parse_cose(cose_bytes(ctx.text))


def _claims(ctx: _Context) -> None:
    ctx.claims = parse_claims(ctx.sign1.payload)


def _signer_list(ctx: _Context) -> None:
    if not ctx.signers.loaded():
        raise Reject("dcc_trust_missing", "no EU DCC signer list imported: run `tongban verifier import-dcc-trust`")


def _signer(ctx: _Context) -> None:
    ctx.candidates = ctx.signers.find(ctx.sign1.kid) if ctx.sign1.kid else []
    if not ctx.candidates:
        raise Reject("dcc_unknown_signer", "the DCC's signer (kid) is not in the imported trust list")


def _algorithm(ctx: _Context) -> None:
    if ctx.sign1.alg not in SUPPORTED_ALGS:
        raise Reject("dcc_algorithm_unsupported", f"COSE algorithm {ctx.sign1.alg} is not ES256 or PS256")
    ctx.candidates = [(c, r) for c, r in ctx.candidates if c.cose_algorithm_fits(ctx.sign1.alg)]
    if not ctx.candidates:
        raise Reject("dcc_algorithm_mismatch", f"the DCC names {SUPPORTED_ALGS[ctx.sign1.alg]}, which its "
                     "signer's key does not use")


def _issuer_signature(ctx: _Context) -> None:
    message = ctx.sign1.to_be_signed()
    for cert, record in ctx.candidates:
        if cert.verify_cose(ctx.sign1.alg, ctx.sign1.signature, message):
            ctx.signer, ctx.country = cert, record.get("country")
            return
    raise Reject("dcc_bad_signature", "the DCC's signature does not verify with its signer's certificate")


def _signer_validity(ctx: _Context) -> None:
    if not ctx.signer.valid_at(ctx.now):
        raise Reject("dcc_signer_expired", "the DCC's signing certificate is outside its validity period now")
    iat = ctx.claims.issued_at
    if iat is not None and not ctx.signer.valid_at(iat):
        raise Reject("dcc_signed_outside_signer_validity",
                     "the DCC says it was signed when its signing certificate was not valid")


def check_times(claims: DccClaims, now: int) -> None:
    """hcert §3.3.2-3: issued no later than now (with ``LEEWAY`` for the issuer's clock), expired only after ``exp``.

    ``exp`` itself still counts as valid, as the EU's verifier apps read it (expired when exp is before now) and
    as the suite's DK and IE vectors (validation clock exactly at ``exp``, expected valid) fix it."""
    if claims.issued_at is None or claims.expires_at is None:
        raise Reject("dcc_cwt", "the DCC lacks its issued-at (6) or expiry (4) claim")
    if claims.issued_at > now + LEEWAY:
        raise Reject("dcc_issued_in_future", "the DCC says it was issued later than now")
    if now > claims.expires_at:
        raise Reject("dcc_expired", "the DCC has expired (its exp claim)")


def _times(ctx: _Context) -> None:
    check_times(ctx.claims, ctx.now)


def _schema(ctx: _Context) -> None:
    ctx.hcert = check_hcert(ctx.claims.hcert)


def _key_usage(ctx: _Context) -> None:
    if not ctx.signer.allows_kind(ctx.hcert.kind):
        raise Reject("dcc_key_usage", f"the signing certificate's key usage does not cover {ctx.hcert.kind} "
                     "certificates")
    if ctx.hcert.kind == "test" and ctx.hcert.entry.get("tr") == TEST_DETECTED:
        ctx.warnings.append("dcc_test_positive")


CHECKS: tuple[tuple[str, Callable[[_Context], None]], ...] = (
    ("decode", _decode), ("claims", _claims), ("signer_list", _signer_list), ("signer", _signer),
    ("algorithm", _algorithm), ("issuer_signature", _issuer_signature), ("signer_validity", _signer_validity),
    ("times", _times), ("schema", _schema), ("key_usage", _key_usage),
)


def verify_dcc(text: str, *, signers: DscStore, now: int) -> Decision:
    """Any input gives a Decision, never an exception."""
    ctx = _Context(text, signers, now)
    passed: list[str] = []
    for name, check in CHECKS:
        try:
            check(ctx)
        except Reject as reject:
            return _decision(ctx, False, (reject.reason,), reject.detail, passed)
        except CredentialError as exc:
            return _decision(ctx, False, (exc.reason,), str(exc), passed)
        except VerifierError as exc:
            log.warning("DCC check %s: %s", name, exc)
            return _decision(ctx, False, (exc.reason,), f"{name}: {exc}", passed)
        except Exception as exc:  # a verifier must answer, whatever the input
            log.warning("DCC check %s failed unexpectedly: %r", name, exc)
            return _decision(ctx, False, ("dcc_malformed",), f"{name}: unreadable input", passed)
        passed.append(name)
    return _decision(ctx, True, tuple(ctx.warnings), "", passed)


def facts(hcert: Hcert, claims: DccClaims) -> dict[str, Any]:
    """What the clerk compares and reads, in order: names, date of birth, then the kind's key facts."""
    entry = hcert.entry
    local = " ".join(n for n in (hcert.given_name, hcert.family_name) if n)
    std = hcert.family_name_std + (f", {hcert.given_name_std}" if hcert.given_name_std else "")
    out: dict[str, Any] = {"dcc_name": local or std, "dcc_name_std": std, "dcc_dob": hcert.date_of_birth or "—",
                           "dcc_kind": hcert.kind}
    if hcert.kind == "vaccination":
        out |= {"dcc_dose": f"{int(entry['dn'])}/{int(entry['sd'])}", "dcc_product": entry["mp"], "dcc_vaccine": entry["vp"],
                "dcc_date": entry["dt"]}
    elif hcert.kind == "test":
        out |= {"dcc_test_type": entry["tt"], "dcc_test_result": entry["tr"], "dcc_sample_time": entry["sc"]}
        if entry.get("tc"):
            out["dcc_test_centre"] = entry["tc"]
    else:
        out |= {"dcc_first_positive": entry["fr"], "dcc_valid_from": entry["df"], "dcc_valid_until": entry["du"]}
    out |= {"dcc_country": entry["co"], "dcc_issuer": entry["is"], "dcc_id": entry["ci"],
            "dcc_expires_at": claims.expires_at}
    return out


def _decision(ctx: _Context, valid: bool, reasons: tuple[str, ...], detail: str, passed: list[str]) -> Decision:
    trusted = "issuer_signature" in passed
    issuer = None
    if trusted:
        issuer = {"id": ctx.country or ctx.signer.country or ctx.claims.issuer or "", "region": None,
                  "name": ctx.signer.subject, "country": ctx.country or ctx.signer.country or ctx.claims.issuer}
    return Decision(
        valid=valid, reasons=reasons, detail=detail, licence_type=LICENCE_TYPE if ctx.sign1 is not None else None,
        view=ctx.hcert.kind if ctx.hcert is not None and trusted else None, issuer=issuer,
        # Shown only once the signature holds and the schema is met: before that they are anyone's text.
        claims=facts(ctx.hcert, ctx.claims) if ctx.hcert is not None and trusted else {},
        checks_passed=tuple(passed))
