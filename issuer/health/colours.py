"""Health-code rules, pure: colours, reasons, the claims and views of a code, when a code must be re-issued.

A health code (licence type ``health-code``, owned by the health commission) states one citizen's
current colour: green, yellow or red, with a reason and the GB/T 2260 region of the issuing authority.
It is short-lived (24 h by default, ``HealthPolicy.lifetime``). A code shown by a family proxy carries
``shown_by`` (the proxy's name) and only the proxy views, so a counter always sees that a proxy shows it.

No clock, no database: the application service (``issuer.health.desk`` and ``issuer.health.codes``) passes ``now`` and rows in.
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
REASON_REQUIRED = {"yellow": "黄码必须填写原因", "red": "红码必须填写原因"}


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
    """Free text for the audit trail and the code; empty means nothing is wrong (无异常).

    Only the shape is checked here; whether a colour needs a reason is ``parse_colour_and_reason``'s rule."""
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


def parse_colour_and_reason(colour: Any, reason: Any) -> tuple[str, str]:
    """The colour and its reason, as every status change must give them (form, CLI, API, ``set_status``).

    Yellow and red restrict a citizen, so each needs a stated reason: the code, the counter and the audit
    trail show it, and "黄码 — 无异常" (a restriction "because nothing is wrong") would tell nobody why. An
    empty reason, or the words 无异常 themselves, is therefore refused for every colour but green; green with
    no reason reads 无异常."""
    colour = parse_colour(colour)
    reason = parse_reason(reason)
    if colour != "green" and reason == NO_ANOMALY:
        raise ValidationError("reason", f"{REASON_REQUIRED[colour]} / a {colour} code needs a reason "
                                        "(every colour but green does)")
    return colour, reason


def region_prefix(code: str) -> str:
    """The digits a GB/T 2260 division code fixes: 110000 → "11" (the province), 110100 → "1101" (the city),
    110105 → "110105" (the district). Codes below it share this prefix."""
    code = code.strip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def region_within(code: str, area: str) -> bool:
    """Whether the division ``code`` lies inside the division ``area`` (GB/T 2260's hierarchy by prefix)."""
    return isinstance(code, str) and len(code) == 6 and code.isdigit() and code.startswith(region_prefix(area))


def registered_region(id_number: str) -> str:
    """The address code of a resident ID number (GB 11643-1999 §5.2: the first six digits, a GB/T 2260 code):
    where the citizen's household was registered when the number was given."""
    return id_number[:6]


def outside_scope(area: str, *regions: str | None) -> str | None:
    """The first of ``regions`` (None entries skipped) that does not lie within ``area``, else None.

    Staff act for an authority, and an authority for its region: an officer of ``bj-health`` (110000) may
    change only citizens registered there. The service passes every region a change touches: the ID number's
    address code, the status row's region, and a new region if the change sets one."""
    for region in regions:
        if region is not None and not region_within(region, area):
            return region
    return None


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
    "needs_new_code", "outside_scope", "parse_answer", "parse_colour", "parse_colour_and_reason", "parse_id_number",
    "parse_person_ref", "parse_reason", "parse_region", "region_prefix", "region_within", "registered_region",
    "views_for", "what_accepting_allows",
]
