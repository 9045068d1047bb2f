"""Claim validation before signing: the examples pass, each single bad field is named, fuzzing never escapes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.catalogue import licence_type
from issuer.errors import ValidationError
from issuer.validation import VEHICLE_CLASSES, age_over_18, validate_claims
from tests.conftest import examples

FAST = settings(max_examples=examples(200), deadline=None)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TYPES = ("driving-licence", "resident-id", "business-licence")


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", TYPES)
def test_examples_pass(name: str) -> None:
    raw = example(name)
    claims = validate_claims(licence_type(name), raw)
    assert set(claims) == set(raw)
    for key, value in raw.items():
        if isinstance(claims[key], dt.date):
            assert claims[key] == dt.date.fromisoformat(value)
        else:
            assert claims[key] == value


def test_examples_folder_has_every_type() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.json")} >= set(TYPES)


def test_dates_become_dates_and_vehicle_classes_are_ordered_nationally() -> None:
    raw = example("driving-licence") | {"vehicle_classes": ["C1", "A1", "B2"]}
    claims = validate_claims(licence_type("driving-licence"), raw)
    assert claims["valid_from"] == dt.date(2020, 5, 1)
    assert claims["vehicle_classes"] == ["A1", "B2", "C1"]
    assert validate_claims(licence_type("driving-licence"), raw | {"vehicle_classes": "C1, A1"})["vehicle_classes"] \
        == ["A1", "C1"]


def _with(ltype: str, /, **changes) -> dict:
    return example(ltype) | changes


def _without(ltype: str, field: str) -> dict:
    raw = example(ltype)
    del raw[field]
    return raw


def _bump_last_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last in "9X" else str(int(last) + 1))


DRIVING_ID = example("driving-licence")["id_number"]
RESIDENT_ID = example("resident-id")["id_number"]
USCC = example("business-licence")["uscc"]

BAD = [
    ("driving-licence", _with("driving-licence", id_number=_bump_last_digit(DRIVING_ID)), "id_number"),
    ("resident-id", _with("resident-id", id_number=_bump_last_digit(RESIDENT_ID)), "id_number"),
    ("resident-id", _with("resident-id", id_number=RESIDENT_ID[:-1]), "id_number"),
    ("driving-licence", _with("driving-licence", birth_date="1990-03-08"), "birth_date"),
    ("resident-id", _with("resident-id", birth_date="1985-06-13"), "birth_date"),
    ("driving-licence", _with("driving-licence", sex="女"), "sex"),
    ("resident-id", _with("resident-id", sex="男"), "sex"),
    ("resident-id", _with("resident-id", sex="F"), "sex"),
    ("business-licence", _with("business-licence", uscc=USCC[:-1] + ("M" if USCC[-1] != "M" else "N")), "uscc"),
    ("business-licence", _with("business-licence", uscc=USCC[:-1]), "uscc"),
    ("driving-licence", _with("driving-licence", valid_from="2020/05/01"), "valid_from"),
    ("driving-licence", _with("driving-licence", valid_from="20200501"), "valid_from"),
    ("driving-licence", _with("driving-licence", first_issue_date="2010-5-1"), "first_issue_date"),
    ("driving-licence", _with("driving-licence", valid_until="2030-02-30"), "valid_until"),
    ("driving-licence", _with("driving-licence", valid_until=20300501), "valid_until"),
    ("business-licence", _with("business-licence", established_on="2018-04-20T00:00:00"), "established_on"),
    ("resident-id", _with("resident-id", birth_date="07/03/1990"), "birth_date"),
    ("driving-licence", _with("driving-licence", vehicle_classes=["Z9"]), "vehicle_classes"),
    ("driving-licence", _with("driving-licence", vehicle_classes=["C1", "Z9"]), "vehicle_classes"),
    ("driving-licence", _with("driving-licence", vehicle_classes=[]), "vehicle_classes"),
    ("driving-licence", _with("driving-licence", vehicle_classes=["C1", "C1"]), "vehicle_classes"),
    ("driving-licence", _with("driving-licence", vehicle_classes=[1]), "vehicle_classes"),
    ("driving-licence", _with("driving-licence", valid_from="2030-05-01", valid_until="2020-05-01"), "valid_until"),
    ("resident-id", _with("resident-id", valid_until="2015-06-11"), "valid_until"),
    ("driving-licence", _with("driving-licence", colour="blue"), "colour"),
    ("driving-licence", _with("driving-licence", age_over_18=True), "age_over_18"),
    ("business-licence", _with("business-licence", sex="男"), "sex"),
    ("driving-licence", _without("driving-licence", "address"), "address"),
    ("resident-id", _without("resident-id", "ethnicity"), "ethnicity"),
    ("business-licence", _without("business-licence", "uscc"), "uscc"),
    ("driving-licence", _with("driving-licence", name=""), "name"),
    ("driving-licence", _with("driving-licence", name="   "), "name"),
    ("driving-licence", _with("driving-licence", name="张\n三"), "name"),
    ("driving-licence", _with("driving-licence", name="张" * 201), "name"),
    ("business-licence", _with("business-licence", address=["x"]), "address"),
]


@pytest.mark.parametrize(("name", "raw", "field"), BAD, ids=[f"{n}:{f}:{i}" for i, (n, _, f) in enumerate(BAD)])
def test_single_bad_field_is_named(name: str, raw: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_claims(licence_type(name), raw)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")


@pytest.mark.parametrize("raw", [None, [], "claims", 3])
def test_non_object_is_refused(raw) -> None:
    with pytest.raises(ValidationError) as info:
        validate_claims(licence_type("driving-licence"), raw)
    assert info.value.field == "claims"


def test_every_listed_vehicle_class_is_accepted() -> None:
    for vclass in VEHICLE_CLASSES:
        claims = validate_claims(licence_type("driving-licence"), _with("driving-licence", vehicle_classes=[vclass]))
        assert claims["vehicle_classes"] == [vclass]


def test_age_over_18() -> None:
    assert age_over_18(dt.date(2000, 6, 1), dt.date(2018, 6, 1))
    assert not age_over_18(dt.date(2000, 6, 1), dt.date(2018, 5, 31))
    assert not age_over_18(dt.date(2000, 2, 29), dt.date(2018, 2, 28))
    assert age_over_18(dt.date(2000, 2, 29), dt.date(2018, 3, 1))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


@FAST
@given(st.sampled_from(TYPES), st.dictionaries(st.text(max_size=20), JSON, max_size=12))
def test_arbitrary_json_objects_raise_only_validation_error(name: str, raw: dict) -> None:
    try:
        result = validate_claims(licence_type(name), raw)
    except ValidationError as exc:
        assert exc.field in raw or exc.field in licence_type(name).claim_names
    else:
        assert isinstance(result, dict)


@FAST
@given(st.sampled_from(TYPES), st.data())
def test_near_valid_objects_raise_only_validation_error(name: str, data) -> None:
    """Every claim present, each either its example value or an arbitrary JSON value, so cross-checks run."""
    raw = {
        key: data.draw(st.just(value) | JSON | st.text(alphabet="0123456789X-", max_size=20), label=key)
        for key, value in example(name).items()
    }
    try:
        result = validate_claims(licence_type(name), raw)
    except ValidationError as exc:
        assert exc.field in raw
    else:
        assert set(result) == set(raw)


def test_week_and_ordinal_dates_are_refused():
    import json
    from pathlib import Path

    from credentials import licence_type
    from issuer.errors import ValidationError as ValidationErr
    from issuer.validation import validate_claims as _validate

    raw = json.loads((Path(__file__).resolve().parents[2] / "examples" / "driving-licence.json").read_text())
    for bad in ("2030-W18-3", "2030-121", "２０３０-05-01"):
        with pytest.raises(ValidationErr) as err:
            _validate(licence_type("driving-licence"), {**raw, "valid_until": bad})
        assert err.value.field == "valid_until"


_DIVISIONS = ("110101", "110105", "440304", "310104", "990101", "110199", "659001", "000000")


@settings(max_examples=examples(300), deadline=None)
@given(division=st.sampled_from(_DIVISIONS), year=st.integers(1850, 2030), month=st.integers(0, 13),
       day=st.integers(0, 32), seq=st.integers(0, 999), tail=st.sampled_from(["", "X", "0", "check", "check-x"]))
def test_resident_id_agrees_with_stdnum(division, year, month, day, seq, tail):
    """The cached validator accepts and refuses exactly what ``stdnum.cn.ric.validate`` does (same error class)."""
    from stdnum.cn import ric

    from issuer.validation import resident_id
    body = f"{division}{year:04d}{month:02d}{day:02d}{seq:03d}"
    check = ric.calc_check_digit(body + "0")
    number = body + {"check": check, "check-x": check.lower()}.get(tail, tail)

    def outcome(validate):
        try:
            return validate(number)
        except Exception as exc:
            return type(exc).__name__
    assert outcome(resident_id) == outcome(ric.validate)
