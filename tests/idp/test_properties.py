"""Property tests: every parser, form and API body answers malformed input with a 4xx, never a 500."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.errors import InvalidInput
from idp.identity import check_password, normalise_id_number, normalise_name, normalise_phone
from idp.interaction import Interaction, check_params, decide
from idp.registry import DEMO_PEOPLE, TableRegistry, parse_csv
from idp.sessions import SsoSession
from service.app import create_app
from service.config import Settings
from tests.conftest import examples

text = st.text(max_size=60)
values = st.one_of(text, st.sampled_from(["openid", "code", "S256", "plain", "none", "login", "-1", "", "x" * 300]))
PARAMS = ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "prompt", "max_age",
          "code_challenge", "code_challenge_method", "acr_values", "id_token_hint", "login_hint", "request_uri",
          "grant_type", "code", "code_verifier", "refresh_token", "token", "token_type_hint", "client_secret",
          "client_assertion", "client_assertion_type", "post_logout_redirect_uri", "username", "password", "otp",
          "name", "id_number", "phone", "decision", "ia", "action", "scope"]
forms = st.dictionaries(st.sampled_from(PARAMS), values, max_size=8)
quick = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(st.one_of(text, st.none(), st.integers()))
def test_field_parsers_raise_only_invalid_input(value):
    for parse in (normalise_id_number, normalise_phone, normalise_name, check_password):
        try:
            assert isinstance(parse(value), str)
        except InvalidInput as exc:
            assert exc.field and str(exc)


@given(st.text(max_size=300))
def test_csv_parser_raises_only_invalid_input(body):
    try:
        rows = parse_csv("name,id_number\n" + body)
        assert all(isinstance(n, str) and len(i) == 18 for n, i in rows)
    except InvalidInput:
        pass


@given(st.dictionaries(st.sampled_from(["prompt", "max_age", "acr_values"]), values), st.booleans(),
       st.sets(st.sampled_from(["openid", "profile", "phone"])), st.integers(0, 2**40))
def test_interaction_decision_is_total(params, with_session, granted, now):
    session = SsoSession("sid", "sub", 1_000, "real-name", ["pwd"]) if with_session else None
    step = decide(Interaction(params), session, granted, ["openid", "profile"], now)
    assert step.step in ("login", "stepup", "consent", "issue", "error")
    assert (check_params(params) is None) or step.step == "error"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    import os
    os.environ["TONGBAN_DEV_PLAINTEXT_KEYS"] = "1"
    data = tmp_path_factory.mktemp("props")
    app = create_app(replace(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url="http://localhost"))
    provider = app.extensions["tongban.idp"]
    TableRegistry(provider.engine, provider.secrets).add(DEMO_PEOPLE)
    provider.clients.add("fuzz", ["http://127.0.0.1:9/cb"])
    os.environ.pop("TONGBAN_DEV_PLAINTEXT_KEYS")
    return app.test_client()


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@quick
@given(forms)
def test_authorize_never_fails(client, params):
    for resp in (client.get("/authorize", query_string=params), client.post("/authorize", data=params)):
        assert resp.status_code in (200, 302, 400), resp.get_data(as_text=True)[:500]


@quick
@given(forms, st.sampled_from(["/token", "/revoke", "/introspect", "/par"]))
def test_api_endpoints_answer_json_errors(client, body, path):
    resp = client.post(path, data=body)
    assert resp.status_code in (200, 201, 400, 401, 403), resp.get_data(as_text=True)[:500]
    assert resp.is_json


@quick
@given(forms, st.sampled_from(["/login", "/register", "/consent", "/stepup", "/logout", "/account/totp",
                               "/account/consents/withdraw"]))
def test_forms_never_fail(client, body, path):
    body = {**body, "csrf_token": _csrf(client)}
    resp = client.post(path, data=body)
    assert resp.status_code in (200, 302, 400, 401, 429), resp.get_data(as_text=True)[:500]


@quick
@given(text)
def test_bearer_and_hints_never_fail(client, value):
    value = value.encode("ascii", "ignore").decode().replace("\n", "").replace("\r", "")
    assert client.get("/userinfo", headers={"Authorization": "Bearer " + value}).status_code in (400, 401)
    assert client.get("/logout", query_string={"id_token_hint": value}).status_code in (200, 400)
    assert client.get("/authorize/resume", query_string={"ia": value}).status_code == 400


def test_oversized_body_is_refused(client):
    assert client.post("/token", data={"code": "x" * 100_000}).status_code == 413
