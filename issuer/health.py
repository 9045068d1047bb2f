"""Health-code rules, pure: colours, reasons, the claims and views of a code, when a code must be re-issued.

A health code (licence type ``health-code``, owned by the health commission) states one citizen's
current colour: green, yellow or red, with a reason and the GB/T 2260 region of the issuing authority.
It is short-lived (24 h by default, ``HealthPolicy.lifetime``). A code shown by a family proxy carries
``shown_by`` (the proxy's name) and only the proxy views, so a counter always sees that a proxy shows it.

No clock, no database: the application service (``issuer.health_service``) passes ``now`` and rows in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from credentials.catalogue import HEALTH_COLOURS
from issuer.errors import ValidationError
from issuer.validation import MAX_TEXT, NO_ANOMALY, region_code

HEALTH_CODE = "health-code"
COLOURS = HEALTH_COLOURS
DEFAULT_LIFETIME = 24 * 3600
OWN_VIEWS = ("full", "code")
PROXY_VIEWS = ("proxy-full", "proxy-code")
_PHONE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)


@dataclass(frozen=True)
class HealthPolicy:
    lifetime: int = DEFAULT_LIFETIME  # seconds a health code is valid (credential exp)
    refresh_margin: int = 3600  # a fetch re-issues a code that has less than this left

    def __post_init__(self) -> None:
        if not 300 <= self.lifetime <= 7 * 24 * 3600:
            raise ValidationError("lifetime", "a health code lives between 5 minutes and 7 days")


def parse_colour(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in COLOURS:
        raise ValidationError("colour", f"must be one of {' | '.join(COLOURS)}")
    return value.strip().lower()


def parse_reason(value: Any) -> str:
    """Free text for the audit trail and the code; empty means nothing is wrong (无异常)."""
    if value is None:
        return NO_ANOMALY
    if not isinstance(value, str):
        raise ValidationError("reason", "must be text")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise ValidationError("reason", f"is longer than {MAX_TEXT} characters")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValidationError("reason", "contains control characters")
    return value or NO_ANOMALY


def parse_id_number(value: Any, field: str = "id_number") -> str:
    """A GB 11643 resident ID number (check digit included); a lower-case x is accepted."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationError(field, "must be an 18-character resident ID number")
    try:
        return ric.validate(value.strip().upper())
    except StdnumError as exc:
        raise ValidationError(field, f"is not a valid GB 11643 resident ID number ({exc})") from exc


def parse_person_ref(value: Any, field: str = "proxy") -> tuple[str, str]:
    """Who is meant: ``("id_number", X)`` or ``("phone", X)`` (mainland mobile, 11 digits, ``+86`` allowed)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise ValidationError(field, "name the person by resident ID number or mobile phone number")
    text = value.strip().replace(" ", "").replace("-", "")
    text = text.removeprefix("+86")
    if _PHONE.fullmatch(text):
        return "phone", text
    return "id_number", parse_id_number(text, field)


def parse_region(value: Any) -> str:
    return region_code(value)


# -- family-proxy invitations (two-sided consent) -----------------------------------------------------------
INVITATION_LIFETIME = 7 * 24 * 3600  # a pending invitation expires after 7 days
INVITATION_ANSWERS = {"accepted", "declined"}


def mask_name(name: str) -> str:
    """First and last character kept, the middle masked (as ``verifier.display.mask_name``): 张三 → 张*, 张三丰 → 张*丰."""
    name = name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_ref(kind: str, value: str) -> str:
    """The number as the inviter typed it, masked for their own list: 138****8000, 110***********1233."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if kind == "phone" else value[:3] + "*" * 11 + value[-4:]


def invitation_status(state: str, expires_at: int, now: int) -> str:
    """What an invitation is now: pending | accepted | declined | withdrawn | expired (pending for 7 days)."""
    return "expired" if state == "pending" and expires_at <= now else state


def parse_answer(value: Any) -> str:
    """The invitee's answer, ``{"status": "accepted" | "declined"}``."""
    if not isinstance(value, str) or value not in INVITATION_ANSWERS:
        raise ValidationError("status", "must be accepted or declined")
    return value


def what_accepting_allows(inviter: str) -> str:
    """The invitee's plain words (``inviter`` already masked), Chinese first, English beside."""
    return (f"接受后，您可以在自己的手机上领取并出示{inviter}的健康码，码上会注明由您代为出示；"
            f"对方会看到您的姓名，并可随时结束代办。 / If you accept, you can get and show {inviter}'s health code on "
            f"your own phone; the code says you show it on their behalf. They will see your name and can end it "
            f"at any time.")


def code_claims(*, name: str, id_number: str, colour: str, reason: str, region: str,
                shown_by: str | None = None) -> dict[str, str]:
    """The claims of one health code (validated again by ``issuer.validation`` when issued)."""
    claims = {"name": name, "id_number": id_number, "colour": colour, "reason": reason or NO_ANOMALY,
              "region": region}
    if shown_by is not None:
        claims["shown_by"] = shown_by
    return claims


def views_for(proxy: bool) -> tuple[str, ...]:
    return PROXY_VIEWS if proxy else OWN_VIEWS


def needs_new_code(*, bound_kid: str | None, device_kid: str, bound_seq: int | None, status_seq: int,
                   current_valid: bool, expires_at: int | None, now: int, policy: HealthPolicy) -> bool:
    """Whether a fetch must issue a fresh code rather than hand back the stored one: another device, a status
    changed since (``seq`` counts changes), the stored code no longer valid, or close to its expiry."""
    if bound_kid != device_kid or bound_seq != status_seq or not current_valid or expires_at is None:
        return True
    return expires_at - now < policy.refresh_margin


__all__ = [
    "COLOURS", "DEFAULT_LIFETIME", "HEALTH_CODE", "INVITATION_ANSWERS", "INVITATION_LIFETIME", "HealthPolicy",
    "NO_ANOMALY", "OWN_VIEWS", "PROXY_VIEWS", "code_claims", "invitation_status", "mask_name", "mask_ref",
    "needs_new_code", "parse_answer", "parse_colour", "parse_id_number", "parse_person_ref", "parse_reason",
    "parse_region", "views_for", "what_accepting_allows",
]
