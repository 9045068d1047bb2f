"""Choosing what to disclose, pure: a requested claim set maps to exactly one issued view.

The holder asks for claims (``--disclose name,vehicle_classes,valid_from,valid_until``) or a view by
name (``--disclose age``). Only a view whose claims are exactly the request qualifies: showing a
superset would disclose more than the holder agreed to, so that is an error listing the views.
"""

from __future__ import annotations

from collections.abc import Iterable

from credentials import LicenceType, View
from wallet.errors import DisclosureError


def choose_view(ltype: LicenceType, request: Iterable[str] | None, available: Iterable[str]) -> View:
    available = set(available)
    wanted = [r.strip() for r in (request or []) if r.strip()]
    if not wanted:
        view = ltype.view("full")
    elif len(wanted) == 1 and ltype.view(wanted[0]) is not None:
        view = ltype.view(wanted[0])
    else:
        view = next((v for v in ltype.views if set(v.claims) == set(wanted)), None)
    if view is None or view.name not in available:
        options = "; ".join(f"{v.name} = {','.join(v.claims)}" for v in ltype.views if v.name in available)
        raise DisclosureError(
            f"no issued view of this {ltype.name} discloses exactly {','.join(wanted) or 'full'}; choose one of: {options}"
        )
    return view
