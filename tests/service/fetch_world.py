"""A running service with registered counters (免证办): shared by the HTTP and browser tests of the fetch.

``fetch_live`` starts ``create_app`` on a real port (the counter inside it fetches over HTTP from the issuer on the
same server, as a counter elsewhere would) with two counters registered as IdP clients: ``counter-a`` (the
counter mounted at ``/counter``, profile ``identity``) and ``counter-b`` (another counter, for its refusals).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import jwt
import requests
from werkzeug.serving import make_server

import keys
import service.wiring  # noqa: F401 - fills INIT_STEPS
from credentials import make_presentation
from service.app import create_app
from service.cli import INIT_STEPS
from service.config import Settings
from verifier.fetch import HttpFetcher


@dataclass
class FetchLive:
    url: str
    data: Path
    app: object
    settings: Settings
    counters: dict[str, HttpFetcher]

    @property
    def provider(self):
        return self.app.extensions["tongban.idp"]


def register_counter(settings: Settings, counter_id: str, name: str, path: Path) -> HttpFetcher:
    from idp.provider import Provider

    key = keys.generate("ES256")
    Provider.from_settings(settings, load_keys=False).clients.add_counter(
        counter_id, name, {"keys": [key.public.public_jwk()]})
    path.write_text(json.dumps({"client_id": counter_id, "token_endpoint": settings.issuer_url + "/token",
                                "fetch_endpoint": settings.issuer_url + "/issuer/fetch",
                                "key_pem": key.to_pem(None).decode()}))
    return HttpFetcher.from_file(path)


def start(tmp: Path, *, profile: str = "identity", two_way: bool = False):
    data = tmp / "data"
    data.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = replace(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}),
                       issuer_url=f"http://127.0.0.1:{port}")
    for step in INIT_STEPS:
        step(settings, lambda _line: None)
    counters = {cid: register_counter(settings, cid, name, tmp / f"{cid}.json")
                for cid, name in (("counter-a", "东城区政务服务中心 3 号窗口"), ("counter-b", "另一柜台"))}
    settings = replace(settings, counter_profile=profile, counter_fetch=str(tmp / "counter-a.json"),
                       counter_two_way=two_way, counter_id="counter-a" if two_way else "")
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.01), daemon=True)
    thread.start()
    return FetchLive(settings.issuer_url, data, app, settings, counters), server


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def issue(live, token: str, licence: str = "driving-licence", device: keys.PrivateKey | None = None):
    """The wallet's licence: (device key, {view: credential bytes}, elicence_id)."""
    device = device or keys.generate("ES256")
    records = requests.get(live.url + "/issuer/records", headers=bearer(token), timeout=5).json()["records"]
    record = next(r for r in records if r["licence_type"] == licence)
    nonce = requests.post(live.url + "/issuer/nonce", timeout=5).json()["c_nonce"]
    proof = jwt.encode({"aud": live.url, "iat": int(time.time()), "nonce": nonce}, device.crypto_key(),
                       algorithm="ES256", headers={"typ": "openid4vci-proof+jwt", "jwk": device.public.public_jwk()})
    body = requests.post(live.url + "/issuer/credential", headers=bearer(token), timeout=10, json={
        "credential_configuration_id": licence, "record": record["id"],
        "proof": {"proof_type": "jwt", "jwt": proof}}).json()
    views = {k: base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)) for k, v in body["credentials"][0]["credential"].items()}
    return device, views, body["elicence_id"]


def grant(live, token: str, elicence_id: str, audience: str | None = None) -> requests.Response:
    body = {"elicence_id": elicence_id, **({"audience": audience} if audience else {})}
    return requests.post(live.url + "/issuer/fetch-grants", headers=bearer(token), json=body, timeout=10)


def handle_of(response: requests.Response) -> bytes:
    assert response.status_code == 200, response.text
    text = response.json()["handle"]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fetch_code(view: bytes, device: keys.PrivateKey, handle: bytes, *, now: int | None = None,
               audience: str | None = None, challenge: bytes | None = None) -> str:
    return make_presentation(view, device, now=now or int(time.time()), fetch_handle=handle, audience=audience,
                             challenge=challenge)
