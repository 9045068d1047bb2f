"""Hardware keys: ES256 keys made and kept inside a PKCS#11 token (PKCS#11 v2.40 §2.3 CKM_EC_KEY_PAIR_GEN,
§2.3.6 CKM_ECDSA), behind the same ``keys.PrivateKey`` as keys in memory.

The private key is generated in the token with ``CKA_SENSITIVE`` true and ``CKA_EXTRACTABLE`` false, so it never
leaves it: a key ring stores only an RFC 7512 ``pkcs11:`` URI naming the token and the key's id, and every
signature is made by the token (SHA-256 in software, then raw ECDSA in the token, whose output is already JWS's
and COSE's ``r || s``). The token is named by its PKCS#11 module, its label and the user PIN (``service.config``:
``TONGBAN_PKCS11_MODULE``, ``TONGBAN_PKCS11_TOKEN``, ``TONGBAN_PKCS11_PIN``, the last literal or ``file:/path``).

Tested against SoftHSM2, which has no SM2 mechanism: an SM2 key in hardware needs a vendor module (a 密码机 with
a GM/T 0018 or PKCS#11 interface that offers SM2); the same class would then ask for its vendor mechanism.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes

import pkcs11
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from keys.errors import KeyAtRestError, KeyFormatError
from keys.material import PublicKey, b64url
from keys.private_key import PrivateKey

URI_SCHEME = "pkcs11:"


def read_pin(source: str) -> str:
    """The PIN itself, or the first line of the file ``file:/path`` names."""
    if source.startswith("file:"):
        try:
            return Path(source[5:]).read_text().splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise KeyAtRestError(f"cannot read the PKCS#11 PIN from {source[5:]}") from exc
    return source


class HardwareKey:
    """A private key inside the token: it signs, it never exports."""

    signs_raw = True  # keys.PrivateKey.sign hands it the data and takes r || s back

    def __init__(self, token: Pkcs11Token, key_id: bytes):
        self._token, self.key_id = token, key_id

    def sign(self, data: bytes) -> bytes:
        digest = hashlib.sha256(data).digest()
        with self._token.lock:
            return bytes(self._token.private_object(self.key_id).sign(digest, mechanism=Mechanism.ECDSA))

    @property
    def uri(self) -> str:
        return f"{URI_SCHEME}token={quote(self._token.label)};id={quote(self.key_id)};type=private"

    def as_ec_private_key(self, public: ec.EllipticCurvePublicKey) -> ec.EllipticCurvePrivateKey:
        """This key as ``cryptography``'s EC private-key interface, for JOSE libraries that sign through it
        (joserfc, for the IdP's ID tokens): signing goes to the token, every export is refused."""
        return TokenEcPrivateKey(self, public)


class TokenEcPrivateKey(ec.EllipticCurvePrivateKey):
    """``cryptography``'s EllipticCurvePrivateKey whose ``sign`` is the token's (ECDSA with SHA-256 only, DER out as
    the interface promises); ``private_numbers``, ``private_bytes`` and ``exchange`` raise: the scalar is not here."""

    def __init__(self, key: HardwareKey, public: ec.EllipticCurvePublicKey):
        self._key, self._public = key, public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.curve.key_size

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, data: bytes, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not (isinstance(signature_algorithm, ec.ECDSA) and isinstance(signature_algorithm.algorithm, hashes.SHA256)):
            raise KeyFormatError("a P-256 key in a PKCS#11 token signs ECDSA with SHA-256 (ES256) only")
        raw = self._key.sign(data)
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    def exchange(self, algorithm, peer_public_key) -> bytes:
        raise KeyAtRestError("a key inside a PKCS#11 token signs only")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise KeyAtRestError("a key inside a PKCS#11 token cannot be exported")

    def private_bytes(self, encoding, format, encryption_algorithm) -> bytes:
        raise KeyAtRestError("a key inside a PKCS#11 token cannot be exported")

    def __copy__(self) -> TokenEcPrivateKey:
        return self

    def __deepcopy__(self, memo: dict) -> TokenEcPrivateKey:
        return self


class Pkcs11Token:
    """One PKCS#11 token, opened once (a logged-in read-write session) and shared, one call at a time."""

    def __init__(self, module: str, label: str, pin: str):
        if not module or not label:
            raise KeyAtRestError("a PKCS#11 token needs TONGBAN_PKCS11_MODULE and TONGBAN_PKCS11_TOKEN")
        self.module, self.label, self._pin = module, label, pin
        self.lock = threading.Lock()
        self._session: Any = None
        self._pid = 0
        self._objects: dict[bytes, Any] = {}

    def _open(self) -> Any:
        """The logged-in session of this process (call with ``lock`` held). A worker forked from a process that had
        opened it (gunicorn) cannot use the parent's session or handles (PKCS#11 v2.40 §6.7.7): it starts anew."""
        if self._session is not None and self._pid != os.getpid():
            self._session, self._objects = None, {}
            pkcs11.lib(self.module).reinitialize()
        if self._session is None:
            try:
                token = pkcs11.lib(self.module).get_token(token_label=self.label)
                try:
                    self._session = token.open(user_pin=read_pin(self._pin), rw=True)
                except pkcs11.UserAlreadyLoggedIn:  # login is per process (v2.40 §5.6): another session did it
                    self._session = token.open(rw=True)
            except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
                raise KeyAtRestError(f"cannot open PKCS#11 token {self.label!r} with {self.module}: "
                                     f"{type(exc).__name__}") from exc
            self._pid = os.getpid()
        return self._session

    def private_object(self, key_id: bytes) -> Any:
        """The token's handle of private key ``key_id`` in this process's session (call with ``lock`` held)."""
        session = self._open()
        if key_id not in self._objects:
            try:
                self._objects[key_id] = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=key_id)
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
                raise KeyAtRestError(f"PKCS#11 token {self.label!r} holds no single private key {key_id.hex()}") from exc
        return self._objects[key_id]

    def generate(self, label: str = "tongban") -> PrivateKey:
        """A new P-256 key pair made inside the token; its private half non-extractable."""
        key_id = secrets.token_bytes(16)
        with self.lock:
            session = self._open()
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
            public, private = params.generate_keypair(
                store=True, label=label, id=key_id,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True},
                public_template={Attribute.VERIFY: True})
            point = bytes(public[Attribute.EC_POINT])
            self._objects[key_id] = private
        return self._wrap(key_id, point)

    def load(self, uri: str) -> PrivateKey:
        """The key an RFC 7512 URI written by ``HardwareKey.uri`` names (this token only)."""
        fields = dict(part.split("=", 1) for part in uri.removeprefix(URI_SCHEME).split(";") if "=" in part)
        if not uri.startswith(URI_SCHEME) or unquote(fields.get("token", "")) != self.label or "id" not in fields:
            raise KeyAtRestError(f"the key ring names a PKCS#11 key outside token {self.label!r}: {uri[:80]}")
        key_id = unquote_to_bytes(fields["id"])
        with self.lock:
            session = self._open()
            try:
                private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=key_id)
                public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, id=key_id)
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
                raise KeyAtRestError(f"PKCS#11 token {self.label!r} holds no single key {uri[:80]}") from exc
            point = bytes(public[Attribute.EC_POINT])
            self._objects[key_id] = private
        return self._wrap(key_id, point)

    def _wrap(self, key_id: bytes, point: bytes) -> PrivateKey:
        if len(point) == 67 and point[:2] == b"\x04\x41":  # CKA_EC_POINT as a DER OCTET STRING (v2.40 §2.3.3)
            point = point[2:]
        if len(point) != 65 or point[0] != 4:
            raise KeyFormatError("the token returned an EC point that is not an uncompressed P-256 point")
        public = PublicKey.from_jwk({"kty": "EC", "crv": "P-256", "x": b64url(point[1:33]), "y": b64url(point[33:])})
        return PrivateKey(public=public, _key=HardwareKey(self, key_id))
