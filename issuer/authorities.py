"""Issuing authorities as a hub configures them, and the demo authorities of each region (``tongban init``).

A hub serves one provincial-level division (``credentials.regions``); ``demo_authorities(region)`` names its
four: the traffic police, public security, market regulation and health commission, with ``<short id>-<kind>``
ids, the region's names for them and issuer codes registered in that region.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.cn import uscc

from credentials.regions import DEFAULT_REGION, Region


@dataclass(frozen=True)
class AuthorityConfig:
    id: str
    name: str
    region: str
    issuer_code: str
    licence_types: tuple[str, ...]
    kind: str


def _code(base17: str) -> str:
    return base17 + uscc.calc_check_digit(base17)


def _organisation_code(body8: str) -> str:
    """GB 11714's organisation code: eight characters and their check character (weights 3 7 9 10 5 8 4 2)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body8 + ("X" if check == 10 else "0" if check == 11 else str(check))


# The demo authorities of a region, by kind: what they issue, and their names for a 直辖市 and for a province.
_KINDS = (
    ("traffic-police", ("driving-licence",), "{name}公安局交通警察总队", "{name}公安厅交通警察总队"),
    ("public-security", ("resident-id",), "{name}公安局", "{name}公安厅"),
    ("market-regulation", ("business-licence",), "{name}市场监督管理局", "{name}市场监督管理局"),
    ("health", ("health-code",), "{name}卫生健康委员会", "{name}卫生健康委员会"),
)
_KIND_NAMES = {"traffic-police": "traffic-police", "public-security": "public-security",
               "market-regulation": "market-regulation", "health": "health-commission"}

# Beijing's, as every data directory made before regions has them (their ids and issuer codes are in issued
# credentials and e-licence identifiers, so they never change).
BEIJING_AUTHORITIES = (
    AuthorityConfig("bj-traffic-police", "北京市公安局公安交通管理局", "110000", _code("11110000000021135"),
                    ("driving-licence",), "traffic-police"),
    AuthorityConfig("bj-public-security", "北京市公安局", "110000", _code("11110000000021128"),
                    ("resident-id",), "public-security"),
    AuthorityConfig("bj-market-regulation", "北京市市场监督管理局", "110000", _code("11110000MB0193374"),
                    ("business-licence",), "market-regulation"),
    AuthorityConfig("bj-health", "北京市卫生健康委员会", "110000", _code("11110000000019646"),
                    ("health-code",), "health-commission"),
)
DEMO_AUTHORITIES = BEIJING_AUTHORITIES  # the default region's


def demo_authorities(region: Region) -> tuple[AuthorityConfig, ...]:
    """The four demo authorities of ``region``: its names, ``<short id>-<kind>`` ids, and issuer codes.

    An issuer code is a 统一社会信用代码 (GB 32100): ``1`` (registered by 机构编制), ``1`` (a 机关), the region's
    GB/T 2260 code, a GB 11714 organisation code (made here from the region and the kind), its check character.
    The region's code inside it keeps two regions' e-licence identifiers apart."""
    if region.code == DEFAULT_REGION:
        return BEIJING_AUTHORITIES
    out = []
    for number, (kind, types, municipal, provincial) in enumerate(_KINDS, start=1):
        name = (municipal if region.municipality else provincial).format(name=region.name)
        code = _code("11" + region.code + _organisation_code(f"0000{region.code[:2]}{number:02d}"))
        out.append(AuthorityConfig(f"{region.short}-{kind}", name, region.code, code, types, _KIND_NAMES[kind]))
    return tuple(out)


__all__ = ["BEIJING_AUTHORITIES", "DEMO_AUTHORITIES", "AuthorityConfig", "demo_authorities"]
