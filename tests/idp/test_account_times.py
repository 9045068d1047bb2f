"""/account shows times as people in China read them: Beijing time, with the zone said (issue 11)."""

from idp.account_pages import beijing_time


def test_beijing_time_is_utc_plus_8_and_says_so():
    assert beijing_time(0) == "1970-01-01 08:00 北京时间 (UTC+8)"
    assert beijing_time(1_795_910_400) == "2026-11-29 08:00 北京时间 (UTC+8)"  # 2026-11-29 00:00 UTC
    assert beijing_time(1_795_910_400 - 8 * 3600 - 60) == "2026-11-28 23:59 北京时间 (UTC+8)"  # 15:59 UTC
    assert beijing_time(None) == "—"
