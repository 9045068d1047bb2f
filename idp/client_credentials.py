"""The client credentials grant (RFC 6749 §4.4) for counters, and nothing else.

A counter that fetches licences with the holder's authorisation (免证办, ``issuer.fetch``) is a client of its
own: registered with ``tongban clients add-counter`` (its client id is its counter id, its one scope ``counter``,
its key a JWKS), it authenticates with ``private_key_jwt`` only (RFC 7523 §2.2: a signed assertion, no shared
secret on a counter PC), and asks for ``scope=counter``. No citizen is behind the token: it says "this
counter", and the citizen's consent is the one-time handle in the code they showed.

The token is opaque and kept apart from the citizens' tokens (``Grants.put_counter_token``, key ``cct:``): a
counter token is never accepted where a citizen's is (``/userinfo``, the wallet's ``/issuer/*``), and a
citizen's or an ordinary app's token never where a counter's is (``/issuer/fetch``).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant

COUNTER_SCOPE = "counter"
COUNTER_TOKEN_TTL = 300  # seconds; a counter asks again (a new assertion) when it runs out


class CounterCredentialsGrant(ClientCredentialsGrant):
    """RFC 6749 §4.4 for counter clients (``Client.check_grant_type`` lets only them use it)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

    def validate_requested_scope(self) -> None:
        """The one scope a counter token carries is ``counter``: asked for or implied, never anything else."""
        scope = self.request.payload.scope
        if scope and scope.split() != [COUNTER_SCOPE]:
            raise InvalidScopeError(description=f"a counter asks for scope={COUNTER_SCOPE} only")

    def save_token(self, token: dict) -> None:
        token["scope"] = COUNTER_SCOPE
        self.server.provider.grants.put_counter_token(token["access_token"], client_id=self.client.client_id,
                                                      expires_in=int(token["expires_in"]))
