"""``tongban demo --regions`` and ``tongban init --region`` through the command line (click's CliRunner).

The two-region walk-through runs once for the module: two hubs, mutual recognition, a Shanghai licence and
health code valid at a Beijing counter (which names 上海市 (310000) and the authority), the licence revoked in
Shanghai, recognition refreshed in Beijing, the licence refused.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.regions import REGIONS, RegionError, hub_region
from issuer.hub import BEIJING_AUTHORITIES, Hub, demo_authorities
from service.wiring import main
from tests.conftest import examples


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo-regions")
    return base, run("demo", "--regions", "--dir", str(base))


def test_the_two_region_walk_through(walk):
    base, out = walk
    screens = [line for line in out.splitlines() if line.startswith("counter screen:")]
    assert len(screens) == 3, out
    licence, health, revoked = screens
    recognised = "外地签发 · 互通互认"
    assert "有效 / VALID" in licence and "上海市公安局交通警察总队 · 上海市 (310000)" in licence and recognised in licence
    assert "有效 / VALID" in health and "上海市卫生健康委员会 · 上海市 (310000)" in health
    assert "无效 / NOT VALID (revoked)" in revoked and "上海市 (310000)" in revoked
    for step in ("init --data", "--region 310000", "hub recognise", "issue driving-licence", "verifier sync",
                 "revoke", "hub refresh"):
        assert f"$ tongban {step}" in out or step in out, step
    assert "recognised 4 authorities of region 上海市 (310000)" in out
    assert "recognised 4 authorities of region 北京市 (110000)" in out
    bj = Hub(base / "beijing" / "data")
    assert bj.region() == "110000" and [p.region for p in bj.peers()] == ["310000"]
    peers = run("hub", "peers", "--data", str(base / "beijing" / "data"))
    assert "上海市 (310000)" in peers and "recognised until" in peers


def test_init_region_names_the_hubs_authorities_and_is_kept(walk):
    base, _ = walk
    sh = Hub(base / "shanghai" / "data")
    assert sh.region() == "310000"
    assert [a.id for a in sh.authorities()][0] == "sh-traffic-police"
    out = run("init", "--data", str(base / "shanghai" / "data"), "--region", "320000", code=2)
    assert "is the hub of region 310000, not 320000" in out
    again = run("init", "--data", str(base / "shanghai" / "data"))  # no --region: the directory's own
    assert "bj-" not in again and Hub(base / "shanghai" / "data").region() == "310000"


@pytest.mark.parametrize(("code", "words"), [
    ("310100", "inside 上海市 (310000): a hub serves a provincial-level division, use 310000"),
    ("990000", "not a GB/T 2260 provincial-level division"),
    ("810000", "not served by tongban hubs"),
    ("31000", "not a GB/T 2260 division code"),
    ("３１００００", "not a GB/T 2260 division code"),  # full-width digits are digits to str.isdigit, not to us
    ("-10000", "not a GB/T 2260 division code"),
])
def test_init_refuses_a_code_that_is_not_a_provincial_division(tmp_path, code, words):
    out = run("init", "--data", str(tmp_path / "hub"), "--region", code, code=2)
    assert words in out and "Traceback" not in out
    assert not (tmp_path / "hub").exists()  # refused before anything is written


def test_every_region_gets_distinct_authorities():
    seen_ids, seen_codes = set(), set()
    assert len(REGIONS) == 31
    for region in REGIONS:
        authorities = demo_authorities(region)
        assert [a.licence_types for a in authorities] == [a.licence_types for a in BEIJING_AUTHORITIES]
        for a in authorities:
            assert a.region == region.code and a.id.startswith(region.short + "-")
            assert a.issuer_code[2:8] == region.code and a.name.startswith(region.name)
            assert a.id not in seen_ids and a.issuer_code not in seen_codes
            seen_ids.add(a.id)
            seen_codes.add(a.issuer_code)
    assert demo_authorities(hub_region("110000")) == BEIJING_AUTHORITIES  # unchanged for existing directories


@settings(max_examples=examples(60), deadline=None)
@given(st.one_of(st.text(max_size=8), st.from_regex(r"[0-9]{6}", fullmatch=True), st.integers(), st.none()))
def test_hub_region_accepts_only_the_31_codes(value):
    try:
        region = hub_region(value)
    except RegionError as exc:
        assert str(exc)
    else:
        assert region in REGIONS and region.code == value.strip()


def test_the_region_setting(tmp_path):
    from service.config import ConfigError, Settings

    assert Settings.from_env(tmp_path, env={"TONGBAN_REGION": "310000"}).region == "310000"
    with pytest.raises(ConfigError, match="TONGBAN_REGION"):
        Settings.from_env(tmp_path, env={"TONGBAN_REGION": "310100"})
    assert Settings.from_env(tmp_path, env={}).region == ""  # the directory's, else 110000
