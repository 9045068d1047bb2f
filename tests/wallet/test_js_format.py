"""The browser wallet's presentation code (wallet/static/tb-format.js), run under Node, against the Python side.

The JS builds and signs a presentation with WebCrypto; the Python verifier must accept it, and its framing,
CBOR and holder-proof structure must be byte-for-byte what ``credentials.presentation`` makes (the ECDSA
signature itself is randomised, so it is checked by verification, not compared).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import cbor2
import pytest
from click.testing import CliRunner

import keys
from credentials.cbor import dumps
from credentials.framing import unframe
from credentials.presentation import parse_presentation
from issuer.cli import issuer_for
from keys.material import b64url
from service.config import Settings
from service.wiring import main
from verifier.cache import DirectorySource, VerifierCache
from verifier.pipeline import verify
from verifier.replay import MemoryReplayCache

STATIC = Path(__file__).resolve().parents[2] / "wallet" / "static"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

SCRIPT = """
import * as tb from "./tb-format.mjs";
const input = JSON.parse(process.argv[2]);
const out = {};
if (input.cbor) out.cbor = input.cbor.map((v) => tb.b64url(tb.cbor(revive(v))));
if (input.frame) out.frame = await Promise.all(input.frame.map((h) => tb.frame(Uint8Array.from(Buffer.from(h, "hex")))));
if (input.jwk) {
  const key = await crypto.subtle.importKey("jwk", input.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const credential = tb.fromB64url(input.credential);
  const challenge = input.challenge ? new TextEncoder().encode(input.challenge) : null;
  out.qr = await tb.presentation(credential, key, input.now, challenge);
}
function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v && v.bytes !== undefined) return Uint8Array.from(Buffer.from(v.bytes, "hex"));
  if (v && v.map !== undefined) return new Map(v.map.map(([k, x]) => [revive(k), revive(x)]));
  if (v && v.tag !== undefined) return new tb.Tag(v.tag, revive(v.value));
  return v;
}
console.log(JSON.stringify(out));
"""


def node(tmp_path: Path, request: dict) -> dict:
    shutil.copy(STATIC / "tb-format.js", tmp_path / "tb-format.mjs")
    (tmp_path / "run.mjs").write_text(SCRIPT)
    result = subprocess.run([NODE, "run.mjs", json.dumps(request)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False, env={**os.environ, "NODE_NO_WARNINGS": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cbor_encoder_is_canonical_like_cbor2(tmp_path):
    cases = [
        (0, 0), (23, 23), (24, 24), (255, 255), (256, 256), (65535, 65535), (65536, 65536),
        (1_763_900_000, 1_763_900_000), (2**40, 2**40), (-1, -1), (-7, -7), (-25, -25), (-65537, -65537),
        ("Signature1", "Signature1"), ("通办", "通办"), ({"bytes": "00ff"}, b"\x00\xff"),
        ({"bytes": "ab" * 300}, b"\xab" * 300), ([1, [2, "x"]], [1, [2, "x"]]),
        ({"map": [[10, {"bytes": "01"}], [6, 5], [-1, 0], [1, -7]]}, {10: b"\x01", 6: 5, -1: 0, 1: -7}),
        ({"map": []}, {}), ({"tag": 18, "value": [1]}, cbor2.CBORTag(18, [1])),
    ]
    out = node(tmp_path, {"cbor": [js for js, _ in cases]})["cbor"]
    for encoded, (_, python) in zip(out, cases, strict=True):
        assert keys.material.b64url_decode(encoded) == dumps(python), python


def test_framing_compresses_only_when_shorter(tmp_path):
    # Random bytes behind a CBOR array head, as every real payload: a first byte 0x78 would read as zlib (1 in 256).
    data = [b"\x82" + b"A" * 400, b"\x82" + os.urandom(199), b"\x82\x40\x40"]
    framed = node(tmp_path, {"frame": [d.hex() for d in data]})["frame"]
    for text, original in zip(framed, data, strict=True):
        assert text.startswith("TB1:") and unframe(text) == original
    assert len(framed[0]) < 100 and framed[1] == "TB1:" + __import__("base45").b45encode(data[1]).decode()


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    data = tmp_path_factory.mktemp("data")
    assert CliRunner().invoke(main, ["init", "--data", str(data)]).exit_code == 0
    device = keys.generate("ES256")
    raw = json.loads((Path(__file__).resolve().parents[2] / "examples" / "driving-licence.json").read_text())
    licence = issuer_for(Settings.from_env(data)).issue("driving-licence", raw, device.public, now=int(time.time()))
    cache = VerifierCache(data.parent / "cache")
    cache.sync(DirectorySource(data), now=int(time.time()), root=keys.PublicKey.from_jwk(DirectorySource(data).root_key()))
    yield device, licence, cache
    patch.undo()


@pytest.mark.parametrize(("view", "challenge"), [("full", None), ("driving", None), ("age", "counter-42")])
def test_js_presentation_verifies_with_the_python_verifier(tmp_path, issued, view, challenge):
    device, licence, cache = issued
    now = int(time.time())
    jwk = {**device.public.public_jwk(), "d": b64url(device.crypto_key().private_numbers().private_value.to_bytes(32, "big"))}
    qr = node(tmp_path, {"jwk": jwk, "credential": b64url(licence.views[view]), "now": now, "challenge": challenge})["qr"]
    decision = verify(qr, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now)
    assert decision.valid, decision
    assert decision.view == view and decision.elicence_id == licence.elicence_id
    # Structure identical to the Python wallet's, signature aside.
    presented = parse_presentation(qr)
    assert presented.credential_raw == licence.views[view]
    expected_payload = dumps({6: now, 10: challenge.encode()} if challenge else {6: now})
    proof = cbor2.loads(presented.proof_sign1.raw)
    assert proof.tag == 18 and proof.value[:3] == [b"\xa1\x01\x26", {}, expected_payload]
    assert len(proof.value[3]) == 64
    later = verify(qr, trust=cache.trust_list(now + 61), status=cache, replay=MemoryReplayCache(), now=now + 61)
    assert not later.valid and later.reasons == ("stale",)
