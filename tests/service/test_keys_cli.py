"""``tongban keys rotate | compromise | list | needs-reissue`` through the real command line and a counter's cache.

The attacker here holds an authority's key file: after a rotation they sign with the retired key
(``key_retired``); after a compromise nothing that key signed verifies (``key_compromised``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import credentials
from credentials import make_presentation
from issuer.hub import ROOT_OWNER, Hub
from issuer.issuance import build_views
from issuer.validation import validate_claims
from service.wiring import main
from wallet.holder import Wallet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POLICE = "bj-traffic-police"


def run(*args: str, code: int | None = 0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, f"tongban {' '.join(args)} → {result.exit_code}: {result.output}"
    return result


@pytest.fixture
def world(tmp_path, demo_data):
    data, wallet, cache = demo_data, tmp_path / "wallet", tmp_path / "cache"
    run("wallet", "init", "--wallet", str(wallet))
    eids = [run("issue", "driving-licence", "--data", str(data), "--wallet", str(wallet),
                "--claims", str(EXAMPLES / "driving-licence.json")).output.strip() for _ in range(2)]
    run("verifier", "sync", "--data", str(data), "--cache", str(cache))
    return {"data": data, "wallet": wallet, "cache": cache, "eids": eids}


_challenges = iter(range(10**9))


def present(world, eid: str) -> str:
    return run("wallet", "present", "--wallet", str(world["wallet"]), "--credential", eid,
               "--challenge", f"k{next(_challenges)}").output.strip()


def verdict(world, qr: str, code: int | None = None) -> dict:
    return json.loads(run("verify", "--cache", str(world["cache"]), qr, code=code).output)


def sync(world) -> str:
    return run("verifier", "sync", "--data", str(world["data"]), "--cache", str(world["cache"])).output


def signed_with(world, signer) -> str:  # a keys.PrivateKey taken from the key file
    """A driving licence the attacker signs now with ``signer``, bound to the world's wallet."""
    ltype = credentials.licence_type("driving-licence")
    claims = validate_claims(ltype, json.loads((EXAMPLES / "driving-licence.json").read_text()))
    wallet, now = Wallet(world["wallet"]), int(time.time())
    body = build_views(ltype, claims, holder_key=wallet.public_key(), serial=77, version=1, status_idx=0,
                       status_uri=f"tbsl:{POLICE}/1", now=now, expires_at=now + 3600)["driving"]
    return make_presentation(credentials.sign_credential(body, signer), wallet.device_key(now), now=now,
                             challenge=f"k{next(_challenges)}".encode())


@pytest.mark.slow
def test_rotate_then_the_old_key_file_signs_nothing_new(world):
    old = Hub(world["data"]).rings.load(POLICE).signer(int(time.time()))
    time.sleep(1.1)  # the credentials issued above are dated before the rotation
    run("keys", "rotate", "--data", str(world["data"]), POLICE)
    time.sleep(1.1)  # and the forgery after it
    sync(world)
    assert old.private is not None
    assert verdict(world, signed_with(world, old.private), code=1)["reasons"] == ["key_retired"]
    # What the old key signed before the rotation still verifies, until the key's window ends.
    assert verdict(world, present(world, world["eids"][0]), code=0)["valid"]


def test_compromise_reaches_the_counter_at_its_next_sync(world):
    hub = Hub(world["data"])
    old = hub.rings.load(POLICE).signer(int(time.time()))
    before = json.loads((world["data"] / "hub.json").read_text())["trust_list_version"]
    listed = run("keys", "list", "--data", str(world["data"]), POLICE).output
    assert old.public.kid in listed and old.public.short_kid.hex() in listed and "signs" in listed

    out = run("keys", "compromise", "--data", str(world["data"]), POLICE, old.public.short_kid.hex()).output
    assert f"trust list version {before + 1}" in out and "2 credential(s) marked for re-issue" in out
    new_kid = hub.rings.load(POLICE).signer(int(time.time())).public.kid
    assert new_kid != old.public.kid and new_kid in out
    assert "compromised" in run("keys", "list", "--data", str(world["data"]), POLICE).output

    # Until the counter syncs, it still holds the old list: offline means "as of the last sync".
    assert verdict(world, present(world, world["eids"][0]), code=0)["valid"]
    assert f"trust list version {before + 1} (updated)" in sync(world)
    for eid in world["eids"]:
        assert verdict(world, present(world, eid), code=1)["reasons"] == ["key_compromised"]
    assert verdict(world, signed_with(world, old.private), code=1)["reasons"] == ["key_compromised"]

    lines = run("keys", "needs-reissue", "--data", str(world["data"])).output.splitlines()
    rows = [json.loads(line) for line in lines]
    assert sorted(r["elicence_id"] for r in rows) == sorted(world["eids"])
    assert {r["signed_kid"] for r in rows} == {old.public.kid}
    assert run("keys", "needs-reissue", "--data", str(world["data"]), "--authority", "bj-health").output == ""

    # A licence issued now is signed by the new key and verifies; the audit file names the step.
    eid = run("issue", "driving-licence", "--data", str(world["data"]), "--wallet", str(world["wallet"]),
              "--claims", str(EXAMPLES / "driving-licence.json")).output.strip()
    sync(world)
    assert verdict(world, present(world, eid), code=0)["valid"]
    events = [json.loads(line) for line in (world["data"] / "key-events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "compromise" and events[-1]["kid"] == old.public.kid
    assert events[-1]["actor"].startswith("cli:")

    again = run("keys", "compromise", "--data", str(world["data"]), POLICE, old.public.kid).output
    assert "already withdrawn" in again and "0 credential(s) marked" in again


@pytest.mark.parametrize(("args", "words"), [
    (("nobody", "0011223344556677"), "unknown authority 'nobody'"),
    ((POLICE, "0011223344556677"), "bj-traffic-police has no key '0011223344556677'"),
    ((POLICE, "not-a-kid"), "has no key"),
    ((ROOT_OWNER, "ROOT"), "hub root key cannot be withdrawn"),
])
def test_unknown_authority_or_kid_is_one_line_and_exit_2(world, args, words):
    if args[1] == "ROOT":
        args = (ROOT_OWNER, Hub(world["data"]).rings.load(ROOT_OWNER).signer(int(time.time())).public.kid)
    before = (world["data"] / "trust-list.jwt").read_text()
    result = run("keys", "compromise", "--data", str(world["data"]), *args, code=2)
    assert result.output.startswith("error: ") and words in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert (world["data"] / "trust-list.jwt").read_text() == before  # nothing re-signed


def test_keys_list_of_an_unknown_owner_is_one_line(world):
    result = run("keys", "list", "--data", str(world["data"]), "nobody", code=2)
    assert result.output.startswith("error: ") and result.output.count("\n") == 1


def test_a_kid_that_begins_with_a_dash_is_read_as_the_kid(world):
    """base64url kids begin with "-" one time in 64: it once read as an unknown option."""
    result = run("keys", "compromise", "--data", str(world["data"]), POLICE, "-rqPDEJFhKT-no-such-key", code=2)
    assert "No such option" not in result.output and "-rqPDEJFhKT-no-such-key" in result.output
