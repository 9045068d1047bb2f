"""互通互认: a Beijing counter recognises a Shanghai driving licence once the Beijing hub recognises Shanghai."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from stdnum.cn import uscc

import keys
from credentials import make_presentation
from credentials.status_list import StatusList, sign_status_list_cwt
from issuer.errors import IssuerError
from issuer.hub import AuthorityConfig, Hub
from issuer.peers import recognise
from issuer.service import Issuer
from service.wiring import main
from storage import create_all, make_engine
from verifier.cache import DirectorySource, VerifierCache
from verifier.pipeline import verify
from verifier.replay import MemoryReplayCache

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SH_POLICE = AuthorityConfig("sh-traffic-police", "上海市公安局交通警察总队", "310000",
                            "11310000MB2F2" + "0000" + uscc.calc_check_digit("11310000MB2F20000"),
                            ("driving-licence",), "traffic-police")


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _shanghai(tmp_path: Path, holder: keys.PrivateKey):
    data = tmp_path / "sh"
    keys.mark_development(data / "keys")
    hub = Hub(data)
    now = int(time.time())
    hub.ensure_root(now)
    hub.ensure_authority(SH_POLICE, now)
    hub.publish_trust_list(now)
    engine = make_engine(f"sqlite:///{data / 'db.sqlite3'}")
    create_all(engine)
    issuer = Issuer(hub, engine)
    licence = issuer.issue("driving-licence", json.loads((EXAMPLES / "driving-licence.json").read_text()),
                           holder.public, now=now)
    issuer.publish_all(now=now)
    return data, issuer, licence


def test_counter_recognises_another_region_after_the_hub_does(tmp_path):
    holder = keys.generate()
    sh_data, sh_issuer, licence = _shanghai(tmp_path, holder)
    bj_data, cache_dir = tmp_path / "bj", tmp_path / "counter"
    run("init", "--data", str(bj_data))
    cache = VerifierCache(cache_dir)
    root = keys.PublicKey.from_jwk(json.loads((bj_data / "hub-root.jwk").read_text()))
    cache.sync(DirectorySource(bj_data), now=int(time.time()), root=root)

    def decide():
        now = int(time.time())
        qr = make_presentation(licence.views["driving"], holder, now=now, challenge=str(time.perf_counter_ns()).encode())
        return verify(qr, trust=cache.trust_list(now), status=cache, replay=MemoryReplayCache(), now=now)

    assert decide().reasons == ("unknown_key",)  # not recognised yet

    out = run("hub", "recognise", "--data", str(bj_data), "--peer-data", str(sh_data),
              "--peer-root", str(sh_data / "hub-root.jwk"))
    assert "310000" in out
    cache.sync(DirectorySource(bj_data), now=int(time.time()))
    decision = decide()
    assert decision.valid, decision
    assert decision.issuer == {"id": "sh-traffic-police", "name": SH_POLICE.name, "region": "310000"}

    sh_issuer.set_status(licence.elicence_id, now=int(time.time()))  # Shanghai revokes; Beijing refreshes
    run("hub", "recognise", "--data", str(bj_data), "--peer-data", str(sh_data),
        "--peer-root", str(sh_data / "hub-root.jwk"))
    cache.sync(DirectorySource(bj_data), now=int(time.time()))
    assert decide().reasons == ("revoked",)


def test_wrong_peer_root_or_clashing_ids_are_refused(tmp_path):
    bj_data = tmp_path / "bj"
    run("init", "--data", str(bj_data))
    sh_data, _, _ = _shanghai(tmp_path, keys.generate())
    out = run("hub", "recognise", "--data", str(bj_data), "--peer-data", str(sh_data),
              "--peer-root", str(bj_data / "hub-root.jwk"), code=2)
    assert "trust_list_untrusted_root" in out
    other_bj = tmp_path / "bj2"
    run("init", "--data", str(other_bj))
    out = run("hub", "recognise", "--data", str(bj_data), "--peer-data", str(other_bj),
              "--peer-root", str(other_bj / "hub-root.jwk"), code=2)
    assert "clash" in out


def test_a_peer_status_list_signed_by_a_retired_key_after_retirement_is_not_mirrored(tmp_path):
    holder = keys.generate()
    sh_data, sh_issuer, licence = _shanghai(tmp_path, holder)
    now = int(time.time())
    old = sh_issuer.hub.rings.load(SH_POLICE.id).signer(now).private
    sh_issuer.hub.rotate(SH_POLICE.id, now + 10)
    sh_issuer.hub.publish_trust_list(now + 10)
    token = (sh_data / "trust-list.jwt").read_text()
    forged = sign_status_list_cwt(StatusList(bits=2, size=1 << 17), subject_uri=licence.status_uri,
                                  issued_at=now + 20, expires_at=now + 86400, ttl=3600, signing_key=old,
                                  kid=old.public.short_kid, alg=old.public.alg)
    bj_data = tmp_path / "bj"
    run("init", "--data", str(bj_data))
    root = keys.PublicKey.from_jwk(json.loads((sh_data / "hub-root.jwk").read_text()))
    with pytest.raises(IssuerError, match="not signed by"):
        recognise(Hub(bj_data), root=root, trust_list_token=token, status_lists={licence.status_uri: forged},
                  now=now + 20)
