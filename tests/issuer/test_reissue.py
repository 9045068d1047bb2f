"""A re-issue keeps the licence's serial and takes the next version of its e-licence identifier."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import keys
from credentials.elicence_id import parse_id
from issuer.errors import ValidationError
from tests.issuer.test_allocation import _world

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_replaces_keeps_serial_and_bumps_version(tmp_path):
    issuer = _world(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    claims = json.loads((EXAMPLES / "driving-licence.json").read_text())
    holder = keys.generate().public
    first = issuer.issue("driving-licence", claims, holder, now=int(time.time()))
    other = issuer.issue("driving-licence", claims, holder, now=int(time.time()))
    second = issuer.issue("driving-licence", claims, holder, now=int(time.time()), replaces=first.elicence_id)
    _, _, serial1, version1 = parse_id(first.elicence_id)
    _, _, serial2, version2 = parse_id(second.elicence_id)
    assert (serial2, version2) == (serial1, version1 + 1)
    assert parse_id(other.elicence_id)[2] != serial1
    assert second.status_idx not in (first.status_idx, other.status_idx)  # a status entry is never reused
    resident = json.loads((EXAMPLES / "resident-id.json").read_text())
    with pytest.raises(ValidationError):
        issuer.issue("resident-id", resident, holder, now=int(time.time()), replaces=first.elicence_id)
