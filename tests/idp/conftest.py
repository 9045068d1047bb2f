"""A real identity provider on a loopback port, in both storage modes, and a scripted browser."""

from __future__ import annotations

import html
import re
import threading
import uuid
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from idp.cli import DEMO_CITIZEN
from idp.registry import DEMO_PEOPLE, TableRegistry
from service.app import create_app
from service.config import Settings
from storage.kv import RedisStore
from storage.sql import normalise_url
from tests.conftest import copy_template


@dataclass
class Idp:
    url: str
    app: object
    provider: object
    mode: str

    def client(self, **kwargs) -> dict:
        kwargs.setdefault("scopes", ["openid", "profile", "phone"])
        name = kwargs.pop("name", "测试应用")
        uris = kwargs.pop("redirect_uris", ["http://127.0.0.1:9/cb"])
        return self.provider.clients.add(name, uris, **kwargs)


def _postgres_engine(url: str):
    schema = "tb_" + uuid.uuid4().hex[:12]
    admin = create_engine(normalise_url(url))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(normalise_url(url), connect_args={"options": f"-csearch_path={schema}"},
                           pool_size=5, max_overflow=10)
    return engine, admin, schema


def server_storage(pg_url: str, redis_url: str):
    """create_app overrides for the real servers (a fresh PostgreSQL schema, a Redis key prefix), and the
    function that drops them again."""
    engine, admin, schema = _postgres_engine(pg_url)
    overrides = {"engine": engine, "store": RedisStore(redis_url, prefix=f"test-{uuid.uuid4().hex}:")}

    def drop() -> None:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return overrides, drop


@pytest.fixture(params=["embedded", "servers"])
def idp(request, tmp_path, monkeypatch, app_template) -> Idp:
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    settings = Settings.from_env(copy_template(app_template, tmp_path), env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"})
    overrides, cleanup = {}, []
    if request.param == "servers":
        overrides, drop = server_storage(request.getfixturevalue("postgres_url"), request.getfixturevalue("redis_url"))
        cleanup.append(drop)
    app = create_app(replace(settings, issuer_url="http://127.0.0.1:1"), **overrides)
    provider = app.extensions["tongban.idp"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.01), daemon=True)
    thread.start()
    TableRegistry(provider.engine, provider.secrets).add(DEMO_PEOPLE)
    c = DEMO_CITIZEN
    provider.accounts.register(c["name"], c["id_number"], c["phone"], c["password"], 1_700_000_000)
    yield Idp(provider.issuer, app, provider, request.param)
    server.shutdown()
    for fn in cleanup:
        fn()


class Browser:
    """A citizen's browser: cookies, forms with CSRF tokens, redirects followed until they leave the IdP."""

    def __init__(self, idp: Idp):
        self.idp = idp
        self.http = requests.Session()
        self.page: requests.Response | None = None

    def go(self, url: str, method: str = "GET", data: dict | None = None) -> str | None:
        """Follow redirects inside the IdP; return the first URL outside it (the client's), else None."""
        resp = self.http.request(method, url, data=data, allow_redirects=False, timeout=10)
        while resp.is_redirect:
            target = urljoin(resp.url, resp.headers["Location"])
            if not target.startswith(self.idp.url):
                self.page = resp
                return target
            resp = self.http.get(target, allow_redirects=False, timeout=10)
        self.page = resp
        return None

    def form(self, action: str) -> dict:
        body = self.page.text
        m = re.search(r'<form method="post" action="' + re.escape(action) + r'">(.*?)</form>', body, re.S)
        assert m, f"no form posting to {action} on page:\n{body[:2000]}"
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1)))
        return {k: html.unescape(v) for k, v in fields.items()}

    def submit(self, path: str, **values) -> str | None:
        return self.go(self.idp.url + path, "POST", {**self.form(path), **values})

    def login(self, username: str = DEMO_CITIZEN["id_number"], password: str = DEMO_CITIZEN["password"],
              **extra) -> str | None:
        return self.submit("/login", username=username, password=password, **extra)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class BackchannelReceiver:
    """A client's back-channel logout endpoint: records every POSTed logout_token."""

    def __init__(self):
        tokens = self.tokens = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                tokens.append(parse_qs(body)["logout_token"][0])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/backchannel"
        threading.Thread(target=lambda: self.server.serve_forever(poll_interval=0.01), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = BackchannelReceiver()
    yield r
    r.close()
