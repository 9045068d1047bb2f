"""Licences as SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): the ``dc+sd-jwt`` format the credential endpoint offers
next to tongban-cose, plugged into ``Issuer.issue`` (``sign=``) so allocation, the credential row, status,
re-issue and compromise handling are the same for both formats.

One licence is one status entry, however many credentials a batch issues for it (one per device key, OpenID4VCI
1.0 §8.2 ``proofs``): revoking the licence revokes every copy with one bit, and the register keeps one row per
licence. The price: copies of one batch share ``status.idx`` (and ``iat``/``exp``), so a verifier who sees two of
them can tell they are one licence; salts, signatures and ``cnf`` keys differ. The row records the first key.

Claims: every validated claim of the type plus ``age_over_18`` (derived as for QR views), all selectively
disclosable (``credentials.sdjwt.vc``); ``nbf`` is the start of ``valid_from`` (UTC+8) when the licence starts
later; ``exp`` is the tongban-cose expiry (``valid_until``'s end, capped by the signing key's window).
The status reference is the list's URL under the credential issuer (``/status/<authority>/<n>``, served as a JWT
with ``Accept: application/statuslist+jwt``), not the ``tbsl:`` name QR credentials carry. Note that the list's own
``sub`` stays the ``tbsl:`` name (what counters check), so a verifier that requires ``sub`` = ``uri``
(draft-ietf-oauth-status-list §8.3) maps one to the other (``credentials.status_uri.status_name``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from credentials.catalogue import AGE_OVER_18, LicenceType
from credentials.sdjwt import SdJwtError, authority_iss, issue_sd_jwt_vc, vct_for
from credentials.sdjwt.vc import SIGNING_ALGORITHMS
from credentials.status_uri import status_name as status_list_name
from credentials.status_uri import status_url as status_url_of
from issuer.errors import IssuerError
from issuer.issuance import DAY, end_of_day
from issuer.validation import age_over_18

FORMAT = "dc+sd-jwt"


class SdJwtIssuanceError(IssuerError):
    """This authority cannot issue SD-JWT VCs (its key is not a JOSE algorithm: SM2)."""

    reason = "sd_jwt_unsupported_alg"


def status_url(issuer_url: str, uri: str) -> str:
    """``tbsl:<authority>/<n>`` → ``<issuer>/status/<authority>/<n>`` (``credentials.status_uri.status_url``)."""
    url = status_url_of(issuer_url, uri)
    if url is None:
        raise IssuerError(f"{uri!r} is not a tongban status-list URI")
    return url


def sd_jwt_claims(ltype: LicenceType, claims: dict[str, Any], *, now: int) -> dict[str, Any]:
    """The licence's claims as an SD-JWT VC carries them (dates as ISO text; ``age_over_18`` on the issue day)."""
    values = dict(claims)
    if ltype.claim(AGE_OVER_18) is not None and isinstance(claims.get("birth_date"), dt.date):
        today = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=8))).date()
        values[AGE_OVER_18] = age_over_18(claims["birth_date"], today)
    return values


@dataclass(frozen=True)
class SdJwtFormat:
    """``Issuer.issue(..., sign=SdJwtFormat(issuer_url))``: one SD-JWT VC per holder key of the request."""

    issuer_url: str
    decoys: int = 2

    @staticmethod
    def check_signer(private: Any) -> None:
        if private.alg not in SIGNING_ALGORITHMS:
            raise SdJwtIssuanceError(f"this authority signs with {private.alg}; SD-JWT VC needs "
                                     f"{' or '.join(SIGNING_ALGORITHMS)} (JOSE has no SM2): offer tongban-cose instead")

    def __call__(self, ltype: LicenceType, claims: dict[str, Any], request: Any, status_idx: int, expires_at: int,
                 signer: Any, *, uri: str, authority_id: str, now: int) -> tuple[str, ...]:
        self.check_signer(signer)
        nbf = end_of_day(claims["valid_from"]) - DAY if isinstance(claims.get("valid_from"), dt.date) else None
        body = sd_jwt_claims(ltype, claims, now=now)
        try:
            return tuple(
                issue_sd_jwt_vc(body, vct=vct_for(self.issuer_url, ltype.name),
                                iss=authority_iss(self.issuer_url, authority_id), iat=now, exp=expires_at,
                                holder_key=key, status_idx=status_idx, status_uri=status_url(self.issuer_url, uri),
                                signer=signer, nbf=nbf if nbf is not None and nbf > now else None, decoys=self.decoys)
                for key in (request.holder_key, *request.more_keys)
            )
        except SdJwtError as exc:
            raise SdJwtIssuanceError(str(exc)) from exc


__all__ = ["FORMAT", "SdJwtFormat", "SdJwtIssuanceError", "sd_jwt_claims", "status_list_name",
           "status_url"]
