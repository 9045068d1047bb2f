"""DPoP (RFC 9449), with proofs built by PyJWT: binding at the token endpoint, use at UserInfo, refusals."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

import jwt as pyjwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from idp.dpop import InvalidDpopProof, access_token_hash, verify_proof
from tests.conftest import examples
from tests.idp.conftest import Browser
from tests.idp.test_negatives import REDIRECT, get_code

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)


class Holder:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.jwk = pyjwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)

    @property
    def thumbprint(self) -> str:
        canonical = json.dumps({k: self.jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
        return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()

    def proof(self, method: str, url: str, access_token: str | None = None, **overrides) -> str:
        claims = {"htm": method, "htu": url, "iat": int(time.time()), "jti": uuid.uuid4().hex}
        if access_token:
            claims["ath"] = access_token_hash(access_token)
        claims.update(overrides)
        return pyjwt.encode(claims, self.key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})


def token_request(idp, client, holder, code, proof=None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": "v" * 50,
            "client_id": client["client_id"]}
    headers = {"DPoP": proof or holder.proof("POST", idp.url + "/token")}
    return requests.post(idp.url + "/token", data=data, headers=headers)


def test_dpop_bound_tokens(idp):
    client, holder, browser = idp.client(public=True), Holder(), Browser(idp)
    resp = token_request(idp, client, holder, get_code(idp, browser, client))
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    assert tokens["token_type"] == "DPoP"
    at = tokens["access_token"]
    ok = requests.get(idp.url + "/userinfo", headers={
        "Authorization": "DPoP " + at, "DPoP": holder.proof("GET", idp.url + "/userinfo", at)})
    assert ok.status_code == 200 and ok.json()["name"] == "张三"
    # as a bearer token it is refused (RFC 9449 §7.1)
    assert requests.get(idp.url + "/userinfo", headers={"Authorization": "Bearer " + at}).status_code == 401
    # a proof from another key, without ath, for another URL, or replayed: refused
    other = Holder()
    for proof in (other.proof("GET", idp.url + "/userinfo", at), holder.proof("GET", idp.url + "/userinfo"),
                  holder.proof("GET", idp.url + "/token", at), holder.proof("POST", idp.url + "/userinfo", at)):
        bad = requests.get(idp.url + "/userinfo", headers={"Authorization": "DPoP " + at, "DPoP": proof})
        assert bad.status_code == 401
    replay = holder.proof("GET", idp.url + "/userinfo", at)
    headers = {"Authorization": "DPoP " + at, "DPoP": replay}
    assert requests.get(idp.url + "/userinfo", headers=headers).status_code == 200
    assert requests.get(idp.url + "/userinfo", headers=headers).status_code == 401
    # the public client's refresh token is bound too (RFC 9449 §5)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client["client_id"]}
    stolen = requests.post(idp.url + "/token", data=refresh, headers={"DPoP": other.proof("POST", idp.url + "/token")})
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert requests.post(idp.url + "/token", data=refresh).json()["error"] == "invalid_grant"
    good = requests.post(idp.url + "/token", data=refresh, headers={"DPoP": holder.proof("POST", idp.url + "/token")})
    assert good.status_code == 200 and good.json()["token_type"] == "DPoP"
    # introspection reports the binding (RFC 9449 §6.2)
    confidential = idp.client()
    code = get_code(idp, browser, confidential)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": "v" * 50}
    bound = requests.post(idp.url + "/token", data=data, auth=(confidential["client_id"], confidential["client_secret"]),
                          headers={"DPoP": holder.proof("POST", idp.url + "/token")}).json()
    intro = requests.post(idp.url + "/introspect", data={"token": bound["access_token"]},
                          auth=(confidential["client_id"], confidential["client_secret"])).json()
    assert intro["cnf"] == {"jkt": holder.thumbprint}


@embedded
@pytest.mark.parametrize("change", ["htu", "htm", "old", "typ", "garbage", "private"])
def test_bad_proof_at_token_endpoint(idp, change):
    client, holder, browser = idp.client(public=True), Holder(), Browser(idp)
    url = idp.url + "/token"
    proof = {
        "htu": lambda: holder.proof("POST", idp.url + "/other"),
        "htm": lambda: holder.proof("GET", url),
        "old": lambda: holder.proof("POST", url, iat=int(time.time()) - 3600),
        "typ": lambda: pyjwt.encode({"htm": "POST", "htu": url, "iat": int(time.time()), "jti": "j"}, holder.key,
                                    algorithm="ES256", headers={"typ": "JWT", "jwk": holder.jwk}),
        "garbage": lambda: "not.a.jwt",
        "private": lambda: pyjwt.encode({"htm": "POST", "htu": url, "iat": int(time.time()), "jti": "j"},
                                        holder.key, algorithm="ES256",
                                        headers={"typ": "dpop+jwt", "jwk": {**holder.jwk, "d": "AAAA"}}),
    }[change]()
    resp = token_request(idp, client, holder, get_code(idp, browser, client), proof=proof)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_dpop_proof"


@settings(max_examples=examples(100), deadline=None)
@given(st.one_of(st.text(max_size=200), st.none(), st.integers(), st.binary(max_size=50)))
def test_verify_proof_rejects_anything_malformed(proof):
    with pytest.raises(InvalidDpopProof):
        verify_proof(proof, method="POST", url="https://id.example/token", now=int(time.time()),
                     first_use=lambda _k: True)
