"""The counter's own QR code (柜台码) for two-way scanning, as venue codes (场所码) work.

A counter in two-way mode shows this code; the holder's wallet scans it and signs the counter's id
(CWT ``aud``, RFC 8392 §3.1.3) and the challenge (EAT ``nonce``, RFC 9711 §4.1) into the presentation
(``credentials.presentation``), so a captured presentation is good at that counter, for that challenge,
once, and nowhere else.

Wire form::

    "TBC1:" + base45( deterministic CBOR {1: counter id, 2: challenge, 3: issued-at} )

* 1 counter id: text, 1..64 characters of ``A-Z a-z 0-9 . _ -`` starting with a letter or digit
  (the same alphabet the holder proof's ``aud`` is held to);
* 2 challenge: exactly 16 random bytes, fresh from the counter;
* 3 issued-at: integer seconds since 1970 on the counter's clock, 0 <= t < 2^53.

base45 is RFC 9285 (the QR alphanumeric alphabet, as ``TB1:``); no compression (the payload is under
100 bytes); CBOR is RFC 8949 §4.2.1 deterministic. The code is not signed: whoever shows a false one
only gets presentations bound to a counter id and challenge that no real counter accepts.

Parsing is strict: one prefix, canonical base45 (decode then encode must give the same text), one
deterministic CBOR map with exactly these keys and types, nothing after it. Every failure is a
``CounterCodeError`` (reason ``malformed_counter_code``); the browser wallet's parser
(``wallet/static/tb-format.js`` ``parseCounterCode``) accepts exactly the same strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import base45

from credentials.cbor import dumps, loads_strict
from credentials.errors import CredentialError

PREFIX = "TBC1:"
KEY_COUNTER, KEY_CHALLENGE, KEY_ISSUED_AT = 1, 2, 3
CHALLENGE_BYTES = 16
MAX_COUNTER_ID = 64
MAX_CODE_CHARS = 256  # a valid code is at most 149 characters
TIME_LIMIT = 2**53
COUNTER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)


class CounterCodeError(CredentialError):
    """The text is not a well-formed counter code, or a counter id breaks its alphabet."""

    reason = "malformed_counter_code"


@dataclass(frozen=True)
class CounterCode:
    counter_id: str
    challenge: bytes
    issued_at: int


def is_counter_id(value: object) -> bool:
    """True for a text of 1..64 characters of the counter-id alphabet (also the holder proof's ``aud``)."""
    return isinstance(value, str) and COUNTER_ID.fullmatch(value) is not None


def check_counter_id(value: object) -> str:
    if not is_counter_id(value):
        raise CounterCodeError(
            f"a counter id is 1 to {MAX_COUNTER_ID} characters of A-Z a-z 0-9 . _ - starting with a letter or digit",
            "malformed_counter_code")
    return value


def make_counter_code(counter_id: str, challenge: bytes, issued_at: int) -> str:
    """The text a two-way counter shows as its QR code."""
    check_counter_id(counter_id)
    if not isinstance(challenge, bytes) or len(challenge) != CHALLENGE_BYTES:
        raise CounterCodeError(f"a counter challenge is exactly {CHALLENGE_BYTES} bytes", "malformed_counter_code")
    _check_time(issued_at)
    body = dumps({KEY_COUNTER: counter_id, KEY_CHALLENGE: challenge, KEY_ISSUED_AT: issued_at})
    return PREFIX + base45.b45encode(body).decode("ascii")


def parse_counter_code(text: object) -> CounterCode:
    """Undo ``make_counter_code``; any other input raises ``CounterCodeError``."""
    if not isinstance(text, str):
        raise CounterCodeError("a counter code is text")
    text = text.strip(" \t\r\n")  # a scanner's Enter; canonical base45 never ends in a space
    if len(text) > MAX_CODE_CHARS:
        raise CounterCodeError("too long to be a counter code")
    if not text.startswith(PREFIX):
        raise CounterCodeError("not a counter code: expected the prefix TBC1:")
    body = text[len(PREFIX):]
    try:
        raw = base45.b45decode(body)
    except (ValueError, TypeError) as exc:
        raise CounterCodeError("the counter code is not valid base45") from exc
    if base45.b45encode(raw).decode("ascii") != body:
        raise CounterCodeError("the counter code's base45 is not in its one canonical form")
    try:
        value = loads_strict(raw, "counter code")
    except CredentialError as exc:
        raise CounterCodeError(f"the counter code is not CBOR: {exc}") from exc
    if not isinstance(value, dict) or set(value) != {KEY_COUNTER, KEY_CHALLENGE, KEY_ISSUED_AT}:
        raise CounterCodeError("a counter code is a map of exactly {1: counter id, 2: challenge, 3: issued-at}")
    counter_id, challenge, issued_at = value[KEY_COUNTER], value[KEY_CHALLENGE], value[KEY_ISSUED_AT]
    check_counter_id(counter_id)
    if not isinstance(challenge, bytes) or len(challenge) != CHALLENGE_BYTES:
        raise CounterCodeError(f"the counter challenge must be exactly {CHALLENGE_BYTES} bytes")
    _check_time(issued_at)
    if dumps(value) != raw:
        raise CounterCodeError("the counter code is not deterministic CBOR (RFC 8949 §4.2.1)")
    return CounterCode(counter_id, challenge, issued_at)


def _check_time(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < TIME_LIMIT:
        raise CounterCodeError("the counter code's time must be an integer between 0 and 2^53")
    return value
