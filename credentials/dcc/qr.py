"""The HC1 QR payload, outside in (hcert spec v1.0.5 §3, "Transport encodings" and §4.1 "2D barcode").

Each step is its own function, so a test can check the DCC suite's flags where they are named (UNPREFIX,
B45DECODE, COMPRESSION): ``unprefix`` (the context identifier ``HC1:``), ``base45_decode`` (RFC 9285, the
project's strict table decoder), ``decompress`` (zlib, RFC 1950, bounded to 64 KiB of output before it is
produced: a zlib bomb stops there). The spec makes compression mandatory (§3: "SHALL be compressed"), so a
COSE message sent bare is refused (the suite's Z2), not guessed at.
"""

from __future__ import annotations

from credentials.errors import DccError, FramingError
from credentials.framing import b45decode, inflate

PREFIX = "HC1:"
MAX_CHARS = 8 * 1024  # a QR code holds at most 4296 alphanumeric characters; refuse before any work
_ZLIB_CMF = 0x78  # RFC 1950 §2.2: deflate with a 32 KiB window, the only method zlib defines


def is_dcc(text: str) -> bool:
    """Whether ``text`` claims to be an EU DCC (``HC`` + a version + ``:``), to route it to the DCC verifier."""
    head, sep, _ = text.strip()[:8].partition(":")
    return bool(sep) and head.startswith("HC") and head[2:].isdigit()


def unprefix(text: str) -> str:
    """The base45 text after ``HC1:``; another context identifier (``HC2:``, ``HL0:``) or none is refused."""
    if not isinstance(text, str):
        raise DccError("an HC1 code must be text", "dcc_prefix")
    text = text.strip()
    if len(text) > MAX_CHARS:
        raise DccError(f"an HC1 code is at most {MAX_CHARS} characters", "too_large")
    if not text.startswith(PREFIX):
        head = text.partition(":")[0] if ":" in text[:8] else ""
        if is_dcc(text):
            raise DccError(f"unsupported DCC version {head}: this verifier reads HC1", "dcc_unsupported_version")
        raise DccError("not an EU DCC: expected the prefix HC1:", "dcc_prefix")
    return text[len(PREFIX):]


def base45_decode(text: str) -> bytes:
    try:
        raw = b45decode(text)
    except FramingError as exc:
        raise DccError("the HC1 code is not valid base45 (RFC 9285)", "dcc_base45") from exc
    if not raw:
        raise DccError("the HC1 code is empty after its prefix", "dcc_base45")
    return raw


def decompress(raw: bytes) -> bytes:
    if not raw or raw[0] != _ZLIB_CMF:
        raise DccError("the HC1 payload is not zlib-compressed (hcert §3 requires it)", "dcc_not_compressed")
    try:
        return inflate(raw)
    except FramingError as exc:
        raise DccError(str(exc), "too_large" if exc.reason == "too_large" else "decompression_failed") from exc


def cose_bytes(text: str) -> bytes:
    """``HC1:...`` → the COSE message's bytes (the three steps above)."""
    return decompress(base45_decode(unprefix(text)))
