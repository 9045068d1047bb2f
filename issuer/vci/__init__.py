"""The credential issuer's HTTP edge: OpenID for Verifiable Credential Issuance 1.0 (OpenID4VCI).

Endpoints (paths relative to the service's issuer URL), one module each:

* ``metadata``: ``GET /.well-known/openid-credential-issuer`` (§12.2): one configuration per licence type and
  format (``configurations``): ``<type>`` = ``tongban-cose``, ``<type>-sd-jwt`` = ``dc+sd-jwt`` (Appendix A.3, with
  ``vct``, claim display names zh/en), ``batch_credential_issuance``; ``authorization_servers`` lists the IdP and
  the issuer's own, whose RFC 8414 metadata is ``GET /.well-known/oauth-authorization-server/issuer``.
* ``token``: ``POST /issuer/token`` (§6) for the Pre-Authorized Code grant with ``tx_code``; ``GET
  /issuer/offers/<id>`` serves a by-reference Credential Offer once (§4.1.3). Offers: ``issuer.offers``.
* ``credential``: ``POST /issuer/nonce`` (§7; stateless ``c_nonce``, ``issuer.nonces``), ``GET /issuer/records``
  (tongban's: the citizen's register entries) and ``POST /issuer/credential`` (§8): ``jwt`` key proofs (§8.2.1.1,
  Appendix F.1, ``issuer.key_proof``), ``proof`` or ``proofs``, batch for SD-JWT VC; errors §8.3.1.2
  (``invalid_proof``, ``invalid_nonce``, ``invalid_credential_request``, ``unknown_credential_configuration``),
  token errors RFC 6750 §3.1.
* ``removal``: ``POST /issuer/removal`` (tongban's): the holder revokes the copy bound to one phone's device key,
  with a signed, single-use request of that key (the wallet's "remove from this phone").

Implemented from OpenID4VCI 1.0: Credential Offer by value and by reference (§4.1) with the Pre-Authorized Code
grant and a numeric ``tx_code`` (single use, ``issuer.offers.DEFAULT_TTL``, 5 tries); the Authorization Code flow
through the service's IdP (scope ``licences``; the wallet signs in, no offer, no ``issuer_state``); Token
Endpoint for pre-authorized codes (§6, anonymous, Bearer tokens); Nonce Endpoint (§7); Credential Endpoint (§8)
with ``jwt`` proofs and batch issuance (``proofs.jwt``, up to 10 keys, one credential each; one status entry
per licence, ``issuer.sd_jwt_issuance``); Credential Issuer Metadata (§12.2) and the AS metadata of the issuer's
token endpoint; the ``dc+sd-jwt`` format (``credentials.sdjwt``).

Where this departs from OpenID4VCI 1.0, and why:

* ``tongban-cose`` (the compact CWT in COSE_Sign1, ``credentials.credential``) is not one of Appendix A's formats;
  one issuance returns *every view* of the licence in one ``credentials`` entry (``{view: base64url}``), plus
  ``elicence_id``, ``licence_type``, ``views`` and ``summary`` so the web wallet can show the card offline.
* With an IdP token the request names the register entry (``record``, a tongban parameter): a citizen may hold
  several licences of one type in principle. A pre-authorized token is bound to its entry; ``record`` is optional.
* ``proof`` (one object, as drafts before 1.0) is still accepted beside ``proofs``.

Left out: deferred issuance (§9; a record not yet approved is simply not in the register yet), the notification
endpoint (§11), credential request and response encryption (§8.2, §8.3), ``authorization_details`` and
``credential_identifiers`` (§5.1.1, §6.2), ``issuer_state`` in offers for the code flow, the ``attestation``
and ``di_vp`` proof types, key attestations, signed metadata (§12.2.3), DPoP for the issuer's own tokens, and
the ``mso_mdoc`` format (a later part of issue 13).
"""

from issuer.vci import credential, metadata, removal, token  # noqa: F401 - each registers its routes on ``bp``
from issuer.vci.common import SCOPE, CredentialIssuer, bp
from issuer.vci.configurations import COSE as FORMAT

__all__ = ["FORMAT", "SCOPE", "CredentialIssuer", "bp"]
