"""SM2 signatures with SM3 (GB/T 32918.2-2016 §6-7; GM/T 0009-2012 §10 for the default user id).

The one module that imports the SM2 library, ``gmalglib`` (its own C implementation, MIT licence, wheels for
CPython 3.8-3.13). Compared on this machine in one run: gmalglib signed ~2,300/s and verified ~500/s;
``gmssl-pyx`` (GmSSL 3.2) verified about as fast but its whole-message sign ran at ~90/s and GmSSL prints to
stderr on every failed verification; ``tongsuopy`` (Tongsuo) verified fastest but has had no release since
2023-02 (its bundled OpenSSL fork gets no fixes); ``gmssl-fast`` has one release and verified ~150/s. The
pure-Python ``gmssl`` package (~20/s) is only a test dependency: the independent implementation our signatures
are cross-checked against both ways (tests/keys/test_sm2.py). gmalglib holds the GIL while it computes (two
threads verify no faster than one), so one key object is shared by threads safely.

A signature is ``r || s``, 32 bytes each, over ``e = SM3(Z_A || M)`` where
``Z_A = SM3(ENTL || ID || a || b || x_G || y_G || x_A || y_A)`` (GB/T 32918.2 §5.5); the library computes
``Z_A`` from the user id, here always GM/T 0009's default ``1234567812345678`` so any conforming verifier
reads our signatures without being told an id. Public keys are uncompressed points on the curve of
GB/T 32918.5 (checked on the curve when read), private keys scalars in ``[1, n-2]`` (§6.1 needs ``1 + d``
invertible).
"""

from __future__ import annotations

from gmalglib.sm2 import SM2

from keys.errors import KeyFormatError

DEFAULT_USER_ID = b"1234567812345678"  # GM/T 0009-2012 §10
COORDINATE_BYTES = 32
SIGNATURE_BYTES = 64


class Sm2PublicKey:
    """A checked SM2 public point (``0x04 || x || y``), the verifying half of a key."""

    __slots__ = ("_point", "_verifier")

    def __init__(self, x: bytes, y: bytes):
        if len(x) != COORDINATE_BYTES or len(y) != COORDINATE_BYTES:
            raise KeyFormatError("an SM2 public key has 32-byte x and y coordinates")
        point = b"\x04" + x + y
        if not SM2.is_pk_valid(point):
            raise KeyFormatError("the SM2 public key is not a point on the GB/T 32918.5 curve")
        self._point = point
        self._verifier = SM2(pk=point, uid=DEFAULT_USER_ID)

    @property
    def x(self) -> bytes:
        return self._point[1:33]

    @property
    def y(self) -> bytes:
        return self._point[33:]

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True if ``signature`` (r || s) is this key's SM2 signature of ``data`` under the default user id."""
        if not isinstance(signature, bytes | bytearray) or len(signature) != SIGNATURE_BYTES:
            return False
        try:
            return bool(self._verifier.verify(bytes(data), bytes(signature)))
        except ValueError:
            return False


class Sm2PrivateKey:
    """An SM2 private scalar with its public point; signs with the default user id."""

    __slots__ = ("_public", "_scalar", "_signer")
    signs_raw = True  # keys.PrivateKey.sign takes r || s from it as it is

    def __init__(self, scalar: bytes):
        if len(scalar) != COORDINATE_BYTES or not SM2.is_sk_valid(scalar):
            raise KeyFormatError("an SM2 private key is a 32-byte scalar from 1 to n-2 (GB/T 32918.1 §6.1)")
        self._scalar = scalar
        point = SM2.get_pk(scalar)
        self._public = Sm2PublicKey(point[1:33], point[33:])
        self._signer = SM2(scalar, uid=DEFAULT_USER_ID)

    @classmethod
    def generate(cls) -> Sm2PrivateKey:
        scalar, _ = SM2().generate_keypair()
        return cls(scalar)

    def public_key(self) -> Sm2PublicKey:
        return self._public

    def private_scalar(self) -> bytes:
        """The raw scalar, for sealing at rest (``keys.sm2_at_rest``) only."""
        return self._scalar

    def sign(self, data: bytes) -> bytes:
        signature = self._signer.sign(bytes(data))
        if len(signature) != SIGNATURE_BYTES:  # the library's contract; checked, not assumed
            raise KeyFormatError("the SM2 library returned a malformed signature")
        return signature

    def __repr__(self) -> str:
        return "Sm2PrivateKey(...)"
