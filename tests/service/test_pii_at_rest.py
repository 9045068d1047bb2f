"""Personal data at rest: after the whole service has run (init, records imported through the CLI, licences
issued over the web from them, health statuses set from the CLI and the /admin page, health codes fetched,
a family proxy granted), a copy of the database shows no demo person's ID number, name or claim value.

Runs on SQLite and on the real PostgreSQL (a throw-away schema reached through ``DATABASE_URL``, so the CLI and
the service share the database exactly as they do in production)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
import requests
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

import keys
from idp.registry import DEMO_PEOPLE, TableRegistry
from issuer.records import DEMO_RECORDS
from service.app import create_app
from service.config import Settings
from storage import make_engine, normalise_url
from tests.conftest import POSTGRES_URL, need_server
from tests.pii_scan import leaks
from tests.service.test_health_web import CITIZENS, REDIRECT, Service, admin_browser, admin_form, auth, fetch, token_for

WANG = {"name": "王芳", "sex": "男", "ethnicity": "汉", "birth_date": "1992-06-15", "address": "上海市徐汇区漕溪北路88号",
        "id_number": "310104199206157893", "issuing_authority": "上海市公安局徐汇分局", "valid_from": "2016-06-15",
        "valid_until": "2036-06-15"}
BUSINESS = {"uscc": "91110105MA01C3KQ9L", "name": "北京通办科技有限公司", "legal_representative": "赵敏",
            "entity_type": "有限责任公司(自然人投资或控股)", "registered_capital": "100万元人民币",
            "established_on": "2018-04-20", "address": "北京市朝阳区望京街10号", "business_scope": "技术开发",
            "registration_authority": "北京市朝阳区市场监督管理局", "holder_id_number": "110105198505202214"}
ROOT = Path(__file__).resolve().parents[2]
REASONS = ("密接者甲乙丙核查", "行程卡黄码复核丁戊")


def needles() -> list[str]:
    """The demo people's ID numbers, names and personal claim values, and the health reasons set below."""
    found = {n for n, _ in DEMO_PEOPLE} | {i for _, i in DEMO_PEOPLE}
    for _type, claims in DEMO_RECORDS:
        found |= {claims["name"], claims["id_number"], claims["address"], claims["birth_date"]}
    found |= {WANG["address"], WANG["birth_date"], BUSINESS["legal_representative"], BUSINESS["holder_id_number"],
              *REASONS}
    found |= {phone for _name, _id, phone, _password in CITIZENS.values()}
    return sorted(found)


# The identity provider's tables included: names and phone numbers sealed, the registry's names as keyed hashes.
ALLOWED: dict[str, set[str]] = {}


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tongban.sqlite3'}"
        return
    need_server("PostgreSQL", "127.0.0.1", 5432)
    schema = "tbpii_" + uuid.uuid4().hex[:12]
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def cli(env: dict[str, str], *args: str) -> str:
    """``tongban ARGS`` in its own process, as an operator runs it next to the service."""
    result = subprocess.run(  # our own interpreter and arguments
        [sys.executable, "-c", "from service.wiring import main; main()", *args], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env}, timeout=120, check=False)
    assert result.returncode == 0, f"tongban {' '.join(args)} → {result.returncode}: {result.stdout}{result.stderr}"
    return result.stdout


def csv_of(claims: dict) -> str:
    return ",".join(claims) + "\n" + ",".join(claims.values()) + "\n"


def issue_from_records(svc: Service, who: str) -> list[str]:
    """The wallet's path: list the citizen's records, fetch each licence with a device-key proof."""
    token = token_for(svc, who)
    held = requests.get(svc.url + "/issuer/records", headers=auth(token), timeout=5).json()["records"]
    issued = []
    audience = svc.app.extensions["tongban.vci"].url
    for record in held:
        device = keys.generate("ES256")
        nonce = requests.post(svc.url + "/issuer/nonce", timeout=5).json()["c_nonce"]
        proof = jwt.encode({"aud": audience, "iat": int(time.time()), "nonce": nonce}, device.crypto_key(),
                           algorithm="ES256", headers={"typ": "openid4vci-proof+jwt", "jwk": device.public.public_jwk()})
        r = requests.post(svc.url + "/issuer/credential", headers=auth(token), timeout=10, json={
            "credential_configuration_id": record["licence_type"], "record": record["id"],
            "proof": {"proof_type": "jwt", "jwt": proof}})
        assert r.status_code == 200, r.text
        issued.append(r.json()["elicence_id"])
    return issued


def run_the_service(data: Path, url: str, tmp_path: Path, *, commands: bool = True) -> Service:
    """``tongban init``, two records imports and a ``health set`` (each its own process), then the service on a
    loopback port with the demo citizens' accounts and the health officer. ``commands=False``: the service only."""
    if commands:
        env = {"DATABASE_URL": url, "TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_ISSUER_SECRET": ""}
        cli(env, "init", "--data", str(data))
        (tmp_path / "wang.csv").write_text(csv_of(WANG), encoding="utf-8")
        (tmp_path / "biz.csv").write_text(csv_of(BUSINESS), encoding="utf-8")
        cli(env, "records", "import", "resident-id", str(tmp_path / "wang.csv"), "--data", str(data))
        cli(env, "records", "import", "business-licence", str(tmp_path / "biz.csv"), "--data", str(data))
        cli(env, "health", "set", "--data", str(data), "--id-number", "440304198512124569", "--colour", "yellow",
            "--reason", REASONS[0], "--name", "李四", "--operator")  # 李四 (440304) lives outside bj-health's region
    settings = replace(Settings.from_env(data, env={"DATABASE_URL": url}), issuer_url="http://127.0.0.1:1")
    app = create_app(settings)
    provider = app.extensions["tongban.idp"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    TableRegistry(provider.engine, provider.secrets).add(DEMO_PEOPLE)
    for name, id_number, phone, password in CITIZENS.values():
        if provider.accounts.find(id_number) is None:
            provider.accounts.register(name, id_number, phone, password, 1_700_000_000)
    client = provider.clients.add("钱包 / wallet", [REDIRECT], public=True, scopes=["openid", "profile", "licences"],
                                  subject_type="public", first_party=True)
    svc = Service(provider.issuer, app, provider, data, client)
    svc.server = server
    svc.desk().grant_staff(CITIZENS["officer"][1], "bj-health", "officer", int(time.time()))
    return svc


def exercise(svc: Service) -> None:
    """Licences from the registers over the web, a health code, a family proxy and its code (over the web), a status
    set on the /admin page with a reason."""
    assert len(issue_from_records(svc, "zhang")) == 2  # driving licence and resident ID from the registers
    assert fetch(svc, "zhang", keys.generate()).status_code == 200  # health code
    desk = svc.desk()  # a family proxy recorded at the counter (as `tongban proxies add`), then its code fetched
    grant = desk.grant_proxy(desk.person(CITIZENS["zhang"][1]), CITIZENS["li"][2], via="counter",
                             recorded_by="bj-health", now=int(time.time()))
    assert fetch(svc, "li", keys.generate(), proxy_id=grant.id).status_code == 200
    browser = admin_browser(svc, "officer")  # the /admin page sets a status with a reason
    browser.go(svc.url + "/admin/search", "POST",
               {**admin_form(browser, "/admin/search"), "id_number": CITIZENS["zhang"][1]})
    browser.go(svc.url + "/admin/status", "POST",
               {**admin_form(browser, "/admin/status"), "colour": "red", "reason": REASONS[1]})
    assert browser.page.status_code == 200 and "已保存" in browser.page.text


def reads_back(svc: Service) -> None:
    """Callers still get every value in clear through the store modules."""
    status = svc.desk().status(CITIZENS["zhang"][1])
    assert (status.name, status.id_number, status.reason) == ("张三", CITIZENS["zhang"][1], REASONS[1])
    assert REASONS[1] in [e.reason for e in svc.desk().audit(CITIZENS["zhang"][1])]
    assert REASONS[0] in [e.reason for e in svc.desk().audit(CITIZENS["li"][1])]
    assert svc.desk().proxies(CITIZENS["zhang"][1])["granted"][0].proxy_name == "李四"
    records = svc.app.extensions["tongban.vci"].records
    assert {r.licence_type for r in records.held_by(WANG["id_number"])} == {"resident-id"}
    [biz] = records.held_by(BUSINESS["holder_id_number"])
    assert biz.claims["legal_representative"] == "赵敏" and biz.holder_id_number == BUSINESS["holder_id_number"]


def clear_text_in(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return leaks(engine, needles(), allowed=ALLOWED)
    finally:
        engine.dispose()


def stop(svc: Service) -> None:
    svc.server.shutdown()
    svc.provider.engine.dispose()


@pytest.mark.slow  # init, imports and health set in their own processes, on both databases
def test_no_personal_data_in_clear_anywhere_in_the_database(database, tmp_path, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    monkeypatch.delenv("TONGBAN_ISSUER_SECRET", raising=False)
    svc = run_the_service(tmp_path / "data", database, tmp_path)
    try:
        exercise(svc)
        reads_back(svc)
        found = clear_text_in(database)
        assert found == [], "\n".join(found)
    finally:
        stop(svc)
