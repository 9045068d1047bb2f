"""Holder-bound presentations: the credential plus the holder's COSE_Sign1 over its time and challenge.

Wire form (before ``credentials.framing``): CBOR array ``[credential, holder_proof]``, both tagged
COSE_Sign1 byte strings. The holder proof's payload is ``{6: iat}`` plus ``{10: nonce}`` when the
verifier gave a challenge (EAT nonce, RFC 9711 §4.1). The credential's SHA-256 digest is the proof's
COSE external_aad (RFC 9052 §4.3): it is signed but not sent, since the verifier can compute it,
which saves 32 bytes while binding the proof to exactly this credential (like SD-JWT's KB-JWT
``sd_hash``, RFC 9901 §4.3). The proof is signed by the key in the credential's ``cnf``.

A holder that scanned a two-way counter's code (``credentials.counter_code``) also signs ``{3: aud}``,
the counter's id (CWT audience, RFC 8392 §3.1.3), beside the counter's challenge as the nonce.

A holder that lets the counter fetch the licence online (免证办, issue 11) also signs ``{-65537: handle}``
(private-use CWT claim, RFC 8392 §4): 16 random bytes the issuer handed out for this licence, this device key
and, on a two-way counter, that counter (``issuer.fetch``). Under the device key's signature, the handle
cannot be lifted into another code: the issuer redeems it only with a proof by the key it was bound to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from credentials.cbor import check_time, dumps, loads_strict
from credentials.cose import NO_KID, Sign1, parse_sign1, sign1
from credentials.counter_code import is_counter_id
from credentials.credential import CredentialBody, parse_credential
from credentials.errors import StructureError
from credentials.framing import frame, unframe
from keys import PrivateKey

PROOF_IAT, PROOF_NONCE, PROOF_AUD, PROOF_FETCH = 6, 10, 3, -65537
MAX_CHALLENGE_BYTES = 64
FETCH_HANDLE_BYTES = 16


@dataclass(frozen=True)
class Presentation:
    credential_raw: bytes
    credential_sign1: Sign1
    credential: CredentialBody
    proof_sign1: Sign1
    presented_at: int
    challenge: bytes | None
    audience: str | None = None  # the counter id the holder signed, when it scanned a two-way counter's code
    fetch_handle: bytes | None = None  # the holder lets the counter fetch this licence (issuer.fetch)

    @property
    def credential_digest(self) -> bytes:
        return credential_digest(self.credential_raw)

    @property
    def replay_identity(self) -> bytes:
        """A digest of what the two signatures cover, and nothing else.

        The unprotected headers and the signatures themselves are left out: they can be changed without
        a key (a member added, ECDSA ``s`` replaced by ``n - s``), so a replay cache keyed on them would
        take a re-signed-looking copy of a captured code for a new one. The encodings inside are the
        deterministic ones ``credentials.cbor`` insists on, so these bytes have exactly one form.
        """
        c, p = self.credential_sign1, self.proof_sign1
        return hashlib.sha256(dumps(["tongban-replay-v1", c.protected, c.payload, p.protected, p.payload])).digest()


def credential_digest(credential_raw: bytes) -> bytes:
    return hashlib.sha256(credential_raw).digest()


def make_presentation(credential_raw: bytes, holder: PrivateKey, *, now: int, challenge: bytes | None = None,
                      audience: str | None = None, fetch_handle: bytes | None = None) -> str:
    """Sign a fresh holder proof over ``credential_raw`` and frame the pair for a QR code."""
    if challenge is not None and len(challenge) > MAX_CHALLENGE_BYTES:
        raise StructureError(f"challenge longer than {MAX_CHALLENGE_BYTES} bytes", "malformed_structure")
    if audience is not None and not is_counter_id(audience):
        raise StructureError("audience must be a counter id (1-64 of A-Z a-z 0-9 . _ -)", "malformed_structure")
    if fetch_handle is not None and not (isinstance(fetch_handle, bytes) and len(fetch_handle) == FETCH_HANDLE_BYTES):
        raise StructureError(f"a fetch handle is exactly {FETCH_HANDLE_BYTES} bytes", "malformed_structure")
    claims: dict[int, object] = {PROOF_IAT: now}
    if challenge is not None:
        claims[PROOF_NONCE] = challenge
    if audience is not None:
        claims[PROOF_AUD] = audience
    if fetch_handle is not None:
        claims[PROOF_FETCH] = fetch_handle
    proof = sign1(dumps(claims), holder, external_aad=credential_digest(credential_raw))
    return frame(dumps([credential_raw, proof]))


def parse_presentation_bytes(data: bytes) -> Presentation:
    value = loads_strict(data, "presentation")
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, bytes) for v in value)):
        raise StructureError("a presentation is [credential, holder proof]", "malformed_structure")
    credential_raw, proof_raw = value
    credential_sign1, credential = parse_credential(credential_raw)
    proof = parse_sign1(proof_raw, "holder proof", kid=NO_KID)
    claims = loads_strict(proof.payload, "holder proof claims")
    if (not isinstance(claims, dict) or PROOF_IAT not in claims
            or set(claims) - {PROOF_IAT, PROOF_NONCE, PROOF_AUD, PROOF_FETCH}):
        raise StructureError("holder proof must carry iat and at most a nonce, an audience and a fetch handle",
                             "malformed_structure")
    iat, nonce, aud = check_time(claims[PROOF_IAT], "holder proof iat"), claims.get(PROOF_NONCE), claims.get(PROOF_AUD)
    if PROOF_NONCE in claims and not (isinstance(nonce, bytes) and len(nonce) <= MAX_CHALLENGE_BYTES):
        raise StructureError(f"holder proof nonce must be at most {MAX_CHALLENGE_BYTES} bytes", "malformed_structure")
    if PROOF_AUD in claims and not is_counter_id(aud):
        raise StructureError("holder proof aud must be a counter id (1-64 of A-Z a-z 0-9 . _ -)", "malformed_structure")
    handle = claims.get(PROOF_FETCH)
    if PROOF_FETCH in claims and not (isinstance(handle, bytes) and len(handle) == FETCH_HANDLE_BYTES):
        raise StructureError(f"holder proof fetch handle must be exactly {FETCH_HANDLE_BYTES} bytes",
                             "malformed_structure")
    return Presentation(credential_raw, credential_sign1, credential, proof, iat, nonce, aud, handle)


def parse_presentation(text: str) -> Presentation:
    return parse_presentation_bytes(unframe(text))
