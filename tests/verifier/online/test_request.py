"""Creating a presentation request and its Request Object (OpenID4VP 1.0 §5, §5.10, RFC 9101), and the
wallet's checks of it: a request object signed by another key, for another client, expired, or unsigned."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys import b64url, generate, jws_encode
from verifier.online import OnlineError, new_request, sign_request_object, verify_request_object, wallet_link

from .world import CLIENT, HUB, NOW, QUERY, request

KEY = generate("ES256")


def test_request_has_fresh_random_nonce_and_state_and_hub_urls():
    req = request()
    again = request()
    assert len({req.nonce, req.state, req.id, again.nonce, again.state, again.id}) == 6
    assert len(base64.urlsafe_b64decode(req.nonce + "==")) == 16
    assert req.request_uri == f"{HUB}/verifier/requests/{req.id}/request.jwt"
    assert req.response_uri == f"{HUB}/verifier/requests/{req.id}/response"
    claims = req.claims()
    assert claims["response_type"] == "vp_token" and claims["response_mode"] == "direct_post"
    assert claims["client_id"] == claims["iss"] == CLIENT and claims["aud"] == "https://self-issued.me/v2"
    assert claims["dcql_query"] == QUERY and claims["exp"] == NOW + 300
    assert type(req).from_json(req.to_json()) == req


def test_link_carries_only_client_id_and_request_uri():
    req = request()
    link = wallet_link(CLIENT, req.request_uri)
    assert link.startswith("openid4vp://?")
    params = parse_qs(urlsplit(link).query)
    assert params == {"client_id": [CLIENT], "request_uri": [req.request_uri]}


def test_signed_request_object_verifies_for_its_client():
    req = request()
    token = sign_request_object(req, KEY)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "ES256" and header["kid"] == KEY.kid
    claims = verify_request_object(token, key=KEY.public, client_id=CLIENT, now=NOW)
    assert claims["nonce"] == req.nonce and claims["purpose"] == "核对准驾车型"


def test_request_object_signed_by_another_key():
    token = sign_request_object(request(), generate("ES256"))
    with pytest.raises(OnlineError) as caught:
        verify_request_object(token, key=KEY.public, client_id=CLIENT, now=NOW)
    assert caught.value.reason == "request_signature"


def test_request_object_with_our_kid_but_another_signature():
    other = generate("ES256")
    token = jws_encode(request().claims(), other, headers={"typ": "oauth-authz-req+jwt", "kid": KEY.kid})
    with pytest.raises(OnlineError) as caught:
        verify_request_object(token, key=KEY.public, client_id=CLIENT, now=NOW)
    assert caught.value.reason == "request_signature"


def test_unsigned_or_wrongly_typed_request_objects():
    claims = request().claims()
    none = (b64url(json.dumps({"alg": "none", "typ": "oauth-authz-req+jwt", "kid": KEY.kid}).encode()) + "."
            + b64url(json.dumps(claims).encode()) + ".")
    plain_jwt = jws_encode(claims, KEY, headers={"typ": "JWT", "kid": KEY.kid})
    for token in (none, plain_jwt, "x.y", "", None):
        with pytest.raises(OnlineError):
            verify_request_object(token, key=KEY.public, client_id=CLIENT, now=NOW)


def test_request_object_for_another_client_or_expired():
    token = sign_request_object(request(), KEY)
    with pytest.raises(OnlineError) as other:
        verify_request_object(token, key=KEY.public, client_id="another-app", now=NOW)
    assert other.value.reason == "request_invalid"
    with pytest.raises(OnlineError) as late:
        verify_request_object(token, key=KEY.public, client_id=CLIENT, now=NOW + 301)
    assert late.value.reason == "request_expired"


@pytest.mark.parametrize("purpose", ["", "   ", "x" * 201, None])
def test_a_request_needs_a_purpose(purpose):
    with pytest.raises(OnlineError):
        new_request(client_id=CLIENT, dcql=QUERY, base_url=HUB, purpose=purpose, now=NOW)


def test_request_lifetimes_are_bounded():
    for ttl in (0, -1, 29, 3601):
        with pytest.raises(OnlineError):
            new_request(client_id=CLIENT, dcql=QUERY, base_url=HUB, purpose="p", now=NOW, ttl=ttl)


def test_a_verifier_redirect_uri_must_be_http(tmp_path):
    from keys import AtRestPolicy, KeyRingStore
    from verifier.online import VerifierRegistry

    registry = VerifierRegistry(tmp_path, KeyRingStore(tmp_path / "keys", AtRestPolicy(None, allow_plaintext=True)))
    for uri in ("javascript:alert(1)", "data:text/html,x", "//no-scheme", ""):
        with pytest.raises(OnlineError):
            registry.add("app-1", name="a", purpose="p", redirect_uri=uri, now=NOW)
    registry.add("app-1", name="a", purpose="p", redirect_uri="https://a.example.cn/back", now=NOW)
    assert registry.describe("app-1", NOW)["jwks"]["keys"][0]["kty"] == "EC"
    assert registry.get("../etc") is None and registry.describe("nobody", NOW) is None


@given(st.text(max_size=200) | st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.text(alphabet="AZaz09-_", max_size=40),
                                         st.text(alphabet="AZaz09-_", max_size=40), st.text(alphabet="AZaz09-_", max_size=40)))
def test_any_text_is_a_request_object_or_a_typed_refusal(token):
    with pytest.raises(OnlineError) as caught:
        verify_request_object(token, key=KEY.public, client_id=CLIENT, now=NOW)
    assert caught.value.reason in ("request_invalid", "request_signature", "request_expired")


@given(st.dictionaries(st.sampled_from(["typ", "alg", "kid", "crit", "jwk"]), st.text(max_size=10) | st.integers()))
def test_any_header_is_refused_unless_ours(header):
    body = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(request().claims()).encode()) + ".c2ln"
    with pytest.raises(OnlineError):
        verify_request_object(body, key=KEY.public, client_id=CLIENT, now=NOW)
