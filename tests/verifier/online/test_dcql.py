"""DCQL (OpenID4VP 1.0 §6, §7): parsing refuses what we cannot honour, paths select as §7.1 says, and matching
refuses Disclosures beyond the query and answers that satisfy no claim set. Property tests for the parser."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.online import OnlineError, parse_dcql
from verifier.online.dcql import check_disclosed, select

from .world import QUERY


def query(**changes):
    q = copy.deepcopy(QUERY)
    q["credentials"][0].update(changes)
    return q


def test_the_demo_query_parses_and_round_trips():
    parsed = parse_dcql(QUERY)
    assert parse_dcql(parsed.to_json()) == parsed
    cq = parsed.credential("licence")
    assert cq.required == {"name", "classes", "until"}
    assert cq.options[0] == ("name", "classes", "until", "address")


@pytest.mark.parametrize("bad", [
    None, [], {}, {"credentials": []}, {"credentials": QUERY["credentials"], "credential_sets": []},
    query(format="mso_mdoc"), query(format="jwt_vc_json"), query(multiple=True),
    query(require_cryptographic_holder_binding=False), query(trusted_authorities=[]), query(meta={}),
    query(meta={"vct_values": []}), query(meta={"vct_values": [1]}), query(id="bad id!"), query(id=""),
    query(claims=[]), query(claims=[{"path": []}]), query(claims=[{"path": [-1]}]), query(claims=[{"path": [True]}]),
    query(claims=[{"path": [None]}]), query(claims=[{"path": ["a"] * 9}]), query(claims=[{"path": [1.5]}]),
    query(claims=[{"id": "a", "path": ["x"]}, {"id": "a", "path": ["y"]}]),
    query(claim_sets=[["nope"]]), query(claim_sets=[]), query(claim_sets=[[]]),
    query(claims=[{"path": ["x"], "values": []}]), query(claims=[{"path": ["x"], "values": [{"a": 1}]}]),
    query(claims=[{"path": ["x"], "intent_to_retain": True}]),
    {"credentials": [QUERY["credentials"][0], QUERY["credentials"][0]]},
])
def test_queries_we_cannot_honour_are_refused(bad):
    with pytest.raises(OnlineError) as caught:
        parse_dcql(bad)
    assert caught.value.reason == "dcql_invalid"


def test_claims_path_pointers_select_as_section_7_says():
    claims = {"name": "张三", "vehicle_classes": ["C1", "D"], "age_equal_or_over": {"18": True}, "n": [{"a": 1}, {"a": 2}]}
    assert select(("name",), claims) == ["张三"]
    assert select(("vehicle_classes", None), claims) == ["C1", "D"]
    assert select(("vehicle_classes", 1), claims) == ["D"]
    assert select(("vehicle_classes", 5), claims) == []
    assert select(("age_equal_or_over", "18"), claims) == [True]
    assert select(("n", None, "a"), claims) == [1, 2]
    assert select(("name", "x"), claims) == []  # a string step into a string selects nothing
    assert select(("missing",), claims) == []


def test_disclosures_beyond_the_query_and_missing_claims():
    cq = parse_dcql(QUERY).credential("licence")
    claims = {"name": "张三", "vehicle_classes": ["C1"], "valid_until": "2030-05-01"}
    places = [("name",), ("vehicle_classes",), ("vehicle_classes", 0), ("valid_until",)]
    check_disclosed(cq, claims, places)  # the smaller claim set: fine
    with pytest.raises(OnlineError) as extra:
        check_disclosed(cq, {**claims, "birth_date": "1990-03-07"}, [*places, ("birth_date",)])
    assert extra.value.reason == "claims_not_requested"
    with pytest.raises(OnlineError) as missing:
        check_disclosed(cq, {"name": "张三", "valid_until": "2030"}, [("name",), ("valid_until",)])
    assert missing.value.reason == "claim_missing"


def test_values_constrain_what_is_accepted():
    cq = parse_dcql(query(claims=[{"id": "adult", "path": ["age_equal_or_over", "18"], "values": [True]}],
                          claim_sets=None)).credential("licence")
    check_disclosed(cq, {"age_equal_or_over": {"18": True}}, [("age_equal_or_over",), ("age_equal_or_over", "18")])
    with pytest.raises(OnlineError) as caught:
        check_disclosed(cq, {"age_equal_or_over": {"18": False}}, [("age_equal_or_over",), ("age_equal_or_over", "18")])
    assert caught.value.reason == "claim_value"
    with pytest.raises(OnlineError) as other:  # a sibling of the asked member is beyond the query
        check_disclosed(cq, {"age_equal_or_over": {"18": True, "21": True}},
                        [("age_equal_or_over",), ("age_equal_or_over", "18"), ("age_equal_or_over", "21")])
    assert other.value.reason == "claims_not_requested"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=20)


@given(json_values)
def test_any_json_is_a_query_or_a_dcql_invalid(value):
    try:
        parse_dcql(value)
    except OnlineError as exc:
        assert exc.reason == "dcql_invalid"


@given(st.dictionaries(st.sampled_from(["id", "format", "meta", "claims", "claim_sets", "multiple"]), json_values))
def test_any_credential_query_shape_is_handled(members):
    try:
        parse_dcql({"credentials": [members]})
    except OnlineError as exc:
        assert exc.reason == "dcql_invalid"
