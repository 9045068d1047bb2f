"""Token Status List (draft-ietf-oauth-status-list) §6.2 / §6.3: the Referenced Token's ``status`` claim,
built by the issuer and parsed by the verifier (§8.3 step 1)."""

from __future__ import annotations

from typing import Any

from credentials.status_list._checks import URI, is_int
from credentials.status_list.errors import StatusListError


def status_reference(idx: int, uri: str) -> dict[str, Any]:
    """§6.2 / §6.3: the value of a Referenced Token's ``status`` claim (JWT "status", CWT 65535)."""
    claim = {"status_list": {"idx": idx, "uri": uri}}
    parse_status_reference(claim)
    return claim


def parse_status_reference(obj: Any) -> tuple[int, str]:
    """§8.3 step 1: the ``status`` claim must hold a ``status_list`` with a non-negative ``idx`` and a URI."""
    if not isinstance(obj, dict) or not isinstance(obj.get("status_list"), dict):
        raise StatusListError("the status claim must be a map holding a status_list map", "status_reference")
    idx, uri = obj["status_list"].get("idx"), obj["status_list"].get("uri")
    if not is_int(idx) or idx < 0:
        raise StatusListError("status_list idx must be a non-negative integer", "status_reference")
    if not isinstance(uri, str) or not URI.fullmatch(uri):
        raise StatusListError("status_list uri must be a URI (RFC 3986)", "status_reference")
    return idx, uri
