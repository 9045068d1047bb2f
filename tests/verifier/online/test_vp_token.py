"""``verify_vp_token`` (OpenID4VP 1.0 §8.1, Appendix B.3.6) on real SD-JWT VC presentations, and every attack the
assignment names: wrong aud, another request's nonce, Disclosures beyond the query, a missing required claim, a
stale KB-JWT, a KB-JWT by another key than ``cnf``, a revoked or suspended licence, a licence of another type."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials.sdjwt import authority_iss, issue_sd_jwt_vc, present, split, vct_for
from credentials.status_list import INVALID, SUSPENDED
from keys import generate
from verifier.online import OnlineError, verify_vp_token

from .world import AUTHORITY, CLAIMS, DEVICE, HUB, NOW, TRUST, Statuses, answer, licence, request


def refused(token, req, *, status=None, now=NOW, trust=TRUST) -> str:
    with pytest.raises(OnlineError) as caught:
        verify_vp_token(token, request=req, trust=trust, status=status or Statuses(), now=now)
    return caught.value.reason


def test_a_selective_answer_verifies_with_exactly_the_asked_claims():
    req = request()
    status = Statuses()
    result = verify_vp_token(answer(req), request=req, trust=TRUST, status=status, now=NOW)
    got = result["licence"]
    assert got.claims == {"name": "张三", "vehicle_classes": ["C1", "D"], "valid_until": "2030-05-01"}
    assert got.licence_type == "driving-licence" and got.authority_id == "bj-traffic"
    assert got.authority_name == "北京市公安局公安交通管理局"
    assert status.asked == [("tbsl:bj-traffic/1", 7)]
    # the form-encoded text form (direct_post) is the same
    assert verify_vp_token(json.dumps(answer(req)), request=req, trust=TRUST, status=Statuses(), now=NOW)


def test_the_optional_claim_may_be_added():
    req = request()
    got = verify_vp_token(answer(req, names=("name", "vehicle_classes", "valid_until", "address")), request=req,
                          trust=TRUST, status=Statuses(), now=NOW)["licence"]
    assert got.claims["address"] == "北京市东城区"


def test_wrong_audience():
    req = request()
    assert refused(answer(req, aud="another-app"), req) == "kb_audience"


def test_a_presentation_made_for_another_request():
    first, second = request(), request()
    assert first.nonce != second.nonce and first.state != second.state
    assert refused(answer(first), second) == "kb_nonce"


def test_extra_disclosures_beyond_the_query():
    req = request()
    assert refused(answer(req, names=(*("name", "vehicle_classes", "valid_until"), "birth_date")), req) \
        == "claims_not_requested"
    assert refused(answer(req, names=(*("name", "vehicle_classes", "valid_until"), "age_equal_or_over.18")), req) \
        == "claims_not_requested"


def test_a_missing_required_claim():
    req = request()
    assert refused(answer(req, names=("name", "valid_until")), req) == "claim_missing"


def test_a_stale_or_future_kb_jwt():
    req = request()
    assert refused(answer(req, iat=NOW - 301 - 10), req) == "kb_stale"
    assert refused(answer(req, iat=NOW + 60), req) == "kb_stale"


def test_a_kb_jwt_by_another_key_than_cnf():
    req = request()
    assert refused(answer(req, holder=generate("ES256")), req) == "kb_invalid"


def test_a_presentation_without_key_binding():
    req = request()
    bare = present(licence(), ("name", "vehicle_classes", "valid_until"), holder_key=None)
    assert refused({"licence": [bare]}, req) == "kb_missing"


def test_revoked_suspended_and_unknown_status():
    req = request()
    assert refused(answer(req), req, status=Statuses({7: INVALID})) == "revoked"
    assert refused(answer(req), req, status=Statuses({7: SUSPENDED})) == "suspended"
    assert refused(answer(req), req, status=Statuses(missing=True)) == "status_unknown"


def test_a_status_list_of_another_authority_or_hub():
    req = request()
    other_list = licence(status_uri=HUB + "/status/bj-health/1")
    assert refused(answer(req, other_list), req) == "status_reference_invalid"
    elsewhere = licence(status_uri="https://evil.example/status/bj-traffic/1")
    assert refused(answer(req, elsewhere), req) == "status_reference_invalid"


def test_a_licence_signed_by_a_key_not_in_the_trust_list():
    req = request()
    assert refused(answer(req, licence(signer=generate("ES256"))), req) == "sd_jwt_unknown_key"


def test_a_licence_of_a_type_not_asked_for():
    req = request()
    vct = vct_for(HUB, "resident-id")
    forged = issue_sd_jwt_vc(CLAIMS, vct=vct, iss=authority_iss(HUB, "bj-traffic"), iat=NOW - 60, exp=NOW + 600,
                             holder_key=DEVICE.public, status_idx=1, status_uri=HUB + "/status/bj-traffic/1",
                             signer=AUTHORITY)
    assert refused(answer(req, forged), req) == "issuer_not_authorised"  # the authority may not issue it at all


def test_tampered_disclosures_and_sd_hash():
    req = request()
    shown = answer(req)["licence"][0]
    parts = split(shown)
    dropped = "~".join([parts.jwt, *parts.disclosures[:-1]]) + "~" + parts.kb_jwt  # sd_hash no longer covers it
    assert refused({"licence": [dropped]}, req) == "kb_sd_hash"


@pytest.mark.parametrize("token", [
    None, "", "null", "[]", "{}", '{"licence": "abc"}', '{"licence": []}', '{"licence": [1]}', "{bad json",
    '{"licence": ["a~b~c"]}', "NaN",
])
def test_malformed_vp_tokens(token):
    req = request()
    assert refused(token, req) in ("vp_token_malformed", "sd_jwt_malformed", "credential_missing")


def test_two_presentations_or_other_ids():
    req = request()
    one = answer(req)["licence"][0]
    assert refused({"licence": [one, one]}, req) == "vp_token_malformed"
    assert refused({"licence": [one], "extra": [one]}, req) == "credential_missing"
    assert refused({"other": [one]}, req) == "credential_missing"


def test_no_trust_list():
    req = request()
    assert refused(answer(req), req, trust=None) == "trust_unavailable"


@given(st.text(max_size=300) | st.dictionaries(st.text(max_size=10), st.lists(st.text(max_size=40), max_size=2)))
def test_any_input_is_a_typed_refusal(token):
    req = request()
    reason = refused(token, req)
    assert isinstance(reason, str) and reason
