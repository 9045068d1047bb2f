"""Withdrawing a compromised authority key: ``tongban keys compromise AUTHORITY KID``.

Rotation is for keys that are merely old: a rotated-out key keeps verifying what it signed. A leaked key
is different: whoever holds it can sign anything with a back-dated ``iat``, so nothing it signed can be
told apart from a forgery any more. In order, each step safe to repeat if a run is cut short:

1. the key ring drops the private key and the key stops verifying; a new signer if it was the current one;
2. the trust list is re-signed at once with the next version, without the key and naming its 8-byte kid
   under the authority's ``compromised`` (a counter that syncs answers ``key_compromised``);
3. every live credential the key signed gets ``needs_reissue_at`` (``tongban keys needs-reissue`` lists them);
4. the authority's status lists are re-signed by its current signer (a counter refuses a list signed by
   a key no longer on the trust list, so lists the withdrawn key signed would stop syncing).
"""

from __future__ import annotations

from dataclasses import dataclass

from issuer import store
from issuer.service import Issuer


@dataclass(frozen=True)
class Compromise:
    authority_id: str
    kid: str
    short_kid: str  # the 8-byte kid in hex, as a QR credential carries it
    compromised_at: int
    new_signer: str | None  # kid of the signer made because the withdrawn key was the current one
    trust_list_version: int
    marked: int  # credentials newly marked for re-issue by this run
    needing_reissue: int  # credentials of this key marked and still live, this run's and earlier runs'
    status_lists: int
    already: bool = False  # the key was withdrawn by an earlier run (this one re-published and re-marked)


def compromise_key(issuer: Issuer, authority_id: str, kid: str, *, now: int, actor: str,
                   alg: str | None = None) -> Compromise:
    """Withdraw ``kid`` (RFC 7638, or the 8-byte kid in hex) of ``authority_id``; unknown ones raise KeyFormatError."""
    hub = issuer.hub
    key, new, withdrawn = hub.compromise(authority_id, kid, now, alg, actor=actor)
    version = hub.publish_trust_list(now).version
    marked = store.mark_needs_reissue(issuer.engine, authority_id, key.public.kid, signed_from=key.not_before,
                                      signed_until=key.signs_until, at=key.compromised_at)
    uris = store.list_uris(issuer.engine, authority_id) or [store.status_uri(authority_id, 1)]
    for uri in uris:
        issuer.publish_status_list(authority_id, uri, now=now)
    pending = store.needing_reissue(issuer.engine, now=now, authority_id=authority_id, kid=key.public.kid)
    return Compromise(authority_id, key.public.kid, key.public.short_kid.hex(), key.compromised_at,
                      new.public.kid if new else None, version, marked, len(pending), len(uris), not withdrawn)
