"""Discovery (OIDC Discovery §3, RFC 8414 §2) is built from what is registered (``idp.discovery``): these tests
check that each advertised value is what the server enforces, and pin the document so a change is deliberate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idp.discovery import ENDPOINTS
from idp.provider import SCOPE_CLAIMS
from idp.web import ROUTES

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)
PINNED = Path(__file__).with_name("discovery_document.json")


def _meta(idp) -> dict:
    return idp.app.test_client().get("/.well-known/openid-configuration").get_json()


@embedded
def test_the_document_is_the_pinned_one(idp):
    """The metadata as published before discovery was derived (issue 12); change both on purpose only."""
    pinned = json.loads(PINNED.read_text(encoding="utf-8").replace("https://id.example", idp.url))
    assert _meta(idp) == pinned


@embedded
def test_every_advertised_endpoint_is_routed_with_its_methods(idp):
    meta = _meta(idp)
    routes = {view.__name__: (rule, methods) for rule, methods, view in ROUTES}
    for name, view in ENDPOINTS.items():
        rule, methods = routes[view]
        assert meta[name] == idp.url + rule
        response = idp.app.test_client().open(rule, method=methods[0])
        assert response.status_code != 404, f"{name} {rule}"


@embedded
def test_grants_and_client_authentication_are_the_servers(idp):
    from idp.code_grant import CodeGrant
    from idp.token_endpoints import Introspection, Revocation

    meta, server = _meta(idp), idp.provider.server
    # client_credentials: counter clients only (免证办, idp.client_credentials)
    assert meta["grant_types_supported"] == server.grant_types() == ["authorization_code", "refresh_token",
                                                                     "client_credentials"]
    assert meta["response_types_supported"] == server.response_types() == ["code"]
    assert meta["token_endpoint_auth_methods_supported"] == CodeGrant.TOKEN_ENDPOINT_AUTH_METHODS
    assert meta["revocation_endpoint_auth_methods_supported"] == Revocation.CLIENT_AUTH_METHODS
    assert meta["introspection_endpoint_auth_methods_supported"] == Introspection.CLIENT_AUTH_METHODS


@embedded
def test_userinfo_releases_exactly_the_advertised_claims(idp):
    from idp.cli import DEMO_CITIZEN

    meta = _meta(idp)
    account = idp.provider.accounts.find(DEMO_CITIZEN["id_number"])
    released = set(idp.provider.claims(account.sub, " ".join(meta["scopes_supported"])))
    assert released == {"sub"} | {claim for claims in SCOPE_CLAIMS.values() for claim in claims}
    assert released <= set(meta["claims_supported"])
