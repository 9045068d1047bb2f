"""Status lists at sync: an old key file must not sign a fresh list (say, one that un-revokes a licence).

A retired authority key verifies status lists it signed up to its ``signs_until``; one it signs later is
refused (``status_list_untrusted``), as a credential it signs later is (``key_retired``). A compromised
key signs nothing the counter takes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import keys
from credentials.status_list import StatusList, sign_status_list_cwt
from issuer.cli import init_step
from issuer.hub import Hub
from verifier.cache import DirectorySource, VerifierCache

POLICE = "bj-traffic-police"
URI = f"tbsl:{POLICE}/1"


class _Settings:
    def __init__(self, data_dir: Path):
        self.data_dir, self.database_url = data_dir, f"sqlite:///{data_dir / 'db.sqlite3'}"


class _Forged(DirectorySource):
    """The hub's own files, except one status list the attacker signed; no signed deltas, so the counter reads the
    lists one by one (the deltas' key rules: tests/verifier/test_feed_sync.py)."""

    def __init__(self, data_dir: Path, forged: bytes):
        super().__init__(data_dir)
        self.forged = forged

    def status_lists(self, only=None) -> dict[str, bytes]:
        return {**super().status_lists(only), URI: self.forged}

    def feed_head(self, authority_id: str) -> None:
        return None


def _all_valid(signer: keys.PrivateKey, iat: int) -> bytes:
    return sign_status_list_cwt(StatusList(bits=2, size=1 << 17), subject_uri=URI, issued_at=iat,
                                expires_at=iat + 86400, ttl=3600, signing_key=signer, kid=signer.public.short_kid,
                                alg=signer.public.alg)


@pytest.fixture
def hub(tmp_path) -> Hub:
    init_step(_Settings(tmp_path), lambda _msg: None)
    return Hub(tmp_path)


def _sync(hub: Hub, source: DirectorySource, now: int) -> VerifierCache:
    cache = VerifierCache(hub.data_dir / "counter")
    cache.report = cache.sync(source, now=now, root=keys.PublicKey.from_jwk(DirectorySource(hub.data_dir).root_key()))
    return cache


def test_a_status_list_signed_by_a_retired_key_after_retirement_is_refused(hub):
    now = int(time.time())
    old = hub.rings.load(POLICE).signer(now).private
    hub.rotate(POLICE, now + 10)
    hub.publish_trust_list(now + 10)
    cache = _sync(hub, _Forged(hub.data_dir, _all_valid(old, now + 20)), now + 20)
    assert cache.report.failed[URI] == "status_list_untrusted"  # each list is judged on its own; this one refused
    assert cache.lookup(URI, 3, now + 20).value is None


def test_a_status_list_the_retired_key_signed_before_retirement_is_still_read(hub):
    now = int(time.time())
    old = hub.rings.load(POLICE).signer(now).private
    signed_before = _all_valid(old, now + 5)
    hub.rotate(POLICE, now + 10)
    hub.publish_trust_list(now + 10)
    cache = _sync(hub, _Forged(hub.data_dir, signed_before), now + 20)
    assert cache.lookup(URI, 3, now + 20).value == 0


def test_a_status_list_signed_by_a_compromised_key_is_refused(hub):
    now = int(time.time())
    old = hub.rings.load(POLICE).signer(now)
    signed_before = _all_valid(old.private, now)
    hub.compromise(POLICE, old.public.kid, now + 10)
    hub.publish_trust_list(now + 10)
    cache = _sync(hub, _Forged(hub.data_dir, signed_before), now + 20)
    assert cache.report.failed[URI] == "status_list_untrusted"
    assert cache.lookup(URI, 3, now + 20).value is None
