"""Digital Credentials Query Language, OpenID4VP 1.0 §6 (the query) and §7 (claims path pointers), pure.

What is supported: ``credentials`` (§6.1) with ``id``, ``format`` ``dc+sd-jwt``, ``meta.vct_values`` (§B.3.5),
``claims`` (§6.3: ``id``, ``path``, ``values``) and ``claim_sets`` (§6.4.1: the alternatives, most wanted
first; a claim in some but not all sets is optional: the citizen may leave it out). Every credential query
is required. Refused rather than ignored (a verifier must not believe it asked for something it did not get):
``credential_sets`` (§6.2), ``multiple: true``, ``trusted_authorities``, ``require_cryptographic_holder_binding:
false``, other formats, and any member §6 does not define.

``check_disclosed`` is the verifier's side of data minimisation: every Disclosure the wallet sent must lie on
the way to, or beneath, a claim the query asked for (a Disclosure for ``address`` when only ``name`` was asked
is refused, ``claims_not_requested``), and at least one claim set must be fully present (``claim_missing``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from verifier.online.errors import OnlineError

SD_JWT_FORMAT = "dc+sd-jwt"
MAX_CREDENTIALS = 8
MAX_CLAIMS = 64
MAX_PATH = 8
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
Component = str | int | None
_CREDENTIAL_KEYS = {"id", "format", "meta", "claims", "claim_sets", "multiple", "require_cryptographic_holder_binding"}


def _fail(message: str) -> OnlineError:
    return OnlineError(message, "dcql_invalid")


@dataclass(frozen=True)
class ClaimQuery:
    id: str
    path: tuple[Component, ...]
    values: tuple[Any, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "path": list(self.path)}
        if self.values is not None:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True)
class CredentialQuery:
    id: str
    vct_values: tuple[str, ...]
    claims: tuple[ClaimQuery, ...]
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    format: str = SD_JWT_FORMAT

    @property
    def options(self) -> tuple[tuple[str, ...], ...]:
        """The claim sets, most wanted first; without ``claim_sets``: every claim (§6.4.1)."""
        return self.claim_sets or (tuple(c.id for c in self.claims),)

    @property
    def required(self) -> frozenset[str]:
        """Claim ids in every claim set: those the citizen cannot leave out."""
        sets = [frozenset(s) for s in self.options]
        return frozenset.intersection(*sets) if sets else frozenset()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "format": self.format, "meta": {"vct_values": list(self.vct_values)},
                               "claims": [c.to_json() for c in self.claims]}
        if self.claim_sets is not None:
            out["claim_sets"] = [list(s) for s in self.claim_sets]
        return out


@dataclass(frozen=True)
class DcqlQuery:
    credentials: tuple[CredentialQuery, ...]

    def credential(self, credential_id: str) -> CredentialQuery | None:
        return next((c for c in self.credentials if c.id == credential_id), None)

    def to_json(self) -> dict[str, Any]:
        return {"credentials": [c.to_json() for c in self.credentials]}


def _path(value: object) -> tuple[Component, ...]:
    """§7: a non-empty array of strings, nulls and non-negative integers (booleans are not integers)."""
    if not isinstance(value, list) or not 0 < len(value) <= MAX_PATH:
        raise _fail(f"a claims path is a non-empty array of at most {MAX_PATH} components")
    for part in value:
        if part is None or (isinstance(part, str) and 0 < len(part) <= 64):
            continue
        if type(part) is int and 0 <= part < 2**31:
            continue
        raise _fail(f"claims path component {part!r} is not a string, null or a non-negative integer")
    if not isinstance(value[0], str):
        raise _fail("a claims path starts with a claim name")
    return tuple(value)


def _claim(value: object, index: int) -> ClaimQuery:
    if not isinstance(value, dict) or set(value) - {"id", "path", "values"}:
        raise _fail("a claims query is an object with id, path and values only")
    claim_id = value.get("id", f"_{index}")
    if not isinstance(claim_id, str) or not (_ID.fullmatch(claim_id) or claim_id == f"_{index}"):
        raise _fail("a claim id is 1-64 of A-Z a-z 0-9 _ -")
    values = value.get("values")
    if values is not None and (not isinstance(values, list) or not values
                               or any(not isinstance(v, str | int | bool) for v in values)):
        raise _fail("values is a non-empty array of strings, integers and booleans")
    return ClaimQuery(claim_id, _path(value.get("path")), tuple(values) if values is not None else None)


def _credential(value: object) -> CredentialQuery:
    if not isinstance(value, dict):
        raise _fail("a credential query is an object")
    unknown = set(value) - _CREDENTIAL_KEYS
    if unknown:
        raise _fail(f"credential query members {sorted(unknown)} are not supported")
    credential_id = value.get("id")
    if not isinstance(credential_id, str) or not _ID.fullmatch(credential_id):
        raise _fail("a credential query id is 1-64 of A-Z a-z 0-9 _ -")
    if value.get("format") != SD_JWT_FORMAT:
        raise _fail(f"only the {SD_JWT_FORMAT} format is supported")
    if value.get("multiple", False) is not False or value.get("require_cryptographic_holder_binding", True) is not True:
        raise _fail("multiple presentations and presentations without holder binding are not supported")
    meta = value.get("meta")
    vcts = meta.get("vct_values") if isinstance(meta, dict) and set(meta) == {"vct_values"} else None
    if not isinstance(vcts, list) or not vcts or any(not isinstance(v, str) or not v for v in vcts):
        raise _fail("meta must be {\"vct_values\": [one or more strings]}")
    raw_claims = value.get("claims", [])
    if not isinstance(raw_claims, list) or len(raw_claims) > MAX_CLAIMS or ("claims" in value and not raw_claims):
        raise _fail(f"claims is a non-empty array of at most {MAX_CLAIMS} claims queries")
    claims = tuple(_claim(c, i) for i, c in enumerate(raw_claims))
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise _fail("two claims queries share an id")
    claim_sets = value.get("claim_sets")
    if claim_sets is not None:
        if not claims or not isinstance(claim_sets, list) or not claim_sets or any(
                not isinstance(s, list) or not s or any(i not in ids for i in s) for s in claim_sets):
            raise _fail("claim_sets is a non-empty array of non-empty arrays of this query's claim ids")
        claim_sets = tuple(tuple(dict.fromkeys(s)) for s in claim_sets)
    return CredentialQuery(credential_id, tuple(vcts), claims, claim_sets)


def parse_dcql(value: object) -> DcqlQuery:
    """A DCQL query (§6) as JSON-decoded data, checked; raise ``OnlineError`` ``dcql_invalid``."""
    if not isinstance(value, dict) or set(value) != {"credentials"}:
        raise _fail("a DCQL query is {\"credentials\": [...]} (credential_sets is not supported)")
    credentials = value["credentials"]
    if not isinstance(credentials, list) or not 0 < len(credentials) <= MAX_CREDENTIALS:
        raise _fail(f"credentials is a non-empty array of at most {MAX_CREDENTIALS} queries")
    parsed = tuple(_credential(c) for c in credentials)
    if len({c.id for c in parsed}) != len(parsed):
        raise _fail("two credential queries share an id")
    return DcqlQuery(parsed)


def select(path: tuple[Component, ...], claims: Any) -> list[Any]:
    """§7.1: the values a claims path pointer selects (an empty list when it selects nothing)."""
    current = [claims]
    for part in path:
        found: list[Any] = []
        for element in current:
            if isinstance(part, str) and isinstance(element, Mapping) and part in element:
                found.append(element[part])
            elif part is None and isinstance(element, list):
                found.extend(element)
            elif type(part) is int and isinstance(element, list) and part < len(element):
                found.append(element[part])
        current = found
    return current


def _covers(path: tuple[Component, ...], place: tuple[str | int, ...]) -> bool:
    """A Disclosure at ``place`` lies on the way to ``path`` or beneath it (null matches any array position)."""
    return all(want is None and type(got) is int or want == got for want, got in zip(path, place, strict=False))


def satisfied(query: CredentialQuery, claims: Mapping[str, Any]) -> frozenset[str]:
    """The ids of the query's claims that select something in ``claims`` and match its ``values``."""
    ids = set()
    for claim in query.claims:
        found = select(claim.path, claims)
        if found and (claim.values is None or all(v in claim.values and type(v) is not dict for v in found)):
            ids.add(claim.id)
    return frozenset(ids)


def check_disclosed(query: CredentialQuery, claims: Mapping[str, Any], places: Iterable[tuple[str | int, ...]]) -> None:
    """Nothing disclosed beyond the query, and one claim set complete; raise ``OnlineError`` otherwise."""
    for place in places:
        if not any(_covers(claim.path, place) for claim in query.claims):
            raise OnlineError(f"credential {query.id!r} discloses {'.'.join(map(str, place))}, which the query did "
                              "not ask for", "claims_not_requested")
    present = satisfied(query, claims)
    for claim in query.claims:
        if claim.values is not None and select(claim.path, claims) and claim.id not in present:
            raise OnlineError(f"claim {claim.id!r} has a value the query does not accept", "claim_value")
    if not any(set(option) <= present for option in query.options):
        raise OnlineError(f"credential {query.id!r} satisfies none of the query's claim sets", "claim_missing")
