"""Counter profiles (issue 11): each shows the clerk what they compare with the person or the ID card, no more."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials.words import CLAIM_LABELS
from verifier.display import present
from verifier.pipeline import Decision
from verifier.profiles import DEFAULT_PROFILE, PROFILES, UnknownProfile, mask_id_number, profile, shown_claims

PASSED = ("decode", "parse", "trust_list", "issuer_key", "issuer_signature")
RESIDENT = {"name": "张三", "sex": "男", "ethnicity": "汉", "birth_date": "1990-03-07", "address": "北京市东城区东长安街1号",
            "id_number": "110101199003071233", "issuing_authority": "北京市公安局东城分局", "valid_from": "2018-03-07",
            "valid_until": "2038-03-07"}
DRIVING = {"name": "欧阳娜娜", "id_number": "110101199003071233", "licence_number": "110101199003071233",
           "vehicle_classes": ["C1"], "address": "北京市东城区东长安街1号", "valid_until": "2030-05-01"}


def display(claims: dict, licence: str, name: str | None, valid: bool = True, fetched: dict | None = None) -> dict:
    decision = Decision(valid, () if valid else ("revoked",), licence_type=licence, view="full",
                        issuer={"id": "x", "name": "x", "region": "110000"}, claims=claims, presentation_age=1,
                        checks_passed=PASSED)
    return present(decision, prof=profile(name), fetched=fetched)


def rows(out: dict) -> dict:
    return {c["name"]: c["value"] for c in out["display"]["claims"]}


def test_the_default_is_entrance():
    assert DEFAULT_PROFILE == "entrance" and profile(None) is PROFILES["entrance"] and profile("") is PROFILES["entrance"]
    with pytest.raises(UnknownProfile):
        profile("admin")


def test_entrance_masks_the_name_and_shows_no_id_number_address_or_licence_facts():
    out = display(RESIDENT, "resident-id", "entrance")
    assert rows(out) == {"name": "张*", "valid_from": "2018-03-07", "valid_until": "2038-03-07"}
    assert out["claims"] == {"name": "张*", "valid_from": "2018-03-07", "valid_until": "2038-03-07"}, \
        "what the page's data holds is what the screen shows"
    assert "110101" not in str(out) and "东长安街" not in str(out)
    driving = display(DRIVING, "driving-licence", "entrance")
    assert rows(driving) == {"name": "欧**娜", "valid_until": "2030-05-01"}


def test_licence_check_full_name_licence_facts_id_number_masked_no_address():
    out = display(DRIVING, "driving-licence", "licence")
    assert rows(out) == {"name": "欧阳娜娜", "id_number": "110101********1233", "licence_number": "110101********1233",
                         "vehicle_classes": "C1", "valid_until": "2030-05-01"}
    assert "110101199003071233" not in str(out) and "东长安街" not in str(out)


def test_identity_counter_full_identity():
    out = display(RESIDENT, "resident-id", "identity")
    assert rows(out) == {**RESIDENT}
    assert out["display"]["profile"] == {"name": "identity", "zh": "政务窗口 · 身份核验",
                                         "en": "government counter · identity check"}


def test_health_code_colour_at_every_profile():
    code = {"name": "张三丰", "id_number": "110101199003071233", "colour": "red", "reason": "密接", "region": "110105"}
    for name, shown in (("entrance", "张*丰"), ("licence", "张三丰"), ("identity", "张三丰")):
        out = display(code, "health-code", name)
        assert out["display"]["health"]["code"] == "red" and out["display"]["health"]["reason"] == "密接"
        assert rows(out)["name"] == shown
    assert "id_number" not in rows(display(code, "health-code", "entrance"))


def test_a_proxy_is_named_as_the_profile_masks_names():
    code = {"name": "张三丰", "colour": "green", "shown_by": "李四光", "proxy": True}
    assert display(code, "health-code", "entrance")["display"]["proxy"]["by"] == "李*光"
    assert display(code, "health-code", "identity")["display"]["proxy"]["by"] == "李四光"


def test_a_business_licence_keeps_the_entity_name_and_masks_the_person():
    claims = {"name": "北京通办科技有限公司", "legal_representative": "李四光", "uscc": "91110000MA01ABCD2X",
              "address": "北京市海淀区"}
    assert rows(display(claims, "business-licence", "entrance")) == {
        "name": "北京通办科技有限公司", "legal_representative": "李*光", "uscc": "91110000MA01ABCD2X"}


@pytest.mark.parametrize(("value", "masked"), [
    ("110101199003071233", "110101********1233"), ("11010119900307123X", "110101********123X"),
    ("110101900307123", "110101*****7123"), ("AB12", "A**2"), ("abc", "***"), ("", ""),
])
def test_mask_id_number(value, masked):
    assert mask_id_number(value) == masked


@given(st.text(max_size=40))
def test_a_masked_id_number_never_shows_the_middle(value):
    masked = mask_id_number(value)
    stripped = value.strip()
    assert len(masked) == len(stripped)
    if len(stripped) >= 4:
        assert masked != stripped and "*" in masked


def test_fetched_licence_portrait_only_at_the_identity_counter_and_only_when_valid():
    fetched = {"ok": True, "claims": {**RESIDENT}, "portrait": "/9j/AAAA", "elicence_id": "x"}
    at_identity = display({"name": "张三", "id_number": RESIDENT["id_number"]}, "resident-id", "identity", fetched=fetched)
    f = at_identity["display"]["fetched"]
    assert f["portrait"] == "data:image/jpeg;base64,/9j/AAAA" and {c["name"] for c in f["claims"]} == set(RESIDENT)
    assert [c["name"] for c in f["claims"]][:3] == ["name", "sex", "ethnicity"], "in the catalogue's order"
    at_licence = display({"name": "张三"}, "resident-id", "licence", fetched=fetched)["display"]["fetched"]
    assert at_licence["portrait"] is None and "110101********1233" in str(at_licence)
    assert display({"name": "张三"}, "resident-id", "identity", valid=False, fetched=fetched)["display"]["fetched"] is None
    odd = display({"name": "张三"}, "resident-id", "identity", fetched={**fetched, "portrait": 'x" onerror="alert(1)'})
    assert odd["display"]["fetched"]["portrait"] is None, "only base64 goes into the data: URL"
    refused = display({"name": "张三"}, "resident-id", "identity", fetched={"ok": False, "code": "handle_used"})
    assert refused["display"]["fetched"]["ok"] is False and "已被使用" in refused["display"]["fetched"]["zh"]


@given(st.dictionaries(st.sampled_from([*CLAIM_LABELS, "other"]), st.text(max_size=20) | st.lists(st.text(max_size=5))),
       st.sampled_from(sorted(PROFILES)), st.sampled_from(["resident-id", "driving-licence", "business-licence", None]))
def test_shown_claims_never_adds_and_hides_id_numbers_at_the_entrance(claims, name, licence):
    out = shown_claims(claims, licence, profile(name))
    assert set(out) <= set(claims)
    if name == "entrance":
        assert not {"id_number", "licence_number", "address", "birth_date"} & set(out)
    if name != "identity":
        assert "address" not in out
