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
  const challenge = input.challenge_hex ? Uint8Array.from(Buffer.from(input.challenge_hex, "hex"))
    : input.challenge ? new TextEncoder().encode(input.challenge) : null;
  const handle = input.fetch_hex ? Uint8Array.from(Buffer.from(input.fetch_hex, "hex")) : null;
  out.qr = await tb.presentation(credential, key, input.now, challenge, input.audience || null, handle);
}
if (input.counter) {
  out.counter = input.counter.map((text) => {
    try {
      const c = tb.parseCounterCode(text);
      return { id: c.counterId, challenge: Buffer.from(c.challenge).toString("hex"), issued_at: c.issuedAt };
    } catch (e) {
      if (!(e instanceof tb.CounterCodeError)) return { crash: String(e) };
      return null;
    }
  });
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


def test_js_presentation_bound_to_a_counter_is_byte_identical_and_verifies(tmp_path, issued):
    """The wallet after scanning a two-way counter's code: aud (3) and nonce (10) signed, keys in canonical order."""
    from credentials.counter_code import make_counter_code, parse_counter_code
    from verifier.ports import Policy

    device, licence, cache = issued
    now = int(time.time())
    code = parse_counter_code(make_counter_code("bj-dongcheng-3", os.urandom(16), now))
    jwk = {**device.public.public_jwk(), "d": b64url(device.crypto_key().private_numbers().private_value.to_bytes(32, "big"))}
    qr = node(tmp_path, {"jwk": jwk, "credential": b64url(licence.views["driving"]), "now": now,
                         "challenge_hex": code.challenge.hex(), "audience": code.counter_id})["qr"]
    presented = parse_presentation(qr)
    assert (presented.audience, presented.challenge) == (code.counter_id, code.challenge)
    proof = cbor2.loads(presented.proof_sign1.raw)
    assert proof.value[2] == dumps({6: now, 10: code.challenge, 3: code.counter_id})  # Python's encoding, byte for byte
    assert proof.value[2][:3] == b"\xa3\x03\x6e", "aud (key 3) first: RFC 8949 §4.2.1 bytewise key order"
    policy = Policy(audience=code.counter_id, challenges=frozenset({code.challenge}))
    decision = verify(qr, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now, policy=policy)
    assert decision.valid, decision
    elsewhere = Policy(audience="bj-dongcheng-4", challenges=frozenset({code.challenge}))
    decision = verify(qr, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now, policy=elsewhere)
    assert decision.reasons == ("audience_mismatch",)


def test_js_presentation_with_a_fetch_handle_is_byte_identical_and_verifies(tmp_path, issued):
    """授权调取: the handle (-65537) signed after aud (3), nonce (10) and iat (6), as Python's encoder orders them."""
    device, licence, cache = issued
    now, handle = int(time.time()), os.urandom(16)
    jwk = {**device.public.public_jwk(), "d": b64url(device.crypto_key().private_numbers().private_value.to_bytes(32, "big"))}
    qr = node(tmp_path, {"jwk": jwk, "credential": b64url(licence.views["age"]), "now": now, "audience": "bj-3",
                         "fetch_hex": handle.hex()})["qr"]
    presented = parse_presentation(qr)
    assert presented.fetch_handle == handle and presented.audience == "bj-3"
    assert cbor2.loads(presented.proof_sign1.raw).value[2] == dumps({6: now, 3: "bj-3", -65537: handle})
    decision = verify(qr, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now)
    assert decision.valid, decision


def _counter_code_cases() -> list[str]:
    """Valid codes, and what an attacker or a bad camera frame can make of them; both parsers must agree on all."""
    import random

    import base45

    from credentials.counter_code import make_counter_code

    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
    cases = []
    for _ in range(60):
        counter_id = rng.choice(alphabet[:62]) + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 63)))
        cases.append(make_counter_code(counter_id, rng.randbytes(16), rng.choice([0, 23, 24, 2**32, 2**53 - 1,
                                                                                    rng.randrange(2**31)])))
    good = [base45.b45decode(c[5:]) for c in cases[:30]]
    for raw in good:  # one to three byte flips, truncations, extensions
        mutated = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        cases.append("TBC1:" + base45.b45encode(bytes(mutated)).decode())
        cases.append("TBC1:" + base45.b45encode(raw[: rng.randrange(len(raw))]).decode())
        cases.append("TBC1:" + base45.b45encode(raw + bytes([rng.randrange(256)])).decode())
    b45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    cases += ["TBC1:" + "".join(rng.choice(b45) for _ in range(rng.randint(0, 160))) for _ in range(60)]
    hand = [
        {1: "c", 2: bytes(16), 3: 2**53}, {1: "c", 2: bytes(16), 3: -1}, {1: "c", 2: bytes(16)},
        {1: "c", 2: bytes(16), 3: 1, 4: 1}, {1: "-c", 2: bytes(16), 3: 1}, {1: "a" * 65, 2: bytes(16), 3: 1},
        {1: "é", 2: bytes(16), 3: 1}, {1: "c", 2: bytes(15), 3: 1}, {1: "c", 2: "x" * 16, 3: 1},
    ]
    cases += ["TBC1:" + base45.b45encode(cbor2.dumps(v, canonical=True)).decode() for v in hand]
    ok = bytes.fromhex("a3016163025000000000000000000000000000000000000301")
    cases += ["TBC1:" + base45.b45encode(raw).decode() for raw in (
        ok, bytes.fromhex("a30250" + "00" * 16 + "0161630301"),  # keys out of order
        bytes.fromhex("a301780163025000000000000000000000000000000000000301"),  # a two-byte length for 1
        bytes.fromhex("a3016163025000000000000000000000000000000000000318" + "01"),  # 1 written in two bytes
        bytes.fromhex("bf016163025000000000000000000000000000000000000301ff"),  # indefinite map
        bytes.fromhex("a3016163016164025000000000000000000000000000000000"),  # duplicate key
        bytes.fromhex("a301616302c25000000000000000000000000000000000000301"),  # a tag
        bytes.fromhex("a30161ff025000000000000000000000000000000000000301"),  # invalid UTF-8
    )]
    cases += [f" {cases[0]}\r\n", "\t" + cases[1], cases[2] + " ", "tbc1:" + cases[0][5:], "TBC1:", "", "TB1:ABC",
              cases[0][:-1], cases[0] + "0", cases[0] + "::", cases[0][:5] + " " + cases[0][5:], "TBC1:" + "0" * 400,
              "TBC1:GGW", "TBC1:::", "TBC1:A", "\u3000" + cases[0]]
    return cases


def test_js_counter_code_parser_agrees_with_python(tmp_path):
    from credentials.counter_code import CounterCodeError, parse_counter_code

    cases = _counter_code_cases()
    answers = node(tmp_path, {"counter": cases})["counter"]
    accepted = 0
    for text, js in zip(cases, answers, strict=True):
        assert not (js and "crash" in js), (text, js)
        try:
            code = parse_counter_code(text)
        except CounterCodeError:
            assert js is None, f"JS accepted what Python refuses: {text!r} -> {js}"
        else:
            accepted += 1
            assert js == {"id": code.counter_id, "challenge": code.challenge.hex(), "issued_at": code.issued_at}, text
    assert 60 <= accepted < len(cases) - 100, "both accepting and refusing cases were exercised"
