"""A compromised key: its private half destroyed, a new signer made, and the key gone from what verifies."""

from __future__ import annotations

import json

import pytest

import keys
from keys import AtRestPolicy, KeyFormatError, KeyRing, KeyRingStore

T0 = 1_800_000_000


def test_compromising_the_current_signer_destroys_it_and_makes_a_new_one(tmp_path):
    ring = KeyRing("tp")
    old = ring.rotate(T0)
    found, new = ring.compromise(old.public.kid, T0 + 50)
    assert found.public == old.public and found.compromised_at == T0 + 50 and found.private is None
    assert new is not None and ring.signer(T0 + 51).public == new.public
    assert old.public not in [k.public for k in ring.verification_keys(T0 + 51)]  # it verifies nothing any more
    assert [k.public for k in ring.trusted_keys(T0 + 51)] == [new.public]
    assert ring.compromised_kids(T0 + 51) == (old.public.short_kid,)
    assert keys.jwks(ring.keys, T0 + 51) == {"keys": [new.public.public_jwk()]}

    store = KeyRingStore(tmp_path, AtRestPolicy(b"pw"))
    store.save(ring)
    saved = {e["kid"]: e for e in json.loads((tmp_path / "tp.json").read_text())["keys"]}
    assert saved[old.public.kid]["pem"] is None and saved[new.public.kid]["pem"]  # the old private key is erased
    loaded = store.load("tp")
    again = next(k for k in loaded.keys if k.public == old.public)
    assert again.compromised_at == T0 + 50 and again.private is None and again.retired_at == T0 + 50
    assert loaded.signer(T0 + 60).public == new.public


def test_compromising_a_retired_key_keeps_the_current_signer():
    ring = KeyRing("tp")
    old = ring.rotate(T0)
    current = ring.rotate(T0 + 10)
    found, new = ring.compromise(old.public.short_kid.hex(), T0 + 50)  # the 8-byte kid in hex works too
    assert found.public == old.public and found.retired_at == T0 + 10  # retirement keeps its own time
    assert new is None and ring.signer(T0 + 51).public == current.public


def test_compromise_is_idempotent():
    ring = KeyRing("tp")
    old = ring.rotate(T0)
    _, first = ring.compromise(old.public.kid, T0 + 50)
    found, second = ring.compromise(old.public.kid, T0 + 90)
    assert found.compromised_at == T0 + 50 and second is None and len(ring.keys) == 2


@pytest.mark.parametrize("kid", ["", "nope", "00" * 8, "0" * 43, "ZZZZZZZZZZZZZZZZ"])
def test_unknown_kid_is_refused(kid):
    ring = KeyRing("tp")
    ring.rotate(T0)
    with pytest.raises(KeyFormatError, match="tp has no key"):
        ring.compromise(kid, T0 + 1)


def test_compromised_list_is_dropped_once_the_key_would_have_expired_anyway():
    ring = KeyRing("tp")
    old = ring.rotate(T0, lifetime=100)
    ring.compromise(old.public.kid, T0 + 10)
    assert ring.compromised_kids(T0 + 100) == (old.public.short_kid,)
    assert ring.compromised_kids(T0 + 101) == ()
