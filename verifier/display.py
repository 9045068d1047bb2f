"""What the counter screen shows for a Decision: words, labels, masked names, a health-code colour.

Pure: a ``Decision`` in, a JSON-ready dict out. The counter's profile (``verifier.profiles``) decides which
claims leave the counter server and how they are masked: at the default ``entrance`` names leave masked (张*三)
and ID numbers not at all, so neither the screen nor the page's data shows more than the clerk needs.
Handled generically, for licence types added later: any claim ``colour`` (green / yellow / red) is
shown as a health-code colour (with its ``reason`` when there is one); a claim ``shown_by`` (the proxy's
name, as the health-code type carries it), ``on_behalf_of`` or ``proxy`` marks a code shown on someone's behalf.
The words for claims and colours come from ``credentials.words``, as the wallet's do (``/wallet/words.json``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from credentials import licence_type
from credentials.regions import region_label
from credentials.words import CLAIM_LABELS, COLOURS
from verifier.dcc_display import present_dcc
from verifier.dcc_pipeline import LICENCE_TYPE as DCC_TYPE
from verifier.pipeline import Decision
from verifier.profiles import Profile, mask_name, profile, shown_claims
from verifier.reasons import VALID, explain

__all__ = ["CLAIM_LABELS", "error_display", "mask_name", "masked_claims", "present", "region_label"]

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}", re.ASCII)
PROXY_BY = ("shown_by", "proxy_name")  # who showed it
PROXY_FOR = ("on_behalf_of",)  # whom it was shown for
PROXY_FLAGS = ("proxy", "shown_on_behalf")


def _value_text(name: str, value: Any) -> str:
    if name == "region" and isinstance(value, str):
        return region_label(value)
    if value == "" or value is None:
        return "—"
    if value is True:
        return "是 / yes"
    if value is False:
        return "否 / no"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def masked_claims(decision: Decision, prof: Profile | None = None) -> dict[str, Any]:
    """The decision's claims as the counter's profile shows them (``verifier.profiles``; default ``entrance``)."""
    return shown_claims(decision.claims, decision.licence_type, prof or profile(None))


def health_colour(claims: dict[str, Any]) -> dict[str, str] | None:
    colour = claims.get("colour")
    if not isinstance(colour, str) or colour.lower() not in COLOURS:
        return None
    words = COLOURS[colour.lower()]
    reason, region = claims.get("reason"), claims.get("region")
    return {"code": colour.lower(), "zh": words.zh, "en": words.en, "advice_zh": words.advice_zh,
            "advice_en": words.advice_en,
            "reason": reason if isinstance(reason, str) else "",
            "region": region_label(region) if isinstance(region, str) else ""}


def _first_text(claims: dict[str, Any], names: tuple[str, ...]) -> str:
    return next((claims[n] for n in names if isinstance(claims.get(n), str) and claims[n]), "")


def proxy_marker(claims: dict[str, Any]) -> dict[str, str] | None:
    """"代为出示 / shown on behalf", with who showed it (``by``) and for whom (``for``) where the claims say."""
    by, for_ = _first_text(claims, PROXY_BY), _first_text(claims, PROXY_FOR)
    if not (by or for_ or any(claims.get(n) is True for n in PROXY_FLAGS)):
        return None
    return {"zh": "代为出示", "en": "shown on behalf", "by": by, "for": for_}


def issuer_block(issuer: dict[str, Any]) -> dict[str, Any]:
    """Who signed, and where: 上海市公安局交通警察总队 · 上海市 (310000). Another region's authority (recognised by
    this counter's hub, 互通互认) is marked so, so the clerk knows the licence comes from elsewhere on purpose."""
    block: dict[str, Any] = {"name": issuer["name"], "region": region_label(issuer.get("region"))}
    if issuer.get("recognised_until") is not None:
        block["recognised"] = {"zh": "外地签发 · 互通互认", "en": "issued in another region · mutually recognised"}
    return block


def status_data(age_seconds: int | None) -> dict[str, Any] | None:
    """"状态数据 N 分钟前更新 / status data N min old" on every verdict, so the clerk knows how old the revocation
    status behind it is (the list's signed time, or the signed head of the deltas; not when this counter fetched
    it)."""
    if age_seconds is None:
        return None
    minutes = age_seconds // 60
    return {"age_seconds": age_seconds, "minutes": minutes, "zh": f"状态数据 {minutes} 分钟前更新",
            "en": f"status data {minutes} min old"}


def present(decision: Decision, *, status_age: int | None = None, prof: Profile | None = None,
            fetched: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Decision as the counter API returns it: the decision (claims as the profile shows them) plus a
    ``display`` block.

    ``status_age``: seconds since the status data behind the verdict was signed. ``prof``: the counter's profile
    (``verifier.profiles``, default ``entrance``). ``fetched``: the outcome of a 免证办 fetch (``verifier.fetch``),
    shown beside a valid verdict. An EU DCC has its own screen (``verifier.dcc_display``)."""
    if decision.licence_type == DCC_TYPE:
        return present_dcc(decision)
    prof = prof or profile(None)
    claims = masked_claims(decision, prof)
    # The licence type may change the words only once the issuer's signature holds (else it is attacker-chosen).
    trusted_type = decision.licence_type if "issuer_signature" in decision.checks_passed else None
    shown_on_behalf = trusted_type is not None and proxy_marker(claims) is not None
    reason = VALID if decision.valid else explain(decision.reasons[0] if decision.reasons else "unknown", trusted_type,
                                                  proxy=shown_on_behalf)
    warnings = [explain(code) for code in decision.reasons] if decision.valid else []
    ltype = licence_type(decision.licence_type) if decision.licence_type else None
    view = ltype.view(decision.view) if ltype and decision.view else None
    # Claims of an untrusted credential are never in the decision; the type label is shown only once signed.
    trusted = "issuer_signature" in decision.checks_passed
    display = {
        "verdict": "valid" if decision.valid else "invalid",
        "headline": {"zh": "有效", "en": "VALID"} if decision.valid else {"zh": "无效", "en": "NOT VALID"},
        "reason": {"code": reason.code, "zh": reason.zh, "en": reason.en, "action": reason.action},
        "warnings": [{"code": w.code, "zh": w.zh, "en": w.en} for w in warnings],
        "licence": ({"type": decision.licence_type, "label": ltype.label if ltype else decision.licence_type,
                     "view": view.label if view else decision.view} if trusted and decision.licence_type else None),
        "claims": [
            {"name": name, "zh": CLAIM_LABELS.get(name, (name, name))[0], "en": CLAIM_LABELS.get(name, (name, name))[1],
             "value": _value_text(name, value)}
            for name, value in claims.items() if name not in ("colour",)
        ],
        "issuer": issuer_block(decision.issuer) if trusted and decision.issuer else None,
        "age_seconds": decision.presentation_age,
        # A health-code colour is shown only for a valid code: an invalid "green" must never look green.
        "health": health_colour(claims) if decision.valid else None,
        # Who showed it is said whatever the profile shows otherwise (names masked as the profile masks them).
        "proxy": proxy_marker(shown_claims(decision.claims, decision.licence_type,
                                           replace(prof, claims=None, id_numbers="hidden"))) if trusted else None,
        "status_data": status_data(status_age),
        "profile": {"name": prof.name, "zh": prof.label_zh, "en": prof.label_en},
        "fetched": fetched_block(fetched, decision.licence_type, prof) if decision.valid and fetched else None,
    }
    return {**decision.to_json(), "claims": claims, "display": display}


def fetched_block(fetched: dict[str, Any], licence: str | None, prof: Profile) -> dict[str, Any]:
    """A 免证办 fetch beside the verdict: the full licence as the issuer sent it, filtered by the profile as the
    presented claims are; the portrait only on a counter whose profile compares faces (``identity``).
    ``fetched`` is ``{"ok": true, "claims", "portrait"?, "elicence_id"}`` or ``{"ok": false, "code"}``."""
    if not fetched.get("ok"):
        reason = explain(str(fetched.get("code") or "fetch_failed"))
        return {"ok": False, "code": reason.code, "zh": reason.zh, "en": reason.en}
    claims = shown_claims(fetched.get("claims") or {}, licence, prof)
    ltype = licence_type(licence) if licence else None
    order = {name: i for i, name in enumerate(ltype.claim_names)} if ltype else {}
    claims = dict(sorted(claims.items(), key=lambda item: order.get(item[0], len(order))))  # the catalogue's order
    portrait = fetched.get("portrait") if prof.portrait else None
    if not (isinstance(portrait, str) and 0 < len(portrait) <= 40_000 and _BASE64.fullmatch(portrait)):
        portrait = None  # only base64 goes into the data: URL the page shows
    return {"ok": True, "elicence_id": fetched.get("elicence_id"),
            "portrait": f"data:image/jpeg;base64,{portrait}" if isinstance(portrait, str) and portrait else None,
            "claims": [{"name": name, "zh": CLAIM_LABELS.get(name, (name, name))[0],
                        "en": CLAIM_LABELS.get(name, (name, name))[1], "value": _value_text(name, value)}
                       for name, value in claims.items() if name != "colour"]}


def error_display(code: str, message: str) -> dict[str, Any]:
    """A 400 body: ``error`` (the code), ``message`` (what was wrong), and the clerk's words."""
    reason = explain(code)
    return {"error": code, "message": message, "display": {"zh": reason.zh, "en": reason.en, "action": reason.action}}
