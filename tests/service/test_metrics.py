"""Prometheus metrics (issue 10): per-route counts and latency, events by reason, never public."""

from __future__ import annotations

import pytest

from service.config import Settings
from storage import events
from tests.conftest import copy_template

TOKEN = "m" * 40


@pytest.fixture(scope="module")
def app(app_template, tmp_path_factory):
    from service.app import create_app

    data = copy_template(app_template, tmp_path_factory.mktemp("metrics") / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
        built = create_app(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_METRICS_TOKEN": TOKEN,
                                                        "REDIS_URL": "redis://127.0.0.1:9/0"}))
    yield built
    built.extensions["tongban.idp"].engine.dispose()


def _scrape(app) -> str:
    answer = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_metrics_need_the_token_and_look_absent_without_it(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404


def test_no_metrics_route_without_a_token(app_template, tmp_path):
    from service.app import create_app

    data = copy_template(app_template, tmp_path / "data")
    bare = create_app(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}))
    try:
        assert bare.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    finally:
        bare.extensions["tongban.idp"].engine.dispose()


def test_requests_are_counted_per_route_not_per_url(app):
    client = app.test_client()
    for n in range(3):
        client.get(f"/status/no-such-authority/{n}")
    client.open("/healthz", method="BREW")  # any token is a method: the label stays bounded
    text = _scrape(app)
    assert 'route="/status/<authority>/<list_no>"' in text
    assert "no-such-authority" not in text
    assert 'method="other"' in text and "BREW" not in text
    assert "tongban_http_request_duration_seconds_bucket" in text


def test_storage_errors_and_events_are_counted(app):
    client = app.test_client()
    client.get("/userinfo", headers={"Authorization": "Bearer " + "a" * 43})  # Redis is away: 503
    with app.test_request_context():
        events.emit("idp.login_failed", client_id=None, at=0)
        events.emit("verification", valid=False, reasons=("revoked",))
        events.emit("issuance", licence_type="driving-licence", authority="bj-tgb", elicence_id="x", at=0)
    events.emit("idp.login", client_id=None, at=0)  # outside this app's requests: not this app's to count
    text = _scrape(app)
    assert 'tongban_storage_errors_total{store="cache"}' in text
    assert 'tongban_logins_total{outcome="failure"} 1.0' in text
    assert 'outcome="success"' not in text
    assert 'tongban_verifications_total{reason="revoked",result="invalid"} 1.0' in text
    assert 'tongban_issuances_total{authority="bj-tgb",licence_type="driving-licence"} 1.0' in text


def test_metrics_token_must_be_long(tmp_path):
    from service.config import ConfigError

    with pytest.raises(ConfigError, match="TONGBAN_METRICS_TOKEN"):
        Settings.from_env(tmp_path, env={"TONGBAN_METRICS_TOKEN": "short"})
