import jwt
import pytest

import keys
from keys import Authority, TrustedKey, TrustList, TrustListError, sign_trust_list, verify_trust_list

NOW = 1_800_000_000


def _list(version: int, expires_at: int = NOW + 3600) -> TrustList:
    issuer = keys.generate()
    authority = Authority("tp", "交管局", "110000", "11110000000021135M", ("driving-licence",),
                          (TrustedKey(issuer.public, NOW - 10, NOW + 10**6),))
    return TrustList(version, NOW, expires_at, (authority,))


def test_round_trip_and_lookup_by_short_kid():
    root = keys.generate()
    original = _list(3)
    got = verify_trust_list(sign_trust_list(original, root), root.public, now=NOW, current_version=2)
    assert got == original
    key = original.authorities[0].keys[0].public
    assert got.find_key(key.short_kid)[1].public == key
    assert got.find_key(b"\0" * 8) is None


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_refusals(alg):
    root, other = keys.generate(alg), keys.generate(alg)
    token = sign_trust_list(_list(5), root)
    with pytest.raises(TrustListError) as err:
        verify_trust_list(token, other.public, now=NOW)
    assert err.value.reason == "trust_list_untrusted_root"
    with pytest.raises(TrustListError) as err:
        verify_trust_list(token, root.public, now=NOW, current_version=6)
    assert err.value.reason == "trust_list_rollback"
    with pytest.raises(TrustListError) as err:
        verify_trust_list(sign_trust_list(_list(7, expires_at=NOW), root), root.public, now=NOW)
    assert err.value.reason == "trust_list_expired"


def test_algorithm_comes_from_the_configured_root_not_the_token():
    root = keys.generate("ES256")
    claims = _list(1).to_claims()
    forged = jwt.encode(claims, "secret-key-that-is-long-enough-for-hs256", algorithm="HS256",
                        headers={"typ": "tongban-trust-list+jwt"})
    with pytest.raises(TrustListError):
        verify_trust_list(forged, root.public, now=NOW)
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"typ": "tongban-trust-list+jwt"})
    with pytest.raises(TrustListError):
        verify_trust_list(unsigned, root.public, now=NOW)


def test_keys_at_rest_are_encrypted_and_plaintext_is_refused(tmp_path):
    sealed = keys.AtRestPolicy(b"correct horse").seal(keys.generate())
    assert b"ENCRYPTED" in sealed
    assert keys.AtRestPolicy(b"correct horse").open(sealed)
    with pytest.raises(keys.KeyAtRestError):
        keys.AtRestPolicy(b"wrong").open(sealed)
    with pytest.raises(keys.KeyAtRestError):
        keys.AtRestPolicy(None).seal(keys.generate())
    plaintext = keys.AtRestPolicy(None, allow_plaintext=True).seal(keys.generate())
    with pytest.raises(keys.KeyAtRestError, match="plaintext"):
        keys.AtRestPolicy(b"pw").open(plaintext)
    assert keys.AtRestPolicy.from_env(tmp_path, env={}).allow_plaintext is False
    keys.mark_development(tmp_path)
    assert keys.AtRestPolicy.from_env(tmp_path, env={}).allow_plaintext is True
