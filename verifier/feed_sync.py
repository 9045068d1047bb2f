"""A counter syncs an authority's status lists by signed deltas (format: ``credentials.status_list.delta``).

Holding the authority's state at head A, the counter asks the source for the deltas since A, verifies each with a
key of that authority on the pinned trust list (within the key's window, as lists are), applies them in order
and checks the signed root of the last one. Anything wrong with the chain (a delta missing, reordered, replayed,
forged, or a result that is not the signed root) and the counter falls back to the full lists: it reads the
authority's newest delta (its head), downloads every list, verifies each, and checks them against the head's root
(the deltas since the head make a download that raced the publisher consistent). A state older than the one held
is refused (``status_list_rollback``) and the held one stays. An authority whose source has no feed (a peer region,
an older hub) is synced list by list as before (``verifier.cache``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from credentials.status_list import (
    DeltaError,
    DeltaToken,
    FeedState,
    StatusListError,
    from_snapshot,
    verify_delta,
    verify_status_list_cwt,
)
from credentials.status_uri import format_status_uri, parse_status_uri
from keys import Authority
from verifier import packed
from verifier.errors import VerifierError

T = TypeVar("T")

log = logging.getLogger(__name__)


class FeedSource(Protocol):
    def feed_since(self, authority_id: str, iat: int) -> list[bytes] | None:
        """The deltas from head ``iat`` to the newest; None: the source says take the full lists."""
        ...

    def feed_head(self, authority_id: str) -> bytes | None:
        """The authority's newest delta; None when the source keeps no feed for it."""
        ...

    def authority_lists(self, authority_id: str) -> dict[str, bytes | VerifierError]:
        """Every full list of the authority, by URI."""
        ...


@dataclass(frozen=True)
class FeedResult:
    state: FeedState | None  # the state now held (None: no feed, sync this authority list by list)
    problem: str | None = None  # a SYNC_REASONS code when something was refused or is not current
    fell_back: bool = False  # the full lists were downloaded


def by_authority_key(authority: Authority, verify: Callable[[Any], T]) -> tuple[T | None, list[StatusListError]]:
    """``verify(public_key)`` with each of ``authority``'s trusted keys until one verifies something it signed
    inside its window (a retired key's file signing after its ``signs_until`` is refused): the one rule for
    status lists and deltas, whichever path they arrive by. Returns (the token or None, the errors met)."""
    errors: list[StatusListError] = []
    for key in authority.keys:
        try:
            token = verify(key.public)
        except StatusListError as exc:
            errors.append(exc)
            continue
        if token.issued_at > key.signs_until:
            errors.append(StatusListError("signed after its key was retired", "status_list_signature"))
            continue
        return token, errors
    return None, errors


def _verified(raw: bytes, authority: Authority, now: int, leeway: int) -> DeltaToken:
    token, errors = by_authority_key(authority, lambda key: verify_delta(
        raw, public_key=key, alg=key.alg, authority_id=authority.id, now=now, leeway=leeway))
    if token is not None:
        return token
    raise next((DeltaError(str(e), e.reason) for e in errors if e.reason != "status_list_signature"), None) \
        or DeltaError("no key of the authority verifies this delta", "status_list_signature")


def sync_feed(source: FeedSource, authority: Authority, status_dir: Path, *, now: int, leeway: int,
              refusal: Callable[[list[StatusListError]], str]) -> FeedResult:
    """Bring the authority's packed state forward by deltas, or by full lists when the chain does not hold."""
    path = packed.packed_path(status_dir, authority.id)
    held = packed.load(path)
    state = held[0] if held else None
    if state is not None:
        try:
            chain = source.feed_since(authority.id, state.head)
            if chain is not None:
                new = state.apply_chain([_verified(raw, authority, now, leeway) for raw in chain])
                if new is not state:
                    packed.save(path, new, fetched_at=now)
                return FeedResult(new, _currency(new, now))
        except (DeltaError, VerifierError) as exc:
            log.warning("status deltas of %s refused (%s); taking the full lists", authority.id, exc)
    return _fallback(source, authority, path, state, now=now, leeway=leeway, refusal=refusal)


def _fallback(source: FeedSource, authority: Authority, path: Path, held: FeedState | None, *, now: int, leeway: int,
              refusal: Callable[[list[StatusListError]], str]) -> FeedResult:
    try:
        head_raw = source.feed_head(authority.id)
        if head_raw is None:
            return FeedResult(None)
        head = _verified(head_raw, authority, now, leeway)
        lists = {}
        for uri, raw in source.authority_lists(authority.id).items():
            if isinstance(raw, VerifierError):
                return FeedResult(held, raw.reason, True)
            parsed = parse_status_uri(uri)
            if parsed is None or parsed[0] != authority.id:  # only this authority's own lists build its state
                return FeedResult(held, "status_list_untrusted", True)
            token, errors = by_authority_key(authority, lambda key, raw=raw, uri=uri: verify_status_list_cwt(
                raw, public_key=key, alg=key.alg, now=now, expected_subject=uri, leeway=leeway))
            if token is None:
                return FeedResult(held, refusal(errors), True)
            lists[parsed[1]] = token.status_list
        chain = source.feed_since(authority.id, head.issued_at)
        if chain is None:
            raise DeltaError("the source gave no chain from its own head")
        state = from_snapshot(authority.id, head.bits, lists, head,
                              [_verified(raw, authority, now, leeway) for raw in chain])
    except VerifierError as exc:  # the source could not be read: its own reason (source_unreachable, ...)
        log.warning("status lists of %s not fetched: %s", authority.id, exc)
        return FeedResult(held, exc.reason, True)
    except DeltaError as exc:
        log.warning("status lists of %s refused: %s", authority.id, exc)
        return FeedResult(held, exc.reason if exc.reason == "status_list_rollback" else refusal([exc]), True)
    if held is not None and state.head <= held.head:
        rollback = state.head < held.head or state.root() != held.root()
        if rollback:
            return FeedResult(held, "status_list_rollback", True)
        return FeedResult(held, _currency(held, now), True)
    packed.save(path, state, fetched_at=now)
    return FeedResult(state, _currency(state, now), True)


def _currency(state: FeedState, now: int) -> str | None:
    if now >= state.expires_at:
        return "status_list_expired"
    if state.ttl and now >= state.head + state.ttl:
        return "status_list_stale"
    return None


def list_uris(state: FeedState) -> list[str]:
    return [format_status_uri(state.authority_id, n) for n in sorted(state.lists)]
