"""The words people read for claims and health-code colours, in one place, in Chinese and English.

Both sides of a counter read these: the clerk's screen (``verifier.display``) and the citizen's wallet, which
fetches them as ``/wallet/words.json`` (``wallet.web``; kept offline by the wallet's service worker). So the
label the citizen sees before showing a claim is the label the clerk sees after scanning it (issue 12).
The claim names are those of ``credentials.catalogue``; the colours are its ``HEALTH_COLOURS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Claim name → (Chinese, English). Every claim of every catalogue type, and the proxy claims a counter may meet.
CLAIM_LABELS: dict[str, tuple[str, str]] = {
    "name": ("姓名", "Name"),
    "sex": ("性别", "Sex"),
    "ethnicity": ("民族", "Ethnicity"),
    "birth_date": ("出生日期", "Date of birth"),
    "id_number": ("公民身份号码", "ID number"),
    "address": ("住址", "Address"),
    "licence_number": ("证号", "Licence number"),
    "vehicle_classes": ("准驾车型", "Vehicle classes"),
    "first_issue_date": ("初次领证日期", "First issued"),
    "valid_from": ("有效期起", "Valid from"),
    "valid_until": ("有效期至", "Valid until"),
    "issuing_authority": ("签发机关", "Issuing authority"),
    "age_over_18": ("已满 18 周岁", "Aged 18 or over"),
    "uscc": ("统一社会信用代码", "Unified social credit code"),
    "legal_representative": ("法定代表人", "Legal representative"),
    "entity_type": ("类型", "Entity type"),
    "registered_capital": ("注册资本", "Registered capital"),
    "established_on": ("成立日期", "Established on"),
    "business_scope": ("经营范围", "Business scope"),
    "registration_authority": ("登记机关", "Registration authority"),
    "colour": ("健康码", "Health code"),
    "on_behalf_of": ("代为出示", "Shown on behalf of"),
    "shown_by": ("代为出示人", "Shown by"),
    "reason": ("原因", "Reason"),
    "region": ("地区", "Region"),
}


@dataclass(frozen=True)
class ColourWords:
    """A colour is never shown alone (colour-blind readers, GB/T 37668): its name, what it means, what to do."""

    name_zh: str  # 绿码
    name_en: str  # green
    zh: str  # 绿码 · 无异常
    en: str
    advice_zh: str  # what the clerk does; empty for green
    advice_en: str


# Every colour of ``catalogue.HEALTH_COLOURS`` (tests/credentials/test_words.py checks).
COLOURS: dict[str, ColourWords] = {
    "green": ColourWords("绿码", "green", "绿码 · 无异常", "Green · no anomaly", "", ""),
    "yellow": ColourWords("黄码", "yellow", "黄码 · 需核查", "Yellow · check required", "请按规定核查后放行",
                          "Check as the rules require before admitting"),
    "red": ColourWords("红码", "red", "红码 · 有异常", "Red · anomaly", "禁止通行，请按规定处置",
                       "Do not admit; follow the rules"),
}

# The reason a green code carries when the officer gave none.
NO_ANOMALY = "无异常"


def colour_name(colour: str) -> str:
    """"绿码 / green": the colour as a form or an audit message names it."""
    words = COLOURS[colour]
    return f"{words.name_zh} / {words.name_en}"


def words_json() -> dict[str, Any]:
    """Everything above as the wallet fetches it (``/wallet/words.json``)."""
    return {
        "claims": {name: list(label) for name, label in CLAIM_LABELS.items()},
        "colours": {code: {"name_zh": w.name_zh, "name_en": w.name_en, "zh": w.zh, "en": w.en,
                           "advice_zh": w.advice_zh, "advice_en": w.advice_en} for code, w in COLOURS.items()},
        "no_anomaly": NO_ANOMALY,
    }
