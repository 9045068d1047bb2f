"""An authority's status lists as one state that signed deltas move forward (format: ``delta``).

``FeedState`` is what a counter holds per authority: every list decoded, each list's digest, and the *head*
(the ``iat`` of the last delta it took). ``apply`` takes the one delta that follows the head, checks the result
against the delta's signed root and returns the new state (the old one is left as it was, so a refused delta
costs nothing). ``from_snapshot`` builds a state from full lists and the authority's latest delta (the
fallback when a delta is missing, forged or the counter is too far behind). Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from credentials.status_list.changes import Layout, decode_changes, diff, encode_changes
from credentials.status_list.claims import list_digest
from credentials.status_list.delta import DeltaError, DeltaToken, state_root
from credentials.status_list.encoding import StatusList


@dataclass(frozen=True)
class FeedState:
    authority_id: str
    bits: int
    head: int  # iat of the delta this state is at; 0: the empty state
    expires_at: int = 0  # the head delta's exp: until then the lists count as current
    ttl: int = 0
    lists: dict[int, StatusList] = field(default_factory=dict)
    digests: dict[int, bytes] = field(default_factory=dict)

    def root(self) -> bytes:
        return state_root({n: (s.bits, s.size, self.digests[n]) for n, s in self.lists.items()})

    def apply(self, delta: DeltaToken, *, check_root: bool = True, catching_up: bool = False) -> FeedState:
        """The state after ``delta``; ``DeltaError`` when it does not follow this head or the result is wrong.

        ``catching_up`` (only ``from_snapshot``): lists fetched whole may already hold this delta's changes and
        new lists, and only the last delta's root is checked.
        """
        if delta.authority_id != self.authority_id:
            raise DeltaError(f"the delta is for {delta.authority_id}, not {self.authority_id}", "status_list_subject")
        if delta.issued_at <= self.head:
            raise DeltaError(f"the delta (iat {delta.issued_at}) is not newer than the state held ({self.head})",
                             "status_list_rollback")
        if delta.from_iat != self.head:
            raise DeltaError(f"the delta follows {delta.from_iat}, this state is at {self.head}: one is missing",
                             "status_delta_gap")
        if self.lists and delta.bits != self.bits:
            raise DeltaError("the delta's bits differ from the lists'")
        lists, digests = dict(self.lists), dict(self.digests)
        for n, size in delta.new_lists.items():
            held = lists.get(n)
            if held is not None and not (catching_up and held.size == size):
                raise DeltaError(f"the delta adds list {n}, which exists already")
            if held is None:
                lists[n] = StatusList(size, delta.bits)
                digests[n] = list_digest(lists[n])
        layout = Layout.of({n: s.size for n, s in lists.items()})
        copied: set[int] = set()
        for n, idx, value in decode_changes(delta.changes, layout, delta.bits):
            if n not in copied:
                lists[n], copied = lists[n].copy(), copied | {n}
            lists[n].set(idx, value)
        for n in copied:
            digests[n] = list_digest(lists[n])
        state = FeedState(self.authority_id, delta.bits, delta.issued_at, delta.expires_at, delta.ttl, lists, digests)
        if check_root and state.root() != delta.root:
            raise DeltaError("the lists after this delta do not match its signed root", "status_delta_digest")
        return state

    def apply_chain(self, chain: Sequence[DeltaToken]) -> FeedState:
        state = self
        for delta in chain:
            state = state.apply(delta)
        return state


def from_snapshot(authority_id: str, bits: int, lists: dict[int, StatusList], head: DeltaToken,
                  chain: Sequence[DeltaToken] = ()) -> FeedState:
    """Full lists fetched after ``head`` was read, then the deltas since ``head``: the state at the last one.

    Each full list was verified on its own; the root of the last delta says they belong together.
    """
    if any(s.bits != bits for s in lists.values()):
        raise DeltaError("an authority's lists must all have the same bits")
    state = FeedState(authority_id, bits, head.issued_at, head.expires_at, head.ttl, dict(lists),
                      {n: list_digest(s) for n, s in lists.items()})
    if not chain:
        if state.root() != head.root:
            raise DeltaError("the full lists do not match the authority's signed root", "status_delta_digest")
        return state
    for i, delta in enumerate(chain):
        state = state.apply(delta, check_root=i == len(chain) - 1, catching_up=True)
    return state


def next_delta(authority_id: str, *, head: int, issued_at: int, expires_at: int, ttl: int, bits: int,
               held: dict[int, tuple[int, int, bytes]], before: dict[int, StatusList | None],
               after: dict[int, StatusList]) -> tuple[DeltaToken, dict[int, tuple[int, int, bytes]]]:
    """The publisher's side: the (unsigned) delta from ``head`` to ``issued_at`` and the new ``held`` summary.

    ``held`` is ``{list number: (bits, size, digest)}`` at ``head``; ``before`` / ``after`` the lists re-built
    in this step (``before[n]`` None for a list that is new). An empty ``after`` is a heartbeat: the same state,
    current for longer.
    """
    changes, new_lists, summary = [], {}, dict(held)
    for n, status_list in after.items():
        if status_list.bits != bits:
            raise DeltaError("an authority's lists must all have the same bits")
        old = before.get(n)
        if old is None and n not in held:
            new_lists[n] = status_list.size
        changes += [(n, idx, value) for idx, value in diff(old, status_list)]
        summary[n] = (bits, status_list.size, list_digest(status_list))
    layout = Layout.of({n: size for n, (_, size, _) in summary.items()})
    delta = DeltaToken(authority_id, issued_at, expires_at, ttl, head, bits, new_lists,
                       encode_changes(changes, layout, bits), state_root(summary))
    return delta, summary
