"""The holder's side of RFC 9901: choose Disclosures (§5.1) and add a Key Binding JWT (§4.3).

``present`` keeps exactly the Disclosures on the way to the claims asked for: naming ``address`` discloses the
address; ``age_equal_or_over.18`` discloses the object and its ``18`` member and nothing else of it; a claim
asked for discloses everything beneath it (all of ``vehicle_classes``). The KB-JWT (§4.3) has header
``{"typ": "kb+jwt", "alg": <the device key's>}`` and claims ``iat``, ``aud``, ``nonce`` and ``sd_hash`` over the
presented SD-JWT, so it cannot be moved to another selection, verifier or request.
"""

from __future__ import annotations

from collections.abc import Iterable

from credentials.sdjwt.disclosures import Path, b64url_strict, resolve, strict_json
from credentials.sdjwt.errors import SdJwtError
from credentials.sdjwt.serialization import join, sd_hash, split
from keys import PrivateKey, jws_encode

KB_TYP = "kb+jwt"


def _path(name: str) -> Path:
    return tuple(name.split("."))


def _wanted(place: Path, wanted: list[Path]) -> bool:
    """A Disclosure is kept when it lies on the way to a wanted claim, or beneath one."""
    for want in wanted:
        n = min(len(place), len(want))
        if tuple(str(p) for p in place[:n]) == tuple(str(p) for p in want[:n]):
            return True
    return False


def disclosure_places(sd_jwt: str) -> dict[str, Path]:
    """Each Disclosure of ``sd_jwt`` (the holder's own copy, already checked when it arrived) and its claim path."""
    parts = split(sd_jwt)
    payload = strict_json(b64url_strict(parts.jwt.split(".")[1], "the JWT payload"))
    if not isinstance(payload, dict):
        raise SdJwtError("the JWT payload must be a JSON object")
    return resolve(payload, list(parts.disclosures))[1]


def present(sd_jwt: str, disclose: Iterable[str], *, holder_key: PrivateKey | None, nonce: str | None = None,
            audience: str | None = None, iat: int | None = None) -> str:
    """``sd_jwt`` with only the Disclosures for ``disclose`` (dotted claim paths), and a KB-JWT when ``holder_key``
    is given (then ``nonce``, ``audience`` and ``iat`` are required)."""
    parts = split(sd_jwt)
    wanted = [_path(name) for name in disclose]
    places = disclosure_places(sd_jwt)
    kept = [d for d in parts.disclosures if _wanted(places[d], wanted)]
    presented = join(parts.jwt, kept)
    if holder_key is None:
        return presented
    if not isinstance(nonce, str) or not isinstance(audience, str) or not isinstance(iat, int):
        raise SdJwtError("a Key Binding JWT needs a nonce, an audience and iat", "kb_invalid")
    claims = {"iat": iat, "aud": audience, "nonce": nonce, "sd_hash": sd_hash(presented)}
    kb = jws_encode(claims, holder_key, headers={"typ": KB_TYP})
    return presented + kb


__all__ = ["KB_TYP", "disclosure_places", "present"]
