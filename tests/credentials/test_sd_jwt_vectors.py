"""Our SD-JWT verifier against the specifications' own examples (RFC 9901 and SD-JWT VC, compact serialisation),
with the examples' issuer and holder keys: each presentation verifies to exactly its ``verified_contents.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from credentials.sdjwt import SdJwtError, present, verify_sd_jwt
from keys import PublicKey, private_from_jwk
from tests.conftest import vectors

ROOT = vectors("sd-jwt")
RFC = sorted(p for p in (ROOT / "rfc9901-examples").iterdir() if p.is_dir())
VC = sorted(p for p in (ROOT / "sd-jwt-vc-examples").iterdir() if p.is_dir())


def settings(folder: Path) -> dict:
    return yaml.safe_load((folder.parent / "settings.yml").read_text())


def issuer_public(folder: Path) -> PublicKey:
    keys_ = settings(folder)["key_settings"]
    jwk = dict(keys_.get("issuer_key") or keys_["issuer_keys"][0])
    jwk.pop("d")
    return PublicKey.from_jwk(jwk)


def text(folder: Path, name: str) -> str:
    return "".join((folder / name).read_text().split())


def check(folder: Path, *, vc: bool, **changes) -> dict:
    presentation = changes.pop("presentation", None) or text(folder, "sd_jwt_presentation.txt")
    conf = settings(folder)
    kb = (folder / "kb_jwt_payload.json")
    now = json.loads(kb.read_text())["iat"] if kb.exists() and not presentation.endswith("~") else 1683000000 + 60
    key = issuer_public(folder)
    options = {"now": now, "nonce": conf["key_binding_nonce"], "audience": conf["identifiers"]["verifier"], **changes}
    result = verify_sd_jwt(presentation, issuer_key=lambda header, payload: key, typ="dc+sd-jwt" if vc else None,
                           vc=vc, **options)
    return result.claims


@pytest.mark.parametrize("folder", RFC + VC, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_example_presentation_verifies_to_its_verified_contents(folder):
    claims = check(folder, vc=folder in VC)
    assert claims == json.loads((folder / "verified_contents.json").read_text())


@pytest.mark.parametrize("folder", RFC + VC, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_issuance_verifies_with_every_disclosure(folder):
    """The issued form (all Disclosures) resolves to the user claims the example started from."""
    issued = text(folder, "sd_jwt_issuance.txt")
    claims = check(folder, vc=folder in VC, presentation=issued)
    # 03-pid's user_claims.json wraps its portrait's data URL over several lines (strict=False reads it; the wrap is
    # whitespace the generator added, so it is compared without whitespace).
    expected = json.loads((folder / "user_claims.json").read_text(), strict=False)
    for name, value in expected.items():
        if isinstance(value, str) and "\n" in value:
            assert claims[name] == "".join(value.split()), name
        else:
            assert claims[name] == value, name


@pytest.mark.parametrize("folder", [f for f in RFC + VC if not text(f, "sd_jwt_presentation.txt").endswith("~")],
                         ids=lambda p: p.name)
def test_key_bound_examples_refuse_another_nonce_audience_or_time(folder):
    with pytest.raises(SdJwtError) as exc:
        check(folder, vc=folder in VC, nonce="another")
    assert exc.value.reason == "kb_nonce"
    with pytest.raises(SdJwtError) as exc:
        check(folder, vc=folder in VC, audience="https://elsewhere.example")
    assert exc.value.reason == "kb_audience"
    kb_iat = json.loads((folder / "kb_jwt_payload.json").read_text())["iat"]
    with pytest.raises(SdJwtError) as exc:
        check(folder, vc=folder in VC, now=kb_iat + 3600)
    assert exc.value.reason == "kb_stale"


def test_our_holder_code_reproduces_an_example_presentation():
    """RFC 9901 'simple': the holder key of the examples, the same Disclosures chosen, a fresh KB-JWT that our
    verifier accepts (the signature differs: ECDSA is randomised)."""
    folder = ROOT / "rfc9901-examples" / "simple"
    conf = settings(folder)
    holder = private_from_jwk(conf["key_settings"]["holder_key"])
    issued = text(folder, "sd_jwt_issuance.txt")
    ours = present(issued, ["given_name", "family_name", "address", "nationalities"], holder_key=holder,
                   nonce=conf["key_binding_nonce"], audience=conf["identifiers"]["verifier"], iat=1683000100)
    key = issuer_public(folder)
    result = verify_sd_jwt(ours, issuer_key=lambda h, p: key, now=1683000100, typ=None, vc=False,
                           nonce=conf["key_binding_nonce"], audience=conf["identifiers"]["verifier"],
                           require_key_binding=True)
    assert result.claims["given_name"] == "John" and result.claims["nationalities"] == ["US", "DE"]
    assert "email" not in result.claims
