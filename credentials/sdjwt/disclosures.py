"""SD-JWT Disclosures and digests, RFC 9901 §4.2 (making them) and §7.1 steps 3-5 (resolving them), pure.

A Disclosure is ``base64url(UTF-8 JSON [salt, name, value])`` for an object property (§4.2.1) or
``[salt, value]`` for an array element (§4.2.2); its digest is ``base64url(hash(ASCII of the Disclosure))``
(§4.2.3) and sits in the object's ``_sd`` array, or as ``{"...": digest}`` in the array. Only ``sha-256``
(the default, and the only hash the IANA "Named Information Hash Algorithm" entry that every implementation
must support) is accepted for ``_sd_alg``: an unknown name is refused, never guessed.

Resolving is strict where §7.1 says "MUST reject": a Disclosure no digest references, a digest appearing twice,
the same Disclosure twice, a disclosed name already in the object, ``_sd`` or ``...`` used as a claim name, an
object Disclosure in an array position or the other way round. Sizes and nesting are bounded before any
recursion, so a hostile SD-JWT cannot exhaust memory or the stack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from credentials.sdjwt.errors import SdJwtError
from keys import b64url

SD, SD_ALG, ELLIPSIS = "_sd", "_sd_alg", "..."
DIGEST_ALGORITHMS: dict[str, Callable[[bytes], Any]] = {"sha-256": hashlib.sha256}
DEFAULT_DIGEST = "sha-256"
MAX_DISCLOSURES = 256
MAX_DEPTH = 16
MAX_DISCLOSURE_CHARS = 16_384
SALT_BYTES = 16  # §9.3: 128 bits of salt
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
Path = tuple[str | int, ...]


def strict_json(text: str | bytes) -> Any:
    """JSON with no duplicate member names (RFC 8259 §4 leaves them open; a second ``_sd`` must not hide), no NaN."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise SdJwtError(f"a JSON object names {key!r} twice")
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise SdJwtError(f"JSON constant {name} is not allowed")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise SdJwtError(f"not JSON: {exc}") from exc


def b64url_strict(text: str, what: str, reason: str = "sd_jwt_malformed") -> bytes:
    """Decode unpadded base64url, refusing any other alphabet, padding or non-canonical trailing bits."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise SdJwtError(f"{what} is not base64url", reason)
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(raw) != text:  # one encoding per value: no re-encoded twin with other trailing bits
        raise SdJwtError(f"{what} is not canonical base64url", reason)
    return raw


def digest(disclosure: str, alg: str = DEFAULT_DIGEST) -> str:
    """§4.2.3: the digest of a Disclosure as it appears (its ASCII characters, not the decoded JSON)."""
    return b64url(DIGEST_ALGORITHMS[alg](disclosure.encode("ascii")).digest())


def encode_disclosure(salt: str, name: str | None, value: Any) -> str:
    """§4.2.1 / §4.2.2: ``[salt, name, value]`` (an object property) or ``[salt, value]`` (an array element)."""
    content = [salt, value] if name is None else [salt, name, value]
    return b64url(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


@dataclass(frozen=True)
class Disclosure:
    raw: str
    salt: str
    name: str | None  # None: an array element
    value: Any


def parse_disclosure(raw: str) -> Disclosure:
    """One Disclosure, checked: §4.2.1 and §4.2.2 shapes, a string salt, no reserved names."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_DISCLOSURE_CHARS:
        raise SdJwtError("a Disclosure must be a non-empty string of bounded length", "disclosure_malformed")
    try:
        content = strict_json(b64url_strict(raw, "a Disclosure", "disclosure_malformed"))
    except SdJwtError as exc:
        raise SdJwtError(f"a Disclosure is not valid: {exc}", "disclosure_malformed") from exc
    if not isinstance(content, list) or len(content) not in (2, 3) or not isinstance(content[0], str):
        raise SdJwtError("a Disclosure must be [salt, name, value] or [salt, value]", "disclosure_malformed")
    if len(content) == 2:
        return Disclosure(raw, content[0], None, content[1])
    name = content[1]
    if not isinstance(name, str) or name in (SD, ELLIPSIS):
        raise SdJwtError(f"a Disclosure's claim name must be a string other than {SD} and {ELLIPSIS}",
                         "disclosure_malformed")
    return Disclosure(raw, content[0], name, content[2])


def _salt() -> str:
    return b64url(secrets.token_bytes(SALT_BYTES))


def conceal(claims: dict[str, Any], *, keep: Iterable[str] = (), decoys: int = 0,
            salt: Callable[[], str] = _salt) -> tuple[dict[str, Any], list[str]]:
    """Make every claim of ``claims`` (but those in ``keep``) selectively disclosable, recursively (§4.2, §6.3):
    each object property, each array element, and what they hold. Returns (payload, Disclosures).

    ``decoys`` digests of random data are added to each ``_sd`` array (§4.2.5) so the number of claims an object
    hides is not its number of digests; each ``_sd`` array is sorted (§4.2.4.1: its order must not reveal the
    claims' order).
    """
    out: list[str] = []

    def hide_object(obj: dict[str, Any], exempt: frozenset[str]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        digests: list[str] = []
        for name, value in obj.items():
            if name in (SD, SD_ALG, ELLIPSIS):
                raise SdJwtError(f"{name!r} is reserved by SD-JWT and cannot be a claim name")
            if name in exempt:
                result[name] = value
                continue
            disclosure = encode_disclosure(salt(), name, hide(value))
            out.append(disclosure)
            digests.append(digest(disclosure))
        digests += [b64url(hashlib.sha256(secrets.token_bytes(32)).digest()) for _ in range(decoys)]
        if digests:
            result[SD] = sorted(digests)
        return result

    def hide(value: Any) -> Any:
        if isinstance(value, dict):
            return hide_object(value, frozenset())
        if isinstance(value, list):
            hidden = []
            for element in value:
                disclosure = encode_disclosure(salt(), None, hide(element))
                out.append(disclosure)
                hidden.append({ELLIPSIS: digest(disclosure)})
            return hidden
        return value

    payload = hide_object(claims, frozenset(keep))
    payload[SD_ALG] = DEFAULT_DIGEST
    return payload, out


def resolve(payload: dict[str, Any], disclosures: list[str]) -> tuple[dict[str, Any], dict[str, Path]]:
    """§7.1 steps 3-5: the processed payload (disclosed claims in place, undisclosed ones and ``_sd`` /
    ``_sd_alg`` gone) and each Disclosure's place (its path of names and array positions), by Disclosure."""
    if len(disclosures) > MAX_DISCLOSURES:
        raise SdJwtError(f"more than {MAX_DISCLOSURES} Disclosures")
    alg = payload.get(SD_ALG, DEFAULT_DIGEST)
    if alg not in DIGEST_ALGORITHMS:
        raise SdJwtError(f"_sd_alg {alg!r} is not supported (only {', '.join(DIGEST_ALGORITHMS)})", "sd_jwt_digest_alg")
    by_digest: dict[str, Disclosure] = {}
    for raw in disclosures:
        found = parse_disclosure(raw)
        key = digest(raw, alg)
        if key in by_digest:
            raise SdJwtError("the same Disclosure is sent twice", "disclosure_duplicate")
        by_digest[key] = found
    seen: set[str] = set()
    places: dict[str, Path] = {}

    def take(key: Any) -> Disclosure | None:
        if not isinstance(key, str):
            raise SdJwtError("a digest must be a string")
        if key in seen:
            raise SdJwtError("a digest appears more than once in the SD-JWT", "disclosure_duplicate")
        seen.add(key)
        return by_digest.get(key)

    def walk(value: Any, path: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise SdJwtError(f"claims nested deeper than {MAX_DEPTH}")
        if isinstance(value, dict):
            result = {k: walk(v, (*path, k), depth + 1) for k, v in value.items() if k not in (SD, SD_ALG)}
            sd = value.get(SD, [])
            if not isinstance(sd, list):
                raise SdJwtError("_sd must be an array of digests")
            for key in sd:
                found = take(key)
                if found is None:
                    continue  # not disclosed, or a decoy
                if found.name is None:
                    raise SdJwtError("an array-element Disclosure is referenced from an object", "disclosure_malformed")
                if found.name in result:
                    raise SdJwtError(f"claim {found.name!r} is disclosed but already present", "disclosure_conflict")
                places[found.raw] = (*path, found.name)
                result[found.name] = walk(found.value, (*path, found.name), depth + 1)
            return result
        if isinstance(value, list):
            result_list = []
            for element in value:
                if isinstance(element, dict) and ELLIPSIS in element:
                    if len(element) != 1:
                        raise SdJwtError('an array element {"...": digest} must have no other member')
                    found = take(element[ELLIPSIS])
                    if found is None:
                        continue
                    if found.name is not None:
                        raise SdJwtError("an object-property Disclosure is referenced from an array",
                                         "disclosure_malformed")
                    places[found.raw] = (*path, len(result_list))
                    result_list.append(walk(found.value, (*path, len(result_list)), depth + 1))
                else:
                    result_list.append(walk(element, (*path, len(result_list)), depth + 1))
            return result_list
        return value

    processed = walk(payload, (), 0)
    unreferenced = [d for k, d in by_digest.items() if k not in seen]
    if unreferenced:
        raise SdJwtError("a Disclosure is referenced by no digest in the SD-JWT", "disclosure_unreferenced")
    return processed, places
