"""What each app received about a citizen, and when: their record to read and to take away.

PIPL art. 45 (the right to access and copy one's personal information) and art. 17 (being told who
processes what): every authorization the IdP answered is in the audit trail (``authorize`` events, with
the client and the scopes the citizen allowed), so the record is built from there, never from a second
log that could drift. The counters a licence was shown at are not known here (verification is offline
by design): the wallet keeps that history on the phone and exports it itself. A counter that *fetched* a
licence with the citizen's authorisation (免证办, ``issuer.fetch``) is known: each fetch is a ``licence_fetched``
entry of the same trail, listed here with the counter's registered name and the licence type.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from idp.consents import SCOPE_TEXT

# What the app could read for each scope (OIDC Core §5.4 standard claims; tongban's own for the rest).
CLAIMS_OF_SCOPE = {"openid": ("sub",), "profile": ("name",), "phone": ("phone_number", "phone_number_verified"),
                   "id_number": ("id_number",), "licences": ("id_number",),
                   "licence_fetch": ("licence", "portrait")}
FETCH_KIND, FETCH_SCOPE = "licence_fetched", "licence_fetch"


@dataclass(frozen=True)
class Disclosure:
    at: int
    client_id: str
    app: str
    scopes: tuple[str, ...]
    licence_type: str | None = None  # a counter's fetch: which licence

    @property
    def claims(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for s in self.scopes for c in CLAIMS_OF_SCOPE.get(s, ())))

    def to_json(self) -> dict[str, Any]:
        return {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at)), "app": self.app,
                "client_id": self.client_id, "scopes": list(self.scopes), "claims": list(self.claims),
                "information": [{"zh": SCOPE_TEXT[s][0], "en": SCOPE_TEXT[s][1]} for s in self.scopes if s in SCOPE_TEXT],
                **({"licence_type": self.licence_type} if self.licence_type else {})}


def disclosures(audit: Any, clients: Any, sub: str, *, limit: int = 1000) -> list[Disclosure]:
    """Newest first: each authorization answered for ``sub``, with the app's registered name."""
    out = []
    for event in audit.events(sub, limit=limit, kinds=("authorize", FETCH_KIND)):
        client = clients.get(event["client_id"])
        detail = json.loads(event["detail"] or "{}")
        name = client.name if client else event["client_id"] or ""
        if event["kind"] == FETCH_KIND:
            out.append(Disclosure(event["at"], event["client_id"] or "", name, (FETCH_SCOPE,),
                                  str(detail.get("licence_type") or "") or None))
            continue
        out.append(Disclosure(event["at"], event["client_id"] or "", name, tuple(str(detail.get("scope", "")).split())))
    return out


def export(found: list[Disclosure], *, now: int) -> dict[str, Any]:
    return {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "note": "个人信息提供记录（PIPL 第45条）/ Record of the personal information apps received (PIPL art. 45). "
                    "Where your licences were shown is kept by your wallet: export it there.",
            "disclosures": [d.to_json() for d in found]}
