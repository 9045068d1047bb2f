"""The licence-type catalogue as the wire format sees it: type codes, claim keys, value kinds and views.

Claim names are fixed by the (national data standard the) issue names; on the wire each claim is a
small integer key so the QR stays small, the way ISO 18013-5 fixes data-element identifiers per
namespace. Keys are append-only: a new claim takes the next number; a number is never reused.

A *view* is the set of claims one presentation discloses (see ``credentials.credential`` for why
views, not salted digests). Every type has ``full``; the others serve one purpose at a counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

TEXT, DATE, TEXT_LIST, BOOL = "text", "date", "text_list", "bool"

AGE_OVER_18 = "age_over_18"  # derived at issuance from birth_date, as ISO 18013-5's age_over_NN


@dataclass(frozen=True)
class ClaimSpec:
    name: str
    key: int
    kind: str
    optional: bool = False  # only some credentials of the type carry it (e.g. health-code ``shown_by``)


@dataclass(frozen=True)
class View:
    name: str
    code: int
    claims: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class StatusValidity:
    """How long a Token Status List of this type counts (draft-ietf-oauth-status-list §5.1 ``ttl`` and ``exp``).

    ``ttl``: a counter should fetch a fresh copy after this many seconds (the hub re-signs at half of it);
    ``lifetime``: the signed ``exp`` is ``iat + lifetime``, after which a counter that could not sync answers
    ``status_unknown``. Short, so a revocation cannot be hidden for long by a counter that stopped syncing
    or by a mirror replaying an old (validly signed) list.
    """

    ttl: int
    lifetime: int


# A health-code colour changes within minutes and a red code must be refused within minutes: 5 min ttl, 10 min exp.
HEALTH_STATUS = StatusValidity(ttl=300, lifetime=600)
# A licence revocation is rarer and less urgent; counters may be offline for a few hours: 1 h ttl, 6 h exp.
LICENCE_STATUS = StatusValidity(ttl=3600, lifetime=6 * 3600)


@dataclass(frozen=True)
class LicenceType:
    name: str
    code: int  # on the wire
    national_code: str  # the <type code> part of the e-licence identifier
    label: str
    claims: tuple[ClaimSpec, ...]
    views: tuple[View, ...]
    status: StatusValidity = LICENCE_STATUS

    # Look-ups run per claim per view of every credential issued or verified: tables built once per type
    # (functools.cached_property writes the instance dict, which a frozen dataclass allows).
    @cached_property
    def claim_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.claims if c.name != AGE_OVER_18)

    @cached_property
    def required_claim_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.claims if c.name != AGE_OVER_18 and not c.optional)

    @cached_property
    def _by_name(self) -> dict[str, ClaimSpec]:
        return {c.name: c for c in reversed(self.claims)}  # reversed: the first of a name wins, as before

    @cached_property
    def _by_key(self) -> dict[int, ClaimSpec]:
        return {c.key: c for c in reversed(self.claims)}

    def claim(self, name: str) -> ClaimSpec | None:
        return self._by_name.get(name)

    def claim_by_key(self, key: int) -> ClaimSpec | None:
        return self._by_key.get(key) if type(key) is int else None

    def view(self, name: str) -> View | None:
        return next((v for v in self.views if v.name == name), None)

    def view_by_code(self, code: int) -> View | None:
        return next((v for v in self.views if v.code == code), None)


def _claims(*spec: tuple[str, str]) -> tuple[ClaimSpec, ...]:
    return tuple(ClaimSpec(name, key, kind) for key, (name, kind) in enumerate(spec, start=1))


_DRIVING = _claims(
    ("name", TEXT), ("sex", TEXT), ("birth_date", DATE), ("id_number", TEXT), ("address", TEXT),
    ("licence_number", TEXT), ("vehicle_classes", TEXT_LIST), ("first_issue_date", DATE), ("valid_from", DATE),
    ("valid_until", DATE), ("issuing_authority", TEXT), (AGE_OVER_18, BOOL),
)
_RESIDENT = _claims(
    ("name", TEXT), ("sex", TEXT), ("ethnicity", TEXT), ("birth_date", DATE), ("address", TEXT),
    ("id_number", TEXT), ("issuing_authority", TEXT), ("valid_from", DATE), ("valid_until", DATE), (AGE_OVER_18, BOOL),
)
_BUSINESS = _claims(
    ("uscc", TEXT), ("name", TEXT), ("legal_representative", TEXT), ("entity_type", TEXT),
    ("registered_capital", TEXT), ("established_on", DATE), ("address", TEXT), ("business_scope", TEXT),
    ("registration_authority", TEXT),
)
_HEALTH = _claims(
    ("name", TEXT), ("id_number", TEXT), ("colour", TEXT), ("reason", TEXT), ("region", TEXT), ("shown_by", TEXT),
)
# ``shown_by`` (the proxy holder's name) is carried only by a code issued to a family proxy.
_HEALTH = tuple(ClaimSpec(c.name, c.key, c.kind, optional=c.name == "shown_by") for c in _HEALTH)
HEALTH_COLOURS = ("green", "yellow", "red")


def _full(specs: tuple[ClaimSpec, ...]) -> View:
    return View("full", 0, tuple(c.name for c in specs if c.name != AGE_OVER_18), "完整 / full")


LICENCE_TYPES: tuple[LicenceType, ...] = (
    LicenceType(
        "driving-licence", 1, "11100000000013338W001", "机动车驾驶证 / Driving licence", _DRIVING,
        (
            _full(_DRIVING),
            View("driving", 1, ("name", "vehicle_classes", "valid_from", "valid_until"), "驾驶核验 / driving check"),
            View("age", 2, (AGE_OVER_18,), "年龄核验 / age check"),
        ),
    ),
    LicenceType(
        "resident-id", 2, "11100000000013338W002", "居民身份证 / Resident ID", _RESIDENT,
        (
            _full(_RESIDENT),
            View("identity", 1, ("name", "id_number"), "身份核验 / identity check"),
            View("age", 2, (AGE_OVER_18,), "年龄核验 / age check"),
        ),
    ),
    LicenceType(
        "business-licence", 3, "10000000000013338W003", "营业执照 / Business licence", _BUSINESS,
        (
            _full(_BUSINESS),
            View("basic", 1, ("uscc", "name", "legal_representative", "entity_type"), "主体核验 / entity check"),
        ),
    ),
    # Health codes are short-lived (a day by default). A view discloses an exact claim set, so a code shown by
    # a family proxy has its own views that add ``shown_by``; an own code has no view with it, a proxy code
    # has no view without it (``issuer.health.views_for``).
    LicenceType(
        "health-code", 4, "12110000000019646W004", "健康码 / Health code", _HEALTH,
        (
            View("full", 0, ("name", "id_number", "colour", "reason", "region"), "完整 / full"),
            # The reason travels with the colour: the counter must say why a code is yellow or red.
            View("code", 1, ("name", "colour", "reason", "region"), "亮码 / show code"),
            View("proxy-full", 2, ("name", "id_number", "colour", "reason", "region", "shown_by"),
                 "代亮码完整 / full, shown by a proxy"),
            View("proxy-code", 3, ("name", "colour", "reason", "region", "shown_by"), "代亮码 / code shown by a proxy"),
        ),
        HEALTH_STATUS,
    ),
)


def licence_type(name: str) -> LicenceType | None:
    return next((t for t in LICENCE_TYPES if t.name == name), None)


def licence_type_by_code(code: int) -> LicenceType | None:
    return next((t for t in LICENCE_TYPES if t.code == code), None)


def status_validity(type_names: tuple[str, ...] | list[str]) -> StatusValidity:
    """The validity of a status list shared by ``type_names`` (an authority's lists hold every type it issues):
    the shortest ttl and the shortest lifetime among them, so no type's entries stay current longer than its own."""
    found = [t.status for t in LICENCE_TYPES if t.name in type_names]
    if not found:
        return LICENCE_STATUS
    return StatusValidity(min(v.ttl for v in found), min(v.lifetime for v in found))
