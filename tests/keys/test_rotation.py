"""Rotation: a credential signed by a rotated-out key verifies until that key's window ends, and not after."""

from __future__ import annotations

import datetime as dt

import credentials
import keys
from keys import Authority, KeyRing, TrustedKey, TrustList
from verifier.pipeline import verify
from verifier.ports import StatusLookup
from verifier.replay import MemoryReplayCache

T0 = 1_800_000_000


class _AllValid:
    def lookup(self, uri, idx, now):
        return StatusLookup(0, "tp")


def _trust(ring: KeyRing, now: int) -> TrustList:
    trusted = tuple(TrustedKey(k.public, k.not_before, k.not_after) for k in ring.verification_keys())
    return TrustList(1, now, now + 10**6, (Authority("tp", "交管局", "110000", "11110000000021135M", ("driving-licence",),
                                                     trusted),))


def _presentation(signer: keys.PrivateKey, holder: keys.PrivateKey, now: int, iat: int | None = None) -> str:
    body = credentials.CredentialBody(
        "driving-licence", "driving",
        {"name": "张三", "vehicle_classes": ["C1"], "valid_from": dt.date(2020, 1, 1), "valid_until": dt.date(2040, 1, 1)},
        1, 1, now if iat is None else iat, now + 10**6, holder.public, 7, "tbsl:tp/1",
    )
    return credentials.make_presentation(credentials.sign_credential(body, signer), holder, now=now)


def test_rotated_out_key_verifies_until_its_window_ends():
    ring = KeyRing("tp")
    old = ring.rotate(T0, lifetime=1000)
    assert ring.signer(T0 + 1).public == old.public
    new = ring.rotate(T0 + 100)
    assert ring.signer(T0 + 101).public == new.public  # the newest key signs
    assert old.public in [k.public for k in ring.verification_keys(T0 + 500)]  # the old one still verifies
    holder = keys.generate()
    made_before = old.private  # a credential signed before rotation

    def decide(at: int):
        return verify(_presentation(made_before, holder, at), trust=_trust(ring, at), status=_AllValid(),
                      replay=MemoryReplayCache(), now=at)

    assert decide(T0 + 500).valid
    assert decide(T0 + 1000).valid
    late = decide(T0 + 1001)
    assert not late.valid and late.reasons == ("key_expired",)
    fresh = verify(_presentation(new.private, holder, T0 + 1001), trust=_trust(ring, T0 + 1001), status=_AllValid(),
                   replay=MemoryReplayCache(), now=T0 + 1001)
    assert fresh.valid


def test_retired_key_no_longer_signs():
    ring = KeyRing("tp")
    ring.rotate(T0)
    ring.rotate(T0 + 10)
    assert sum(1 for k in ring.keys if k.signs_at(T0 + 20)) == 1


def _published(ring: KeyRing, now: int) -> TrustList:
    """The trust list as the hub publishes it: every key with its ``signs_until`` (issuer.hub does the same)."""
    return TrustList(1, now, now + 10**6, (Authority("tp", "交管局", "110000", "11110000000021135M",
                                                     ("driving-licence",), ring.trusted_keys(now),
                                                     ring.compromised_kids(now)),))


def test_retired_key_cannot_sign_after_its_retirement():
    """An attacker holding the old key file signs a new credential with it after rotation: refused."""
    ring = KeyRing("tp")
    old = ring.rotate(T0, lifetime=10_000)
    ring.rotate(T0 + 100)
    holder = keys.generate()
    trust = _published(ring, T0 + 200)
    _, published_old = trust.find_key(old.public.short_kid)
    assert published_old.signs_until == T0 + 100 and published_old.not_after == T0 + 10_000

    forged = verify(_presentation(old.private, holder, T0 + 200), trust=trust, status=_AllValid(),
                    replay=MemoryReplayCache(), now=T0 + 200)
    assert not forged.valid and forged.reasons == ("key_retired",)
    assert "issuer_signature" not in forged.checks_passed

    # Signed at the very second of retirement (the issuer's own clock): still the old key's to sign.
    at_retirement = verify(_presentation(old.private, holder, T0 + 200, iat=T0 + 100), trust=trust, status=_AllValid(),
                           replay=MemoryReplayCache(), now=T0 + 200)
    assert at_retirement.valid


def test_credential_signed_before_retirement_still_verifies():
    ring = KeyRing("tp")
    old = ring.rotate(T0, lifetime=10_000)
    holder = keys.generate()
    ring.rotate(T0 + 100)
    signed_before = _presentation(old.private, holder, T0 + 5000, iat=T0 + 50)  # presented long after rotation
    assert verify(signed_before, trust=_published(ring, T0 + 5000), status=_AllValid(), replay=MemoryReplayCache(),
                  now=T0 + 5000).valid


def test_current_signer_signs_until_its_not_after():
    ring = KeyRing("tp")
    current = ring.rotate(T0, lifetime=1000)
    (trusted,) = ring.trusted_keys(T0)
    assert trusted.public == current.public and trusted.signs_until == current.not_after == T0 + 1000
