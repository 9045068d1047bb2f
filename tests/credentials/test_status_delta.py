"""Signed status deltas (tongban's extension to draft-ietf-oauth-status-list, ``credentials.status_list.delta``).

Chains applied in order equal the full lists; a dropped, reordered, replayed or forged delta is refused (the
counter then takes the full lists); a state never goes back; the list digest is signed and checked; the change
set has one encoding. Hypothesis drives random change sets through publisher and counter.
"""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keys
from credentials.cbor import dumps
from credentials.cose import sign1
from credentials.status_list import (
    DELTA_TYP,
    DeltaError,
    DeltaToken,
    FeedState,
    StatusList,
    StatusListError,
    from_snapshot,
    list_digest,
    next_delta,
    sign_delta,
    sign_status_list_cwt,
    sign_status_list_jwt,
    verify_delta,
    verify_status_list_cwt,
    verify_status_list_jwt,
)
from credentials.status_list.changes import ChangeError, Layout, decode_changes, encode_changes
from tests.conftest import examples

KEY = keys.generate("ES256")
OTHER = keys.generate("ES256")
AUTH = "bj-health"
SIZE, BITS = 1024, 2
NOW = 1_800_000_000


class Publisher:
    """The issuer's side in miniature: lists, the held summary, a delta per step."""

    def __init__(self, lists: int = 3, size: int = SIZE):
        self.lists = {n: StatusList(size, BITS) for n in range(1, lists + 1)}
        self.held: dict = {}
        self.head = 0
        self.chain: list[bytes] = []

    def step(self, changes: dict[tuple[int, int], int], at: int, new: dict[int, int] | None = None) -> bytes:
        before = {n: self.lists[n].copy() if n in self.held else None for n, _ in changes} | {
            n: None for n in (new or {})}
        for n, size in (new or {}).items():
            self.lists[n] = StatusList(size, BITS)
        touched = {n for n, _ in changes} | set(new or {}) | (set(self.lists) if not self.held else set())
        for (n, idx), value in changes.items():
            self.lists[n].set(idx, value)
        if not self.held:
            before = {n: None for n in self.lists}
        after = {n: self.lists[n] for n in touched}
        delta, self.held = next_delta(AUTH, head=self.head, issued_at=at, expires_at=at + 600, ttl=300, bits=BITS,
                                      held=self.held, before=before, after=after)
        self.head = at
        raw = sign_delta(delta, KEY, kid=b"k1")
        self.chain.append(raw)
        return raw


def verified(raw: bytes, key=KEY) -> DeltaToken:
    return verify_delta(raw, public_key=key.public, alg="ES256", authority_id=AUTH, now=NOW + 10**6)


def counter_lists(state: FeedState) -> dict[int, bytes]:
    return {n: s.as_bytes() for n, s in state.lists.items()}


@pytest.fixture(scope="module")
def published():
    pub = Publisher()
    pub.step({}, NOW)  # the lists exist, all valid
    pub.step({(1, 5): 1, (2, 1023): 2, (3, 0): 2}, NOW + 1)
    pub.step({(2, 1023): 0, (1, 6): 1}, NOW + 2)
    pub.step({}, NOW + 3)  # a heartbeat
    pub.step({(3, 0): 1}, NOW + 4, new={4: 512})
    pub.step({(4, 511): 2}, NOW + 5)
    return pub


def test_chain_applied_in_order_equals_the_full_lists(published):
    state = FeedState(AUTH, BITS, 0).apply_chain([verified(raw) for raw in published.chain])
    assert state.head == NOW + 5 and counter_lists(state) == {n: s.as_bytes() for n, s in published.lists.items()}
    assert state.digests == {n: list_digest(s) for n, s in published.lists.items()}


def test_a_dropped_delta_is_detected(published):
    tokens = [verified(raw) for raw in published.chain]
    with pytest.raises(DeltaError) as caught:
        FeedState(AUTH, BITS, 0).apply_chain(tokens[:2] + tokens[3:])
    assert caught.value.reason == "status_delta_gap"


def test_reordered_deltas_are_detected(published):
    tokens = [verified(raw) for raw in published.chain]
    with pytest.raises(DeltaError) as caught:
        FeedState(AUTH, BITS, 0).apply_chain([tokens[0], tokens[2], tokens[1]])
    assert caught.value.reason == "status_delta_gap"


def test_a_replayed_delta_is_refused_and_the_state_is_kept(published):
    tokens = [verified(raw) for raw in published.chain]
    state = FeedState(AUTH, BITS, 0).apply_chain(tokens[:3])
    for old in tokens[:3]:
        with pytest.raises(DeltaError) as caught:
            state.apply(old)
        assert caught.value.reason == "status_list_rollback"
    assert state.head == NOW + 2  # a refusal leaves the state as it was


def test_a_forged_delta_fails_its_signature(published):
    token = verified(published.chain[1])
    forged = sign_delta(DeltaToken(AUTH, token.issued_at, token.expires_at, token.ttl, token.from_iat, BITS, {},
                                   b"", token.root), OTHER, kid=b"k1")
    with pytest.raises(DeltaError) as caught:
        verified(forged)
    assert caught.value.reason == "status_list_signature"
    # One byte of the signed changes altered, the signature kept: refused too.
    raw = bytearray(published.chain[1])
    raw[raw.index(token.changes) + 1] ^= 1
    with pytest.raises(DeltaError):
        verified(bytes(raw))


def test_a_delta_signed_by_the_right_key_but_wrong_root_is_refused(published):
    tokens = [verified(raw) for raw in published.chain]
    state = FeedState(AUTH, BITS, 0).apply(tokens[0])
    bad = tokens[1]
    lying = verified(sign_delta(DeltaToken(AUTH, bad.issued_at, bad.expires_at, bad.ttl, bad.from_iat, BITS, {},
                                           b"", bad.root), KEY, kid=b"k1"))  # drops the changes, keeps the root
    with pytest.raises(DeltaError) as caught:
        state.apply(lying)
    assert caught.value.reason == "status_delta_digest"


def test_another_authoritys_delta_is_refused(published):
    with pytest.raises(DeltaError) as caught:
        verify_delta(published.chain[0], public_key=KEY.public, alg="ES256", authority_id="bj-traffic-police",
                     now=NOW + 10)
    assert caught.value.reason == "status_list_subject"


def test_a_delta_from_the_future_is_refused(published):
    with pytest.raises(DeltaError) as caught:
        verify_delta(published.chain[-1], public_key=KEY.public, alg="ES256", authority_id=AUTH, now=NOW)
    assert caught.value.reason == "status_list_not_yet_valid"


def test_a_status_list_token_is_not_a_delta():
    token = sign_status_list_cwt(StatusList(8, 2), subject_uri="tbsl:bj-health/1", issued_at=NOW, expires_at=NOW + 60,
                                 ttl=30, signing_key=KEY, kid=b"k1", alg="ES256")
    with pytest.raises(DeltaError) as caught:
        verified(token)
    assert caught.value.reason == "status_list_typ"


@pytest.mark.parametrize("mutate", [
    lambda c: c.pop(-65541),  # no changes claim
    lambda c: c.update({99: 1}),  # an unknown claim
    lambda c: c.update({-65538: c[6]}),  # from == iat: not forward
    lambda c: c.update({4: c[6]}),  # exp == iat
    lambda c: c.update({-65539: 3}),  # bits not allowed
    lambda c: c.update({-65540: {0: 8}}),  # list number 0
    lambda c: c.update({-65540: {1: 3}}),  # size not filling bytes at 2 bits
    lambda c: c.update({-65537: b"x" * 31}),  # short root
    lambda c: c.update({6: True}),  # a boolean for a time
    lambda c: c.update({2: "tbsl:bj-health/1"}),  # a list's URI, not the authority's
])
def test_malformed_claims_are_refused(published, mutate):
    token = verified(published.chain[1])
    claims = {2: "tbsl:" + AUTH, 6: token.issued_at, 4: token.expires_at, 65534: token.ttl, -65538: token.from_iat,
              -65539: BITS, -65540: {}, -65541: token.changes, -65537: token.root}
    mutate(claims)
    raw = sign1(cbor2.dumps(claims, canonical=True), KEY, kid=b"k1", protected_extra={16: DELTA_TYP})
    with pytest.raises(DeltaError):
        verified(raw)


def test_a_non_deterministic_encoding_is_refused(published):
    token = verified(published.chain[1])
    claims = {2: "tbsl:" + AUTH, 6: token.issued_at, 4: token.expires_at, 65534: token.ttl, -65538: token.from_iat,
              -65539: BITS, -65540: {}, -65541: token.changes, -65537: token.root}
    unordered = cbor2.dumps(dict(sorted(claims.items(), key=lambda kv: -abs(kv[0]))))  # keys out of canonical order
    assert unordered != dumps(claims)
    raw = sign1(unordered, KEY, kid=b"k1", protected_extra={16: DELTA_TYP})
    with pytest.raises(DeltaError):
        verified(raw)


def test_snapshot_of_full_lists_with_the_head_root(published):
    head = verified(published.chain[-1])
    state = from_snapshot(AUTH, BITS, {n: s.copy() for n, s in published.lists.items()}, head)
    assert state.head == head.issued_at and state.root() == head.root
    stale = {n: s.copy() for n, s in published.lists.items()}
    stale[1].set(5, 0)  # a list from before a change (an old copy): the root says so
    with pytest.raises(DeltaError) as caught:
        from_snapshot(AUTH, BITS, stale, head)
    assert caught.value.reason == "status_delta_digest"


def test_snapshot_fetched_while_the_publisher_ran_is_made_consistent_by_the_chain(published):
    """Full lists newer than the head that was read: the deltas since re-apply absolute values and converge."""
    tokens = [verified(raw) for raw in published.chain]
    newest = {n: s.copy() for n, s in published.lists.items()}
    state = from_snapshot(AUTH, BITS, newest, tokens[2], tokens[3:])  # lists at the end, head read at step 3
    assert counter_lists(state) == {n: s.as_bytes() for n, s in published.lists.items()}


def test_the_list_digest_is_signed_and_checked():
    status_list = StatusList(64, 2)
    status_list.set(3, 1)
    common = dict(subject_uri="tbsl:bj-health/1", issued_at=NOW, expires_at=NOW + 600, ttl=300, signing_key=KEY,
                  alg="ES256")
    cwt = verify_status_list_cwt(sign_status_list_cwt(status_list, kid=b"k1", **common), public_key=KEY.public,
                                 alg="ES256", now=NOW)
    jwt_token = verify_status_list_jwt(sign_status_list_jwt(status_list, kid="k1", **common), public_key=KEY.public,
                                       alg="ES256", now=NOW)
    assert cwt.digest == jwt_token.digest == list_digest(status_list)


def test_a_list_whose_digest_does_not_match_is_refused():
    status_list = StatusList(64, 2)
    claims = {2: "tbsl:bj-health/1", 6: NOW, 4: NOW + 600, 65534: 300, 65533: status_list.to_cbor_obj(),
              -65537: b"\0" * 32}
    raw = sign1(cbor2.dumps(claims), KEY, kid=b"k1", protected_extra={16: "application/statuslist+cwt"}, ordered=True)
    with pytest.raises(StatusListError) as caught:
        verify_status_list_cwt(raw, public_key=KEY.public, alg="ES256", now=NOW)
    assert caught.value.reason == "status_list_digest"


# -- the change set's encoding -------------------------------------------------------------------------------------
LAYOUT = Layout.of({1: 1024, 2: 1024, 5: 512})


def test_change_set_round_trip_and_size():
    changes = [(1, 0, 1), (1, 1023, 2), (2, 0, 3), (5, 511, 1)]
    data = encode_changes(changes, LAYOUT, 2)
    assert decode_changes(data, LAYOUT, 2) == changes and len(data) == 1 + 2 + 1 + 2


@pytest.mark.parametrize("data", [
    b"\x80",  # ends inside a varint
    b"\x80\x00",  # zero written long
    b"\x81\x80\x00",  # a long varint ending in a zero byte
    b"\xff" * 9 + b"\x01",  # longer than 63 bits
    encode_changes([(5, 511, 1)], LAYOUT, 2) + b"\x00",  # the next position is past the end
])
def test_malformed_change_sets_are_refused(data):
    with pytest.raises(ChangeError):
        decode_changes(data, LAYOUT, 2)


def test_duplicate_or_out_of_range_changes_are_not_encoded():
    with pytest.raises(ChangeError):
        encode_changes([(1, 3, 1), (1, 3, 2)], LAYOUT, 2)
    with pytest.raises(ChangeError):
        encode_changes([(1, 1024, 1)], LAYOUT, 2)
    with pytest.raises(ChangeError):
        encode_changes([(3, 0, 1)], LAYOUT, 2)
    with pytest.raises(ChangeError):
        encode_changes([(1, 0, 4)], LAYOUT, 2)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.tuples(st.integers(1, 3), st.integers(0, SIZE - 1)), st.integers(0, 3),
                                max_size=40), min_size=1, max_size=6))
def test_property_random_change_sets_chain_to_the_full_lists(steps):
    pub = Publisher()
    pub.step({}, NOW)
    for i, changes in enumerate(steps, start=1):
        pub.step(changes, NOW + i)
    state = FeedState(AUTH, BITS, 0).apply_chain([verified(raw) for raw in pub.chain])
    assert counter_lists(state) == {n: s.as_bytes() for n, s in pub.lists.items()}
    # Any delta left out of the middle is detected.
    if len(pub.chain) > 2:
        with pytest.raises(DeltaError):
            FeedState(AUTH, BITS, 0).apply_chain([verified(raw) for raw in pub.chain[:1] + pub.chain[2:]])


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=64))
def test_property_arbitrary_change_bytes_decode_or_refuse(data):
    try:
        decoded = decode_changes(data, LAYOUT, 2)
    except ChangeError:
        return
    assert encode_changes(decoded, LAYOUT, 2) == data  # one encoding per change set
