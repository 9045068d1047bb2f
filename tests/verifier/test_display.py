"""What the counter screen shows: masked names, labels, health-code colours, the proxy marker."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.display import CLAIM_LABELS, mask_name, present, region_label
from verifier.pipeline import Decision

PASSED = ("decode", "parse", "trust_list", "issuer_key", "issuer_authorised", "key_window", "issuer_signature")
ISSUER = {"id": "bj-health", "name": "北京市卫生健康委员会", "region": "110000"}


def decision(valid=True, reasons=(), licence="health-code", claims=None, passed=PASSED) -> Decision:
    return Decision(valid=valid, reasons=tuple(reasons), licence_type=licence, view="full", issuer=ISSUER,
                    claims=claims or {}, presentation_age=3, checks_passed=passed)


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"), ("张三丰", "张*丰"), ("欧阳娜娜", "欧**娜"), ("王", "*"), ("", ""),
    ("阿卜杜热合曼·买买提", "阿********提"), (" 李四 ", "李*"),
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@given(st.text(min_size=3, max_size=30).filter(lambda s: s == s.strip()))
def test_a_masked_name_keeps_only_its_ends(name):
    masked = mask_name(name)
    assert len(masked) == len(name) and masked[0] == name[0] and masked[-1] == name[-1]
    assert set(masked[1:-1]) <= {"*"}


def test_names_of_people_are_masked_names_of_companies_are_not():
    d = present(decision(licence="business-licence", claims={"name": "北京通办科技有限公司", "legal_representative": "李四光"}))
    assert d["claims"] == {"name": "北京通办科技有限公司", "legal_representative": "李*光"}
    d = present(decision(licence="resident-id", claims={"name": "王小明", "id_number": "110105199003071239"}))
    assert d["claims"] == {"name": "王*明"}, "the default (entrance) counter shows no ID number"


@pytest.mark.parametrize(("colour", "zh", "en"), [
    ("green", "绿码 · 无异常", "Green · no anomaly"), ("yellow", "黄码", "Yellow"), ("red", "红码", "Red"),
    ("GREEN", "绿码", "Green"),
])
def test_health_colour_with_words(colour, zh, en):
    health = present(decision(claims={"name": "张三丰", "colour": colour}))["display"]["health"]
    assert health["code"] == colour.lower() and health["zh"].startswith(zh) and health["en"].startswith(en)


def test_an_invalid_health_code_never_shows_a_colour():
    d = present(decision(valid=False, reasons=("revoked",), claims={"colour": "green"}))["display"]
    assert d["health"] is None and d["verdict"] == "invalid" and d["reason"]["code"] == "revoked"


def test_unknown_colour_is_not_a_health_screen():
    assert present(decision(claims={"colour": "purple"}))["display"]["health"] is None


@pytest.mark.parametrize(("claims", "by", "for_"), [
    ({"on_behalf_of": "张小明"}, "", "张*明"), ({"proxy": True}, "", ""), ({"shown_by": "李四"}, "李*", ""),
])
def test_shown_on_behalf(claims, by, for_):
    d = present(decision(claims={"name": "张三丰", "colour": "green", **claims}))
    proxy = d["display"]["proxy"]
    assert proxy == {"zh": "代为出示", "en": "shown on behalf", "by": by, "for": for_}
    assert "张小明" not in str(d) and "李四" not in str(d), "proxies' names are masked too"


def test_no_proxy_marker_without_a_proxy_claim():
    assert present(decision(claims={"name": "张三", "colour": "green", "proxy": False}))["display"]["proxy"] is None


def test_health_code_claims_as_the_health_type_carries_them():
    """name, id_number, colour, reason, region, shown_by (examples/health-code.json)."""
    d = present(decision(claims={"name": "张三", "id_number": "110101199003071233", "colour": "yellow",
                                 "reason": "密接人员 / close contact", "region": "110000", "shown_by": "李四"}))
    display = d["display"]
    assert display["health"] == {"code": "yellow", "zh": "黄码 · 需核查", "en": "Yellow · check required",
                                 "advice_zh": "请按规定核查后放行", "advice_en": "Check as the rules require before admitting",
                                 "reason": "密接人员 / close contact", "region": "北京市 (110000)"}
    rows = {c["name"]: (c["zh"], c["value"]) for c in display["claims"]}
    assert "colour" not in rows and rows["region"] == ("地区", "北京市 (110000)") and rows["shown_by"] == ("代为出示人", "李*")
    assert rows["reason"][0] == "原因" and rows["name"][1] == "张*"
    green = present(decision(claims={"name": "张三", "colour": "green", "reason": ""}))["display"]
    assert green["health"]["reason"] == "" and {c["name"]: c["value"] for c in green["claims"]}["reason"] == "—"


def test_untrusted_credential_shows_no_type_issuer_or_claims():
    d = present(Decision(valid=False, reasons=("bad_signature",), licence_type="driving-licence", view="full",
                         issuer=ISSUER, claims={}, checks_passed=PASSED[:-1]))["display"]
    assert d["licence"] is None and d["issuer"] is None and d["claims"] == []
    assert d["reason"]["zh"].startswith("签发机关签名无效")


def test_valid_with_a_warning_says_so():
    d = present(decision(reasons=("status_unknown",), claims={"name": "张三"}))["display"]
    assert d["verdict"] == "valid" and d["warnings"][0]["code"] == "status_unknown"


def test_region_label():
    assert region_label("110000") == "北京市 (110000)" and region_label("310115") == "上海市 (310115)"
    assert region_label("990000") == "990000" and region_label(None) == ""


claim_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3), max_leaves=6)


@given(claims=st.dictionaries(st.sampled_from([*CLAIM_LABELS, "other", ""]) | st.text(max_size=10), claim_values,
                              max_size=8),
       valid=st.booleans(), licence=st.sampled_from(["driving-licence", "business-licence", "health-code", "x", None]),
       reasons=st.lists(st.text(max_size=12), max_size=2))
def test_any_claims_give_a_json_display(claims, valid, licence, reasons):
    out = present(decision(valid=valid, reasons=reasons, licence=licence, claims=claims))
    json.dumps(out)
    display = out["display"]
    assert display["verdict"] == ("valid" if valid else "invalid") and display["reason"]["zh"]
    assert all(isinstance(c["value"], str) for c in display["claims"])
    if display["health"] is not None:
        assert valid and display["health"]["code"] in ("green", "yellow", "red")


def test_a_health_code_screen_names_its_region():
    health = present(decision(claims={"name": "张三丰", "colour": "red", "reason": "密接", "region": "110105"}))
    assert health["display"]["health"]["region"] == "北京市 (110105)"
    assert present(decision(claims={"colour": "green"}))["display"]["health"]["region"] == ""


def test_another_regions_issuer_is_named_with_its_region_and_marked_recognised():
    from dataclasses import replace

    shanghai = {"id": "sh-health", "name": "上海市卫生健康委员会", "region": "310000", "recognised_until": 2**40}
    d = present(replace(decision(claims={"name": "张三", "colour": "green", "region": "310000"}), issuer=shanghai))
    assert d["display"]["issuer"]["name"] == "上海市卫生健康委员会"
    assert d["display"]["issuer"]["region"] == "上海市 (310000)"
    assert d["display"]["issuer"]["recognised"]["zh"] == "外地签发 · 互通互认"
    assert "recognised" not in present(decision())["display"]["issuer"]  # this region's own: no marker
    untrusted = replace(decision(passed=("decode", "parse")), issuer=shanghai)
    assert present(untrusted)["display"]["issuer"] is None  # nothing about the issuer before its signature holds


def test_a_revoked_code_shown_on_someones_behalf_says_the_family_authorisation_ended():
    proxy_code = {"name": "张三", "colour": "green", "shown_by": "李四"}
    shown = present(decision(valid=False, reasons=("revoked",), claims=proxy_code))["display"]["reason"]
    assert "授权已结束" in shown["zh"] and "family authorisation" in shown["en"] and "吊销" not in shown["zh"]
    own = present(decision(valid=False, reasons=("revoked",), claims={"name": "张三", "colour": "green"}))
    assert "吊销" in own["display"]["reason"]["zh"]  # the citizen's own code: revoked by the authority
    forged = present(decision(valid=False, reasons=("revoked",), claims=proxy_code, passed=("decode",)))
    assert "授权" not in forged["display"]["reason"]["zh"]  # unsigned claims choose no words
