"""keys.aead in both suites: AES-256-GCM / HMAC-SHA256 and SM4-GCM / HMAC-SM3 (国密): values bound to their place,
altered bytes refused, the two suites' keys and ciphertexts never interchangeable."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.aead import SealError, derive_key, keyed_hash, seal, unseal
from keys.errors import KeyFormatError
from keys.suites import GUOMI, STANDARD, suite
from tests.conftest import examples

MASTER = bytes(range(32))


@pytest.mark.parametrize("chosen", [STANDARD, GUOMI], ids=lambda s: s.name)
def test_seal_opens_only_with_its_key_and_place(chosen):
    key = derive_key(MASTER, "purpose:v1", chosen.sealing)
    assert len(key) == (16 if chosen is GUOMI else 32)
    sealed = seal(key, "张三".encode(), b"table\x00column\x001", chosen.sealing)
    assert unseal(key, sealed, b"table\x00column\x001", chosen.sealing) == "张三".encode()
    for aad in (b"table\x00column\x002", b""):
        with pytest.raises(SealError):
            unseal(key, sealed, aad, chosen.sealing)
    with pytest.raises(SealError):
        unseal(derive_key(MASTER, "purpose:v2", chosen.sealing), sealed, b"table\x00column\x001", chosen.sealing)


@settings(max_examples=examples(60), deadline=None)
@given(index=st.integers(min_value=0, max_value=40), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused_in_sm4_gcm(index, bit):
    key = derive_key(MASTER, "p", GUOMI.sealing)
    sealed = seal(key, b"personal data", b"where", GUOMI.sealing)
    index %= len(sealed)
    altered = sealed[:index] + bytes([sealed[index] ^ (1 << bit)]) + sealed[index + 1:]
    with pytest.raises(SealError):
        unseal(key, altered, b"where", GUOMI.sealing)


def test_the_suites_do_not_open_each_others_values():
    sm4_key = derive_key(MASTER, "p", GUOMI.sealing)
    aes_key = derive_key(MASTER, "p", STANDARD.sealing)
    with pytest.raises(SealError):
        unseal(aes_key, seal(sm4_key, b"x", b"w", GUOMI.sealing), b"w", STANDARD.sealing)
    with pytest.raises(SealError):
        unseal(sm4_key, seal(aes_key, b"x", b"w", STANDARD.sealing)[:40], b"w", GUOMI.sealing)
    for short in (b"", b"\x00" * 27):
        with pytest.raises(SealError):
            unseal(sm4_key, short, b"w", GUOMI.sealing)


def test_keyed_hashes_are_rfc_2104_hmacs():
    assert keyed_hash(MASTER, b"m") == hmac.new(MASTER, b"m", hashlib.sha256).digest()
    # GB/T 32905 publishes no HMAC vectors: HMAC-SM3 is checked against RFC 2104 §2 spelled out over SM3
    # (cryptography's hashes.SM3, whose GB/T 32905 vectors tests/keys/test_sm2.py pins).
    from cryptography.hazmat.primitives import hashes

    def sm3(data: bytes) -> bytes:
        digest = hashes.Hash(hashes.SM3())
        digest.update(data)
        return digest.finalize()

    key = MASTER + bytes(32)  # one SM3 block (64 bytes)
    inner = sm3(bytes(b ^ 0x36 for b in key) + b"m")
    assert keyed_hash(MASTER, b"m", "sm3") == sm3(bytes(b ^ 0x5C for b in key) + inner)
    with pytest.raises(SealError):
        keyed_hash(MASTER, b"m", "md5")


def test_suite_names():
    assert suite("sm2") is GUOMI and suite("国密") is GUOMI and suite(" GuoMi ") is GUOMI
    assert suite(None) is STANDARD and suite("es256") is STANDARD
    with pytest.raises(KeyFormatError, match="standard or guomi"):
        suite("rsa")
