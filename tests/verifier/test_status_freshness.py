"""Status lists that cannot be rolled back or left stale (issue 7), attack first.

A counter's cache must refuse a list older than the one it holds (``status_list_rollback``), count a list as
current only by its signed ``iat`` / ``exp`` (a mirror re-serving one old list cannot keep it current), report
each bad list by its reason while the others still sync, and tell a reference that can never resolve
(``status_reference_invalid``) from one it merely has not synced yet (``status_unknown``).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

import credentials
import keys
from credentials import make_presentation
from credentials.catalogue import HEALTH_STATUS
from credentials.status_list import StatusList, peek_times, sign_status_list_cwt
from issuer.cli import issuer_for
from issuer.hub import Hub
from issuer.issuance import build_views
from issuer.store import LIST_CAPACITY
from issuer.validation import validate_claims
from service.config import Settings
from tests.counter_world import EXAMPLES, World, make_world, run, serving
from tests.verifier.test_http_source import publication_app
from verifier.cache import SYNC_REASONS, DirectorySource, HttpSource, VerifierCache
from verifier.pipeline import verify
from verifier.reasons import REASONS
from verifier.replay import MemoryReplayCache
from wallet.holder import Wallet


class ListsOnly:
    """A source that keeps no signed deltas (a peer region, an older hub): the counter syncs it list by list, which
    is what this file attacks. The delta path has its own attacks in test_feed_sync.py."""

    def __init__(self, source):
        self.source = source

    def trust_list(self) -> str:
        return self.source.trust_list()

    def status_lists(self, only=None):
        return self.source.status_lists(only)


TRAFFIC = "tbsl:bj-traffic-police/1"
HEALTH = "tbsl:bj-health/1"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("freshness"))


@pytest.fixture
def hub(world, tmp_path) -> World:
    """A copy of the world's hub (data directory and database) a test may tamper with; the same wallet."""
    return World(world.base, Path(shutil.copytree(world.data, tmp_path / "hub")), world.wallet)


def root(data: Path) -> keys.PublicKey:
    return keys.PublicKey.from_jwk(json.loads((data / "hub-root.jwk").read_text()))


def list_file(data: Path, uri: str) -> Path:
    authority, n = uri.removeprefix("tbsl:").split("/")
    return data / "status" / authority / f"{n}.cwt"


def iat_of(data: Path, uri: str) -> int:
    return peek_times(list_file(data, uri).read_bytes())[0]


def decide(world: World, cache: VerifierCache, eid: str, now: int) -> tuple[str, ...] | bool:
    d = verify(world.present(eid, now=now), trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(),
               now=now)
    return True if d.valid else d.reasons


def revoke_in(data: Path, eid: str, now: int) -> None:
    issuer_for(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"})).set_status(eid, now=now)


# -- rollback ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("over", ["directory", "http"])
def test_a_rolled_back_list_is_refused_and_the_revocation_stays(world, hub, tmp_path, over):
    eid = hub.issue()
    now = int(time.time())
    old = list_file(hub.data, TRAFFIC).read_bytes()  # valid, signed, still unexpired: what a copied data dir holds
    cache = VerifierCache(tmp_path / "cache")
    with serving(publication_app(hub.data)) as url:
        source = ListsOnly(DirectorySource(hub.data) if over == "directory" else HttpSource(url))
        cache.sync(source, now=now, root=root(hub.data))
        assert decide(world, cache, eid, now) is True
        revoke_in(hub.data, eid, now)
        assert cache.sync(source, now=now).failed == {}
        assert decide(world, cache, eid, now) == ("revoked",)
        list_file(hub.data, TRAFFIC).write_bytes(old)  # the attack: the older list served again
        report = cache.sync(source, now=now + 5)
    assert report.failed == {TRAFFIC: "status_list_rollback"}
    assert decide(world, cache, eid, now + 5) == ("revoked",), "the cache keeps the newer list"


def test_the_issuer_signs_each_list_with_a_later_iat_even_within_one_second(hub):
    issuer = issuer_for(Settings.from_env(hub.data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}))
    now = iat_of(hub.data, TRAFFIC)
    issuer.publish_status_list("bj-traffic-police", TRAFFIC, now=now)
    issuer.publish_status_list("bj-traffic-police", TRAFFIC, now=now - 100)  # a clock that went back
    assert iat_of(hub.data, TRAFFIC) == now + 2


def test_a_different_list_with_the_same_iat_is_refused(world, hub, tmp_path):
    """Only a newer signature replaces a list: an equal iat with other content is not newer."""
    eid = hub.issue()
    now = int(time.time())
    cache = VerifierCache(tmp_path / "cache")
    revoke_in(hub.data, eid, now)
    cache.sync(ListsOnly(DirectorySource(hub.data)), now=now, root=root(hub.data))
    iat, exp, ttl = peek_times(list_file(hub.data, TRAFFIC).read_bytes())
    signer = Hub(hub.data).rings.load("bj-traffic-police").signer(now)
    all_valid = sign_status_list_cwt(StatusList(LIST_CAPACITY, 2), subject_uri=TRAFFIC, issued_at=iat, expires_at=exp,
                                     ttl=ttl, signing_key=signer.private, kid=signer.public.short_kid,
                                     alg=signer.public.alg)
    list_file(hub.data, TRAFFIC).write_bytes(all_valid)
    assert cache.sync(ListsOnly(DirectorySource(hub.data)), now=now).failed == {TRAFFIC: "status_list_rollback"}
    assert decide(world, cache, eid, now) == ("revoked",)


# -- a stale list stays stale ----------------------------------------------------------------------------------------
def test_the_same_old_list_served_again_and_again_goes_unknown_at_its_exp(world, hub, tmp_path):
    eid = hub.issue_health_code(shown_by=None)
    cache = VerifierCache(tmp_path / "cache")
    issuer = issuer_for(Settings.from_env(hub.data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}))
    issuer.publish_status_list("bj-health", HEALTH, now=int(time.time()))
    iat = iat_of(hub.data, HEALTH)  # signed now: after the wallet's device key exists
    cache.sync(ListsOnly(DirectorySource(hub.data)), now=iat, root=root(hub.data))
    for age in range(0, HEALTH_STATUS.lifetime, 60):  # the mirror never re-signs: every sync gets the same list
        report = cache.sync(ListsOnly(DirectorySource(hub.data)), now=iat + age)
        assert decide(world, cache, eid, iat + age) is True, age
        # Past its ttl the list is still current (until exp), but the sync says the source is not re-signing it.
        assert report.failed.get(HEALTH) == ("status_list_stale" if age >= HEALTH_STATUS.ttl else None), age
    exp = iat + HEALTH_STATUS.lifetime
    assert cache.status_current_until() <= exp
    assert cache.sync(ListsOnly(DirectorySource(hub.data)), now=exp).failed[HEALTH] == "status_list_expired"
    assert decide(world, cache, eid, exp) == ("status_unknown",)
    assert decide(world, cache, eid, exp + 3600) == ("status_unknown",)


def test_currency_is_the_signed_exp_not_the_fetch_time(world, hub, tmp_path):
    """A list fetched late (from a cache or a mirror) is no more current than when it was signed."""
    eid = hub.issue_health_code(shown_by=None)
    iat = iat_of(hub.data, HEALTH)
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(ListsOnly(DirectorySource(hub.data)), now=iat + HEALTH_STATUS.lifetime - 10, root=root(hub.data))
    assert decide(world, cache, eid, iat + HEALTH_STATUS.lifetime - 5) is True
    assert decide(world, cache, eid, iat + HEALTH_STATUS.lifetime) == ("status_unknown",)


# -- one bad list does not stop the others ----------------------------------------------------------------------------
def test_each_bad_list_is_reported_by_its_reason_and_the_others_still_sync(world, hub, tmp_path):
    eid = hub.issue()
    now = int(time.time())
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(ListsOnly(DirectorySource(hub.data)), now=now, root=root(hub.data))
    revoke_in(hub.data, eid, now)  # a real change in the traffic police's list, which must still arrive
    police = list_file(hub.data, "tbsl:bj-public-security/1")
    police.write_bytes(b"\xa0")  # malformed
    # Wrong subject: a genuine list of the market regulator, offered as its list 2.
    list_file(hub.data, "tbsl:bj-market-regulation/2").parent.mkdir(exist_ok=True)
    list_file(hub.data, "tbsl:bj-market-regulation/2").write_bytes(
        list_file(hub.data, "tbsl:bj-market-regulation/1").read_bytes())
    # Bad signature: the health list signed by the traffic police's key.
    signer = Hub(hub.data).rings.load("bj-traffic-police").signer(now)
    list_file(hub.data, HEALTH).write_bytes(sign_status_list_cwt(
        StatusList(16, 2), subject_uri=HEALTH, issued_at=now + 30, expires_at=now + 600, ttl=300,
        signing_key=signer.private, kid=signer.public.short_kid, alg=signer.public.alg))
    report = cache.sync(ListsOnly(DirectorySource(hub.data)), now=now)
    assert report.failed == {"tbsl:bj-public-security/1": "status_list_malformed",
                             "tbsl:bj-market-regulation/2": "status_list_subject",
                             HEALTH: "status_list_untrusted"}
    assert decide(world, cache, eid, now) == ("revoked",)
    # The command line says the same, with the reason codes, and exits 1 (the others were synced).
    result = run("verifier", "sync", "--data", str(hub.data), "--cache", str(tmp_path / "cache"), code=1)
    for uri, reason in report.failed.items():
        assert f"{uri}: {reason}" in result.output
    assert "Traceback" not in result.output


def test_an_expired_list_is_reported_as_expired(world, hub, tmp_path):
    now = int(time.time())
    signer = Hub(hub.data).rings.load("bj-traffic-police").signer(now)
    list_file(hub.data, TRAFFIC).write_bytes(sign_status_list_cwt(
        StatusList(16, 2), subject_uri=TRAFFIC, issued_at=now - 1000, expires_at=now - 400, ttl=300,
        signing_key=signer.private, kid=signer.public.short_kid, alg=signer.public.alg))
    report = VerifierCache(tmp_path / "cache").sync(ListsOnly(DirectorySource(hub.data)), now=now, root=root(hub.data))
    assert report.failed == {TRAFFIC: "status_list_expired"} and report.status_lists == 3


def test_every_sync_reason_has_words():
    assert set(SYNC_REASONS) <= set(REASONS)
    assert {"status_list_rollback", "status_list_expired", "status_list_subject", "status_list_malformed",
            "status_list_untrusted", "status_list_stale", "status_reference_invalid"} <= set(REASONS)


# -- references that can never resolve -----------------------------------------------------------------------------------
def signed_presentation(world, data: Path, *, uri: str, idx: int, iat: int, shown_at: int | None = None) -> str:
    """A driving licence genuinely signed by the traffic police, with the status reference the test chooses."""
    ltype = credentials.licence_type("driving-licence")
    claims = validate_claims(ltype, json.loads((EXAMPLES / "driving-licence.json").read_text()))
    wallet = Wallet(world.wallet)
    signer = Hub(data).rings.load("bj-traffic-police").signer(int(time.time())).private
    format2 = uri.startswith("tbsl:bj-traffic-police/")
    body = build_views(ltype, claims, holder_key=wallet.public_key(), serial=77, version=1, status_idx=idx,
                       status_uri=uri if format2 else TRAFFIC, now=iat, expires_at=iat + 30 * 24 * 3600)["driving"]
    raw = credentials.sign_credential(body, signer)
    if not format2:  # a reference format 2 cannot express (another authority's list, a foreign URI): format 1
        from credentials.cbor import dumps
        from credentials.cose import sign1
        from tests.credentials.test_credential import cwt_of, format1
        cwt = format1(cwt_of(raw))
        cwt[credentials.credential.CWT_STATUS] = {"status_list": {"idx": idx, "uri": uri}}
        cwt[credentials.credential.CWT_NBF] = body.not_before
        raw = sign1(dumps(cwt), signer, kid=signer.public.short_kid)
    now = int(time.time()) if shown_at is None else shown_at
    return make_presentation(raw, wallet.device_key(now), now=now, challenge=f"{uri}{idx}{iat}".encode())


@pytest.fixture
def synced(world, hub, tmp_path) -> VerifierCache:
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(ListsOnly(DirectorySource(hub.data)), now=int(time.time()), root=root(hub.data))
    return cache


def reasons(cache: VerifierCache, qr: str, now: int | None = None) -> tuple[str, ...]:
    now = int(time.time()) if now is None else now
    return verify(qr, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now).reasons


@pytest.mark.parametrize(("uri", "idx", "why"), [
    (TRAFFIC, LIST_CAPACITY, "an index beyond the list's size"),
    (TRAFFIC, 2**40, "an index far beyond"),
    ("tbsl:bj-traffic-police/7", 0, "a list the hub never published, for a credential older than the last sync"),
    ("tbsl:bj-public-security/1", 0, "another authority's list (format 1; format 2 cannot name one)"),
    ("https://status.example/1", 0, "not a tongban status-list URI (format 1)"),
])
def test_a_reference_that_can_never_resolve_is_invalid_not_unknown(world, hub, tmp_path, uri, idx, why):
    # Issued well before the counter's sync (a list it lacks then can never appear), but not before its key
    # existed: the counter syncs and checks an hour after the hub was made.
    key_start = Hub(hub.data).rings.load("bj-traffic-police").signer(int(time.time())).not_before
    later = int(time.time()) + 3600
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(ListsOnly(DirectorySource(hub.data)), now=later, root=root(hub.data))
    qr = signed_presentation(world, hub.data, uri=uri, idx=idx, iat=key_start, shown_at=later)
    assert reasons(cache, qr, later) == ("status_reference_invalid",), why


def test_a_list_created_after_the_last_sync_is_unknown_not_invalid(world, hub, synced):
    """The credential is newer than the counter's last sync: its list may simply be new. Syncing helps here."""
    qr = signed_presentation(world, hub.data, uri="tbsl:bj-traffic-police/7", idx=0, iat=int(time.time()) + 5)
    assert reasons(synced, qr) == ("status_unknown",)


def test_a_list_the_server_fails_to_send_is_reported_and_the_others_still_sync(world, hub, tmp_path):
    eid = hub.issue()
    now = int(time.time())
    revoke_in(hub.data, eid, now)
    app = publication_app(hub.data)

    @app.before_request
    def _broken():  # one list's URL fails on the server
        from flask import abort, request

        if request.path == "/status/bj-public-security/1":
            abort(500)

    cache = VerifierCache(tmp_path / "cache")
    with serving(app) as url:
        report = cache.sync(HttpSource(url), now=now, root=root(hub.data))
    assert report.failed == {"tbsl:bj-public-security/1": "source_http_error"} and report.status_lists == 3
    assert decide(world, cache, eid, now) == ("revoked",)


def test_the_kept_trust_list_is_checked_against_each_call_s_clock_and_its_root(world, hub, tmp_path):
    """The counter keeps the verified trust list between scans: the clock check still runs per call, and a
    changed pinned root makes it verify the kept list again rather than trust what the old root vouched for."""
    cache = VerifierCache(tmp_path / "cache")
    now = int(time.time())
    cache.sync(ListsOnly(DirectorySource(hub.data)), now=now, root=root(hub.data))
    trust = cache.trust_list(now)
    assert trust is not None
    assert cache.trust_list(trust.issued_at - 3600) is None  # dated in the future for a counter whose clock is behind
    assert cache.trust_list(now) == trust
    (tmp_path / "cache" / "root.jwk").write_text(json.dumps(keys.generate().public.public_jwk()))
    assert cache.trust_list(now) is None  # another root did not sign it
