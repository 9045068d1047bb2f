"""Choosing a view: exactly one issued view per request, never a superset."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.catalogue import AGE_OVER_18, LICENCE_TYPES, licence_type
from tests.conftest import examples
from wallet.errors import DisclosureError
from wallet.presenter import choose_view

DRIVING = licence_type("driving-licence")
ALL_DRIVING = [v.name for v in DRIVING.views]


@pytest.mark.parametrize("ltype", LICENCE_TYPES, ids=lambda t: t.name)
def test_view_by_name(ltype) -> None:
    available = [v.name for v in ltype.views]
    for view in ltype.views:
        assert choose_view(ltype, [view.name], available) == view
        assert choose_view(ltype, [f"  {view.name} "], available) == view


@pytest.mark.parametrize("ltype", LICENCE_TYPES, ids=lambda t: t.name)
def test_view_by_claim_set_in_any_order(ltype) -> None:
    available = [v.name for v in ltype.views]
    for view in ltype.views:
        for order in itertools.islice(itertools.permutations(view.claims), 24):
            assert choose_view(ltype, list(order), available) == view


def test_no_request_means_full() -> None:
    assert choose_view(DRIVING, None, ALL_DRIVING).name == "full"
    assert choose_view(DRIVING, [], ALL_DRIVING).name == "full"
    assert choose_view(DRIVING, ["", "  "], ALL_DRIVING).name == "full"


def test_age_view_by_claim() -> None:
    assert choose_view(DRIVING, [AGE_OVER_18], ALL_DRIVING).name == "age"


def _refused(request, available=ALL_DRIVING) -> str:
    with pytest.raises(DisclosureError) as info:
        choose_view(DRIVING, request, available)
    return str(info.value)


def test_superset_of_a_view_is_refused_listing_options() -> None:
    message = _refused(["name", "vehicle_classes", "valid_from", "valid_until", "address"])
    for view in DRIVING.views:
        assert f"{view.name} = {','.join(view.claims)}" in message


def test_subset_of_a_view_is_refused() -> None:
    message = _refused(["name", "vehicle_classes"])
    assert "driving = name,vehicle_classes,valid_from,valid_until" in message


@pytest.mark.parametrize("request_", [["nope"], ["name", "nope"], ["identity"], ["basic"], ["uscc"]])
def test_unknown_names_and_claims_are_refused(request_) -> None:
    message = _refused(request_)
    assert "age = age_over_18" in message


def test_only_issued_views_are_offered() -> None:
    with pytest.raises(DisclosureError) as info:
        choose_view(DRIVING, ["age"], ["full", "driving"])
    message = str(info.value)
    assert "driving = " in message and "full = " in message and "age = " not in message
    with pytest.raises(DisclosureError):
        choose_view(DRIVING, [AGE_OVER_18], ["full"])
    with pytest.raises(DisclosureError):
        choose_view(DRIVING, None, ["age"])


@settings(max_examples=examples(200), deadline=None)
@given(st.sampled_from(LICENCE_TYPES), st.lists(st.text(max_size=15) | st.sampled_from(
    sorted({c.name for t in LICENCE_TYPES for c in t.claims} | {v.name for t in LICENCE_TYPES for v in t.views})),
    max_size=6), st.data())
def test_any_request_gives_an_exact_available_view_or_disclosure_error(ltype, request_, data) -> None:
    available = data.draw(st.sets(st.sampled_from([v.name for v in ltype.views])))
    try:
        view = choose_view(ltype, request_, available)
    except DisclosureError:
        return
    wanted = {r.strip() for r in request_ if r.strip()}
    assert view.name in available
    assert (not wanted and view.name == "full") or wanted == set(view.claims) or wanted == {view.name}
