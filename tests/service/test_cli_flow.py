"""End to end through the command line: init → wallet → issue → present → sync → verify, and every way it must fail."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import credentials
import keys
from credentials import make_presentation, unframe
from credentials.framing import frame
from issuer.hub import Hub
from issuer.issuance import build_views
from issuer.validation import validate_claims
from service.wiring import main
from wallet.holder import Wallet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args: str, code: int | None = 0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, f"tongban {' '.join(args)} → {result.exit_code}: {result.output}"
    return result


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("flow")
    data, wallet, cache = base / "data", base / "wallet", base / "cache"
    run("init", "--data", str(data))
    run("wallet", "init", "--wallet", str(wallet))
    eid = run("issue", "driving-licence", "--data", str(data), "--wallet", str(wallet),
              "--claims", str(EXAMPLES / "driving-licence.json")).output.strip()
    run("verifier", "sync", "--data", str(data), "--cache", str(cache))
    return {"base": base, "data": data, "wallet": wallet, "cache": cache, "eid": eid}


_presented = iter(range(10**9))


def present(world, *extra: str) -> str:
    # ECDSA in pycose is deterministic (RFC 6979): two presentations of one view in the same second would be the
    # same bytes, i.e. one presentation shown twice. A counter challenge keeps each test's presentation distinct.
    challenge = ("--challenge", f"c{next(_presented)}") if "--challenge" not in extra else ()
    return run("wallet", "present", "--wallet", str(world["wallet"]), "--credential", world["eid"], *challenge,
               *extra).output.strip()


def verdict(world, qr: str, *extra: str, code: int | None = None) -> dict:
    result = run("verify", "--cache", str(world["cache"]), *extra, qr, code=code)
    return json.loads(result.output)


def test_init_is_idempotent(world):
    before = (world["data"] / "trust-list.jwt").read_text()
    out = run("init", "--data", str(world["data"])).output
    assert "created" not in out and (world["data"] / "trust-list.jwt").read_text() == before


def test_issue_prints_a_checked_elicence_id(world):
    from credentials.elicence_id import parse_id

    type_code, issuer_code, serial, version = parse_id(world["eid"])
    assert type_code == credentials.licence_type("driving-licence").national_code and version == 1
    assert issuer_code == Hub(world["data"]).authority("bj-traffic-police").issuer_code


def test_present_then_verify_valid(world):
    qr = present(world)
    assert qr.startswith("TB1:")
    result = verdict(world, qr, code=0)
    assert result["valid"] is True and result["reasons"] == []
    assert result["licence_type"] == "driving-licence" and result["issuer"]["id"] == "bj-traffic-police"
    assert result["claims"]["vehicle_classes"] == ["C1"] and result["elicence_id"] == world["eid"]


def test_minimal_disclosure_shows_only_that_claim(world):
    result = verdict(world, present(world, "--disclose", "age"), code=0)
    assert result["claims"] == {"age_over_18": True}
    result = verdict(world, present(world, "--disclose", "valid_until,name,valid_from,vehicle_classes"), code=0)
    assert set(result["claims"]) == {"name", "vehicle_classes", "valid_from", "valid_until"}


def test_one_character_changed_is_invalid_with_a_reason(world):
    qr = present(world)
    position = len(qr) // 2
    swapped = qr[:position] + ("A" if qr[position] != "A" else "B") + qr[position + 1:]
    result = verdict(world, swapped, code=1)
    assert result["valid"] is False
    assert result["reasons"][0] in {"bad_signature", "holder_signature_invalid", "malformed_cbor", "malformed_structure",
                                    "malformed_encoding", "decompression_failed", "unknown_key"}


def test_every_single_byte_flip_of_the_binary_form_is_invalid(world):
    binary = unframe(present(world, "--disclose", "age"))
    for position in range(len(binary)):
        flipped = binary[:position] + bytes([binary[position] ^ 0x01]) + binary[position + 1:]
        result = verdict(world, frame(flipped), code=1)
        assert result["valid"] is False and result["reasons"], position


def test_same_presentation_twice_is_replayed(world):
    qr = present(world)
    assert verdict(world, qr, code=0)["valid"]
    assert verdict(world, qr, code=1)["reasons"] == ["replayed"]


def test_older_than_the_window_is_stale(world):
    now = int(time.time())
    qr = present(world, "--now", iso(now))
    assert verdict(world, qr, "--now", iso(now + 61), code=1)["reasons"] == ["stale"]
    assert verdict(world, present(world, "--now", iso(now)), "--now", iso(now + 100), "--freshness", "120",
                   code=0)["valid"]


def test_qr_decoded_from_a_png(world):
    png = world["base"] / "qr.png"
    present(world, "--png", str(png))
    result = run("verify", "--cache", str(world["cache"]), "--image", str(png), code=0)
    assert json.loads(result.output)["valid"]


def test_revoke_and_suspend(world, tmp_path):
    wallet2 = tmp_path / "w2"
    run("wallet", "init", "--wallet", str(wallet2))
    other = {**world, "wallet": wallet2}
    ids = [run("issue", "driving-licence", "--data", str(world["data"]), "--wallet", str(wallet2), "--claims",
               str(EXAMPLES / "driving-licence.json")).output.strip() for _ in range(2)]
    run("revoke", "--data", str(world["data"]), ids[0])
    run("revoke", "--data", str(world["data"]), "--suspend", ids[1])
    # Before the counter syncs, its cache still says valid: offline means "as of the last sync".
    assert verdict(other, present({**other, "eid": ids[0]}), code=0)["valid"]
    run("verifier", "sync", "--data", str(world["data"]), "--cache", str(world["cache"]))
    assert verdict(other, present({**other, "eid": ids[0]}), code=1)["reasons"] == ["revoked"]
    assert verdict(other, present({**other, "eid": ids[1]}), code=1)["reasons"] == ["suspended"]
    run("revoke", "--data", str(world["data"]), "--reinstate", ids[1])
    run("verifier", "sync", "--data", str(world["data"]), "--cache", str(world["cache"]))
    assert verdict(other, present({**other, "eid": ids[1]}), code=0)["valid"]
    assert verdict(world, present(world), code=0)["valid"]  # the first licence is untouched


def test_stale_status_cache_gives_status_unknown(world):
    now = int(time.time()) + 7 * 3600  # a licence list's signed exp is six hours after its iat
    qr = present(world, "--now", iso(now))
    assert verdict(world, qr, "--now", iso(now), code=1)["reasons"] == ["status_unknown"]
    qr = present(world, "--now", iso(now))
    result = verdict(world, qr, "--now", iso(now), "--accept-status-unknown", code=0)
    assert result["valid"] and result["reasons"] == ["status_unknown"]


def test_past_valid_until_is_expired(world, tmp_path):
    claims = json.loads((EXAMPLES / "driving-licence.json").read_text())
    today = dt.date.today()
    claims.update(valid_from=(today - dt.timedelta(days=30)).isoformat(), valid_until=(today + dt.timedelta(days=1)).isoformat())
    path = tmp_path / "short.json"
    path.write_text(json.dumps(claims, ensure_ascii=False))
    eid = run("issue", "driving-licence", "--data", str(world["data"]), "--wallet", str(world["wallet"]),
              "--claims", str(path)).output.strip()
    later = int(time.time()) + 3 * 24 * 3600
    qr = present({**world, "eid": eid}, "--now", iso(later))
    assert verdict(world, qr, "--now", iso(later), code=1)["reasons"] == ["expired"]


def _foreign_presentation(world, signer: keys.PrivateKey) -> str:
    """A driving licence signed by ``signer`` directly (the CLI would refuse), bound to the world's wallet."""
    ltype = credentials.licence_type("driving-licence")
    claims = validate_claims(ltype, json.loads((EXAMPLES / "driving-licence.json").read_text()))
    wallet = Wallet(world["wallet"])
    now = int(time.time())
    body = build_views(ltype, claims, holder_key=wallet.public_key(), serial=99, version=1, status_idx=5,
                       status_uri="tbsl:bj-public-security/1", now=now, expires_at=now + 3600)["driving"]
    return make_presentation(credentials.sign_credential(body, signer), wallet.device_key(now), now=now)


def test_authority_signing_a_type_it_does_not_own(world):
    police = Hub(world["data"]).rings.load("bj-public-security").signer(int(time.time())).private
    assert verdict(world, _foreign_presentation(world, police), code=1)["reasons"] == ["issuer_not_authorised"]


def test_unknown_key(world):
    assert verdict(world, _foreign_presentation(world, keys.generate()), code=1)["reasons"] == ["unknown_key"]


def test_trust_list_from_another_root_is_refused_at_sync(world, tmp_path):
    other = tmp_path / "other-hub"
    run("init", "--data", str(other))
    result = run("verifier", "sync", "--data", str(other), "--cache", str(world["cache"]), code=2)
    assert "trust_list_untrusted_root" in result.output and "Traceback" not in result.output
    assert verdict(world, present(world), code=0)["valid"]  # the cache kept its own list


@pytest.mark.parametrize("args", [
    ("verify",),
    ("verify", "--cache", "/nonexistent", "TB1:XYZ"),
    ("wallet", "present", "--wallet", "/nonexistent", "--credential", "X"),
    ("revoke", "--data", "{data}", "1.2.156.3005.2.X.Y.00000001.001.Z"),
    ("issue", "passport", "--wallet", "{wallet}", "--claims", "/x.json"),
    ("issue", "driving-licence", "--data", "{data}", "--wallet", "{wallet}", "--claims", "/nonexistent.json"),
    ("wallet", "present", "--wallet", "{wallet}", "--credential", "{eid}", "--disclose", "name,address"),
    ("verify", "--cache", "{cache}", "--now", "yesterday", "TB1:00"),
    ("verify", "--cache", "{cache}", "--image", "/nonexistent.png"),
    ("wallet", "present", "--wallet", "{wallet}", "--credential", "{eid}", "--png", "/missing/dir/x.png"),
    ("keys", "list", "--data", "{base}/no-hub-here", "bj-health"),
])
def test_bad_input_is_one_line_and_exit_2(world, args):
    args = [a.format(**{k: str(v) for k, v in world.items()}) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output


def test_invalid_claims_name_the_field_and_issue_nothing(world, tmp_path):
    claims = json.loads((EXAMPLES / "driving-licence.json").read_text())
    claims["id_number"] = claims["id_number"][:-1] + ("0" if claims["id_number"][-1] != "0" else "1")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(claims, ensure_ascii=False))
    before = sorted(p.name for p in (world["wallet"] / "credentials").iterdir())
    result = run("issue", "driving-licence", "--data", str(world["data"]), "--wallet", str(world["wallet"]),
                 "--claims", str(path), code=2)
    assert "id_number" in result.output
    assert sorted(p.name for p in (world["wallet"] / "credentials").iterdir()) == before


def test_plaintext_key_refused_without_the_development_flag(world, monkeypatch):
    (world["data"] / "keys" / keys.at_rest.DEV_MARKER).rename(world["base"] / "marker")
    try:
        result = run("revoke", "--data", str(world["data"]), world["eid"], code=2)
        assert "plaintext" in result.output
    finally:
        (world["base"] / "marker").rename(world["data"] / "keys" / keys.at_rest.DEV_MARKER)
