"""SD-JWT (RFC 9901) and SD-JWT VC (draft-ietf-oauth-sd-jwt-vc), pure: issuing, presenting, verifying.

Why our own code on PyJWT rather than the reference implementation (openwallet-foundation-labs ``sd-jwt``): its
issuer signs with a jwcrypto key holding the private half, so an authority key inside a PKCS#11 token (or any
``keys`` signer) could not sign; its verifier leaves ``exp``/``nbf`` and unreferenced Disclosures unchecked and
reads its header ``typ`` from an environment variable. The JOSE layer stays a library's (PyJWT through
``keys.jws``); what is ours is the Disclosure bookkeeping (JSON, base64url, SHA-256 from ``hashlib``), and the
tests check it against the specifications' examples and the reference verifier both ways.

Modules: ``disclosures`` (§4.2, §7.1 steps 3-5), ``serialization`` (§4, ``sd_hash``), ``vc`` (an SD-JWT VC of a
licence), ``holder`` (§5.1 selection and the §4.3 KB-JWT), ``verify`` (§7.1, §7.3), ``trust`` (issuer keys from
the signed trust list), ``errors``.
"""

from credentials.sdjwt.errors import SdJwtError
from credentials.sdjwt.holder import KB_TYP, disclosure_places, present
from credentials.sdjwt.serialization import Compact, join, sd_hash, split
from credentials.sdjwt.trust import trust_list_keys
from credentials.sdjwt.vc import TYP, authority_iss, issue_sd_jwt_vc, licence_claims, parse_vct, vct_for
from credentials.sdjwt.verify import VerifiedSdJwt, verify_sd_jwt

__all__ = [
    "KB_TYP", "TYP", "Compact", "SdJwtError", "VerifiedSdJwt", "authority_iss", "disclosure_places", "issue_sd_jwt_vc",
    "join", "licence_claims", "parse_vct", "present", "sd_hash", "split", "trust_list_keys", "vct_for",
    "verify_sd_jwt",
]
