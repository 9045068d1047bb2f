"""免证办 at the counter: after a valid verdict on a code that carries the holder's fetch authorisation, fetch the
whole licence (with portrait) from the issuer, online, once (issue 11; the issuer's side is ``issuer.fetch``).

The counter is an OAuth client of the hub's IdP (``tongban clients add-counter``): it gets an access token by the
client credentials grant (RFC 6749 §4.4) authenticated with ``private_key_jwt`` (RFC 7523 §2.2: an assertion
signed by the counter's own key, ``iss`` = ``sub`` = its client id, ``aud`` = the token endpoint, a fresh
``jti``, five minutes of life), keeps the token until shortly before it runs out, and sends the scanned code to
``POST /issuer/fetch``. The offline verdict stays the verdict: a fetch that fails says why beside it.

Only this module talks to the network for the counter's verdicts, and only when a code asks for it; the
decision pipeline stays I/O-free.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from keys import KeysError, PrivateKey, jws_encode
from verifier.errors import VerifierError

ASSERTION_TTL = 300
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
MAX_RESPONSE = 256 * 1024  # the licence and a 20 KB portrait (base64) with room to spare


class Fetcher(Protocol):
    def fetch(self, code: str) -> dict[str, Any]:
        """``{"ok": True, "claims", "portrait", "elicence_id", ...}`` or ``{"ok": False, "code": reason}``."""
        ...


class HttpFetcher:
    """The counter's client of ``POST /issuer/fetch`` (see the module docstring)."""

    def __init__(self, client_id: str, key: PrivateKey, token_endpoint: str, fetch_endpoint: str, *,
                 timeout: float = 10.0, clock: Callable[[], float] = time.time):
        for url in (token_endpoint, fetch_endpoint):
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise VerifierError(f"{url!r} is not an http(s) URL")
        self.client_id, self.key = client_id, key
        self.token_endpoint, self.fetch_endpoint = token_endpoint, fetch_endpoint
        self.timeout, self.clock = timeout, clock
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> HttpFetcher:
        """From the file ``tongban clients add-counter --out`` wrote (client id, endpoints, the key as PEM)."""
        try:
            config = json.loads(path.read_text())
            key = PrivateKey.from_pem(config["key_pem"].encode(), None)
            return cls(config["client_id"], key, config["token_endpoint"], config["fetch_endpoint"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, KeysError) as exc:
            raise VerifierError(f"{path} is not a counter fetch configuration (tongban clients add-counter --out): "
                                f"{exc}") from exc

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310 - scheme checked
                status, raw = response.status, response.read(MAX_RESPONSE + 1)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read(MAX_RESPONSE + 1)
        except (urllib.error.URLError, OSError) as exc:
            raise VerifierError(f"the issuer cannot be reached: {exc}", "fetch_unreachable") from exc
        if len(raw) > MAX_RESPONSE:
            raise VerifierError("the issuer's answer is too large", "fetch_failed")
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise VerifierError("the issuer's answer is not JSON", "fetch_failed") from exc
        if not isinstance(doc, dict):
            raise VerifierError("the issuer's answer is not a JSON object", "fetch_failed")
        return status, doc

    def assertion(self) -> str:
        """RFC 7523 §3: a client assertion for the token endpoint."""
        now = int(self.clock())
        return jws_encode({"iss": self.client_id, "sub": self.client_id, "aud": self.token_endpoint,
                           "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + ASSERTION_TTL},
                          self.key, {"kid": self.key.kid, "typ": "JWT"})

    def token(self, *, fresh: bool = False) -> str:
        with self._lock:
            if not fresh and self._token and self._token[1] > self.clock():
                return self._token[0]
            form = urlencode({"grant_type": "client_credentials", "scope": "counter",
                              "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": self.assertion()})
            status, doc = self._post(self.token_endpoint, form.encode(),
                                     {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
            token, expires_in = doc.get("access_token"), doc.get("expires_in")
            if status != 200 or not isinstance(token, str) or not isinstance(expires_in, int):
                raise VerifierError(f"the IdP refused this counter's credentials: {doc.get('error', status)}",
                                    "fetch_unauthorised")
            self._token = (token, self.clock() + max(0, expires_in - 30))
            return token

    def fetch(self, code: str) -> dict[str, Any]:
        try:
            for attempt in (0, 1):
                token = self.token(fresh=attempt == 1)
                status, doc = self._post(self.fetch_endpoint, json.dumps({"code": code}).encode(),
                                         {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                if status == 401 and attempt == 0:
                    continue  # the token ran out early (the IdP restarted): one new one
                break
        except VerifierError as exc:
            return {"ok": False, "code": exc.reason}
        if status != 200:
            code_ = doc.get("error")
            return {"ok": False, "code": code_ if isinstance(code_, str) and code_.isascii() and len(code_) < 64
                    else "fetch_failed"}
        claims, portrait = doc.get("claims"), doc.get("portrait")
        if not isinstance(claims, dict) or not (portrait is None or isinstance(portrait, str)):
            return {"ok": False, "code": "fetch_failed"}
        return {"ok": True, "claims": claims, "portrait": portrait, "elicence_id": doc.get("elicence_id"),
                "licence_type": doc.get("licence_type"), "authority": doc.get("authority")}
