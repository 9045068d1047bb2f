"""A counter kept current by signed deltas (``verifier.feed_sync``), attack first.

Over HTTP and from a directory: a revocation arrives as a small delta; a forged, dropped, reordered or replayed
delta is refused and the counter takes the full lists (and still ends with the right answer); a copied-back data
directory (older lists and an older feed) cannot undo a revocation (``status_list_rollback``); the lists are kept
in one packed file per authority.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from credentials.status_list import verify_delta
from credentials.status_uri import feed_files
from issuer.hub import Hub
from tests.counter_world import World, make_world, serving
from tests.verifier.test_http_source import publication_app
from tests.verifier.test_status_freshness import decide, revoke_in, root
from verifier import packed
from verifier.cache import DirectorySource, HttpSource, VerifierCache

POLICE = "bj-traffic-police"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("feed"))


@pytest.fixture
def hub(world, tmp_path) -> World:
    return World(world.base, Path(shutil.copytree(world.data, tmp_path / "hub")), world.wallet)


def deltas(data: Path) -> list[Path]:
    return [path for _, _, path in feed_files(data / "status", POLICE)]


class Tampered(DirectorySource):
    """A source (a mirror, a man in the middle) that changes what the feed says."""

    def __init__(self, data: Path, chain, *, always: bool = False):
        super().__init__(data)
        self.chain, self.full, self.always = chain, 0, always

    def authority_lists(self, authority_id):
        self.full += authority_id == POLICE  # the counter fell back to the full lists
        return super().authority_lists(authority_id)

    def feed_since(self, authority_id, iat):
        real = super().feed_since(authority_id, iat)
        if authority_id != POLICE or real is None or not (real or self.always):  # the fallback asks too: [] then
            return real
        self.always = False
        return self.chain(real)


def test_a_revocation_arrives_as_a_small_delta_over_http(world, hub, tmp_path):
    eid = hub.issue()
    now = int(time.time())
    cache = VerifierCache(tmp_path / "cache")
    with serving(publication_app(hub.data)) as url:
        first = HttpSource(url)
        assert cache.sync(first, now=now, root=root(hub.data)).failed == {}
        assert decide(world, cache, eid, now) is True
        revoke_in(hub.data, eid, now)
        source = HttpSource(url)
        assert cache.sync(source, now=now).failed == {}
        assert decide(world, cache, eid, now) == ("revoked",)
    # The trust list, then one delta per authority that changed (no index, no full list): a few hundred bytes.
    trust_bytes = len((hub.data / "trust-list.jwt").read_bytes())
    assert source.received - trust_bytes < 1200, source.received - trust_bytes
    assert first.received > source.received


def test_the_lists_are_kept_packed_one_file_per_authority(world, hub, tmp_path):
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(DirectorySource(hub.data), now=int(time.time()), root=root(hub.data))
    path = packed.packed_path(tmp_path / "cache" / "status", POLICE)
    state, _ = packed.load(path)
    assert path.stat().st_size < 1024 + sum(len(s.as_bytes()) for s in state.lists.values())
    assert not list((tmp_path / "cache" / "status").glob(f"{POLICE}/*.json"))  # no per-list copies


@pytest.mark.parametrize("attack", ["forged", "dropped", "reordered", "replayed"])
def test_a_bad_chain_is_detected_and_the_full_lists_give_the_right_answer(world, hub, tmp_path, attack):
    eids = [hub.issue(), hub.issue()]
    now = int(time.time())
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(DirectorySource(hub.data), now=now, root=root(hub.data))
    before = len(deltas(hub.data))
    revoke_in(hub.data, eids[0], now)
    revoke_in(hub.data, eids[1], now + 2)
    assert len(deltas(hub.data)) == before + 2
    other = Hub(hub.data).rings.load("bj-health").signer(now)

    def forged(chain):  # the newest delta re-signed by another authority's key
        token = verify_delta(chain[-1], public_key=Hub(hub.data).rings.load(POLICE).signer(now).public, alg="ES256",
                             authority_id=POLICE, now=now + 60)
        from credentials.status_list import sign_delta
        return chain[:-1] + [sign_delta(token, other.private, kid=other.public.short_kid)]

    chains = {"forged": forged, "dropped": lambda chain: chain[1:], "reordered": lambda chain: chain[::-1],
              "replayed": lambda chain: chain + chain[-1:]}
    source = Tampered(hub.data, chains[attack])
    report = cache.sync(source, now=now + 3)
    assert source.full == 1  # detected: the counter took the full lists
    assert report.failed == {}  # and they gave the state the signed root vouches for
    assert [decide(world, cache, eid, now + 3) for eid in eids] == [("revoked",), ("revoked",)]


def test_a_copied_back_data_directory_cannot_undo_a_revocation(world, hub, tmp_path):
    eid = hub.issue()
    now = int(time.time())
    old = Path(shutil.copytree(hub.data / "status", tmp_path / "old-status"))
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(DirectorySource(hub.data), now=now, root=root(hub.data))
    revoke_in(hub.data, eid, now + 1)
    cache.sync(DirectorySource(hub.data), now=now + 2)
    assert decide(world, cache, eid, now + 2) == ("revoked",)
    shutil.rmtree(hub.data / "status")
    shutil.copytree(old, hub.data / "status")  # the attack: lists and feed from before the revocation
    report = cache.sync(DirectorySource(hub.data), now=now + 5)
    assert report.failed == {f"tbsl:{POLICE}": "status_list_rollback"}
    assert decide(world, cache, eid, now + 5) == ("revoked",)


def test_a_chain_replayed_from_the_start_is_refused(world, hub, tmp_path):
    """A source that always answers with the whole feed from the first delta: nothing goes back."""
    eid = hub.issue()
    now = int(time.time())
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(DirectorySource(hub.data), now=now, root=root(hub.data))
    revoke_in(hub.data, eid, now + 1)
    everything = [path.read_bytes() for path in deltas(hub.data)]
    cache.sync(DirectorySource(hub.data), now=now + 2)
    source = Tampered(hub.data, lambda _chain: everything, always=True)
    report = cache.sync(source, now=now + 3)
    assert source.full == 1 and report.failed == {}  # refused, then the full lists: the same state, kept
    assert decide(world, cache, eid, now + 3) == ("revoked",)


def test_a_delta_signed_by_a_retired_key_after_its_retirement_is_refused(world, hub, tmp_path):
    eid = hub.issue()
    now = int(time.time())
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(DirectorySource(hub.data), now=now, root=root(hub.data))
    rings = Hub(hub.data)
    old = rings.rings.load(POLICE).signer(now)
    rings.rotate(POLICE, now + 10)
    rings.publish_trust_list(now + 10)
    revoke_in(hub.data, eid, now + 20)

    def old_key(chain):  # the same delta, signed with the retired key after its retirement
        from credentials.status_list import sign_delta
        new = Hub(hub.data).rings.load(POLICE).signer(now + 20).public
        token = verify_delta(chain[-1], public_key=new, alg="ES256", authority_id=POLICE, now=now + 60)
        return chain[:-1] + [sign_delta(token, old.private, kid=old.public.short_kid)]

    source = Tampered(hub.data, old_key)
    assert cache.sync(source, now=now + 21).failed == {}
    assert source.full == 1  # refused, and the full lists taken
    assert decide(world, cache, eid, now + 21) == ("revoked",)


def test_full_lists_signed_by_a_retired_key_after_its_retirement_are_refused_on_the_fallback_too(world, hub, tmp_path):
    """The fallback path (a broken chain, then the full lists) keeps the rule the delta path keeps: a retired key's
    file signing after its retirement verifies nothing, even when the lists' bits match the signed head."""
    from credentials.status_list import sign_status_list_cwt, verify_status_list_cwt

    hub.issue()
    now = int(time.time())
    cache = VerifierCache(tmp_path / "cache")
    cache.sync(DirectorySource(hub.data), now=now, root=root(hub.data))
    rings = Hub(hub.data)
    old = rings.rings.load(POLICE).signer(now)
    rings.rotate(POLICE, now + 10)
    rings.publish_trust_list(now + 10)

    class OldKeyLists(Tampered):
        def authority_lists(self, authority_id):
            lists = super().authority_lists(authority_id)
            if authority_id != POLICE:
                return lists
            out = {}
            for uri, raw in lists.items():  # the same lists, re-signed with the retired key after its retirement
                token = verify_status_list_cwt(raw, public_key=old.public, alg="ES256", now=now, expected_subject=uri)
                out[uri] = sign_status_list_cwt(token.status_list, subject_uri=uri, issued_at=now + 20,
                                                expires_at=token.expires_at, ttl=token.ttl, signing_key=old.private,
                                                kid=old.public.short_kid, alg="ES256")
            return out

    source = OldKeyLists(hub.data, lambda _chain: [b"\x00"], always=True)  # a broken chain: fall back
    report = cache.sync(source, now=now + 21)
    assert source.full == 1
    assert report.failed == {f"tbsl:{POLICE}": "status_list_untrusted"}, report.failed
