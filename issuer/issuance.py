"""Issuance rules, pure: from validated claims to the set of views an authority signs together.

Every view of one licence shares its serial, version, status entry and holder key (see
``credentials.credential`` for why views). ``age_over_18`` is derived here from ``birth_date``; when
it is false the age view expires at the 18th birthday, so a refresh after that day flips it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from credentials import AGE_OVER_18, CredentialBody, LicenceType
from issuer.validation import age_over_18
from keys import PublicKey

DAY = 24 * 3600


def end_of_day(day: dt.date) -> int:
    """Seconds at the end of ``day`` in China Standard Time (UTC+8), the licence's own calendar."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return int(midnight.timestamp())


def credential_expiry(claims: dict[str, Any], *, key_not_after: int) -> int:
    """A credential never outlives its licence's ``valid_until`` nor the key that signs it."""
    if "valid_until" in claims:
        return min(end_of_day(claims["valid_until"]), key_not_after)
    return key_not_after


def build_views(
    ltype: LicenceType, claims: dict[str, Any], *, holder_key: PublicKey, serial: int, version: int,
    status_idx: int, status_uri: str, now: int, expires_at: int, views: tuple[str, ...] | None = None,
) -> dict[str, CredentialBody]:
    """Every view of ``ltype`` (or only those named in ``views``), signed together by the caller."""
    today = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=8))).date()
    values = dict(claims)
    view_expiry = {view.name: expires_at for view in ltype.views}
    if ltype.claim(AGE_OVER_18) is not None and "birth_date" in claims:
        values[AGE_OVER_18] = age_over_18(claims["birth_date"], today)
        if not values[AGE_OVER_18]:
            birth = claims["birth_date"]
            eighteenth = dt.date(birth.year + 18, birth.month, 28 if (birth.month, birth.day) == (2, 29) else birth.day)
            view_expiry["age"] = min(expires_at, end_of_day(eighteenth) - DAY)
    if "valid_from" in claims:
        not_before: int | None = end_of_day(claims["valid_from"]) - DAY
    else:
        not_before = None
    return {
        view.name: CredentialBody(
            licence_type=ltype.name, view=view.name, claims={name: values[name] for name in view.claims},
            serial=serial, version=version, issued_at=now, expires_at=view_expiry[view.name], holder_key=holder_key,
            status_idx=status_idx, status_uri=status_uri, not_before=not_before,
        )
        for view in ltype.views
        if views is None or view.name in views
    }
