"""``POST /issuer/removal`` (issuer.vci.removal): the holder revokes the copy of a licence bound to one phone's device
key, over HTTP with a real IdP access token. Attacks: another citizen's licence, another phone's copy, a replayed
request, a proof made for issuance (or for another entry, or another audience), malformed bodies."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keys
from credentials.status_list import INVALID, VALID
from issuer import store
from issuer.vci.removal import REMOVAL_TYP
from tests.service.conftest import sign_in
from tests.service.test_vci import bearer, proof, records

OTHER_CITIZEN = "440304198512124569"  # 李四 (issuer.records demo register)


@pytest.fixture(scope="module")
def token(live) -> str:
    return sign_in(live)["access_token"]


def vci(live):
    return live.app.extensions["tongban.vci"]


def status(live, elicence_id: str) -> int:
    return store.find(vci(live).issuer.engine, elicence_id).status


def removal_proof(live, device: keys.PrivateKey, record_id: str, *, typ: str = REMOVAL_TYP, aud: str | None = None,
                  nonce: str | None = None) -> str:
    nonce = nonce or requests.post(live.url + "/issuer/nonce", timeout=5).json()["c_nonce"]
    claims = {"aud": aud or live.url, "iat": int(time.time()), "nonce": nonce, "record": record_id}
    return jwt.encode(claims, device.crypto_key(), algorithm="ES256",
                      headers={"typ": typ, "jwk": device.public.public_jwk()})


def add(live, token: str, device: keys.PrivateKey, licence: str, configuration: str | None = None) -> str:
    record = records(live, token)[licence]
    body = {"credential_configuration_id": configuration or licence, "record": record["id"]}
    if configuration:
        body["proofs"] = {"jwt": [proof(live, device)["jwt"]]}
    else:
        body["proof"] = proof(live, device)
    response = requests.post(live.url + "/issuer/credential", headers=bearer(token), json=body, timeout=10)
    assert response.status_code == 200, response.text
    return vci(live).records.last_issued(record["id"] if not configuration else f"{record['id']}|dc+sd-jwt")


def remove(live, token: str, body: object) -> requests.Response:
    return requests.post(live.url + "/issuer/removal", headers=bearer(token), json=body, timeout=10)


def test_removal_revokes_both_formats_of_this_phones_copy_once(live, token):
    device = keys.generate("ES256")
    cose = add(live, token, device, "driving-licence")
    sd_jwt = add(live, token, device, "driving-licence", "driving-licence-sd-jwt")
    record = records(live, token)["driving-licence"]["id"]
    body = {"record": record, "proof": removal_proof(live, device, record)}
    response = remove(live, token, body)
    assert response.status_code == 200, response.text
    assert set(response.json()["revoked"]) == {cose, sd_jwt} and response.headers["Cache-Control"] == "no-store"
    assert status(live, cose) == INVALID and status(live, sd_jwt) == INVALID
    # Replayed: the c_nonce is spent.
    again = remove(live, token, body)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_nonce")


def test_another_phones_copy_stays(live, token):
    phone_a, phone_b = keys.generate("ES256"), keys.generate("ES256")
    old = add(live, token, phone_a, "resident-id")
    new = add(live, token, phone_b, "resident-id")  # the licence moved to phone B; A's copy was retired
    record = records(live, token)["resident-id"]["id"]
    response = remove(live, token, {"record": record, "proof": removal_proof(live, phone_a, record)})
    assert (response.status_code, response.json()["error"]) == (404, "no_such_copy")
    assert status(live, new) == VALID and status(live, old) == INVALID


def test_another_citizens_licence_stays(live, token):
    device = keys.generate("ES256")
    c = vci(live)
    [theirs] = c.records.held_by(OTHER_CITIZEN)
    issued = c.issuer.issue(theirs.licence_type, theirs.claims, holder_key=device.public, now=int(time.time()),
                            authority_id=theirs.authority_id)
    c.records.set_last_issued(theirs.record_id, issued.elicence_id)
    # Even signed by the very key that copy is bound to, 张三's token cannot remove 李四's licence.
    response = remove(live, token, {"record": theirs.record_id,
                                    "proof": removal_proof(live, device, theirs.record_id)})
    assert (response.status_code, response.json()["error"]) == (404, "no_such_copy")
    assert status(live, issued.elicence_id) == VALID
    unknown = remove(live, token, {"record": "no-such-entry", "proof": removal_proof(live, device, "no-such-entry")})
    assert unknown.status_code == 404 and unknown.json() == response.json()  # not theirs and unknown look the same


@pytest.mark.parametrize("attack", ["issuance typ", "other entry", "other audience", "unknown nonce", "no proof"])
def test_proofs_for_something_else_are_refused(live, token, attack):
    device = keys.generate("ES256")
    copy = add(live, token, device, "driving-licence")
    held = records(live, token)
    record, other = held["driving-licence"]["id"], held["resident-id"]["id"]
    signed = {
        "issuance typ": lambda: removal_proof(live, device, record, typ="openid4vci-proof+jwt"),
        "other entry": lambda: removal_proof(live, device, other),  # signed for the resident ID, sent for the licence
        "other audience": lambda: removal_proof(live, device, record, aud="https://elsewhere.example"),
        "unknown nonce": lambda: removal_proof(live, device, record, nonce="never-issued"),
        "no proof": lambda: proof(live, device)["jwt"],  # a valid issuance key proof, no record claim
    }[attack]()
    response = remove(live, token, {"record": record, "proof": signed})
    assert response.status_code == 400 and response.json()["error"] in {"invalid_proof", "invalid_nonce"}, response.text
    assert status(live, copy) == VALID


def test_without_a_token_nothing_happens(live, token):
    device = keys.generate("ES256")
    record = records(live, token)["driving-licence"]["id"]
    body = {"record": record, "proof": removal_proof(live, device, record)}
    assert requests.post(live.url + "/issuer/removal", json=body, timeout=5).status_code == 401
    assert remove(live, "not-a-token", body).status_code == 401


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                             st.sampled_from(["record", "proof", "x"]), inner, max_size=3), max_leaves=6))
def test_malformed_bodies_get_a_specific_error(live, token, body):
    response = remove(live, token, body)
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"] in {"invalid_request", "no_such_copy", "invalid_proof", "invalid_nonce"}


def test_records_say_the_last_licence_issued_and_its_status(live, token):
    device = keys.generate("ES256")
    copy = add(live, token, device, "driving-licence")
    entry = records(live, token)["driving-licence"]
    assert (entry["last_issued"], entry["last_status"]) == (copy, "valid")
    vci(live).issuer.set_status(copy, suspend=True, now=int(time.time()))
    assert records(live, token)["driving-licence"]["last_status"] == "suspended"
    vci(live).issuer.set_status(copy, now=int(time.time()))
    assert records(live, token)["driving-licence"]["last_status"] == "revoked"
