"""Signed status deltas: how a counter keeps 100 M statuses current for well under 1 MB a day.

**Standard** (draft-ietf-oauth-status-list): each list is a Status List Token (§5.2 CWT), its bits as in §4.1,
fetched whole (§8.1). Nothing in the draft covers incremental updates; everything below is **tongban's
extension**, built only from the draft's own pieces (COSE_Sign1 CWTs, §7.1 values) and signed by the same
authority keys under the same trust rules (a counter takes a delta only from a key of the list's authority on
the pinned trust list, within that key's window).

1. *List digest.* Every list token carries the SHA-256 of its decompressed byte array (claim -65537 in the CWT,
   ``tbsl_digest`` in the JWT: ``claims.DIGEST_CWT``), checked whenever the list is verified.
2. *Authority root.* An authority's lists together have one digest: SHA-256 of the deterministic CBOR (RFC 8949
   §4.2.1) array ``[[list number, bits, size, list digest], ...]`` in list order (``state_root``).
3. *Delta token.* A COSE_Sign1 CWT, protected header ``{1: alg, 16: "application/tbsl-delta+cwt"}``, unprotected
   ``{4: kid}``, payload deterministic CBOR with exactly these claims:

   ========  ==========================================================================================
   2  sub    ``tbsl:<authority>``: the authority whose lists it changes (every one of them)
   6  iat    B: the authority's new *head* (strictly after ``from``)
   4  exp    when the state at B stops counting as current (as a list's exp)
   65534     ttl, as in §5.2: when a counter should look for the next delta
   -65538    from: A, the head this delta applies to (0 = the empty state: no lists yet)
   -65539    bits of every list of the authority (§4.1; one value per authority)
   -65540    new lists: map list number → size (lists that start at B, all entries VALID)
   -65541    changes: byte string, ``changes`` module (positions over the lists end to end, new values)
   -65537    root: the authority root (2.) of the state at B
   ========  ==========================================================================================

A counter holding head A applies only the delta whose ``from`` is A, then checks the root it computes against
the delta's signed root: a missing, reordered or replayed delta has the wrong ``from``; a forged one fails the
signature; a state the counter got wrong in any other way fails the root. Any of them → it downloads the full
lists (``feed``). Values are absolute (the new status, not "flip"), so re-applying a delta to a state that
already holds it changes nothing: full lists fetched while the publisher runs are made consistent by the chain
that follows them. Pure: no clock, no I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from credentials.cbor import dumps, loads_strict
from credentials.cose import COSE_ALG, parse_sign1, sign1, verify_sign1
from credentials.errors import StructureError
from credentials.status_list._checks import is_int
from credentials.status_list.changes import MAX_CHANGE_BYTES
from credentials.status_list.claims import HDR_TYP, checked_key
from credentials.status_list.encoding import ALLOWED_BITS
from credentials.status_list.errors import StatusListError
from keys import PrivateKey, PublicKey

DELTA_TYP = "application/tbsl-delta+cwt"
SUB, IAT, EXP, TTL = 2, 6, 4, 65534
ROOT, FROM, BITS, NEW_LISTS, CHANGES = -65537, -65538, -65539, -65540, -65541
_CLAIMS = {SUB, IAT, EXP, TTL, ROOT, FROM, BITS, NEW_LISTS, CHANGES}
MAX_DELTA_BYTES = MAX_CHANGE_BYTES + 64 * 1024
MAX_LIST_NO = 10**9 - 1  # as status_uri: at most nine digits
MAX_LIST_SIZE = 1 << 27  # entries; a list of 8-bit entries is then 128 MiB decoded, the 16 MiB cap applies first
_AUTHORITY = re.compile(r"tbsl:([a-z0-9][a-z0-9-]{0,62})", re.ASCII)


class DeltaError(StatusListError):
    """A delta was refused or does not fit the counter's state: take the full lists instead."""

    reason = "status_delta_malformed"


@dataclass(frozen=True)
class DeltaToken:
    authority_id: str
    issued_at: int  # B, the new head
    expires_at: int
    ttl: int
    from_iat: int  # A
    bits: int
    new_lists: dict[int, int]  # list number → size
    changes: bytes
    root: bytes
    raw: bytes = b""


def feed_subject(authority_id: str) -> str:
    return f"tbsl:{authority_id}"


def state_root(lists: dict[int, tuple[int, int, bytes]]) -> bytes:
    """The authority root (module docstring, 2.) of ``{list number: (bits, size, list digest)}``."""
    return hashlib.sha256(dumps([[n, *lists[n]] for n in sorted(lists)])).digest()


def sign_delta(delta: DeltaToken, signing_key: PrivateKey, *, kid: bytes) -> bytes:
    """The delta as a signed CWT (deterministic CBOR payload), checked as a verifier would check it first."""
    claims = {SUB: feed_subject(delta.authority_id), IAT: delta.issued_at, EXP: delta.expires_at, TTL: delta.ttl,
              FROM: delta.from_iat, BITS: delta.bits, NEW_LISTS: dict(delta.new_lists), CHANGES: delta.changes,
              ROOT: delta.root}
    _check_claims(claims)
    if not isinstance(signing_key, PrivateKey):
        raise DeltaError("the key must be a keys.PrivateKey", "status_list_key")
    return sign1(dumps(claims), signing_key, kid=kid, protected_extra={HDR_TYP: DELTA_TYP})


def verify_delta(raw: Any, *, public_key: Any, alg: str, authority_id: str, now: int, leeway: int = 0) -> DeltaToken:
    """Strict structure, typ, signature with the caller's key and algorithm, then the claims.

    Expiry is the caller's decision: a counter catching up applies older deltas of a chain whose last one is
    current; ``now`` only refuses a delta dated ahead of the counter's clock (beyond ``leeway``).
    """
    if not isinstance(raw, bytes | bytearray) or len(raw) > MAX_DELTA_BYTES:
        raise DeltaError("a delta must be a CWT of at most 8 MiB")
    try:
        message = parse_sign1(bytes(raw), "the status delta", extra_protected=frozenset({HDR_TYP}),
                              max_bytes=MAX_DELTA_BYTES)
    except StructureError as exc:
        raise DeltaError(str(exc)) from exc
    if alg not in COSE_ALG or message.alg != COSE_ALG[alg]:
        raise DeltaError(f"the delta is not signed with the expected {alg}", "status_list_alg")
    if message.headers.get(HDR_TYP) != DELTA_TYP:
        raise DeltaError(f"a delta's typ must be {DELTA_TYP}", "status_list_typ")
    if not verify_sign1(message, checked_key(public_key, alg, PublicKey)):
        raise DeltaError("the delta's signature does not verify", "status_list_signature")
    try:
        claims = loads_strict(message.payload, "the delta's claims", max_bytes=MAX_DELTA_BYTES)
    except StructureError as exc:
        raise DeltaError(str(exc)) from exc
    _check_claims(claims)
    if claims[SUB] != feed_subject(authority_id):
        raise DeltaError(f"the delta is for {claims[SUB]!r}, not {feed_subject(authority_id)!r}",
                         "status_list_subject")
    if claims[IAT] > now + leeway:
        raise DeltaError("the delta is dated ahead of this clock", "status_list_not_yet_valid")
    return DeltaToken(authority_id, claims[IAT], claims[EXP], claims[TTL], claims[FROM], claims[BITS],
                      dict(claims[NEW_LISTS]), claims[CHANGES], claims[ROOT], bytes(raw))


def _check_claims(claims: Any) -> None:
    """Every claim present, of its type, in range: times 0 ≤ t < 2^53, from < iat < exp."""
    if not isinstance(claims, dict) or set(claims) != _CLAIMS:
        raise DeltaError("a delta holds exactly the claims sub, iat, exp, ttl, from, bits, new lists, changes, root")
    times = [claims[k] for k in (IAT, EXP, TTL, FROM)]
    if not all(is_int(t) and 0 <= t < 2**53 for t in times):
        raise DeltaError("a delta's times must be integers 0 <= t < 2^53")
    if not claims[FROM] < claims[IAT] < claims[EXP] or claims[TTL] <= 0:
        raise DeltaError("a delta must go forward (from < iat < exp) with a positive ttl")
    if not isinstance(claims[SUB], str) or not _AUTHORITY.fullmatch(claims[SUB]):
        raise DeltaError("a delta's subject must be tbsl:<authority>")
    if not is_int(claims[BITS]) or claims[BITS] not in ALLOWED_BITS:
        raise DeltaError(f"bits must be one of {ALLOWED_BITS}")
    new = claims[NEW_LISTS]
    if not isinstance(new, dict) or not all(is_int(n) and 1 <= n <= MAX_LIST_NO and is_int(size)
                                            and 0 < size <= MAX_LIST_SIZE and size * claims[BITS] % 8 == 0
                                            for n, size in new.items()):
        raise DeltaError("new lists must map list numbers (1..999999999) to sizes filling whole bytes")
    if not isinstance(claims[CHANGES], bytes) or len(claims[CHANGES]) > MAX_CHANGE_BYTES:
        raise DeltaError("changes must be a byte string of at most 8 MiB")
    if not isinstance(claims[ROOT], bytes) or len(claims[ROOT]) != 32:
        raise DeltaError("root must be 32 bytes (SHA-256)")
