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
    assert keys.AtRestPolicy.for_directory(tmp_path).allow_plaintext is False
    keys.mark_development(tmp_path)
    assert keys.AtRestPolicy.for_directory(tmp_path).allow_plaintext is True
    assert keys.AtRestPolicy.for_directory(None, dev_plaintext=True).allow_plaintext is True
    assert keys.AtRestPolicy.for_directory(None, passphrase="pw").passphrase == b"pw"


# -- signs_until and compromised keys -------------------------------------------------------------------------

def test_signs_until_and_compromised_kids_round_trip():
    root, issuer, burnt = keys.generate(), keys.generate(), keys.generate()
    authority = Authority("tp", "交管局", "110000", "11110000000021135M", ("driving-licence",),
                          (TrustedKey(issuer.public, NOW - 10, NOW + 10**6, NOW + 5),), (burnt.public.short_kid,))
    original = TrustList(2, NOW, NOW + 3600, (authority,))
    claims = original.to_claims()
    assert claims["authorities"][0]["keys"][0]["signs_until"] == NOW + 5
    assert claims["authorities"][0]["compromised"] == [burnt.public.short_kid.hex()]
    got = verify_trust_list(sign_trust_list(original, root), root.public, now=NOW)
    assert got == original
    assert got.find_key(issuer.public.short_kid)[1].signs_until == NOW + 5
    assert got.compromised(burnt.public.short_kid) and not got.compromised(issuer.public.short_kid)


def test_a_trust_list_without_signs_until_is_still_read():
    """Lists signed before ``signs_until`` existed: a key then signs until its ``not_after``."""
    root = keys.generate()
    claims = _list(1).to_claims()
    for key in claims["authorities"][0]["keys"]:
        del key["signs_until"]
    token = jwt.encode(claims, root.crypto_key(), algorithm=root.alg, headers={"typ": "tongban-trust-list+jwt"})
    (key,) = verify_trust_list(token, root.public, now=NOW).authorities[0].keys
    assert key.signs_until == key.not_after == NOW + 10**6


def test_a_key_named_compromised_is_never_trusted_even_if_also_listed():
    issuer = keys.generate()
    authority = Authority("tp", "交管局", "110000", "11110000000021135M", ("driving-licence",),
                          (TrustedKey(issuer.public, NOW - 10, NOW + 10**6),), (issuer.public.short_kid,))
    assert authority.keys == () and TrustList(1, NOW, NOW + 1, (authority,)).find_key(issuer.public.short_kid) is None


# -- the algorithm is the root's, refused in plain words ------------------------------------------------------

def _forge(alg: str, claims: dict | None = None, **headers) -> str:
    claims = claims or _list(1).to_claims()
    key = {"none": None, "HS256": "secret-key-that-is-long-enough-for-hs256"}.get(alg)
    if key is None and alg != "none":
        key = keys.generate(alg).crypto_key()
    return jwt.encode(claims, key, algorithm=alg, headers={"typ": "tongban-trust-list+jwt", **headers})


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "EdDSA"])
def test_another_algorithm_than_the_roots_is_refused_in_plain_words(alg):
    root = keys.generate("ES256")
    with pytest.raises(TrustListError) as err:
        verify_trust_list(_forge(alg), root.public, now=NOW)
    assert err.value.reason == "trust_list_algorithm"
    message = str(err.value)
    assert "ES256" in message and "hub root" in message
    for pyjwt_words in ("algorithm not supported", "allowed", "Signature verification", "InvalidAlgorithm"):
        assert pyjwt_words not in message


def test_an_eddsa_root_refuses_es256():
    root = keys.generate("EdDSA")
    with pytest.raises(TrustListError) as err:
        verify_trust_list(_forge("ES256"), root.public, now=NOW)
    assert err.value.reason == "trust_list_algorithm" and "EdDSA" in str(err.value)


def test_a_header_alg_that_is_not_text_is_refused():
    import base64
    import json

    root = keys.generate()
    token = sign_trust_list(_list(1), root)
    for alg in (None, 7, ["ES256"], {"a": 1}):
        header = base64.urlsafe_b64encode(json.dumps({"typ": "tongban-trust-list+jwt", "alg": alg}).encode())
        forged = header.rstrip(b"=").decode() + token[token.index("."):]
        with pytest.raises(TrustListError) as err:
            verify_trust_list(forged, root.public, now=NOW)
        assert err.value.reason == "trust_list_algorithm", alg


@pytest.mark.parametrize("token", ["", "not a token", "a.b.c", "e30.e30.", "...", "x" * 5000])
def test_not_a_token_is_malformed_in_plain_words(token):
    with pytest.raises(TrustListError) as err:
        verify_trust_list(token, keys.generate().public, now=NOW)
    assert err.value.reason == "trust_list_malformed"
    assert "Invalid" not in str(err.value) and "padding" not in str(err.value)


# -- numbers are bounded at parse time -------------------------------------------------------------------------

def _set(claims: dict, path: tuple, value) -> dict:
    target = claims
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return claims


NUMBER_PATHS = [("version",), ("iat",), ("exp",), ("authorities", 0, "keys", 0, "not_before"),
                ("authorities", 0, "keys", 0, "not_after"), ("authorities", 0, "keys", 0, "signs_until")]


@pytest.mark.parametrize("path", NUMBER_PATHS)
@pytest.mark.parametrize("value", [-1, 2**53, 2**64, True, False, 1.5, 1e300, "5", None, [1]])
def test_numbers_out_of_range_are_malformed(path, value):
    claims = _set(_list(3).to_claims(), path, value)
    with pytest.raises(TrustListError) as err:
        TrustList.from_claims(claims)
    assert err.value.reason == "trust_list_malformed"


@pytest.mark.parametrize("path", NUMBER_PATHS[:3])
@pytest.mark.parametrize("value", [-1, 2**53, True])
def test_numbers_out_of_range_are_malformed_when_signed(path, value):
    """The same through a real signature: PyJWT's own iat/exp handling must not answer first in its words."""
    root = keys.generate()
    claims = _set(_list(3).to_claims(), path, value)
    token = jwt.encode(claims, root.crypto_key(), algorithm=root.alg, headers={"typ": "tongban-trust-list+jwt"})
    with pytest.raises(TrustListError) as err:
        verify_trust_list(token, root.public, now=NOW, allow_expired=True)
    assert err.value.reason == "trust_list_malformed"


def test_largest_numbers_in_range_are_read():
    claims = _set(_set(_list(2**53 - 1).to_claims(), ("exp",), 2**53 - 1), ("authorities", 0, "keys", 0, "not_after"),
                  2**53 - 1)
    claims["authorities"][0]["keys"][0]["signs_until"] = 0
    assert TrustList.from_claims(claims).version == 2**53 - 1


# -- regions (互通互认) -------------------------------------------------------------------------------------------

def test_region_and_recognised_until_round_trip_and_old_lists_have_neither():
    import dataclasses

    plain = _list(3)
    assert "region" not in plain.to_claims() and "recognised_until" not in plain.to_claims()["authorities"][0]
    assert TrustList.from_claims(plain.to_claims()).region == ""
    assert not TrustList.from_claims(plain.to_claims()).authorities[0].recognised
    peer = dataclasses.replace(plain.authorities[0], recognised_until=NOW + 60)
    full = dataclasses.replace(plain, region="110000", authorities=(peer,))
    read = TrustList.from_claims(full.to_claims())
    assert read.region == "110000" and read.authorities[0].recognised_until == NOW + 60
    assert read.authorities[0].recognised


@pytest.mark.parametrize("value", [-1, 2**53, True, 1.5, "5", None])
def test_a_bad_recognised_until_or_region_is_malformed(value):
    claims = _list(3).to_claims()
    claims["authorities"][0]["recognised_until"] = value
    with pytest.raises(TrustListError, match="malformed"):
        TrustList.from_claims(claims)
    claims = _list(3).to_claims()
    claims["region"] = value if not isinstance(value, str) else 5
    with pytest.raises(TrustListError, match="malformed"):
        TrustList.from_claims(claims)
