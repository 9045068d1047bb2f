"""The citizen's wallet and the clerk's counter say the same words for every claim and every colour (issue 12).

The wallet side is the wallet's own module (``wallet/static/words.js``) run under Node on what the server hands it
(``/wallet/words.json``); the counter side is ``verifier.display.present`` on a decision carrying the claim.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask

from credentials.catalogue import HEALTH_COLOURS, LICENCE_TYPES
from verifier.display import present
from verifier.pipeline import Decision
from verifier.profiles import profile
from wallet.web import bp

STATIC = Path(__file__).resolve().parents[2] / "wallet" / "static"
NODE = shutil.which("node")
PASSED = ("decode", "parse", "trust_list", "issuer_key", "issuer_authorised", "key_window", "issuer_signature")
CLAIMS = sorted({c.name for t in LICENCE_TYPES for c in t.claims} | {"on_behalf_of"})

SCRIPT = """
const served = JSON.parse(process.argv[2]);
globalThis.fetch = async (url) => ({ ok: url === "/wallet/words.json", json: async () => served });
const words = await import("./words.mjs");
const out = { claims: {}, colours: {}, no_anomaly: words.NO_ANOMALY };
for (const name of JSON.parse(process.argv[3])) out.claims[name] = words.claimLabel(name);
for (const colour of JSON.parse(process.argv[4])) out.colours[colour] = words.colourWords(colour);
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def served() -> dict:
    app = Flask(__name__)
    app.register_blueprint(bp)
    response = app.test_client().get("/wallet/words.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    return response.get_json()


@pytest.fixture(scope="module")
def wallet_words(served, tmp_path_factory) -> dict:
    if NODE is None:
        pytest.skip("Node.js is not installed")
    tmp = tmp_path_factory.mktemp("words")
    shutil.copy(STATIC / "words.js", tmp / "words.mjs")
    (tmp / "run.mjs").write_text(SCRIPT)
    result = subprocess.run([NODE, "run.mjs", json.dumps(served), json.dumps(CLAIMS), json.dumps(HEALTH_COLOURS)],
                            cwd=tmp, capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "NODE_NO_WARNINGS": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def counter_display(claims: dict) -> dict:
    decision = Decision(valid=True, reasons=(), licence_type="health-code", view="full",
                        issuer={"id": "x", "name": "x", "region": "110000"}, claims=claims, presentation_age=1,
                        checks_passed=PASSED)
    return present(decision, prof=profile("identity"))["display"]  # the profile that shows every claim


@pytest.mark.parametrize("claim", CLAIMS)
def test_the_wallet_and_the_counter_label_every_claim_alike(claim, wallet_words):
    shown = {c["name"]: [c["zh"], c["en"]] for c in counter_display({claim: "x"})["claims"]}
    if claim == "colour":  # the counter shows the colour as the band, not as a claim line: its label is the band's
        assert wallet_words["claims"][claim] == ["健康码", "Health code"]
        return
    assert wallet_words["claims"][claim] == shown[claim]


@pytest.mark.parametrize("colour", HEALTH_COLOURS)
def test_the_wallet_and_the_counter_name_every_colour_alike(colour, wallet_words):
    band = counter_display({"colour": colour})["health"]
    assert wallet_words["colours"][colour] == [band["zh"], band["en"]]


def test_offline_without_words_the_wallet_still_starts(tmp_path):
    """No copy of words.json (first start offline): names and codes are shown as they are, nothing throws."""
    if NODE is None:
        pytest.skip("Node.js is not installed")
    shutil.copy(STATIC / "words.js", tmp_path / "words.mjs")
    (tmp_path / "run.mjs").write_text('globalThis.fetch = async () => { throw new TypeError("offline"); };\n'
                                      'const w = await import("./words.mjs");\n'
                                      'console.log(JSON.stringify([w.claimLabel("name"), w.colourWords("red")]));\n')
    result = subprocess.run([NODE, "run.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["name", "name"], ["red", "red"]]


def test_the_wallet_scripts_hold_no_words_of_their_own():
    """Labels and colour words come only from words.json: none is written into a wallet script."""
    from credentials.words import CLAIM_LABELS, COLOURS

    phrases = {zh for zh, _en in CLAIM_LABELS.values() if len(zh) >= 5} | {w.zh for w in COLOURS.values()}
    phrases |= {w.en for w in COLOURS.values()}
    for script in STATIC.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert not [p for p in phrases if p in text], script.name
