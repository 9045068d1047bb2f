"""Whatever a user types, the command line answers with a verdict or one line and exit 2: never a traceback."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.wiring import main
from tests.conftest import examples

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)
CLAIM_NAMES = ["name", "sex", "birth_date", "id_number", "address", "licence_number", "vehicle_classes",
               "first_issue_date", "valid_from", "valid_until", "issuing_authority"]


def _clean(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


SLOW = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(qr=st.text(max_size=300) | st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=300)
       .map(lambda s: "TB1:" + s))
def test_verify_any_text(tmp_path_factory, qr):
    cache = tmp_path_factory.getbasetemp() / "prop-cache"
    cache.mkdir(exist_ok=True)
    result = CliRunner().invoke(main, ["verify", "--cache", str(cache), "--", qr])
    _clean(result)
    if qr.strip():
        assert result.exit_code == 1, result.output
        assert json.loads(result.output)["valid"] is False


@SLOW
@given(claims=st.dictionaries(st.sampled_from(CLAIM_NAMES + ["extra"]), json_values, max_size=12) | json_values)
def test_issue_any_claims_file(tmp_path_factory, claims):
    base = tmp_path_factory.getbasetemp()
    data, wallet = base / "prop-data", base / "prop-wallet"
    if not (data / "trust-list.jwt").exists():
        CliRunner().invoke(main, ["init", "--data", str(data)])
        CliRunner().invoke(main, ["wallet", "init", "--wallet", str(wallet)])
    path = base / "claims.json"
    path.write_text(json.dumps(claims, ensure_ascii=False))
    result = CliRunner().invoke(main, ["issue", "driving-licence", "--data", str(data), "--wallet", str(wallet),
                                       "--claims", str(path)])
    _clean(result)
    assert result.exit_code == 2 and result.output.count("\n") <= 4, result.output
