"""``tongban health|proxies|authorities`` and ``init``'s health steps, through the real command line."""

from __future__ import annotations

import json
import time
from collections import Counter

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from stdnum.cn import ric

import keys
from issuer import store
from issuer.cli import desk_for
from issuer.health import HealthDesk
from issuer.health import store as health_store
from issuer.health.cli import run_workers
from issuer.health.reissue import Reissue
from issuer.hub import Hub
from issuer.service import Issuer
from service.config import Settings
from service.health import DEMO_OFFICER, AccountPeople
from service.wiring import main
from tests.issuer.conftest import FakePeople


def run(*args: str, code: int | None = 0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=code != 0)
    if code is not None:
        assert result.exit_code == code, f"tongban {' '.join(args)} → {result.exit_code}: {result.output}"
    return result


@pytest.fixture
def data(demo_data, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return demo_data


def _desk(data) -> HealthDesk:
    return desk_for(Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}), FakePeople())


def _id(n: int) -> str:
    base = f"11010119800101{n:03d}"
    return base + ric.calc_check_digit(base + "0")


def test_init_upgrades_an_old_hub_to_issue_health_codes_and_is_idempotent(data):
    hub = Hub(data)
    doc = json.loads(hub.config_path.read_text())
    for a in doc["authorities"]:
        if a["id"] == "bj-health":
            a["licence_types"] = []
    hub.config_path.write_text(json.dumps(doc))
    version = doc["trust_list_version"]
    out = run("init", "--data", str(data)).output
    assert "bj-health" in out and "issuing health-code" in out
    doc = json.loads(hub.config_path.read_text())
    assert doc["trust_list_version"] == version + 1
    trust = keys.verify_trust_list(hub.trust_list_path.read_text(),
                                   keys.PublicKey.from_jwk(json.loads(hub.root_jwk_path.read_text())),
                                   now=int(time.time()))
    assert trust.authority("bj-health").may_issue("health-code")
    again = run("init", "--data", str(data)).output
    assert "trust list version" not in again and "demo health officer" not in again
    assert json.loads((data / "admin-client.json").read_text())["client_id"] in again


def test_init_seeds_the_demo_officer_as_staff(data):
    settings = Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"})
    from idp import Provider

    provider = Provider.from_settings(settings, load_keys=False)
    desk = desk_for(settings, AccountPeople(provider))
    assert desk.require_health_staff(DEMO_OFFICER["id_number"]) == "officer"
    assert desk.staff_role(DEMO_OFFICER["id_number"], "bj-traffic-police") is None
    assert AccountPeople(provider).find(DEMO_OFFICER["phone"]).name == "王芳"


def test_health_set_audits_and_reports(data):
    out = run("health", "set", "--data", str(data), "--id-number", "110101199003071233", "--colour", "yellow",
              "--reason", "行程 / travel").output
    assert "110101********1233: yellow (行程 / travel)" in out
    trail = _desk(data).audit("110101199003071233")
    assert len(trail) == 1 and trail[0].actor.startswith("cli:") and trail[0].new_colour == "yellow"


@pytest.mark.parametrize("args", [
    ("--id-number", "110101199003071234", "--colour", "red"),
    ("--id-number", "110101199003071233", "--colour", "purple"),
    ("--id-number", "11010519491231002X", "--colour", "red"),  # valid number, nobody registered, no --name
    ("--id-number", "110101199003071233", "--colour", "red", "--region", "999999"),
])
def test_health_set_bad_input_is_one_line_exit_2(data, args):
    result = run("health", "set", "--data", str(data), *args, code=2)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("colour", ["yellow", "red"])
def test_health_set_yellow_or_red_needs_a_reason(data, colour):
    for reason in ((), ("--reason", ""), ("--reason", "无异常")):
        result = run("health", "set", "--data", str(data), "--id-number", "110101199003071233", "--colour", colour,
                     *reason, code=2)
        assert "必须填写原因" in result.output and "needs a reason" in result.output
        assert "Traceback" not in result.output
    assert _desk(data).audit("110101199003071233") == []


def test_health_set_outside_the_authoritys_region_needs_operator(data):
    """The CLI acts for bj-health (110000) like its staff; a Shenzhen resident needs the operator's override."""
    li = "440304198512124569"
    result = run("health", "set", "--data", str(data), "--id-number", li, "--name", "李四", "--colour", "red",
                 "--reason", "密接 / close contact", code=2)
    assert "440304 is not within 110000" in result.output and "Traceback" not in result.output
    result = run("health", "set", "--data", str(data), "--id-number", "110101199003071233", "--colour", "red",
                 "--reason", "密接", "--region", "440304", code=2)  # nor stamp another region on a Beijing resident
    assert "440304 is not within 110000" in result.output
    assert _desk(data).audit(li) == [] and _desk(data).audit("110101199003071233") == []
    out = run("health", "set", "--data", str(data), "--id-number", li, "--name", "李四", "--colour", "red",
              "--reason", "密接 / close contact", "--operator").output
    assert "440304********4569: red" in out
    assert _desk(data).audit(li)[0].actor.startswith("operator:")


def test_proxies_and_authorities_commands(data):
    out = run("proxies", "add", "--data", str(data), "--relative", "110101199003071233", "--proxy", "13900139000",
              "--recorded-by", "bj-health").output
    assert "王芳 may show 张三" in out
    held = json.loads(run("proxies", "list", "--data", str(data), "--id-number", "310104199206157893").output)["held"]
    assert held[0]["granted_via"] == "counter" and held[0]["active"]
    run("proxies", "add", "--data", str(data), "--relative", "110101199003071233", "--proxy", "13900139000",
        "--recorded-by", "no-such-authority", code=2)
    # the proxy's device fetched the code; ending the proxy at a counter revokes it
    desk = _desk(data)
    code = desk.fetch("310104199206157893", "王芳", keys.generate().public, now=int(time.time()), proxy_id=held[0]["id"],
                      requester_id_number="310104199206157893")
    run("proxies", "end", "--data", str(data), "--id", str(held[0]["id"]), "--relative", "310104199206157893",
        "--recorded-by", "bj-health", code=2)  # not the relative
    out = run("proxies", "end", "--data", str(data), "--id", str(held[0]["id"]), "--relative", "13800138000",
              "--recorded-by", "bj-health").output
    assert out.strip() == f"proxy {held[0]['id']} ended; 1 code(s) revoked"
    assert store.find(desk.engine, code.elicence_id).status == 1
    assert "officer of bj-health" in run("authorities", "grant", "--data", str(data), "--username",
                                         "110101199003071233", "--authority", "bj-health").output
    run("authorities", "grant", "--data", str(data), "--username", "110101199003071233", "--authority", "nope", code=2)


def _codes_per_device(desk: HealthDesk) -> Counter:
    with desk.engine.connect() as conn:
        rows = conn.execute(select(store.issued.c.holder_kid).where(store.issued.c.licence_type == "health-code"))
        return Counter(r[0] for r in rows)


@pytest.mark.parametrize("where", ["between items", "inside an item"])
def test_reissue_all_resumes_after_an_interruption_without_doubles_or_gaps(data, monkeypatch, where):
    desk, now = _desk(data), int(time.time())
    devices = {}
    for n in range(7):
        device = keys.generate()
        desk.fetch(_id(n), f"测试{n}", device.public, now=now)
        devices[_id(n)] = device.public.kid
    before = {kid: 1 for kid in devices.values()}
    assert _codes_per_device(desk) == before

    calls = {"n": 0}
    k = 3
    monkeypatch.setattr("issuer.health.reissue.CHUNK", 1)  # one code per chunk: the checkpoint moves per code
    if where == "between items":
        original = Reissue.chunk

        def flaky(self, *args, **kwargs):
            if calls["n"] == k:
                raise RuntimeError("injected failure")
            calls["n"] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Reissue, "chunk", flaky)
    else:
        original = Issuer.issue_many

        def flaky(self, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == k + 1:  # the (k+1)th item fails after its issuance began: rolled back whole
                raise RuntimeError("injected failure")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Issuer, "issue_many", flaky)
    failed = run("health", "reissue", "--all", "--data", str(data), code=1)
    assert isinstance(failed.exception, RuntimeError)
    monkeypatch.undo()
    counts = _codes_per_device(desk)
    assert sum(counts.values()) == 7 + k and all(v in (1, 2) for v in counts.values())
    with desk.engine.connect() as conn:
        checkpoint = conn.execute(select(health_store.health_reissue_runs)).one()
    assert desk.bulk.done(checkpoint.id) == k and checkpoint.finished_at is None

    out = run("health", "reissue", "--all", "--data", str(data)).output
    assert f"resuming re-issue run {checkpoint.id}: {7 - k} code(s) left" in out
    assert _codes_per_device(desk) == {kid: 2 for kid in devices.values()}  # nobody twice, nobody skipped
    # each citizen's previous code is suspended, the bound one valid; the status list says so
    with desk.engine.connect() as conn:
        rows = conn.execute(select(store.issued.c.holder_kid, store.issued.c.status)
                            .where(store.issued.c.licence_type == "health-code")).all()
    assert sorted(Counter(status for _, status in rows).items()) == [(0, 7), (2, 7)]
    # a fresh run after a finished one covers everyone again
    assert "resuming" not in run("health", "reissue", "--all", "--data", str(data)).output
    assert _codes_per_device(desk) == {kid: 3 for kid in devices.values()}


def test_health_code_lifetime_is_configurable_and_checked(data, monkeypatch):
    assert Settings.from_env(data, env={"TONGBAN_DEV_PLAINTEXT_KEYS": "1"}).health_code_ttl == 86400
    assert _desk(data).policy.lifetime == 86400
    settings = Settings.from_env(data, env={"TONGBAN_HEALTH_CODE_TTL": "3600"})
    assert desk_for(settings).policy.lifetime == 3600
    monkeypatch.setenv("TONGBAN_HEALTH_CODE_TTL", "12")
    result = run("health", "set", "--data", str(data), "--id-number", "110101199003071233", "--colour", "red",
                 code=2)
    assert "TONGBAN_HEALTH_CODE_TTL" in result.output and "Traceback" not in result.output


def test_access_token_port_accepts_only_first_party_tokens_for_the_issuer():
    from types import SimpleNamespace

    from issuer.ports import TokenRefused, TokenRequest
    from service.health import AccessTokens

    class Grants:
        def __init__(self, scope, client_id="wallet", revoked=False, expired=False):
            self.token = SimpleNamespace(sub="s1", client_id=client_id, scope=scope, revoked=revoked, jkt=None,
                                         is_expired=lambda: expired)

        def access_token(self, value):
            return self.token if value == "good" else None

    account = SimpleNamespace(sub="s1")
    accounts = SimpleNamespace(get=lambda sub: account if sub == "s1" else None, id_number=lambda a: "110101199003071233")
    clients = {"wallet": SimpleNamespace(first_party=True), "app": SimpleNamespace(first_party=False)}

    def principal(scope, header="Bearer good", **kw):
        provider = SimpleNamespace(grants=Grants(scope, **kw), accounts=accounts, clients=SimpleNamespace(get=clients.get))
        return AccessTokens(provider).principal_for(TokenRequest(header, None, "GET", "/issuer/health-status"))

    def refused(scope, header="Bearer good", **kw):
        with pytest.raises(TokenRefused) as caught:
            principal(scope, header, **kw)
        return caught.value.status, caught.value.error

    assert principal("openid licences").id_number == "110101199003071233"
    assert refused("openid id_number", client_id="app") == (401, "invalid_token")  # another app: not the audience
    assert refused("openid licences", client_id="app") == (401, "invalid_token")
    assert refused("openid profile") == (403, "insufficient_scope")
    assert refused("openid licences", "Bearer bad") == (401, "invalid_token")
    assert refused("openid licences", revoked=True) == (401, "invalid_token")
    assert refused("openid licences", expired=True) == (401, "invalid_token")
    assert refused("openid licences", "") == (401, "invalid_token")
    assert refused("openid licences", "DPoP good") == (401, "invalid_token")  # not bound: DPoP is the wrong scheme


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request, tmp_path, monkeypatch):
    """A data directory on SQLite or on a throw-away PostgreSQL schema; yields (data dir, database URL or "")."""
    if request.param == "sqlite":
        monkeypatch.delenv("DATABASE_URL", raising=False)
        url = ""
    else:
        import uuid

        from sqlalchemy import create_engine, text

        from storage import normalise_url
        base = request.getfixturevalue("postgres_url")
        schema = f"tbr_{uuid.uuid4().hex[:12]}"
        admin = create_engine(normalise_url(base))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}?options=-csearch_path%3D{schema}"
        monkeypatch.setenv("DATABASE_URL", url)
    directory = tmp_path / "data"
    if url:  # in its own process, as an operator runs it (its engines are gone with it)
        from tests.service.test_pii_at_rest import cli
        cli({"DATABASE_URL": url, "TONGBAN_DEV_PLAINTEXT_KEYS": "1"}, "init", "--data", str(directory))
    else:
        run("init", "--data", str(directory))
    yield directory, url
    if url:
        from issuer import cli as issuer_cli
        issuer_cli._engines.pop(url).dispose()  # the CLI keeps one engine per URL for the process's life
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.slow
def test_reissue_workers_share_a_run_and_resume_after_one_fails(any_db, monkeypatch):
    """Three worker processes, chunks of two codes; every worker dies on its second chunk (after signing it: the
    chunk rolls back). The command fails, the re-run resumes, and at the end every device holds exactly one
    re-issued code: no gap, no double, no status entry twice."""
    data, url = any_db
    env = {"TONGBAN_DEV_PLAINTEXT_KEYS": "1", **({"DATABASE_URL": url} if url else {})}
    desk, now = desk_for(Settings.from_env(data, env=env), FakePeople()), int(time.time())
    devices = set()
    for n in range(12):
        device = keys.generate()
        desk.fetch(_id(n), f"测试{n}", device.public, now=now)
        devices.add(device.public.kid)
    monkeypatch.setattr("issuer.health.reissue.CHUNK", 2)
    calls = {"n": 0}

    issue_many = Issuer.issue_many

    def dies_on_second_chunk(self, *args, **kwargs):
        calls["n"] += 1  # counted in each worker's own memory (forked processes)
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return issue_many(self, *args, **kwargs)

    monkeypatch.setattr(Issuer, "issue_many", dies_on_second_chunk)
    progress = []
    with pytest.raises(click.ClickException, match="3 of 3 re-issue workers failed"):
        run_workers(desk, desk.reissue_plan(now), now, 3, progress.append)
    monkeypatch.setattr(Issuer, "issue_many", issue_many)
    counts = _codes_per_device(desk)
    with desk.engine.connect() as conn:
        run_id = conn.execute(select(health_store.health_reissue_runs.c.id)).scalar_one()
    done = desk.bulk.done(run_id)  # one chunk per worker committed, the second rolled back
    assert 3 <= done <= 6 and set(counts) == devices and sum(counts.values()) == 12 + done
    assert sum(progress) == done  # a worker reports a chunk once it is committed
    command = ("health", "reissue", "--all", "--workers", "3", "--data", str(data))
    if url:  # its own process: the command's identity-provider engine goes with it
        from tests.service.test_pii_at_rest import cli
        out = cli(env, *command)
    else:
        out = run(*command).output
    assert f"resuming re-issue run {run_id}: {12 - done} code(s) left" in out
    assert _codes_per_device(desk) == {kid: 2 for kid in devices}
    with desk.engine.connect() as conn:
        rows = conn.execute(select(store.issued.c.status_uri, store.issued.c.status_idx, store.issued.c.status)
                            .where(store.issued.c.licence_type == "health-code")).all()
    assert len({(uri, idx) for uri, idx, _ in rows}) == len(rows) == 24  # no status entry handed out twice
    assert sorted(Counter(status for _, _, status in rows).items()) == [(0, 12), (2, 12)]
