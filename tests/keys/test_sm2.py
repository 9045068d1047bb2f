"""SM2 with SM3 (GB/T 32918.2), SM3 (GB/T 32905) and SM4 (GB/T 32907): the standards' own examples, and SM2
signatures checked both ways against an independent implementation (the pure-Python ``gmssl`` package)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl import sm2 as independent
from hypothesis import given, settings
from hypothesis import strategies as st

import keys
from keys import sm2_at_rest
from keys.errors import KeyAtRestError, KeyFormatError
from keys.sm2 import DEFAULT_USER_ID, Sm2PrivateKey
from tests.conftest import examples

# GB/T 32918.5-2017 Annex A / GM/T 0003.5-2012 A.2: the recommended curve's signature example, with the
# default user id 1234567812345678 (GM/T 0009), message "message digest" and a fixed k.
D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
PX = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
PY = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
ZA = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
MESSAGE = b"message digest"
EXAMPLE_JWK = {"kty": "EC", "crv": "SM2", "x": keys.b64url(bytes.fromhex(PX)), "y": keys.b64url(bytes.fromhex(PY))}


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def test_the_standards_example_signature_verifies_here():
    public = keys.PublicKey.from_jwk(EXAMPLE_JWK)
    assert public.alg == "SM2"
    assert public.verify(bytes.fromhex(R + S), MESSAGE)
    assert not public.verify(bytes.fromhex(R + S), b"message digesT")
    assert not public.verify(bytes.fromhex(S + R), MESSAGE)


def test_the_example_private_key_gives_the_example_public_key():
    private = keys.private_from_jwk({**EXAMPLE_JWK, "d": keys.b64url(bytes.fromhex(D))})
    assert private.public == keys.PublicKey.from_jwk(EXAMPLE_JWK)
    assert private.public.verify(private.sign(MESSAGE), MESSAGE)


def test_za_and_e_of_the_example_follow_gbt_32918_5_5():
    """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) and e = SM3(Z_A || M), the values printed in the
    standard; this pins what 'the default user id' means for every signature made here."""
    a = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
    b = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
    gx = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    gy = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
    entl = (len(DEFAULT_USER_ID) * 8).to_bytes(2, "big")
    za = sm3(entl + DEFAULT_USER_ID + bytes.fromhex(a + b + gx + gy + PX + PY))
    assert za.hex().upper() == ZA
    assert sm3(za + MESSAGE).hex().upper() == E


def test_the_independent_implementation_reproduces_the_example_with_its_k():
    """The cross-check's reference itself matches the standard, so agreeing with it means something."""
    other = independent.CryptSM2(private_key=D, public_key=PX + PY)
    assert other.sign_with_sm3(MESSAGE, K).upper() == R + S


def test_signatures_made_here_verify_in_the_independent_implementation():
    key = keys.generate("SM2")
    public = keys.b64url_decode(key.public.jwk["x"]) + keys.b64url_decode(key.public.jwk["y"])
    other = independent.CryptSM2(private_key=None, public_key=public.hex())
    for message in (b"", b"x", bytes(range(256)) * 3):
        signature = key.sign(message)
        assert len(signature) == 64
        assert other.verify_with_sm3(signature.hex(), message)
        assert not other.verify_with_sm3(signature.hex(), message + b"!")


def test_signatures_made_by_the_independent_implementation_verify_here():
    key = Sm2PrivateKey.generate()
    public = key.public_key()
    other = independent.CryptSM2(private_key=key.private_scalar().hex(), public_key=(public.x + public.y).hex())
    ours = keys.PublicKey.from_jwk({"kty": "EC", "crv": "SM2", "x": keys.b64url(public.x), "y": keys.b64url(public.y)})
    for message in (b"", b"credential bytes", bytes(range(256)) * 3):
        signature = bytes.fromhex(other.sign_with_sm3(message))
        assert ours.verify(signature, message)
        assert not ours.verify(signature, message + b"!")


@settings(max_examples=examples(150), deadline=None)
@given(signature=st.binary(max_size=80), message=st.binary(max_size=64))
def test_any_bytes_as_a_signature_are_false_never_an_exception(signature, message):
    assert keys.PublicKey.from_jwk(EXAMPLE_JWK).verify(signature, message) is False


def test_signatures_of_extreme_scalars_are_refused():
    public = keys.PublicKey.from_jwk(EXAMPLE_JWK)
    n = bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123")
    for r, s in ((bytes(32), bytes.fromhex(S)), (bytes.fromhex(R), bytes(32)), (n, bytes.fromhex(S)),
                 (bytes.fromhex(R), n), (b"\xff" * 32, b"\xff" * 32)):
        assert not public.verify(r + s, MESSAGE)


def test_a_point_off_the_curve_or_a_bad_scalar_is_a_key_format_error():
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk({**EXAMPLE_JWK, "y": EXAMPLE_JWK["x"]})
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk({**EXAMPLE_JWK, "x": keys.b64url(b"\x01" * 31)})
    n_minus_1 = (int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16) - 1).to_bytes(32, "big")
    for scalar in (bytes(32), n_minus_1, b"\x01" * 31):
        with pytest.raises(KeyFormatError):
            Sm2PrivateKey(scalar)


def test_a_jwk_cannot_name_another_suite_than_its_curve():
    """Algorithm confusion at the key: an SM2 point called ES256, or a P-256 point called SM2, is refused."""
    with pytest.raises(KeyFormatError, match="does not match"):
        keys.PublicKey.from_jwk({**EXAMPLE_JWK, "alg": "ES256"})
    p256 = keys.generate("ES256").public.jwk
    with pytest.raises(KeyFormatError, match="does not match"):
        keys.PublicKey.from_jwk({**p256, "alg": "SM2"})
    with pytest.raises(KeyFormatError):
        keys.PublicKey.from_jwk({**p256, "crv": "SM2"})  # P-256 coordinates are not an SM2 point


def test_an_es256_signature_does_not_verify_under_an_sm2_key_of_the_same_scalar():
    sm2_key = keys.generate("SM2")
    es_key = keys.generate("ES256")
    assert not sm2_key.public.verify(es_key.sign(b"m"), b"m")
    assert not es_key.public.verify(sm2_key.sign(b"m"), b"m")


def test_sm2_keys_have_no_cose_key_form():
    with pytest.raises(KeyFormatError, match="WebCrypto"):
        keys.generate("SM2").public.to_cose_key()


def test_sm2_keys_at_rest_sealed_and_reopened():
    key = keys.generate("SM2")
    sealed = key.to_pem(b"passphrase")
    assert b"TONGBAN SM2 ENCRYPTED PRIVATE KEY" in sealed
    opened = keys.PrivateKey.from_pem(sealed, b"passphrase")
    assert opened.public == key.public
    with pytest.raises(KeyAtRestError, match="wrong"):
        keys.PrivateKey.from_pem(sealed, b"passphrasf")
    with pytest.raises(KeyAtRestError, match="encrypted"):
        keys.PrivateKey.from_pem(sealed, None)


def test_sealed_sm2_key_holds_no_scalar_and_refuses_tampering():
    private = Sm2PrivateKey.generate()
    sealed = sm2_at_rest.seal(private, b"pw", iterations=sm2_at_rest.MIN_ITERATIONS)
    body = sm2_at_rest._unarmour(sealed, sm2_at_rest.SEALED_LABEL)
    assert private.private_scalar() not in body
    for index in (0, 3, 10, 30, len(body) - 20, len(body) - 1):  # version, iterations, salt, nonce, ciphertext, tag
        altered = body[:index] + bytes([body[index] ^ 1]) + body[index + 1:]
        with pytest.raises(KeyAtRestError):
            sm2_at_rest.open_sealed(sm2_at_rest._armour(sm2_at_rest.SEALED_LABEL, altered), b"pw")


def test_a_forged_iteration_count_is_refused_before_any_work():
    private = Sm2PrivateKey.generate()
    body = sm2_at_rest._unarmour(sm2_at_rest.seal(private, b"pw", iterations=sm2_at_rest.MIN_ITERATIONS),
                                 sm2_at_rest.SEALED_LABEL)
    for count in (0, sm2_at_rest.MAX_ITERATIONS + 1, 2**32 - 1):
        forged = body[:1] + count.to_bytes(4, "big") + body[5:]
        with pytest.raises(KeyAtRestError, match="iteration"):
            sm2_at_rest.open_sealed(sm2_at_rest._armour(sm2_at_rest.SEALED_LABEL, forged), b"pw")


def test_plaintext_sm2_keys_are_development_only():
    key = keys.generate("SM2")
    policy = keys.AtRestPolicy(None, allow_plaintext=True)
    pem = policy.seal(key)
    assert b"TONGBAN SM2 PRIVATE KEY" in pem
    with pytest.raises(KeyAtRestError, match="plaintext"):
        keys.AtRestPolicy(b"pw").open(pem)
    assert policy.open(pem).public == key.public
    with pytest.raises(KeyAtRestError):
        keys.PrivateKey.from_pem(b"-----BEGIN TONGBAN SM2 PRIVATE KEY-----\n!!!\n-----END TONGBAN SM2 PRIVATE KEY-----\n",
                                 None)


def test_sm3_vectors_of_gbt_32905_annex_a():
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm4_vectors_of_gbt_32907_annex_a():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    block = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert block.update(key).hex() == "681edf34d206965e86b3e94f536e4246"
    value = key
    for _ in range(1_000_000):  # A.2: the same block encrypted a million times
        value = block.update(value)
    assert value.hex() == "595298c7c6fd271f0402f804c33d3f66"


def test_sm4_gcm_vector_of_rfc_8998_appendix_a():
    """The AEAD that seals SM2 keys and, in the 国密 suite, personal data at rest."""
    encryptor = Cipher(algorithms.SM4(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")),
                       modes.GCM(bytes.fromhex("00001234567800000000ABCD"))).encryptor()
    encryptor.authenticate_additional_data(bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2"))
    plaintext = bytes.fromhex("AA" * 8 + "BB" * 8 + "CC" * 8 + "DD" * 8 + "EE" * 8 + "FF" * 8 + "EE" * 8 + "AA" * 8)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    assert ciphertext.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D")
    assert encryptor.tag.hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"


@settings(max_examples=examples(200), deadline=None)
@given(body=st.binary(max_size=120), label=st.sampled_from([sm2_at_rest.SEALED_LABEL, sm2_at_rest.PLAIN_LABEL]))
def test_any_armoured_bytes_open_or_fail_as_key_at_rest_error(body, label):
    pem = sm2_at_rest._armour(label, body)
    try:
        key = keys.PrivateKey.from_pem(pem, b"pw")
    except KeyAtRestError:
        return
    assert label == sm2_at_rest.PLAIN_LABEL and len(body) == 32 and key.alg == "SM2"


@settings(max_examples=examples(100), deadline=None)
@given(text=st.binary(max_size=200))
def test_damaged_armour_is_a_key_at_rest_error(text):
    with pytest.raises(KeyAtRestError):
        sm2_at_rest.open_sealed(b"-----BEGIN " + sm2_at_rest.SEALED_LABEL + b"-----\n" + text, b"pw")


def test_an_sm2_ring_made_in_development_is_resealed_under_a_passphrase(tmp_path):
    ring = keys.KeyRing("bj-health")
    ring.rotate(1_800_000_000, "SM2")
    keys.KeyRingStore(tmp_path, keys.AtRestPolicy(None, allow_plaintext=True)).save(ring)
    store = keys.KeyRingStore(tmp_path, keys.AtRestPolicy(b"passphrase"))
    assert store.plaintext_owners() == ["bj-health"]
    assert store.reseal() == ["bj-health"]
    assert store.plaintext_owners() == []
    assert "TONGBAN SM2 ENCRYPTED PRIVATE KEY" in (tmp_path / "bj-health.json").read_text()
    loaded = store.load("bj-health")
    assert loaded.keys[0].public == ring.keys[0].public
    assert loaded.keys[0].public.verify(loaded.keys[0].private.sign(b"m"), b"m")
