"""Signature suites across the chain: an SM2 authority's QR credential, trust list and status list, mixed
trust lists (some authorities ES256, others SM2: 互通互认 across suites), and the algorithm-confusion attacks."""

from __future__ import annotations

import base64
import json

import cbor2
import jwt
import pytest

import keys
from credentials.cbor import dumps
from credentials.cose import COSE_ALG, SIGN1_TAG, sign1
from credentials.credential import encode_payload, sign_credential
from credentials.status_list import (
    StatusList,
    StatusListError,
    sign_status_list_cwt,
    sign_status_list_jwt,
    verify_status_list_cwt,
    verify_status_list_jwt,
)
from keys import Authority, TrustedKey, TrustList, TrustListError, sign_trust_list, verify_trust_list
from tests.verifier.test_pipeline import NOW, credential_body, present, refused, run, trust_list

SM2_ISSUER = keys.generate("SM2")
ES_ISSUER = keys.generate("ES256")


def _with_alg(credential: bytes, alg_id: int) -> bytes:
    """The same COSE_Sign1 with its protected alg rewritten (signature untouched)."""
    tag = cbor2.loads(credential)
    protected, unprotected, payload, signature = tag.value
    header = cbor2.loads(protected)
    header[1] = alg_id
    return dumps(cbor2.CBORTag(SIGN1_TAG, [dumps(header), unprotected, payload, signature]))


def mixed_trust() -> TrustList:
    def authority(id_: str, key: keys.PrivateKey, licence: str) -> Authority:
        return Authority(id=id_, name=id_, region="110000", issuer_code="11110000000021135M", licence_types=(licence,),
                         keys=(TrustedKey(key.public, NOW - 86400, NOW + 86400 * 365),))
    return TrustList(version=1, issued_at=NOW - 3600, expires_at=NOW + 86400, authorities=(
        authority("bj-traffic-police", SM2_ISSUER, "driving-licence"),
        authority("sh-traffic-police", ES_ISSUER, "resident-id")))


def test_an_sm2_credential_verifies_offline_under_the_trust_lists_sm2_key():
    credential = sign_credential(credential_body(), SM2_ISSUER)
    assert cbor2.loads(cbor2.loads(credential).value[0])[1] == COSE_ALG["SM2"] == -65537
    decision = run(present(credential), trust=trust_list(issuer=SM2_ISSUER.public))
    assert decision.valid, decision


def test_a_mixed_trust_list_verifies_each_authority_with_its_own_suite():
    trust = mixed_trust()
    assert run(present(sign_credential(credential_body(), SM2_ISSUER)), trust=trust).valid
    # The ES256 authority's key does not verify for the SM2 authority's licence type, whatever it signs.
    refused(run(present(sign_credential(credential_body(), ES_ISSUER)), trust=trust), "issuer_not_authorised")


def test_es256_credential_presented_under_an_sm2_key_is_algorithm_mismatch():
    """ES256 signature and header, kid of the SM2 key: the key decides, the header is refused."""
    credential = sign1(encode_payload(credential_body()), ES_ISSUER, kid=SM2_ISSUER.public.short_kid)
    refused(run(present(credential), trust=trust_list(issuer=SM2_ISSUER.public)), "algorithm_mismatch")


def test_sm2_credential_presented_under_an_es256_key_is_algorithm_mismatch():
    credential = sign1(encode_payload(credential_body()), SM2_ISSUER, kid=ES_ISSUER.public.short_kid)
    refused(run(present(credential), trust=trust_list(issuer=ES_ISSUER.public)), "algorithm_mismatch")


@pytest.mark.parametrize("alg_id", [-7, -8, -257, -65538, 65537])
def test_an_sm2_credential_whose_header_names_another_algorithm_is_refused(alg_id):
    credential = _with_alg(sign_credential(credential_body(), SM2_ISSUER), alg_id)
    refused(run(present(credential), trust=trust_list(issuer=SM2_ISSUER.public)), "algorithm_mismatch")


def test_an_es256_credential_relabelled_sm2_is_refused():
    credential = _with_alg(sign_credential(credential_body(), ES_ISSUER), COSE_ALG["SM2"])
    refused(run(present(credential), trust=trust_list(issuer=ES_ISSUER.public)), "algorithm_mismatch")


def test_an_sm2_signature_with_another_key_under_the_trusted_kid_is_bad_signature():
    attacker = keys.generate("SM2")
    credential = sign1(encode_payload(credential_body()), attacker, kid=SM2_ISSUER.public.short_kid)
    refused(run(present(credential), trust=trust_list(issuer=SM2_ISSUER.public)), "bad_signature")


# -- the trust list ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("root_alg", ["SM2", "ES256", "EdDSA"])
def test_a_mixed_trust_list_round_trips_under_any_root_suite(root_alg):
    root = keys.generate(root_alg)
    token = sign_trust_list(mixed_trust(), root)
    assert jwt.get_unverified_header(token)["alg"] == root_alg
    got = verify_trust_list(token, root.public, now=NOW)
    assert [k.public.alg for a in got.authorities for k in a.keys] == ["SM2", "ES256"]
    assert got == mixed_trust()


def _resigned(token: str, header_changes: dict, signer: keys.PrivateKey) -> str:
    header = {**jwt.get_unverified_header(token), **header_changes}
    head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=")
    body = token.split(".")[1].encode()
    signature = base64.urlsafe_b64encode(signer.sign(head + b"." + body)).rstrip(b"=")
    return (head + b"." + body + b"." + signature).decode()


def test_an_sm2_root_refuses_a_list_that_names_es256_even_if_an_es256_key_signed_it():
    root, attacker = keys.generate("SM2"), keys.generate("ES256")
    forged = _resigned(sign_trust_list(mixed_trust(), root), {"alg": "ES256"}, attacker)
    with pytest.raises(TrustListError) as err:
        verify_trust_list(forged, root.public, now=NOW)
    assert err.value.reason == "trust_list_algorithm"


def test_an_es256_root_refuses_a_list_that_names_sm2():
    root, attacker = keys.generate("ES256"), keys.generate("SM2")
    forged = _resigned(sign_trust_list(mixed_trust(), root), {"alg": "SM2"}, attacker)
    with pytest.raises(TrustListError) as err:
        verify_trust_list(forged, root.public, now=NOW)
    assert err.value.reason == "trust_list_algorithm"


def test_an_sm2_list_signed_by_another_sm2_key_is_untrusted_root():
    root, attacker = keys.generate("SM2"), keys.generate("SM2")
    with pytest.raises(TrustListError) as err:
        verify_trust_list(sign_trust_list(mixed_trust(), attacker), root.public, now=NOW)
    assert err.value.reason == "trust_list_untrusted_root"


@pytest.mark.parametrize("tamper", ["drop-alg", "sm2-on-p256", "es256-on-sm2", "alg-not-text"])
def test_a_trust_list_key_must_name_the_suite_its_curve_carries(tamper):
    root = keys.generate("ES256")
    claims = mixed_trust().to_claims()
    sm2_jwk, es_jwk = (a["keys"][0]["jwk"] for a in claims["authorities"])
    {"drop-alg": lambda: sm2_jwk.pop("alg"), "sm2-on-p256": lambda: es_jwk.update(alg="SM2"),
     "es256-on-sm2": lambda: sm2_jwk.update(alg="ES256"), "alg-not-text": lambda: sm2_jwk.update(alg=-65537)}[tamper]()
    token = keys.jws_encode(claims, root, headers={"typ": "tongban-trust-list+jwt", "kid": root.kid})
    with pytest.raises(TrustListError) as err:
        verify_trust_list(token, root.public, now=NOW)
    assert err.value.reason == "trust_list_malformed"


# -- status lists ---------------------------------------------------------------------------------------

def _status_list() -> StatusList:
    status = StatusList(bits=2, size=64)
    status.set(5, 1)
    return status


def test_status_lists_signed_with_sm2_verify_in_both_forms_and_only_as_sm2():
    common = {"subject_uri": "https://hub.example/status/1", "issued_at": NOW, "expires_at": NOW + 600, "ttl": 300}
    cwt = sign_status_list_cwt(_status_list(), signing_key=SM2_ISSUER, kid=SM2_ISSUER.public.short_kid, alg="SM2",
                               **common)
    token = sign_status_list_jwt(_status_list(), signing_key=SM2_ISSUER, kid=SM2_ISSUER.kid, alg="SM2", **common)
    for verify, signed in ((verify_status_list_cwt, cwt), (verify_status_list_jwt, token)):
        assert verify(signed, public_key=SM2_ISSUER.public, alg="SM2", now=NOW).status_list.get(5) == 1
        with pytest.raises(StatusListError) as err:
            verify(signed, public_key=ES_ISSUER.public, alg="ES256", now=NOW)
        assert err.value.reason in ("status_list_alg", "status_list_signature")
        with pytest.raises(StatusListError):
            verify(signed, public_key=keys.generate("SM2").public, alg="SM2", now=NOW)
