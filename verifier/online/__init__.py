"""Presentations to apps online: OpenID for Verifiable Presentations 1.0 (OpenID4VP), verifier side.

Modules: ``dcql`` (§6 queries, §7 claims paths, matching what was disclosed), ``request`` (§5 the request,
§5.10 the signed Request Object by reference, the ``openid4vp://`` link), ``vp_token`` (§8.1 and Appendix B.3
``verify_vp_token``, the library call apps use), ``transactions`` (single use of nonce and state, one response
per request, replayed ``vp_token``s), ``registry`` (apps registered as verifiers, their request keys), ``hub``
(the service the HTTP edge and in-process apps call), ``web`` (the HTTP edge), ``errors``.

Implemented from OpenID4VP 1.0: DCQL with ``dc+sd-jwt`` credential queries (``meta.vct_values``, ``claims`` with
``path`` and ``values``, ``claim_sets``); pre-registered client identifiers (§5.9.1); Request Objects by
reference (``request_uri``, GET) signed ES256, ``typ`` ``oauth-authz-req+jwt``; ``response_type=vp_token``,
``response_mode=direct_post`` with ``response_uri`` and, for same-device flows, ``redirect_uri`` carrying a
``response_code`` (§8.2, §13.3); the ``vp_token`` as a JSON object keyed by credential query id (§8.1); SD-JWT VC
presentations with KB-JWT (Appendix B.3.6: ``nonce``, ``aud`` = client_id, ``iat``, ``sd_hash``).

Left out: the Digital Credentials API (``dc_api``, ``dc_api.jwt``, Appendix A), encrypted responses
(``direct_post.jwt``, §8.3), ``transaction_data`` (§5.1, §8.4), ``verifier_info`` / verifier attestations
(§5.11), the other client identifier prefixes (``redirect_uri:``, ``x509_san_dns:``, ``x509_hash:``,
``decentralized_identifier:``, ``openid_federation:``, ``verifier_attestation:``), ``request_uri_method=post``
and wallet metadata, ``credential_sets``, ``multiple``, ``trusted_authorities``, the ``mso_mdoc`` and
``jwt_vc_json`` / ``ldp_vc`` formats, ``response_mode=fragment`` / ``query`` and the ``id_token`` response type.
"""

from verifier.online.dcql import ClaimQuery, CredentialQuery, DcqlQuery, parse_dcql
from verifier.online.errors import OnlineError
from verifier.online.hub import OnlineVerifier
from verifier.online.registry import VerifierClient, VerifierRegistry
from verifier.online.request import PresentationRequest, new_request, sign_request_object, verify_request_object, wallet_link
from verifier.online.transactions import Outcome, Transactions
from verifier.online.vp_token import VerifiedCredential, verify_vp_token

__all__ = [
    "ClaimQuery", "CredentialQuery", "DcqlQuery", "OnlineError", "OnlineVerifier", "Outcome", "PresentationRequest",
    "Transactions", "VerifiedCredential", "VerifierClient", "VerifierRegistry", "new_request", "parse_dcql",
    "sign_request_object", "verify_request_object", "verify_vp_token", "wallet_link",
]
