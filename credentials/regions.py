"""The provincial-level divisions of GB/T 2260, with the short ids tongban gives their authorities.

A hub serves one provincial-level division (``tongban init --region 310000``); its demo authorities are named
after it (上海市公安局交通警察总队, ``sh-traffic-police``) and its counters show other regions' credentials with
the region's name (上海市 (310000)). The short ids are the ISO 3166-2:CN subdivision codes (since 2017), in lower
case: ``bj``, ``sh``, ``he`` (河北), ``ha`` (河南) ... The 31 divisions of the mainland can run a hub; 台湾,
香港 and 澳门 appear only so a counter can name a code from there.

``region_within`` is GB/T 2260's hierarchy by prefix: 310105 lies within 310100 and 310000.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    code: str  # GB/T 2260, six digits ending in 0000
    name: str  # 上海市
    short: str  # ISO 3166-2:CN, lower case: sh
    municipality: bool = False  # 直辖市: its departments are 市 bureaux (公安局), a province's are 厅

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"


_M = True
REGIONS: tuple[Region, ...] = (
    Region("110000", "北京市", "bj", _M), Region("120000", "天津市", "tj", _M), Region("130000", "河北省", "he"),
    Region("140000", "山西省", "sx"), Region("150000", "内蒙古自治区", "nm"), Region("210000", "辽宁省", "ln"),
    Region("220000", "吉林省", "jl"), Region("230000", "黑龙江省", "hl"), Region("310000", "上海市", "sh", _M),
    Region("320000", "江苏省", "js"), Region("330000", "浙江省", "zj"), Region("340000", "安徽省", "ah"),
    Region("350000", "福建省", "fj"), Region("360000", "江西省", "jx"), Region("370000", "山东省", "sd"),
    Region("410000", "河南省", "ha"), Region("420000", "湖北省", "hb"), Region("430000", "湖南省", "hn"),
    Region("440000", "广东省", "gd"), Region("450000", "广西壮族自治区", "gx"), Region("460000", "海南省", "hi"),
    Region("500000", "重庆市", "cq", _M), Region("510000", "四川省", "sc"), Region("520000", "贵州省", "gz"),
    Region("530000", "云南省", "yn"), Region("540000", "西藏自治区", "xz"), Region("610000", "陕西省", "sn"),
    Region("620000", "甘肃省", "gs"), Region("630000", "青海省", "qh"), Region("640000", "宁夏回族自治区", "nx"),
    Region("650000", "新疆维吾尔自治区", "xj"),
)
# Named on a counter's screen only: no tongban hub serves them.
OTHER_REGIONS: tuple[Region, ...] = (
    Region("710000", "台湾省", "tw"), Region("810000", "香港特别行政区", "hk"), Region("820000", "澳门特别行政区", "mo"),
)
DEFAULT_REGION = "110000"
_BY_CODE = {r.code: r for r in REGIONS + OTHER_REGIONS}
_HUBS = {r.code: r for r in REGIONS}


class RegionError(ValueError):
    """Not the code of a provincial-level division a hub can serve; the message says what would be."""


def hub_region(code: object) -> Region:
    """The division a hub serves, from its GB/T 2260 code; ``RegionError`` names what is wrong.

    Only the 31 mainland provincial-level codes are accepted: a hub and its authorities serve a whole province,
    so 310100 (a city of it) is refused with the province's code suggested, and 990000 as no division at all."""
    text = code.strip() if isinstance(code, str) else ""
    if len(text) != 6 or not text.isascii() or not text.isdigit():
        raise RegionError(f"{code!r} is not a GB/T 2260 division code: six digits, e.g. 310000 for 上海市")
    if text in _HUBS:
        return _HUBS[text]
    province = _HUBS.get(text[:2] + "0000")
    if province is not None:
        raise RegionError(f"{text} is a division inside {province.label}: a hub serves a provincial-level "
                          f"division, use {province.code}")
    if text[:2] + "0000" in _BY_CODE:
        raise RegionError(f"{text} is not served by tongban hubs (the 31 mainland provincial-level divisions are)")
    raise RegionError(f"{text} is not a GB/T 2260 provincial-level division (e.g. 110000 北京市, 310000 上海市)")


def province_of(code: object) -> Region | None:
    """The provincial-level division a GB/T 2260 code lies in (110105 → 北京市), or None."""
    if not isinstance(code, str) or len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    return _BY_CODE.get(code[:2] + "0000")


def region_label(code: object) -> str:
    """上海市 (310000) for a known province's code (and any code inside it), the code alone otherwise."""
    if not isinstance(code, str) or not code:
        return ""
    province = province_of(code)
    return f"{province.name} ({code})" if province else code


def _prefix(code: str) -> str:
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def region_within(code: object, area: object) -> bool:
    """Whether the division ``code`` lies inside ``area`` (GB/T 2260's hierarchy by prefix): 310105 in 310000."""
    valid = all(isinstance(c, str) and len(c) == 6 and c.isascii() and c.isdigit() for c in (code, area))
    return valid and code.startswith(_prefix(area))  # type: ignore[union-attr]


__all__ = ["DEFAULT_REGION", "REGIONS", "Region", "RegionError", "hub_region", "province_of", "region_label",
           "region_within"]
