"""``tongban verifier sync --from URL`` against a real HTTP server serving the publication endpoints."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from flask import Flask, Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.publication import publication_blueprint
from tests.conftest import examples
from tests.counter_world import make_world, run, serving
from verifier.cache import HttpSource, VerifierCache
from verifier.errors import VerifierError

PROPERTY = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def publication_app(data_dir: Path) -> Flask:
    app = Flask("publication")
    app.register_blueprint(publication_blueprint(data_dir))
    return app


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("http-source"))


@pytest.fixture(scope="module")
def hub_url(world):
    with serving(publication_app(world.data)) as url:
        yield url


@pytest.fixture(scope="module")
def other_hub(tmp_path_factory):
    other = make_world(tmp_path_factory.mktemp("other-hub"))
    with serving(publication_app(other.data)) as url:
        yield other, url


def sync(cache: Path, *args: str, code: int = 0):
    return run("verifier", "sync", "--cache", str(cache), *args, code=code)


def verdict(cache: Path, qr: str, code: int) -> dict:
    return json.loads(run("verify", "--cache", str(cache), qr, code=code).output)


def test_sync_from_url_then_verify_offline(world, hub_url, tmp_path):
    cache = tmp_path / "cache"
    out = sync(cache, "--from", hub_url, "--root", str(world.data / "hub-root.jwk")).output
    assert "pinned hub root key" in out and "4 status list(s)" in out
    eid = world.issue()
    sync(cache, "--from", hub_url)  # pinned now: --root is optional from here on
    result = verdict(cache, world.present(eid), code=0)
    assert result["valid"] and result["licence_type"] == "driving-licence"


def test_revoked_after_sync_from_url(world, hub_url, tmp_path):
    cache = tmp_path / "cache"
    sync(cache, "--from", hub_url, "--root", str(world.data / "hub-root.jwk"))
    eid, other = world.issue(), world.issue()
    sync(cache, "--from", hub_url)
    assert verdict(cache, world.present(eid), code=0)["valid"]
    world.revoke(eid)
    assert verdict(cache, world.present(eid), code=0)["valid"]  # offline: as of the last sync
    sync(cache, "--from", hub_url + "/")
    assert verdict(cache, world.present(eid), code=1)["reasons"] == ["revoked"]
    assert verdict(cache, world.present(other), code=0)["valid"]


def test_first_sync_from_url_needs_a_root(hub_url, tmp_path):
    cache = tmp_path / "cache"
    result = sync(cache, "--from", hub_url, code=2)
    assert "--root" in result.output and "out of band" in result.output
    assert not (cache / "root.jwk").exists() and not (cache / "trust-list.jwt").exists()


def test_wrong_root_is_refused_and_not_pinned(world, hub_url, other_hub, tmp_path):
    other, _ = other_hub
    cache = tmp_path / "cache"
    result = sync(cache, "--from", hub_url, "--root", str(other.data / "hub-root.jwk"), code=2)
    assert "trust list refused" in result.output and "Traceback" not in result.output
    assert not (cache / "root.jwk").exists(), "a root that verified nothing must not be pinned"
    sync(cache, "--from", hub_url, "--root", str(world.data / "hub-root.jwk"))
    result = sync(cache, "--from", hub_url, "--root", str(other.data / "hub-root.jwk"), code=2)
    assert "differs from the root this cache is pinned to" in result.output


def test_a_server_of_another_hub_is_refused(world, hub_url, other_hub, tmp_path):
    _, other_url = other_hub
    cache = tmp_path / "cache"
    sync(cache, "--from", hub_url, "--root", str(world.data / "hub-root.jwk"))
    before = (cache / "trust-list.jwt").read_text()
    result = sync(cache, "--from", other_url, code=2)
    assert "trust list refused" in result.output
    assert (cache / "trust-list.jwt").read_text() == before


def test_data_and_from_exclude_each_other(world, hub_url, tmp_path):
    assert "either --data DIR or --from URL" in sync(tmp_path / "c", code=2).output
    assert "either" in sync(tmp_path / "c", "--data", str(world.data), "--from", hub_url, code=2).output


@pytest.mark.parametrize("url", ["file:///etc", "ftp://example.org", "example.org", "http://", "http://x/?a=b"])
def test_only_http_base_urls(world, tmp_path, url):
    result = sync(tmp_path / "c", "--from", url, "--root", str(world.data / "hub-root.jwk"), code=2)
    assert "not an http(s) base URL" in result.output


def test_unreachable_server_is_one_clear_line(world, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = sync(tmp_path / "c", "--from", f"http://127.0.0.1:{port}", "--root", str(world.data / "hub-root.jwk"),
                  code=2)
    assert "cannot reach http://127.0.0.1" in result.output and "Traceback" not in result.output


def test_a_server_that_never_answers_times_out():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)  # accepts the connection into the backlog, never answers
        with pytest.raises(VerifierError) as exc:
            HttpSource(f"http://127.0.0.1:{s.getsockname()[1]}", timeout=0.3).trust_list()
    assert exc.value.reason == "source_unreachable"


def test_http_errors_and_size_cap(hub_url):
    with pytest.raises(VerifierError) as exc:
        HttpSource(hub_url + "/no/such/prefix").trust_list()
    assert exc.value.reason == "source_http_error" and "404" in str(exc.value)
    with pytest.raises(VerifierError) as exc:
        HttpSource(hub_url, max_bytes=100).trust_list()
    assert exc.value.reason == "source_too_large"
    with pytest.raises(VerifierError) as exc:
        HttpSource(hub_url, max_lists=2).status_lists()
    assert exc.value.reason == "source_too_large"


# -- a hostile or broken server ---------------------------------------------------------------------------
class Hostile:
    """A server whose answers the test sets: ``index`` body, and every URL path it was asked for."""

    def __init__(self) -> None:
        self.index: bytes = b"{}"
        self.asked: list[str] = []
        self.app = Flask("hostile")

        @self.app.route("/<path:path>")
        def any_path(path: str) -> Response:
            self.asked.append("/" + path)
            if path == "status/index.json":
                return Response(self.index, mimetype="application/json")
            return Response(b"\xa0", mimetype="application/statuslist+cwt")


@pytest.fixture(scope="module")
def hostile():
    server = Hostile()
    with serving(server.app) as url:
        yield server, url


def test_index_urls_are_never_followed(hostile):
    server, url = hostile
    server.index = json.dumps({"status_lists": [
        {"uri": "tbsl:bj-health/1", "url": "http://evil.example/steal"},
        {"uri": "tbsl:../../etc/1", "url": "x"}, {"uri": "https://evil.example/1"}, {"uri": 7}, {"uri": "tbsl:a/0"},
    ]}).encode()
    server.asked.clear()
    assert set(HttpSource(url).status_lists()) == {"tbsl:bj-health/1"}
    assert server.asked == ["/status/index.json", "/status/bj-health/1"]


@PROPERTY
@given(body=st.one_of(st.binary(max_size=300), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["status_lists", "uri", "url"]), inner,
                                                                 max_size=3),
    max_leaves=12).map(lambda doc: json.dumps(doc).encode())))
def test_any_index_body_gives_uris_or_a_verifier_error(hostile, body):
    server, url = hostile
    server.index = body
    try:
        uris = HttpSource(url).status_uris()
    except VerifierError as exc:
        assert exc.reason in ("source_bad_response", "source_too_large")
    else:
        assert all(isinstance(u, str) and u.startswith("tbsl:") for u in uris)


def test_garbage_status_lists_are_refused_at_sync(world, hostile, tmp_path):
    """A server that serves the real trust list but junk status lists: sync reports each by its reason (the trust
    list still syncs), and the cache keeps nothing bad."""
    server, url = hostile
    cache = VerifierCache(tmp_path / "cache")

    class Mixed(HttpSource):
        def trust_list(self) -> str:
            return (world.data / "trust-list.jwt").read_text()

    server.index = json.dumps({"status_lists": [{"uri": "tbsl:bj-health/1"}]}).encode()
    from keys import PublicKey

    root = PublicKey.from_jwk(json.loads((world.data / "hub-root.jwk").read_text()))
    import time

    report = cache.sync(Mixed(url), now=int(time.time()), root=root)
    assert report.failed == {"tbsl:bj-health/1": "status_list_malformed"} and report.status_lists == 0
    assert not (tmp_path / "cache" / "status").exists()
    assert cache.last_attempt()["ok"] is False and cache.last_attempt()["reason"] == "status_list_malformed"
