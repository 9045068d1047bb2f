"""Issue 8 §11 and §13: a reason for every colour but green; staff change only citizens of their authority's region.

Pure rules (``issuer.health``) with hypothesis, then ``HealthDesk.set_status`` on SQLite and PostgreSQL: a
refused change leaves no status row, no audit row and no re-issued code.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import keys
from issuer import health
from issuer.errors import NotAuthorisedError, ValidationError
from issuer.health import OutOfScope
from tests.issuer.conftest import LI, WANG, ZHANG, ZHAO


# -- reason required ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("colour", ["yellow", "red", " RED "])
@pytest.mark.parametrize("reason", [None, "", "   ", "无异常", " 无异常 "])
def test_yellow_and_red_need_a_reason(colour, reason):
    with pytest.raises(ValidationError, match="reason: (黄|红)码必须填写原因 / a (yellow|red) code needs a reason"):
        health.parse_colour_and_reason(colour, reason)


def test_green_needs_none_and_a_reason_is_kept():
    assert health.parse_colour_and_reason("green", "") == ("green", "无异常")
    assert health.parse_colour_and_reason("green", None) == ("green", "无异常")
    assert health.parse_colour_and_reason("Yellow", " 行程 / travel ") == ("yellow", "行程 / travel")


@given(st.one_of(st.none(), st.integers(), st.text(max_size=20)), st.one_of(st.none(), st.integers(),
                                                                              st.text(max_size=250)))
def test_colour_and_reason_parser_never_lets_a_restriction_through_without_a_reason(colour, reason):
    try:
        c, r = health.parse_colour_and_reason(colour, reason)
    except ValidationError:
        return
    assert c in health.COLOURS and r and len(r) <= 200
    assert c == "green" or r != "无异常"


def test_set_status_refuses_yellow_or_red_without_a_reason(health_world):
    desk, now = health_world.desk, int(time.time())
    device = keys.generate()
    code = desk.fetch(ZHANG, "张三", device.public, now=now)
    for colour in ("yellow", "red"):
        with pytest.raises(ValidationError, match="needs a reason"):
            desk.set_status(ZHANG, colour, "", actor="staff:t", now=now)
    assert desk.status(ZHANG).colour == "green" and desk.audit(ZHANG) == []
    assert desk.fetch(ZHANG, "张三", device.public, now=now).elicence_id == code.elicence_id  # nothing re-issued


# -- region scope -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "area", "inside"), [
    ("110105", "110000", True), ("110000", "110000", True), ("110105", "110100", True), ("110105", "110105", True),
    ("440304", "110000", False), ("120101", "110000", False), ("110200", "110100", False), ("310104", "110000", False),
    ("11010", "110000", False), ("11010x", "110000", False), ("", "110000", False),
])
def test_region_within_follows_the_gb_t_2260_hierarchy(code, area, inside):
    assert health.region_within(code, area) is inside


@given(st.text(alphabet="0123456789", min_size=6, max_size=6), st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_region_within_is_a_prefix_of_the_area_digits(code, area):
    if health.region_within(code, area):
        assert code.startswith(health.region_prefix(area))
        assert health.region_within(code, code)


def test_a_cross_region_change_is_refused_and_changes_nothing(health_world):
    """The attack: an officer of bj-health (110000) sets a Shenzhen resident (440304...) red."""
    desk, now = health_world.desk, int(time.time())
    device = keys.generate()
    code = desk.fetch(LI, "李四", device.public, now=now)  # the row exists (region: the authority's), a code bound
    with pytest.raises(OutOfScope, match="440304 is not within 110000") as refused:
        desk.set_status(LI, "red", "密接 / close contact", actor="staff:officer", now=now)
    assert isinstance(refused.value, NotAuthorisedError) and refused.value.reason == "out_of_region"
    assert "不属于北京市卫生健康委员会的辖区" in str(refused.value)
    assert desk.status(LI).colour == "green" and desk.audit(LI) == []
    assert desk.fetch(LI, "李四", device.public, now=now).elicence_id == code.elicence_id
    with pytest.raises(OutOfScope):  # no row yet: the same
        desk.set_status(WANG, "red", "密接 / close contact", actor="staff:officer", now=now)
    assert desk.status(WANG) is None
    with pytest.raises(OutOfScope):
        desk.require_in_scope(LI)
    desk.require_in_scope(ZHAO)


def test_a_change_cannot_move_a_citizen_out_of_or_into_the_region(health_world):
    desk, now = health_world.desk, int(time.time())
    with pytest.raises(OutOfScope, match="440304"):  # stamping another region's code on a Beijing resident
        desk.set_status(ZHAO, "yellow", "行程 / travel", actor="staff:o", now=now, region="440304")
    assert desk.status(ZHAO) is None
    desk.set_status(ZHAO, "yellow", "行程 / travel", actor="staff:o", now=now, region="110105")  # a district: fine
    assert desk.status(ZHAO).region == "110105"
    # an operator moved the citizen's status to Shenzhen: Beijing staff no longer change it
    desk.set_status(ZHAO, "yellow", "转出 / moved", actor="operator:root", now=now, region="440304", operator=True)
    with pytest.raises(OutOfScope, match="440304"):
        desk.set_status(ZHAO, "green", "", actor="staff:o", now=now)
    with pytest.raises(OutOfScope):
        desk.require_in_scope(ZHAO)
    assert desk.status(ZHAO).colour == "yellow" and len(desk.audit(ZHAO)) == 2


def test_an_operator_override_is_audited_as_such(health_world):
    desk, now = health_world.desk, int(time.time())
    result = desk.set_status(LI, "red", "阳性 / positive", actor="operator:root", now=now, operator=True)
    assert result.status.colour == "red" and desk.audit(LI)[-1].actor == "operator:root"
    with pytest.raises(ValidationError, match="needs a reason"):  # the override lifts the region, not the reason
        desk.set_status(LI, "yellow", "", actor="operator:root", now=now, operator=True)
