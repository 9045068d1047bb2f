"""A software WebAuthn authenticator for server-side tests: builds the exact bytes a platform authenticator and its
browser send (WebAuthn Level 3 §6.1 authenticator data, §6.5.4 ``none`` attestation, §5.8.1 client data), so the
tests can also build every variation an attacker could: another origin or RP id, no UV flag, an old counter, a
replayed answer. ES256 keys (COSE alg -7, §6.5.1.1), signed with ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str
    rp_id: str
    uv: bool = True
    counting: bool = True  # False: a synced passkey that always reports 0 (as iCloud Keychain does)
    credentials: list[Credential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}, separators=(",", ":")).encode()

    def _flags(self, uv: bool | None, extra: int = 0) -> int:
        return UP | (UV if (self.uv if uv is None else uv) else 0) | extra

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None, uv: bool | None = None,
               fmt: str = "none", credential_id: bytes | None = None) -> str:
        """``navigator.credentials.create`` answered: the registration credential as JSON."""
        key = ec.generate_private_key(ec.SECP256R1())
        cred = Credential(credential_id or secrets.token_bytes(16), key, rp_id or options["rp"]["id"],
                          unb64url(options["user"]["id"]))
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        auth_data = (hashlib.sha256(cred.rp_id.encode()).digest() + bytes([self._flags(uv, AT)])
                     + struct.pack(">I", 0) + bytes(16) + struct.pack(">H", len(cred.id)) + cred.id + cose)
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": {}, "authData": auth_data})
        self.credentials.append(cred)
        return json.dumps({"id": b64url(cred.id), "rawId": b64url(cred.id), "type": "public-key",
                           "response": {"clientDataJSON": b64url(self._client_data("webauthn.create",
                                                                                   options["challenge"], origin)),
                                        "attestationObject": b64url(attestation), "transports": ["internal"]},
                           "clientExtensionResults": {}})

    def get(self, options: dict, *, credential: Credential | None = None, origin: str | None = None,
            rp_id: str | None = None, uv: bool | None = None, sign_count: int | None = None,
            user_handle: bytes | None | bool = True) -> str:
        """``navigator.credentials.get`` answered: an assertion as JSON (the first credential unless named)."""
        cred = credential or self.credentials[0]
        if sign_count is None:
            if self.counting:
                cred.sign_count += 1
            sign_count = cred.sign_count
        auth_data = (hashlib.sha256((rp_id or cred.rp_id).encode()).digest() + bytes([self._flags(uv)])
                     + struct.pack(">I", sign_count))
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = cred.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature)}
        handle = cred.user_handle if user_handle is True else user_handle
        if handle:
            response["userHandle"] = b64url(handle)
        return json.dumps({"id": b64url(cred.id), "rawId": b64url(cred.id), "type": "public-key",
                           "response": response, "clientExtensionResults": {}})
