"""The publication endpoints: what a verifier downloads, with the right types, caching and strict paths."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keys
from credentials.catalogue import HEALTH_STATUS, LICENCE_STATUS
from credentials.status_list import peek_times, verify_status_list_cwt, verify_status_list_jwt
from issuer.publication import CWT_TYPE, JWT_TYPE, publication_blueprint
from service.app import create_app
from service.config import Settings
from tests.conftest import examples
from tests.counter_world import make_world

HUB = "https://hub.example.gov.cn"
PROPERTY = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("publication"))


@pytest.fixture(scope="module")
def client(world):
    app = Flask("publication-test")
    app.register_blueprint(publication_blueprint(world.data, base_url=HUB))
    return app.test_client()


def traffic_key(world) -> keys.TrustedKey:
    root = keys.PublicKey.from_jwk(json.loads((world.data / "hub-root.jwk").read_text()))
    trust = keys.verify_trust_list((world.data / "trust-list.jwt").read_text(), root, now=int(time.time()))
    return trust.authority("bj-traffic-police").keys[-1]


def test_hub_root_is_the_data_directory_file(world, client):
    response = client.get("/trust/hub-root.jwk")
    assert response.status_code == 200 and response.mimetype == "application/jwk+json"
    assert response.get_json() == json.loads((world.data / "hub-root.jwk").read_text())


def test_trust_list_is_a_jwt_with_a_short_max_age(world, client):
    response = client.get("/trust/trust-list.jwt")
    assert response.status_code == 200 and response.mimetype == "application/jwt"
    assert response.get_data(as_text=True) == (world.data / "trust-list.jwt").read_text()
    assert "max-age=300" in response.headers["Cache-Control"]
    assert client.get("/trust/trust-list.jwt", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_status_list_is_a_cwt_by_default_with_max_age_from_its_ttl(world, client):
    response = client.get("/status/bj-traffic-police/1")
    assert response.status_code == 200 and response.mimetype == CWT_TYPE
    max_age = int(response.headers["Cache-Control"].split("max-age=")[1])
    assert LICENCE_STATUS.ttl - 120 < max_age <= LICENCE_STATUS.ttl and "Accept" in response.headers["Vary"]
    key = traffic_key(world)
    token = verify_status_list_cwt(response.data, public_key=key.public, alg=key.public.alg, now=int(time.time()),
                                   expected_subject="tbsl:bj-traffic-police/1")
    assert token.ttl == LICENCE_STATUS.ttl and token.expires_at == token.issued_at + LICENCE_STATUS.lifetime
    assert response.data == (world.data / "status" / "bj-traffic-police" / "1.cwt").read_bytes()


@pytest.mark.parametrize("accept", [JWT_TYPE, f"{JWT_TYPE}, {CWT_TYPE};q=0.5", f"{CWT_TYPE};q=0.1, {JWT_TYPE}"])
def test_status_list_jwt_on_request(world, client, accept):
    """draft-ietf-oauth-status-list §8.1: content negotiation picks the JWT form when the client prefers it."""
    response = client.get("/status/bj-traffic-police/1", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == JWT_TYPE
    key = traffic_key(world)
    token = verify_status_list_jwt(response.get_data(as_text=True), public_key=key.public, alg=key.public.alg,
                                   now=int(time.time()), expected_subject="tbsl:bj-traffic-police/1")
    assert token.ttl == LICENCE_STATUS.ttl


def test_health_lists_are_short_lived_and_max_age_counts_from_their_iat(world):
    """Health-code lists: ttl 5 min, exp 10 min; an HTTP cache never keeps one past iat + ttl."""
    cwt = (world.data / "status" / "bj-health" / "1.cwt").read_bytes()
    iat, exp, ttl = peek_times(cwt)
    assert (ttl, exp - iat) == (HEALTH_STATUS.ttl, HEALTH_STATUS.lifetime)
    for age, expected in ((0, 300), (100, 200), (299, 1), (300, 0), (5000, 0)):
        app = Flask("publication-clock")
        app.register_blueprint(publication_blueprint(world.data, clock=lambda age=age: iat + age))
        response = app.test_client().get("/status/bj-health/1", headers={"Accept": JWT_TYPE})
        assert f"max-age={expected}" in response.headers["Cache-Control"]


@pytest.mark.parametrize("accept", ["*/*", CWT_TYPE, f"{CWT_TYPE}, {JWT_TYPE};q=0.5", "text/html", "application/json"])
def test_status_list_cwt_otherwise(client, accept):
    response = client.get("/status/bj-traffic-police/1", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == CWT_TYPE


def test_index_lists_every_published_status_list(world, client):
    response = client.get("/status/index.json")
    assert response.status_code == 200
    doc = response.get_json()
    uris = {entry["uri"]: entry["url"] for entry in doc["status_lists"]}
    assert set(uris) == {f"tbsl:{a}/1" for a in ("bj-traffic-police", "bj-public-security", "bj-market-regulation",
                                                    "bj-health")}
    assert uris["tbsl:bj-health/1"] == HUB + "/status/bj-health/1"
    assert doc["trust_list"] == HUB + "/trust/trust-list.jwt" and doc["hub_root"] == HUB + "/trust/hub-root.jwk"
    for url in uris.values():
        assert client.get(url.removeprefix(HUB)).status_code == 200


def test_index_without_a_base_url_is_relative():
    """Nothing absolute is ever built from the request: without a configured base URL, paths."""
    app = Flask("relative")
    app.register_blueprint(publication_blueprint(Path("/nonexistent")))
    doc = app.test_client().get("/status/index.json", headers={"Host": "evil.example"}).get_json()
    assert doc["trust_list"] == "/trust/trust-list.jwt" and doc["hub_root"] == "/trust/hub-root.jwk"


@pytest.mark.parametrize("hops", ["0", "1"])
def test_a_forged_host_cannot_poison_the_cached_index(world, monkeypatch, hops):
    """Issue 8, item 10: index.json is cached publicly, so its URLs come from TONGBAN_ISSUER_URL, never Host."""
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    monkeypatch.setenv("TONGBAN_PROXY_HOPS", hops)
    app = create_app(replace(Settings.from_env(world.data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url=HUB))
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    response = app.test_client().get("/status/index.json", headers=forged)
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    assert "evil.example" not in response.get_data(as_text=True)
    doc = response.get_json()
    urls = [doc["trust_list"], doc["hub_root"], *(e["url"] for e in doc["status_lists"])]
    assert urls and all(u.startswith(HUB + "/") for u in urls)


@pytest.mark.parametrize("path", [
    "/status/bj-traffic-police/0", "/status/bj-traffic-police/01", "/status/bj-traffic-police/1.cwt",
    "/status/bj-traffic-police/1.jwt", "/status/BJ-traffic-police/1", "/status/-bj/1", "/status/bj-traffic-police/2",
    "/status/nobody/1", "/status/../hub-root.jwk/1", "/status/..%2f..%2fhub.json/1", "/status/bj-traffic-police/%2e%2e",
    "/status/bj-traffic-police", "/status/bj-traffic-police/1/x", "/status/index.jsonx", "/trust/hub.json",
    "/trust/../hub.json", "/trust/keys", "/status/bj-traffic-police/99999999999999999999",
])
def test_anything_else_is_404(client, path):
    assert client.get(path).status_code == 404


def test_missing_files_are_404_not_500(tmp_path):
    app = Flask("empty")
    app.register_blueprint(publication_blueprint(tmp_path / "nothing-here"))
    c = app.test_client()
    for path in ("/trust/hub-root.jwk", "/trust/trust-list.jwt", "/status/bj-health/1"):
        assert c.get(path).status_code == 404
    assert c.get("/status/index.json").get_json()["status_lists"] == []


@PROPERTY
@given(authority=st.text(min_size=1, max_size=80), list_no=st.text(min_size=1, max_size=30),
       accept=st.text(max_size=60).filter(lambda s: "\n" not in s and "\r" not in s))
def test_any_status_path_is_200_or_404(client, authority, list_no, accept):
    from urllib.parse import quote

    path = f"/status/{quote(authority, safe='')}/{quote(list_no, safe='')}"
    response = client.get(path, headers={"Accept": accept})
    # 308: werkzeug merges a doubled slash (a decoded %2F) by redirecting; the target is checked like any path.
    assert response.status_code in (200, 308, 404), path
    if response.status_code == 200:
        assert response.mimetype in (CWT_TYPE, JWT_TYPE)


def test_mounted_in_the_main_app(world, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    app = create_app(replace(Settings.from_env(world.data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), issuer_url="http://127.0.0.1:1"))
    c = app.test_client()
    assert c.get("/trust/trust-list.jwt").mimetype == "application/jwt"
    assert c.get("/status/bj-traffic-police/1", headers={"Accept": JWT_TYPE}).mimetype == JWT_TYPE
    response = c.get("/status/nobody/1")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
