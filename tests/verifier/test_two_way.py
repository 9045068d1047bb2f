"""Two-way counters in the pure pipeline: Policy.audience and Policy.challenges (issue 7).

Each attack is a presentation an attacker could really make or capture: one made for the counter next
door, one answering an old or invented challenge, one without the counter's code at all.
"""

from __future__ import annotations

import cbor2
import pytest

from credentials import make_presentation
from credentials.cose import sign1
from credentials.framing import frame
from credentials.presentation import credential_digest
from tests.verifier.test_pipeline import CREDENTIAL, HOLDER, NOW, run
from verifier.ports import Policy

HERE, NEXT_DOOR = "bj-dongcheng-3", "bj-dongcheng-4"
OPEN = bytes.fromhex("00112233445566778899aabbccddeeff")
PREVIOUS = bytes.fromhex("ffeeddccbbaa99887766554433221100")
TWO_WAY = Policy(audience=HERE, challenges=frozenset({OPEN, PREVIOUS}))


def bound(audience: str | None = HERE, challenge: bytes | None = OPEN, at: int = NOW) -> str:
    return make_presentation(CREDENTIAL, HOLDER, now=at, challenge=challenge, audience=audience)


def test_fresh_presentation_for_this_counter_is_valid() -> None:
    for challenge in (OPEN, PREVIOUS):
        decision = run(bound(challenge=challenge), policy=TWO_WAY)
        assert decision.valid, decision
        assert decision.checks_passed[-3:] == ("holder_signature", "freshness", "replay")


def test_made_for_another_counter_is_refused() -> None:
    decision = run(bound(audience=NEXT_DOOR), policy=TWO_WAY)
    assert not decision.valid and decision.reasons == ("audience_mismatch",)
    assert "another counter" in decision.detail


def test_without_the_counters_code_is_refused() -> None:
    """A one-way presentation (no aud, no nonce), e.g. a screenshot sent from elsewhere."""
    for presentation in (bound(audience=None, challenge=None), bound(audience=None)):
        decision = run(presentation, policy=TWO_WAY)
        assert not decision.valid and decision.reasons == ("audience_mismatch",)


@pytest.mark.parametrize(("challenge", "why"), [
    (None, "no challenge"),
    (bytes(16), "a challenge this counter never issued"),
    (OPEN[:8], "a prefix of an open challenge"),
    (OPEN + b"\x00", "an open challenge with a byte more"),
])
def test_challenge_not_open_at_this_counter_is_refused(challenge, why) -> None:
    decision = run(bound(challenge=challenge), policy=TWO_WAY)
    assert not decision.valid and decision.reasons == ("challenge_mismatch",), why


def test_stale_challenge_is_refused() -> None:
    """A challenge that has aged out (or been answered) is no longer in the set the counter passes in."""
    later = Policy(audience=HERE, challenges=frozenset({PREVIOUS}))
    decision = run(bound(challenge=OPEN), policy=later)
    assert not decision.valid and decision.reasons == ("challenge_mismatch",)
    nothing_open = Policy(audience=HERE, challenges=frozenset())
    assert run(bound(challenge=PREVIOUS), policy=nothing_open).reasons == ("challenge_mismatch",)


def test_aud_and_nonce_are_under_the_holder_signature() -> None:
    """Re-signing the claims with another key (to change aud) breaks the holder signature first."""
    import keys

    claims = cbor2.dumps({3: HERE, 6: NOW, 10: OPEN}, canonical=True)
    forged = sign1(claims, keys.generate(), external_aad=credential_digest(CREDENTIAL))
    decision = run(frame(cbor2.dumps([CREDENTIAL, forged])), policy=TWO_WAY)
    assert decision.reasons == ("holder_signature_invalid",)


def test_a_swapped_aud_in_a_captured_code_breaks_the_signature() -> None:
    """Take a real presentation for the counter next door and rewrite its aud in place."""
    from credentials import unframe

    raw = unframe(bound(audience="bj-dongcheng-4"))
    tampered = raw.replace(b"bj-dongcheng-4", b"bj-dongcheng-3")
    assert tampered != raw
    decision = run(frame(tampered), policy=TWO_WAY)
    assert not decision.valid and decision.reasons == ("holder_signature_invalid",)


def test_one_way_counter_accepts_with_or_without_aud() -> None:
    for presentation in (bound(audience=None, challenge=None), bound(), bound(audience=NEXT_DOOR, challenge=None)):
        decision = run(presentation)
        assert decision.valid, decision


def test_audience_alone_or_challenges_alone() -> None:
    assert run(bound(challenge=bytes(16)), policy=Policy(audience=HERE)).valid
    assert run(bound(audience=NEXT_DOOR), policy=Policy(challenges=frozenset({OPEN}))).valid
    assert run(bound(audience=NEXT_DOOR), policy=Policy(audience=HERE)).reasons == ("audience_mismatch",)


def test_stale_presentation_for_an_open_challenge_is_still_stale() -> None:
    decision = run(bound(at=NOW - 61), policy=TWO_WAY)
    assert decision.reasons == ("stale",)


def test_replay_of_a_bound_presentation() -> None:
    from verifier.replay import MemoryReplayCache

    replay, presentation = MemoryReplayCache(), bound()
    assert run(presentation, policy=TWO_WAY, replay=replay).valid
    assert run(presentation, policy=TWO_WAY, replay=replay).reasons == ("replayed",)
