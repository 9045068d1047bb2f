"""The wallet's SD-JWT and OpenID4VP code (wallet/static/sd-jwt.js) under Node, against the Python side: the JS
presentation of chosen DCQL claims is accepted by ``verify_vp_token`` and carries no other Disclosure; the JS
checks of a Request Object accept the app's signed one and refuse one signed by another key, for another client,
expired, or unsigned (as ``verify_request_object`` does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from credentials.sdjwt import split
from keys import b64url, generate, jws_encode
from verifier.online import sign_request_object, verify_vp_token

from ..verifier.online.world import DEVICE, NOW, TRUST, Statuses, licence, request

STATIC = Path(__file__).resolve().parents[2] / "wallet" / "static"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

SCRIPT = """
import * as sd from "./sd-jwt.js";
const input = JSON.parse(process.argv[2]);
const out = {};
if (input.present) {
  const key = await crypto.subtle.importKey("jwk", input.present.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  out.presented = await sd.present(input.present.sd_jwt, input.present.paths,
    { privateKey: key, nonce: input.present.nonce, audience: input.present.aud, iat: input.present.iat });
  const { claims } = await sd.resolve(input.present.sd_jwt);
  out.selected = sd.select(["vehicle_classes", null], claims);
}
if (input.requests) {
  out.requests = [];
  for (const r of input.requests) {
    try { out.requests.push((await sd.verifyRequestObject(r.token, r.jwks, r.client_id, r.now)).nonce); }
    catch (e) { out.requests.push(e instanceof sd.ShareError ? "refused:" + e.reason : "crash:" + e); }
  }
}
console.log(JSON.stringify(out));
"""


def node(tmp_path: Path, request_: dict) -> dict:
    for name in ("sd-jwt.js", "tb-format.js"):
        shutil.copy(STATIC / name, tmp_path / name)
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "run.js").write_text(SCRIPT)
    result = subprocess.run([NODE, "run.js", json.dumps(request_)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False, env={**os.environ, "NODE_NO_WARNINGS": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def private_jwk(key) -> dict:
    numbers = key.crypto_key().private_numbers()
    return {**key.public.jwk, "d": b64url(numbers.private_value.to_bytes(32, "big"))}


def test_js_presentation_of_the_chosen_claims_verifies(tmp_path):
    req = request()
    sd_jwt = licence()
    out = node(tmp_path, {"present": {"sd_jwt": sd_jwt, "jwk": private_jwk(DEVICE), "nonce": req.nonce,
                                      "aud": req.client_id, "iat": NOW,
                                      "paths": [["name"], ["vehicle_classes", None], ["valid_until"]]}})
    assert out["selected"] == ["C1", "D"]
    presented = out["presented"]
    assert len(split(presented).disclosures) == 5  # name, the array, its two elements, valid_until
    got = verify_vp_token({"licence": [presented]}, request=req, trust=TRUST, status=Statuses(), now=NOW)["licence"]
    assert got.claims == {"name": "张三", "vehicle_classes": ["C1", "D"], "valid_until": "2030-05-01"}


def test_js_request_object_checks(tmp_path):
    req = request()
    app_key, other = generate("ES256"), generate("ES256")
    jwks = {"keys": [app_key.public.public_jwk()]}
    signed = sign_request_object(req, app_key)
    forged_kid = jws_encode(req.claims(), other, headers={"typ": "oauth-authz-req+jwt", "kid": app_key.kid})
    none = b64url(json.dumps({"alg": "none", "typ": "oauth-authz-req+jwt"}).encode()) + "." \
        + b64url(json.dumps(req.claims()).encode()) + "."
    plain = jws_encode(req.claims(), app_key, headers={"typ": "JWT", "kid": app_key.kid})
    cases = [(signed, req.client_id, NOW), (sign_request_object(req, other), req.client_id, NOW),
             (forged_kid, req.client_id, NOW), (signed, "another-app", NOW), (signed, req.client_id, req.exp),
             (none, req.client_id, NOW), (plain, req.client_id, NOW), ("x.y", req.client_id, NOW)]
    out = node(tmp_path, {"requests": [{"token": t, "jwks": jwks, "client_id": c, "now": n} for t, c, n in cases]})
    assert out["requests"] == [req.nonce, "refused:request_signature", "refused:request_signature",
                               "refused:request_invalid", "refused:request_expired", "refused:request_signature",
                               "refused:request_signature", "refused:request_invalid"]
