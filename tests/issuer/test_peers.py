"""互通互认: what a peer region's hub may and may not make this hub vouch for.

The hubs here are made with ``issuer.hub`` directly (no identity provider: fast); ``tests/service/
test_demo_regions.py`` walks the same through the command line. Each attack is one test: a peer that re-uses our
ids, issuer codes or keys, a peer root signing a list that claims our region or our authorities, a transitive
recognition, an expired, rolled-back or region-changing peer list, a forged or rolled-back status list.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from stdnum.cn import uscc

import keys
from credentials import make_presentation
from credentials.regions import hub_region
from credentials.status_list import StatusList, peek_times, sign_status_list_cwt
from issuer.errors import IssuerError
from issuer.hub import TRUST_LIST_LIFETIME, Hub, demo_authorities
from issuer.peers import DirectoryPeer, recognise, refresh_due
from issuer.service import Issuer, status_path
from keys import Authority, TrustList, sign_trust_list
from keys.layout import Layout
from service.counter_app import refresh_recognition
from service.wiring import main
from storage import create_all, make_engine
from verifier.cache import DirectorySource, VerifierCache
from verifier.pipeline import verify
from verifier.replay import MemoryReplayCache

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = int(time.time())


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def make_hub(directory: Path, region: str, now: int = NOW) -> Issuer:
    """A hub of ``region`` with its four demo authorities, trust list and status lists (no IdP, no records)."""
    keys.mark_development(directory / "keys")
    hub = Hub(directory)
    hub.set_region(region)
    hub.ensure_root(now)
    for authority in demo_authorities(hub_region(region)):
        hub.ensure_authority(authority, now)
    hub.publish_trust_list(now)
    engine = make_engine(f"sqlite:///{directory / 'db.sqlite3'}")
    create_all(engine)
    issuer = Issuer(hub, engine)
    issuer.publish_all(now=now)
    return issuer


def root_of(hub: Hub) -> keys.PublicKey:
    return keys.PublicKey.from_jwk(json.loads(hub.root_jwk_path.read_text()))


def offer(peer: Hub) -> dict:
    source = DirectoryPeer(peer.data_dir)
    return {"root": root_of(peer), "trust_list_token": source.trust_list(), "status_lists": source.status_lists()}


def forged_list(peer: Hub, *, now: int = NOW, version: int = 99, region: str = "310000",
                extra: tuple[Authority, ...] = (), replace_own: bool = False) -> str:
    """A list the peer's own root signs, with whatever the peer wants this hub to vouch for."""
    current = peer.published_trust_list()
    authorities = extra if replace_own else current.authorities + extra
    forged = TrustList(version, now, now + 3600, authorities, region=region)
    return sign_trust_list(forged, peer.rings.load("hub-root").signer(now).private)


@pytest.fixture(scope="module")
def hubs(tmp_path_factory):
    base = tmp_path_factory.mktemp("regions")
    bj, sh = make_hub(base / "bj", "110000"), make_hub(base / "sh", "310000")
    holder = keys.generate()
    claims = json.loads((EXAMPLES / "driving-licence.json").read_text())
    licence = sh.issue("driving-licence", {**claims, "issuing_authority": "上海市公安局交通警察总队"}, holder.public,
                       now=NOW)
    return {"bj": bj, "sh": sh, "base": base, "holder": holder, "licence": licence}


@pytest.fixture
def bj(tmp_path):
    return make_hub(tmp_path / "bj", "110000")


def test_each_region_gets_its_own_authorities_root_and_codes(hubs):
    bj, sh = hubs["bj"].hub, hubs["sh"].hub
    assert [a.id for a in sh.authorities()] == ["sh-traffic-police", "sh-public-security", "sh-market-regulation",
                                                "sh-health"]
    assert sh.authority("sh-traffic-police").name == "上海市公安局交通警察总队"
    assert {a.region for a in sh.authorities()} == {"310000"}
    assert not {a.issuer_code for a in sh.authorities()} & {a.issuer_code for a in bj.authorities()}
    assert root_of(sh).kid != root_of(bj).kid
    assert sh.published_trust_list().region == "310000" and bj.published_trust_list().region == "110000"


def test_mutual_recognition_and_a_counter_of_the_other_region(hubs, tmp_path):
    bj, sh, holder, licence = hubs["bj"].hub, hubs["sh"], hubs["holder"], hubs["licence"]
    cache = VerifierCache(tmp_path / "counter")
    cache.sync(DirectorySource(bj.data_dir), now=NOW, root=root_of(bj))

    def decide(now: int = NOW):
        qr = make_presentation(licence.views["driving"], holder, now=now, challenge=str(time.perf_counter_ns()).encode())
        return verify(qr, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now)

    assert decide().reasons == ("unknown_key",)  # not recognised yet
    result = recognise(bj, **offer(sh.hub), now=NOW, source=str(sh.hub.data_dir))
    assert result.region == "310000" and result.status_lists == 4 and not result.refused
    recognise(sh.hub, **offer(bj), now=NOW)  # and back: Shanghai's list now names Beijing's authorities too
    recognise(bj, **offer(sh.hub), now=NOW)  # refreshing takes only Shanghai's own (not transitive): no clash
    published = bj.publish_trust_list(NOW + 100)  # Beijing's list outlives Shanghai's by 100 s
    peer = {a.id: a for a in published.authorities if a.recognised}
    assert set(peer) == {a.id for a in sh.hub.authorities()}
    assert {a.recognised_until for a in peer.values()} == {sh.hub.published_trust_list().expires_at}
    cache.sync(DirectorySource(bj.data_dir), now=NOW + 100)
    decision = decide()
    assert decision.valid, decision
    assert decision.issuer["name"] == "上海市公安局交通警察总队" and decision.issuer["region"] == "310000"

    # The Beijing list lives longer than Shanghai's: past Shanghai's expiry a counter no longer trusts its authorities.
    until = peer["sh-traffic-police"].recognised_until
    assert decide(until).reasons == ("recognition_expired",)

    sh.set_status(licence.elicence_id, now=NOW + 1)  # Shanghai revokes; Beijing refreshes; the counter syncs
    assert any("上海市 (310000)" in line for line in refresh_due(bj, NOW + 2, force=True))
    cache.sync(DirectorySource(bj.data_dir), now=NOW + 2)
    assert decide(NOW + 2).reasons == ("revoked",)


def test_a_peer_reusing_our_ids_is_refused_with_the_clash_message(bj, tmp_path):
    twin = make_hub(tmp_path / "bj2", "110000")  # another Beijing hub: same ids
    with pytest.raises(IssuerError, match="peer authority ids clash with this hub's: bj-health, bj-market"):
        recognise(bj.hub, **offer(twin.hub), now=NOW)
    assert not bj.hub.peers()


def test_a_peer_root_claiming_our_region_or_our_authorities_is_refused(hubs, bj):
    sh = hubs["sh"].hub
    ours = bj.hub.published_trust_list().authorities
    beijing_police = next(a for a in ours if a.id == "bj-traffic-police")
    cases = {
        # the peer says it is Beijing
        "this hub's own": forged_list(sh, region="110000", replace_own=True,
                                      extra=(dataclasses.replace(beijing_police, id="fake-police"),)),
        # a Shanghai list naming an authority of Beijing's region under a fresh id
        "outside its region": forged_list(sh, extra=(dataclasses.replace(beijing_police, id="bj-police-2"),)),
        # Beijing's issuer code (registered in 110000) under a Shanghai name and region
        "issuer code 11110000000021135M is not registered in its region": forged_list(
            sh, extra=(dataclasses.replace(beijing_police, id="sh-police-2", region="310000"),)),
        # Beijing's key under a Shanghai name, region and issuer code
        "this hub's keys": forged_list(sh, extra=(dataclasses.replace(
            beijing_police, id="sh-police-2", region="310000",
            issuer_code="11310000000031999" + uscc.calc_check_digit("11310000000031999")),)),
        # a Shanghai authority's issuer code, twice
        "the same issuer codes twice": forged_list(sh, extra=(dataclasses.replace(
            beijing_police, id="sh-police-2", region="310000", keys=(),
            issuer_code=sh.authority("sh-traffic-police").issuer_code),)),
    }
    for expected, token in cases.items():
        with pytest.raises(IssuerError, match=expected):
            recognise(bj.hub, root=root_of(sh), trust_list_token=token, status_lists={}, now=NOW)
    assert not bj.hub.peers() and not [a for a in bj.hub.publish_trust_list(NOW).authorities if a.recognised]


def test_not_a_real_division_is_refused(hubs, bj):
    sh = hubs["sh"].hub
    for region in ("990000", "310100", "710000"):
        token = forged_list(sh, region=region)
        with pytest.raises(IssuerError, match="region is refused"):
            recognise(bj.hub, root=root_of(sh), trust_list_token=token, status_lists={}, now=NOW)


def test_recognition_is_not_transitive(hubs, bj, tmp_path):
    sh, gd = hubs["sh"].hub, make_hub(tmp_path / "gd", "440000").hub
    recognise(sh, **offer(gd), now=NOW)
    sh.publish_trust_list(NOW)  # Shanghai's list now vouches for Guangdong's authorities too
    recognise(bj.hub, **offer(sh), now=NOW)
    regions = {a.region for a in bj.hub.publish_trust_list(NOW).authorities}
    assert regions == {"110000", "310000"}
    assert not (bj.hub.data_dir / "status" / "gd-health").exists()


def test_expired_or_rolled_back_or_moved_peer_lists(hubs, bj):
    sh = hubs["sh"].hub
    token = offer(sh)
    late = sh.published_trust_list().expires_at
    with pytest.raises(IssuerError, match="trust_list_expired"):
        recognise(bj.hub, **token, now=late)
    recognise(bj.hub, root=root_of(sh), trust_list_token=forged_list(sh, version=50), status_lists={}, now=NOW)
    with pytest.raises(IssuerError, match="trust_list_rollback"):  # an older list than the one held
        recognise(bj.hub, **token, now=NOW)
    assert bj.hub.peers()[0].version == 50
    with pytest.raises(IssuerError, match="was recognised as region 上海市"):  # the same root now says Zhejiang
        recognise(bj.hub, root=root_of(sh), trust_list_token=forged_list(sh, version=51, region="330000",
                                                                          replace_own=True), status_lists={}, now=NOW)
    assert bj.hub.peers()[0].region == "310000"


def test_a_peer_whose_list_expired_is_dropped_with_a_clear_message(hubs, bj):
    sh = hubs["sh"].hub
    recognise(bj.hub, root=root_of(sh), trust_list_token=forged_list(sh, version=60), status_lists={}, now=NOW,
              source=str(sh.data_dir))
    assert {a.region for a in bj.hub.publish_trust_list(NOW).authorities} == {"110000", "310000"}
    later = NOW + 3600  # the forged list lived an hour; the peer's hub is unreachable now
    bj.hub.peers_dir.joinpath(f"{root_of(sh).kid}.json").write_text(
        bj.hub.peers_dir.joinpath(f"{root_of(sh).kid}.json").read_text().replace(str(sh.data_dir), "/nonexistent"))
    lines = refresh_recognition(bj.hub, clock=lambda: later)
    assert any("上海市 (310000): not refreshed" in line for line in lines), lines
    assert any("上海市 (310000) is no longer recognised (trust_list_expired" in line and "tongban hub refresh" in line
               for line in lines), lines
    assert {a.region for a in Hub(bj.hub.data_dir).published_trust_list().authorities} == {"110000"}
    assert bj.hub.peers()[0].last_error  # kept, to come back at the next refresh that reaches the peer


def test_refresh_follows_the_mirrored_lists_schedule(hubs, bj):
    sh = hubs["sh"]
    recognise(bj.hub, **offer(sh.hub), now=NOW, source=str(sh.hub.data_dir))
    bj.hub.publish_trust_list(NOW)
    record = bj.hub.peers()[0]
    assert record.refresh_at <= NOW + 150  # half a health-code list's ttl (5 min), as the issuer re-signs
    assert refresh_due(bj.hub, record.refresh_at - 1) == []  # nothing due: nothing fetched, nothing signed
    uri = "tbsl:sh-health/1"
    sh.refresh_due(now=NOW + 200)  # Shanghai re-signs its health list
    lines = refresh_due(bj.hub, NOW + 200)
    assert any("上海市" in line for line in lines)
    mirrored = peek_times(status_path(bj.hub.data_dir, uri, "cwt").read_bytes())
    assert mirrored[0] == peek_times(status_path(sh.hub.data_dir, uri, "cwt").read_bytes())[0] >= NOW + 200


def test_peer_status_lists_forged_or_rolled_back_or_ours_are_not_mirrored(hubs, bj):
    sh = hubs["sh"].hub
    now = NOW + 10
    ring = sh.rings.load("sh-traffic-police")
    uri = "tbsl:sh-traffic-police/1"
    stranger = keys.generate()
    forged = sign_status_list_cwt(StatusList(bits=2, size=1 << 17), subject_uri=uri, issued_at=now,
                                  expires_at=now + 3600, ttl=3600, signing_key=stranger,
                                  kid=ring.signer(now).public.short_kid, alg="ES256")
    ours = status_path(bj.hub.data_dir, "tbsl:bj-health/1", "cwt")
    before = ours.read_bytes()
    result = recognise(bj.hub, root=root_of(sh), trust_list_token=offer(sh)["trust_list_token"], now=now,
                       status_lists={uri: forged, "tbsl:bj-health/1": b"\xa0junk"})
    assert result.refused == {uri: "status_list_untrusted"}
    assert ours.read_bytes() == before  # a peer never writes our own lists
    good = offer(sh)["status_lists"]
    recognise(bj.hub, root=root_of(sh), trust_list_token=offer(sh)["trust_list_token"], status_lists=good, now=now)
    old = sign_status_list_cwt(StatusList(bits=2, size=1 << 17), subject_uri=uri, issued_at=NOW - 100,
                               expires_at=now + 3600, ttl=3600, signing_key=ring.signer(now).private,
                               kid=ring.signer(now).public.short_kid, alg="ES256")
    result = recognise(bj.hub, root=root_of(sh), trust_list_token=offer(sh)["trust_list_token"],
                       status_lists={uri: old}, now=now)
    assert result.refused == {uri: "status_list_rollback"}


def test_a_peer_status_list_signed_by_a_retired_key_after_retirement_is_not_mirrored(tmp_path, bj):
    sh = make_hub(tmp_path / "sh", "310000")
    old = sh.hub.rings.load("sh-traffic-police").signer(NOW).private
    sh.hub.rotate("sh-traffic-police", NOW + 10)
    sh.hub.publish_trust_list(NOW + 10)
    uri = "tbsl:sh-traffic-police/1"
    forged = sign_status_list_cwt(StatusList(bits=2, size=1 << 17), subject_uri=uri, issued_at=NOW + 20,
                                  expires_at=NOW + 86400, ttl=3600, signing_key=old, kid=old.public.short_kid,
                                  alg=old.public.alg)
    result = recognise(bj.hub, root=root_of(sh.hub), trust_list_token=offer(sh.hub)["trust_list_token"],
                       status_lists={uri: forged}, now=NOW + 20)
    assert result.refused == {uri: "status_list_key_retired"}


def test_the_trust_list_is_re_signed_before_half_its_life(bj):
    hub = bj.hub
    version = hub.published_trust_list().version
    assert not hub.trust_list_due(NOW + 60)
    assert refresh_due(hub, NOW + TRUST_LIST_LIFETIME // 2) == [f"trust list version {version + 1} signed"]
    assert Layout(hub.data_dir).trust_list.exists()


def test_a_peer_recognised_over_http_is_refreshed_from_there(tmp_path, bj):
    from flask import Flask

    from issuer.publication import publication_blueprint
    from tests.counter_world import serving

    sh = make_hub(tmp_path / "sh", "310000")
    app = Flask("shanghai")
    app.register_blueprint(publication_blueprint(sh.hub.data_dir))
    root_file = tmp_path / "sh-root.jwk"
    root_file.write_text(sh.hub.root_jwk_path.read_text())
    with serving(app) as url:
        out = run("hub", "recognise", "--data", str(bj.hub.data_dir), "--peer-url", url, "--peer-root", str(root_file))
        assert "recognised 4 authorities of region 上海市 (310000)" in out and "4 status list(s) mirrored" in out
        assert bj.hub.peers()[0].source == url
        sh.hub.rotate("sh-health", NOW + 5)
        sh.hub.publish_trust_list(NOW + 5)
        out = run("hub", "refresh", "--data", str(bj.hub.data_dir), "--all")
        assert "上海市 (310000): trust list version 2" in out
    out = run("hub", "refresh", "--data", str(bj.hub.data_dir), "--all", code=1)  # the peer is gone: said, exit 1
    assert "not refreshed" in out and "cannot reach" in out
    assert run("hub", "recognise", "--data", str(bj.hub.data_dir), "--peer-root", str(root_file), code=2)


def test_tongban_serve_refreshes_recognition_by_itself(hubs, bj):
    from service.leader import Leadership
    from service.worker import hub_jobs, tick

    sh = hubs["sh"]
    recognise(bj.hub, **offer(sh.hub), now=NOW, source=str(sh.hub.data_dir))
    later = bj.hub.peers()[0].refresh_at  # the peer's refresh time (half a health list's ttl, at most 5 min)
    jobs = hub_jobs(bj, clock=lambda: later)  # what serve's background loop runs (service.worker)
    assert "recognition-refresh" in tick(Leadership(bj.engine), jobs)
    deadline = time.monotonic() + 20
    while bj.hub.peers()[0].fetched_at != later and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bj.hub.peers()[0].fetched_at == later
