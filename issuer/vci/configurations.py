"""The credential configurations the issuer offers (OpenID4VCI 1.0 §12.2.4), one per licence type and format.

``<type>`` is tongban-cose (the compact QR format the web wallet and counters use); ``<type>-sd-jwt`` is the
same licence as an SD-JWT VC (``dc+sd-jwt``, Appendix A.3). Health codes are not here: they come from
``/issuer/health-code`` (``issuer.health.web``), not from a register.
"""

from __future__ import annotations

from dataclasses import dataclass

from credentials.catalogue import AGE_OVER_18, LICENCE_TYPES, LicenceType
from credentials.sdjwt import vct_for
from credentials.sdjwt.vc import SIGNING_ALGORITHMS
from credentials.words import CLAIM_LABELS
from issuer.health import HEALTH_CODE
from issuer.sd_jwt_issuance import FORMAT as SD_JWT

COSE = "tongban-cose"
SD_JWT_SUFFIX = "-sd-jwt"
BATCH_SIZE = 10  # §12.2.4 batch_credential_issuance.batch_size: proofs (device keys) per request, SD-JWT VC only


@dataclass(frozen=True)
class Configuration:
    id: str
    ltype: LicenceType
    format: str

    @property
    def batch(self) -> int:
        return BATCH_SIZE if self.format == SD_JWT else 1


CONFIGURATIONS: dict[str, Configuration] = {
    c.id: c
    for t in LICENCE_TYPES if t.name != HEALTH_CODE
    for c in (Configuration(t.name, t, COSE), Configuration(t.name + SD_JWT_SUFFIX, t, SD_JWT))
}


def _display(label: str) -> list[dict[str, str]]:
    zh, _, en = label.partition(" / ")
    return [{"name": zh, "locale": "zh-CN"}, {"name": en or zh, "locale": "en"}]


def _claim(path: list, name: str) -> dict:
    zh, en = CLAIM_LABELS.get(name, (name, name))
    return {"path": path, "display": [{"name": zh, "locale": "zh-CN"}, {"name": en, "locale": "en"}]}


def describe(config: Configuration, issuer_url: str, scope: str) -> dict:
    """One entry of ``credential_configurations_supported``."""
    entry = {
        "format": config.format,
        "scope": scope,
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
    }
    meta: dict = {"display": _display(config.ltype.label)}
    if config.format == SD_JWT:
        entry["vct"] = vct_for(issuer_url, config.ltype.name)
        claims = [_claim([c.name], c.name) for c in config.ltype.claims if c.name != AGE_OVER_18]
        if config.ltype.claim("vehicle_classes") is not None:
            claims.append(_claim(["vehicle_classes", None], "vehicle_classes"))
        if config.ltype.claim(AGE_OVER_18) is not None:
            claims.append(_claim(["age_equal_or_over", "18"], AGE_OVER_18))
        meta["claims"] = claims
    else:
        meta["views"] = {v.name: {"label": v.label, "claims": list(v.claims)} for v in config.ltype.views}
    entry["credential_metadata"] = meta
    return entry
