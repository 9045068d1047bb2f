"""Full OpenID Connect flows driven by Authlib's client (requests) against a live provider, both modes.

discovery -> authorize (PKCE S256, state, nonce) -> login -> consent -> code (+ iss, RFC 9207) -> token ->
ID token validated with PyJWT (an independent JOSE library) -> userinfo -> refresh (rotation) -> logout.
"""

from __future__ import annotations

import secrets

import jwt as pyjwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from idp.cli import DEMO_CITIZEN
from tests.idp.conftest import Browser, query

REDIRECT = "http://127.0.0.1:9/cb"


def discover(idp) -> dict:
    meta = requests.get(idp.url + "/.well-known/openid-configuration", timeout=5).json()
    AuthorizationServerMetadata(meta).validate()  # RFC 8414 §2 field rules
    assert meta["issuer"] == idp.url
    return meta


def rp(idp, client: dict, scope: str = "openid profile phone") -> OAuth2Session:
    return OAuth2Session(client["client_id"], client.get("client_secret"), scope=scope, redirect_uri=REDIRECT,
                         code_challenge_method="S256",
                         token_endpoint_auth_method=client["token_endpoint_auth_method"])


def validate_id_token(idp, meta: dict, client: dict, id_token: str, nonce: str, access_token: str) -> dict:
    signing_key = pyjwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(id_token)
    claims = pyjwt.decode(id_token, signing_key.key, algorithms=["ES256"], audience=client["client_id"],
                          issuer=idp.url, options={"require": ["exp", "iat", "sub", "aud", "iss"]})
    assert claims["nonce"] == nonce
    # at_hash, OIDC Core §3.1.3.6: left half of SHA-256 of the access token
    import base64
    import hashlib
    half = hashlib.sha256(access_token.encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(half).rstrip(b"=").decode()
    return claims


def sign_in(idp, browser: Browser, session: OAuth2Session, meta: dict, consent: bool = True, **extra):
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                  nonce=nonce, **extra)
    out = browser.go(url)
    if out is None and "/login" in browser.page.text and 'name="password"' in browser.page.text:
        out = browser.login()
    if out is None and consent:
        out = browser.submit("/consent", decision="allow")
    return out, state, verifier, nonce


def test_code_flow_end_to_end(idp):
    meta = discover(idp)
    client = idp.client(scopes=["openid", "profile", "phone"])
    session = rp(idp, client)
    browser = Browser(idp)
    callback, state, verifier, nonce = sign_in(idp, browser, session, meta)
    assert callback and callback.startswith(REDIRECT)
    params = query(callback)
    assert params["state"] == state and params["iss"] == idp.url  # RFC 9207
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]
    claims = validate_id_token(idp, meta, client, token["id_token"], nonce, token["access_token"])
    assert claims["acr"] == "real-name" and claims["amr"] == ["pwd"] and claims["sid"]
    assert "name" not in claims  # claims are served by UserInfo, not copied into the ID token

    info = session.get(meta["userinfo_endpoint"]).json()
    assert info == {"sub": claims["sub"], "name": DEMO_CITIZEN["name"], "phone_number": "+8613800138000",
                    "phone_number_verified": False}

    old_refresh = token["refresh_token"]
    new = session.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    assert new["refresh_token"] != old_refresh and new["access_token"] != token["access_token"]
    assert session.get(meta["userinfo_endpoint"]).status_code == 200

    # introspection (RFC 7662) by the client that owns the token
    auth = (client["client_id"], client["client_secret"])
    intro = requests.post(meta["introspection_endpoint"], data={"token": new["access_token"]}, auth=auth).json()
    assert intro["active"] is True and intro["sub"] == claims["sub"] and intro["client_id"] == client["client_id"]
    assert intro["token_type"] == "Bearer" and intro["iss"] == idp.url and intro["exp"] > intro["iat"]

    # RP-initiated logout with id_token_hint ends the session; the refresh token dies with it
    browser.go(meta["end_session_endpoint"] + "?id_token_hint=" + token["id_token"])
    assert "已退出" in browser.page.text
    dead = requests.post(meta["token_endpoint"], auth=auth,
                         data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]})
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    # and the next authorization needs a password again
    again, *_ = sign_in(idp, browser, session, meta, consent=False, prompt="none")
    assert query(again)["error"] == "login_required"


def test_public_client_with_pkce_and_client_secret_post(idp):
    meta = discover(idp)
    public = idp.client(public=True)
    session = rp(idp, public)
    browser = Browser(idp)
    callback, _, verifier, nonce = sign_in(idp, browser, session, meta)
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    validate_id_token(idp, meta, public, token["id_token"], nonce, token["access_token"])

    confidential = idp.client()
    post = OAuth2Session(confidential["client_id"], confidential["client_secret"], scope="openid",
                         redirect_uri=REDIRECT, code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_post")
    callback, _, verifier, _ = sign_in(idp, browser, post, meta)  # SSO: no password this time
    assert "code" in query(callback)
    assert post.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)


def test_consent_is_remembered_per_client(idp):
    meta = discover(idp)
    client = idp.client()
    session = rp(idp, client)
    browser = Browser(idp)
    first, *_ = sign_in(idp, browser, session, meta)
    assert "code" in query(first)
    second, *_ = sign_in(idp, browser, session, meta, consent=False)
    assert "code" in query(second)  # no consent page the second time
    third, *_ = sign_in(idp, browser, session, meta, consent=False, prompt="consent")
    assert third is None and 'name="decision"' in browser.page.text  # prompt=consent asks again
