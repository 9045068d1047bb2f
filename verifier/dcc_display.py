"""What the counter screen shows for an EU DCC verdict (``verifier.dcc_pipeline``): the person and the facts.

Pure, like ``verifier.display`` (whose ``present`` hands DCC decisions here). Unlike tongban's own codes, the
name is shown in full, standardised (ICAO 9303 transliteration) beside local: a DCC is not bound to a phone,
so the clerk must compare name and date of birth with the holder's passport. A few value-set codes
(eu-dcc-valuesets: vaccine products, test types, results) are put into words; any other code is shown as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from verifier.pipeline import Decision
from verifier.reasons import Reason, explain

LABEL = ("欧盟数字新冠证书", "EU Digital COVID Certificate")
KINDS = {"vaccination": ("疫苗接种", "vaccination"), "test": ("检测", "test"), "recovery": ("康复", "recovery")}
LABELS = {
    "dcc_name": ("姓名", "name"), "dcc_name_std": ("姓名（标准拼写）", "name (standardised)"),
    "dcc_dob": ("出生日期", "date of birth"), "dcc_dose": ("剂次", "dose"), "dcc_product": ("疫苗", "vaccine product"),
    "dcc_vaccine": ("疫苗类型", "vaccine type"), "dcc_date": ("接种日期", "vaccination date"),
    "dcc_test_type": ("检测类型", "test type"), "dcc_test_result": ("检测结果", "test result"),
    "dcc_sample_time": ("采样时间", "sample taken"), "dcc_test_centre": ("检测机构", "test centre"),
    "dcc_first_positive": ("首次阳性日期", "first positive test"), "dcc_valid_from": ("有效期自", "valid from"),
    "dcc_valid_until": ("有效期至", "valid until"), "dcc_country": ("国家", "country"),
    "dcc_issuer": ("签发机构", "issuer"), "dcc_id": ("证书编号", "certificate id"),
    "dcc_expires_at": ("证书到期", "certificate expires"),
}
WORDS = {
    "EU/1/20/1528": "Comirnaty (BioNTech/Pfizer)", "EU/1/20/1507": "Spikevax (Moderna)",
    "EU/1/21/1529": "Vaxzevria (AstraZeneca)", "EU/1/20/1525": "Jcovden (Janssen)",
    "1119349007": "mRNA 疫苗 / mRNA vaccine", "1119305005": "抗原疫苗 / antigen vaccine",
    "J07BX03": "新冠疫苗 / covid-19 vaccine",
    "LP6464-4": "核酸检测 / NAAT (PCR)", "LP217198-3": "抗原快速检测 / rapid antigen test",
    "260415000": "未检出（阴性） / not detected (negative)", "260373001": "检出（阳性） / DETECTED (positive)",
}
VALID = Reason("valid", "证书有效（请核对持证人护照上的姓名和出生日期）",
               "The certificate is valid (compare the name and date of birth with the holder's passport)", "valid")
WORDED = ("dcc_product", "dcc_vaccine", "dcc_test_type", "dcc_test_result")


def _value(name: str, value: Any) -> str:
    if name == "dcc_expires_at" and isinstance(value, int):
        beijing = dt.timezone(dt.timedelta(hours=8))  # what the clerk reads: the counter's own time, with its zone
        return dt.datetime.fromtimestamp(value, beijing).strftime("%Y-%m-%d %H:%M 北京时间 (UTC+8)")
    if name in WORDED and isinstance(value, str):
        return WORDS.get(value, value)
    return "—" if value in ("", None) else str(value)


def present_dcc(decision: Decision) -> dict[str, Any]:
    """The DCC Decision as the counter API returns it, with the same ``display`` keys as ``display.present``."""
    trusted = "issuer_signature" in decision.checks_passed
    reason = VALID if decision.valid else explain(decision.reasons[0] if decision.reasons else "unknown")
    warnings = [explain(code) for code in decision.reasons] if decision.valid else []
    kind = KINDS.get(decision.view or "")
    claims = decision.claims if trusted else {}
    issuer = None
    if trusted and decision.issuer:
        country = decision.issuer.get("country") or ""
        named = claims.get("dcc_issuer") or decision.issuer.get("name") or ""
        issuer = {"name": f"{named} ({country})" if country else named, "region": ""}
    display = {
        "verdict": "valid" if decision.valid else "invalid",
        "headline": {"zh": "有效", "en": "VALID"} if decision.valid else {"zh": "无效", "en": "NOT VALID"},
        "reason": {"code": reason.code, "zh": reason.zh, "en": reason.en, "action": reason.action},
        "warnings": [{"code": w.code, "zh": w.zh, "en": w.en} for w in warnings],
        "licence": ({"type": decision.licence_type, "label": f"{LABEL[0]} / {LABEL[1]}",
                     "view": f"{kind[0]} / {kind[1]}" if kind else None} if trusted else None),
        "claims": [{"name": name, "zh": LABELS.get(name, (name, name))[0], "en": LABELS.get(name, (name, name))[1],
                    "value": _value(name, value)} for name, value in claims.items() if name != "dcc_kind"],
        "issuer": issuer, "age_seconds": None, "health": None, "proxy": None, "status_data": None,
    }
    return {**decision.to_json(), "display": display}
