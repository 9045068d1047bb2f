"""The OpenID conformance suite's Basic-OP and Config-OP test plans as a checklist.

Module lists from openid-certification/conformance-suite (OIDCCBasicTestPlan, OIDCCConfigTestPlan). Each
item maps to a test in tests/idp, or says why it does not apply. ``test_checklist_is_complete`` keeps the
map honest: every referenced test must exist. The remaining tests here cover items no other file does.
"""

from __future__ import annotations

import importlib

import pytest
import requests

from tests.idp.conftest import Browser, query
from tests.idp.test_negatives import authorize_url, exchange, get_code

embedded = pytest.mark.parametrize("idp", ["embedded"], indirect=True)

BASIC_OP = {
    "oidcc-server": "test_flow::test_code_flow_end_to_end",
    "oidcc-response-type-missing": "test_conformance::test_response_type_missing",
    "oidcc-idtoken-signature": "test_flow::test_code_flow_end_to_end",  # ES256, kid, verified with PyJWT + JWKS
    "oidcc-idtoken-unsigned": "N/A: alg=none is never offered (id_token_signing_alg_values_supported = [ES256])",
    "oidcc-userinfo-get": "test_flow::test_code_flow_end_to_end",
    "oidcc-userinfo-post-header": "test_conformance::test_userinfo_post",
    "oidcc-userinfo-post-body": "test_conformance::test_userinfo_post",
    "oidcc-ensure-request-without-nonce-succeeds-for-code-flow": "test_conformance::test_request_without_nonce",
    "oidcc-scope-profile": "test_flow::test_code_flow_end_to_end",
    "oidcc-scope-email": "N/A: no email claim; a real-name identity offers name, phone and ID number only",
    "oidcc-scope-address": "N/A: no address claim offered",
    "oidcc-scope-phone": "test_flow::test_code_flow_end_to_end",
    "oidcc-scope-all": "test_conformance::test_scope_order_and_all",
    "oidcc-ensure-other-scope-order-succeeds": "test_conformance::test_scope_order_and_all",
    "oidcc-display-page": "test_conformance::test_ignored_parameters_succeed",
    "oidcc-display-popup": "test_conformance::test_ignored_parameters_succeed",
    "oidcc-prompt-login": "test_sso::test_prompt_login_and_max_age_force_reauthentication",
    "oidcc-prompt-none-not-logged-in": "test_negatives::test_prompt_none_without_session",
    "oidcc-prompt-none-logged-in": "test_sso::test_logout_without_hint_asks_and_unregistered_post_logout_uri_is_refused",
    "oidcc-max-age-1": "test_sso::test_prompt_login_and_max_age_force_reauthentication",
    "oidcc-max-age-10000": "test_sso::test_prompt_login_and_max_age_force_reauthentication",
    "oidcc-ensure-request-with-unknown-parameter-succeeds": "test_conformance::test_ignored_parameters_succeed",
    "oidcc-id-token-hint": "test_sso::test_id_token_hint_and_login_hint",
    "oidcc-login-hint": "test_sso::test_id_token_hint_and_login_hint",
    "oidcc-ui-locales": "test_conformance::test_ignored_parameters_succeed",
    "oidcc-claims-locales": "test_conformance::test_ignored_parameters_succeed",
    "oidcc-ensure-request-with-acr-values-succeeds": "test_features::test_acr_step_up",
    "oidcc-codereuse": "test_negatives::test_code_reuse_revokes_tokens_issued_from_it",
    "oidcc-codereuse-30seconds": "test_negatives::test_code_reuse_revokes_tokens_issued_from_it",  # marker: 24 h
    "oidcc-ensure-registered-redirect-uri": "test_negatives::test_redirect_uri_mismatch_is_not_redirected",
    "oidcc-ensure-post-request-succeeds": "test_conformance::test_post_authorization_request",
    "oidcc-server-client-secret-post": "test_flow::test_public_client_with_pkce_and_client_secret_post",
    "oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported":
        "test_conformance::test_request_objects_rejected_as_unsupported",
    "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported":
        "test_conformance::test_request_objects_rejected_as_unsupported",
    "oidcc-claims-essential": "test_conformance::test_ignored_parameters_succeed",  # claims parameter ignored
    "oidcc-ensure-request-object-with-redirect-uri": "N/A: request objects are rejected (request_not_supported)",
    "oidcc-refresh-token": "test_negatives::test_refresh_reuse_revokes_the_family",
    "oidcc-ensure-request-with-valid-pkce-succeeds": "test_flow::test_code_flow_end_to_end",
}

CONFIG_OP = {
    "oidcc-discovery-endpoint-verification": "test_conformance::test_discovery_document",
    # Sub-checks of that module, for the record:
    "CheckDiscEndpointAllEndpointsAreHttps": "N/A in tests (loopback http); production issuer must be https",
    "OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported":
        "test_rs256::test_rs256_client_id_token_verifies_with_the_published_rs256_key",  # ES256 and RS256
}


def _resolve(ref: str):
    module, name = ref.split("::")
    return getattr(importlib.import_module(f"tests.idp.{module}"), name, None)


def test_checklist_is_complete():
    for plan in (BASIC_OP, CONFIG_OP):
        for item, ref in plan.items():
            assert ref.startswith(("N/A", "DEVIATION")) or callable(_resolve(ref)), f"{item}: {ref} missing"
    assert len(BASIC_OP) == 38


def test_discovery_document(idp):
    meta = requests.get(idp.url + "/.well-known/openid-configuration").json()
    assert meta["issuer"] == idp.url and "openid" in meta["scopes_supported"]
    assert meta["response_types_supported"] == ["code"] and meta["subject_types_supported"] == ["pairwise", "public"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    jwks = requests.get(meta["jwks_uri"]).json()
    assert meta["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]  # OIDC Discovery §3
    assert {(k["kty"], k["alg"]) for k in jwks["keys"]} == {("EC", "ES256"), ("RSA", "RS256")}
    assert all("d" not in k and k["kid"] for k in jwks["keys"])
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "end_session_endpoint"):
        assert meta[endpoint].startswith(idp.url)


@embedded
def test_response_type_missing(idp):
    client = idp.client()
    params = query(Browser(idp).go(authorize_url(idp, client, response_type=None)))
    assert params["error"] in ("unsupported_response_type", "invalid_request") and params["iss"] == idp.url


@embedded
def test_userinfo_post(idp):
    client, browser = idp.client(), Browser(idp)
    tokens = exchange(idp, client, get_code(idp, browser, client)).json()
    header = requests.post(idp.url + "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert header.status_code == 200 and header.json()["name"] == "张三"
    body = requests.post(idp.url + "/userinfo", data={"access_token": tokens["access_token"]})
    # RFC 6750 §2.2 (form body) is optional; Authlib's resource protector reads the header only.
    assert body.status_code == 401


@embedded
def test_request_without_nonce(idp):
    client, browser = idp.client(), Browser(idp)
    tokens = exchange(idp, client, get_code(idp, browser, client, nonce=None)).json()
    assert tokens["id_token"]


@embedded
def test_scope_order_and_all(idp):
    client, browser = idp.client(), Browser(idp)
    tokens = exchange(idp, client, get_code(idp, browser, client, scope="phone openid profile")).json()
    info = requests.get(idp.url + "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}).json()
    assert {"sub", "name", "phone_number"} <= set(info)


@embedded
def test_ignored_parameters_succeed(idp):
    client, browser = idp.client(), Browser(idp)
    get_code(idp, browser, client)
    out = browser.go(authorize_url(idp, client, display="popup", ui_locales="zh-CN en", claims_locales="en",
                                   foo="bar", claims='{"id_token":{"acr":{"essential":true}}}'))
    assert "code" in query(out)
    assert "code" in query(browser.go(authorize_url(idp, client, display="page")))


@embedded
def test_post_authorization_request(idp):
    client, browser = idp.client(), Browser(idp)
    get_code(idp, browser, client)
    url = authorize_url(idp, client)
    out = browser.go(idp.url + "/authorize", "POST", query(url))
    assert "code" in query(out)


@embedded
def test_request_objects_rejected_as_unsupported(idp):
    client, browser = idp.client(), Browser(idp)
    assert query(browser.go(authorize_url(idp, client, request="eyJhbGciOiJub25lIn0.e30.")))["error"] == \
        "request_not_supported"
    assert query(browser.go(authorize_url(idp, client, request_uri="https://rp.example/req.jwt")))["error"] == \
        "request_uri_not_supported"
