"""Names and phone numbers sealed in the identity provider's tables (revision 0007 and ``idp.pii_seal``): a database
made before, with people and accounts in clear, is migrated and sealed in batches; afterwards nobody's name or
phone number is readable in any row, sign-in by phone and the registry check still work, and a second run finds
nothing to do. On SQLite and the real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from idp import migrate
from idp.accounts import Accounts
from idp.audit import Audit
from idp.errors import AccountExists
from idp.pii_seal import seal_clear_rows
from idp.registry import TableRegistry
from idp.secrets import Secrets
from idp.throttle import Throttle, ThrottlePolicy
from keys.suites import GUOMI, STANDARD
from storage.kv import MemoryStore
from storage.sql import make_engine, normalise_url
from tests.pii_scan import leaks

PEOPLE = [("张三", "110101199003071233", "13800138000"), ("李四", "440304198512124569", "13700137000"),
          ("赵敏", "110105198505202214", "13600136000")]
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"


@pytest.fixture(params=["sqlite", "postgres"])
def engine_0006(request, tmp_path):
    """A database at revision 0006 holding registry people and accounts the way that revision wrote them."""
    if request.param == "sqlite":
        engine, drop = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}"), None
    else:
        url = request.getfixturevalue("postgres_url")
        schema = "tb_seal_" + uuid.uuid4().hex[:10]
        admin = create_engine(normalise_url(url))
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = create_engine(normalise_url(url), connect_args={"options": f"-csearch_path={schema}"})

        def drop() -> None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    yield engine
    engine.dispose()
    if drop:
        drop()


def _old_rows(engine, secrets_: Secrets) -> None:
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0006_refresh_grace")
        for n, (name, id_number, phone) in enumerate(PEOPLE):
            conn.execute(text("insert into idp_registry_people (id_hash, name) values (:h, :n)"),
                         {"h": secrets_.lookup_hash(id_number), "n": name})
            conn.execute(text("insert into idp_accounts (sub, name, id_hash, id_enc, phone, password_hash, assurance, "
                              "created_at) values (:s, :n, :h, :e, :p, :pw, 'real-name', 0)"),
                         {"s": f"sub-{n}", "n": name, "h": secrets_.lookup_hash(id_number),
                          "e": secrets_.encrypt(id_number), "p": phone, "pw": PASSWORD_HASH})


def _accounts(engine, secrets_: Secrets) -> Accounts:
    store = MemoryStore()
    return Accounts(engine, store, secrets_, TableRegistry(engine, secrets_), Throttle(store, ThrottlePolicy()),
                    Audit(engine))


@pytest.mark.parametrize("suite", [STANDARD, GUOMI], ids=["standard", "guomi"])
def test_rows_in_clear_are_sealed_in_batches_and_still_work(engine_0006, suite):
    secrets_ = Secrets(bytes(range(32)), suite)
    _old_rows(engine_0006, secrets_)
    accounts = _accounts(engine_0006, secrets_)
    migrate.upgrade(engine_0006)
    assert accounts.find("13700137000").name == "李四"  # between migration and sealing: read from the clear column
    needles = sorted({v for person in PEOPLE for v in (person[0], person[2])})
    assert leaks(engine_0006, needles)  # still there before the pass

    assert seal_clear_rows(engine_0006, secrets_, batch=2) == 6  # 3 accounts + 3 registry rows, two per batch
    assert leaks(engine_0006, needles) == []
    assert seal_clear_rows(engine_0006, secrets_) == 0
    found = accounts.find("13700137000")  # sign-in by phone, through its keyed hash now
    assert (found.sub, found.name, found.phone) == ("sub-1", "李四", "13700137000")
    assert accounts.id_number(found) == "440304198512124569"
    registry = TableRegistry(engine_0006, secrets_)
    assert registry.matches("赵敏", "110105198505202214") and not registry.matches("赵敏", "110101199003071233")
    assert not registry.matches("赵 敏", "110105198505202214")


def test_a_new_account_and_registry_row_are_written_sealed(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    migrate.upgrade(engine)
    secrets_ = Secrets(bytes(range(32)), GUOMI)
    TableRegistry(engine, secrets_).add([("王芳", "310104199206157893")])
    accounts = _accounts(engine, secrets_)
    made = accounts.register("王芳", "310104199206157893", "13900139000", "tongban-wang-2024", 0)
    assert leaks(engine, ["王芳", "13900139000", "310104199206157893"]) == []
    with engine.connect() as conn:
        row = conn.execute(text("select name, phone, name_enc, phone_enc from idp_accounts")).one()
    assert row.name is None and row.phone is None and row.name_enc.startswith("sm4.") and row.phone_enc.startswith("sm4.")
    assert accounts.find("13900139000").sub == made.sub and made.name == "王芳"
    TableRegistry(engine, secrets_).add([("王芳", "110101199003071233")])
    with pytest.raises(AccountExists):  # the phone is unique through its keyed hash
        accounts.register("王芳", "110101199003071233", "13900139000", "tongban-wang-2024", 0)
    engine.dispose()
