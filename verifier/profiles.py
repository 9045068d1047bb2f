"""Counter profiles: what one counter needs to see to match the code to the person in front of it (issue 11).

Counters differ in what the clerk must compare, and data minimisation (PIPL art. 6: the least personal
information the purpose needs) says each shows that and nothing more:

* ``entrance`` — a venue gate: the colour of a health code, or that a licence is valid (and an age check's
  answer). The holder's name masked (张*三) so it can be read aloud without showing it to the queue; no ID
  number, no address, no licence facts. The **default**: it is today's counter (names masked as the counter
  always masked them), narrowed to the claims a gate acts on.
* ``licence`` — a licence check (traffic police, a car-rental desk): the full name, the licence facts (classes,
  validity, licence number, issuing authority), the ID number masked as 110101********1233 (the region code and
  the last four digits, which people compare with the card in their hand); no address.
* ``identity`` — a government service counter (实名核验): full name, full ID number, every claim of the view
  shown, and the portrait when the counter fetched the licence (免证办, ``verifier.fetch``), to compare with
  the face and the physical ID card.

The profile also says which view of each licence type the counter asks for; the counter page shows that as
"请出示 / please show" (the holder picks the purpose in the wallet). It is not carried in the two-way counter
code: that code's format is fixed and strict on both sides (``credentials.counter_code``), a one-way counter
shows no code at all, and a wish in an unsigned code is only a wish: the screen filters by profile whatever the
phone sends. Pure: names and claim dicts in, dicts out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credentials import licence_type

ENTRANCE, LICENCE, IDENTITY = "entrance", "licence", "identity"
DEFAULT_PROFILE = ENTRANCE
PERSON_NAME_CLAIMS = frozenset({"name", "legal_representative", "holder_name", "on_behalf_of", "proxy_name", "shown_by"})
ENTITY_TYPES = frozenset({"business-licence"})
ID_NUMBER_CLAIMS = frozenset({"id_number", "licence_number"})  # a driving licence's number is the ID number


class UnknownProfile(ValueError):
    """A configuration named a profile that does not exist."""

    reason = "unknown_profile"


@dataclass(frozen=True)
class Profile:
    name: str
    label_zh: str
    label_en: str
    full_names: bool  # 张三 (else 张*三)
    id_numbers: str  # "full" | "masked" (110101********1233) | "hidden"
    claims: frozenset[str] | None  # the claims shown; None: every claim of the view
    portrait: bool  # shows the portrait of a fetched licence
    wants: dict[str, str]  # licence type → the view this counter asks for

    def to_json(self) -> dict[str, Any]:
        wants = []
        for type_name, view_name in self.wants.items():
            ltype = licence_type(type_name)
            view = ltype.view(view_name) if ltype else None
            if ltype and view:
                wants.append({"licence_type": type_name, "label": ltype.label, "view": view_name,
                              "view_label": view.label})
        return {"name": self.name, "zh": self.label_zh, "en": self.label_en, "wants": wants}


# What a gate acts on: the colour (with its reason and region), validity, an age check's answer, who showed it.
_ENTRANCE_CLAIMS = frozenset({"name", "colour", "reason", "region", "shown_by", "on_behalf_of", "valid_from",
                              "valid_until", "age_over_18", "entity_type", "uscc", "legal_representative"})
_LICENCE_HIDDEN = frozenset({"address"})

PROFILES: dict[str, Profile] = {
    ENTRANCE: Profile(ENTRANCE, "场所入口", "venue entrance", full_names=False, id_numbers="hidden",
                      claims=_ENTRANCE_CLAIMS, portrait=False,
                      wants={"health-code": "code", "resident-id": "age", "driving-licence": "age"}),
    LICENCE: Profile(LICENCE, "证照核验", "licence check", full_names=True, id_numbers="masked", claims=None,
                     portrait=False,
                     wants={"driving-licence": "driving", "business-licence": "basic", "health-code": "code"}),
    IDENTITY: Profile(IDENTITY, "政务窗口 · 身份核验", "government counter · identity check", full_names=True,
                      id_numbers="full", claims=None, portrait=True,
                      wants={"resident-id": "identity", "driving-licence": "full", "business-licence": "full"}),
}


def profile(name: str | None) -> Profile:
    """The profile called ``name`` (``None`` or empty: the default, ``entrance``); ``UnknownProfile`` otherwise."""
    found = PROFILES.get(name or DEFAULT_PROFILE)
    if found is None:
        raise UnknownProfile(f"unknown counter profile {name!r}: choose {', '.join(PROFILES)}")
    return found


def mask_name(name: str) -> str:
    """First and last character kept, the middle masked: 张三丰 → 张*丰, 欧阳娜娜 → 欧**娜; two characters: 张*."""
    name = name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(value: str) -> str:
    """110101199003071233 → 110101********1233: the address code and the last four kept (GB 11643 numbers); any
    other text keeps at most its first and last quarter, so a short or odd value is never shown whole."""
    value = value.strip()
    if len(value) == 18 or len(value) == 15:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    keep = len(value) // 4
    return value[:keep] + "*" * (len(value) - 2 * keep) + (value[-keep:] if keep else "")


def _mask_names(value: Any) -> Any:
    if isinstance(value, str):
        return mask_name(value)
    if isinstance(value, list):
        return [mask_name(v) if isinstance(v, str) else v for v in value]
    return value


def _mask_ids(value: Any) -> Any:
    if isinstance(value, str):
        return mask_id_number(value)
    if isinstance(value, list):
        return [mask_id_number(v) if isinstance(v, str) else v for v in value]
    return value


def shown_claims(claims: dict[str, Any], licence: str | None, prof: Profile) -> dict[str, Any]:
    """``claims`` as ``prof`` shows them: only the claims it needs, person names and ID numbers as it masks them.

    A business licence's ``name`` is the entity's, never masked; its legal representative is a person."""
    entity = licence in ENTITY_TYPES
    out: dict[str, Any] = {}
    for name, value in claims.items():
        if prof.claims is not None and name not in prof.claims:
            continue
        if name in ID_NUMBER_CLAIMS:
            if prof.id_numbers == "hidden":
                continue
            if prof.id_numbers == "masked":
                value = _mask_ids(value)
        elif name in PERSON_NAME_CLAIMS and not (entity and name == "name") and not prof.full_names:
            value = _mask_names(value)
        elif prof.claims is None and name in _LICENCE_HIDDEN and prof.id_numbers != "full":
            continue  # the licence check needs no address; the identity counter compares it with the card
        out[name] = value
    return out
