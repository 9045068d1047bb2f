"""Passkey ceremonies (``idp.passkeys``) against a software authenticator that builds the real bytes, and every
attack the brief names: a challenge replayed or answered from another browser, an assertion for another RP id or
origin, a credential of another account, a counter going backwards, no user verification, a removed passkey; and
malformed answers (hypothesis) refused with a reason, never an exception of another kind."""

from __future__ import annotations

import json
import secrets

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from idp import models
from idp.audit import Audit
from idp.errors import LockedOut, PasskeyRefused
from idp.passkey_store import PasskeyStore
from idp.passkeys import Passkeys, relying_party
from idp.secrets import Secrets
from idp.throttle import Throttle
from storage.kv import MemoryStore
from storage.sql import make_engine, metadata
from tests.idp.soft_authenticator import SoftAuthenticator, b64url, unb64url

ISSUER = "https://id.tongban.example.cn"
ORIGIN, RP_ID = ISSUER, "id.tongban.example.cn"
NOW = 1_800_000_000


class World:
    def __init__(self, tmp_path, issuer: str = ISSUER):
        self.engine = make_engine(f"sqlite:///{tmp_path / 'pk.sqlite3'}")
        metadata.create_all(self.engine, tables=[t for t in metadata.sorted_tables if t.name.startswith("idp_")])
        self.secrets = Secrets(secrets.token_bytes(32))
        self.kv = MemoryStore()
        self.audit = Audit(self.engine)
        self.issuer = issuer
        self.passkeys = Passkeys(PasskeyStore(self.engine, self.secrets), self.kv, self.secrets, Throttle(self.kv),
                                 self.audit, lambda: self.issuer)
        for sub in ("alice", "bob"):
            with self.engine.begin() as conn:
                conn.execute(insert(models.accounts).values(
                    sub=sub, id_hash=sub, id_enc="x", phone_hash=sub, password_hash="x", assurance="real-name",
                    created_at=NOW))

    def register(self, authenticator: SoftAuthenticator, sub: str = "alice", binding: str = "browser-1", **kw):
        options = self.passkeys.registration_options(sub, binding, user_name="1101**********1233", display_name="张*")
        return self.passkeys.register(sub, binding, authenticator.create(options, **kw), "我的手机", NOW)

    def sign_in(self, authenticator: SoftAuthenticator, binding: str = "browser-1", purpose: str = "login",
                sub: str | None = None, **kw):
        options = self.passkeys.authentication_options(purpose, binding, sub)
        return self.passkeys.authenticate(purpose, binding, authenticator.get(options, **kw), NOW, source="10.0.0.1",
                                          sub=sub)

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.audit.events(limit=100)]


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


@pytest.fixture
def phone() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN, RP_ID)


def test_register_then_sign_in_with_the_passkey_alone(world, phone):
    added = world.register(phone)
    assert added.sub == "alice" and added.name == "我的手机" and added.transports == ("internal",)
    options = world.passkeys.authentication_options("login", "browser-1")
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    assert options["rpId"] == RP_ID
    used = world.passkeys.authenticate("login", "browser-1", phone.get(options), NOW + 5, source="10.0.0.1")
    assert used.sub == "alice"
    stored = world.passkeys.store.get(added.credential_id)
    assert stored.sign_count == 1 and stored.last_used_at == NOW + 5
    assert "passkey_added" in world.kinds()


def test_registration_options_ask_for_a_discoverable_key_with_user_verification_and_no_attestation(world, phone):
    world.register(phone)
    options = world.passkeys.registration_options("alice", "b", user_name="1101**********1233", display_name="张*")
    selection = options["authenticatorSelection"]
    assert selection["residentKey"] == "required" and selection["userVerification"] == "required"
    assert options["attestation"] == "none" and options["rp"]["id"] == RP_ID
    assert [d["id"] for d in options["excludeCredentials"]] == [b64url(phone.credentials[0].id)]
    # the user handle is a keyed hash, not the sub or anything personal
    assert unb64url(options["user"]["id"]) == world.passkeys.user_handle("alice") != b"alice"


def test_the_name_is_sealed_at_rest(world, phone):
    world.register(phone)
    with world.engine.connect() as conn:
        row = conn.execute(select(models.passkeys)).one()
    assert "我的手机" not in json.dumps(list(row), default=str, ensure_ascii=False)
    assert world.passkeys.store.of("alice")[0].name == "我的手机"


def test_a_challenge_is_single_use(world, phone):
    world.register(phone)
    options = world.passkeys.authentication_options("login", "browser-1")
    answer = phone.get(options)
    world.passkeys.authenticate("login", "browser-1", answer, NOW, source="s")
    with pytest.raises(PasskeyRefused) as exc:
        world.passkeys.authenticate("login", "browser-1", answer, NOW, source="s")
    assert exc.value.reason == "passkey_challenge"


def test_a_challenge_cannot_be_answered_from_another_browser(world, phone):
    world.register(phone)
    options = world.passkeys.authentication_options("login", "browser-1")
    world.passkeys.authentication_options("login", "browser-2")  # the attacker's own browser has a challenge too
    with pytest.raises(PasskeyRefused) as exc:
        world.passkeys.authenticate("login", "browser-2", phone.get(options), NOW, source="s")
    assert exc.value.reason == "passkey_invalid"  # browser-2's challenge is not the one signed
    with pytest.raises(PasskeyRefused) as exc:  # and browser-1's challenge went nowhere: still there, unanswered
        world.passkeys.authenticate("login", "browser-3", phone.get(options), NOW, source="s")
    assert exc.value.reason == "passkey_challenge"


def test_a_challenge_expires(world, phone):
    world.register(phone)
    options = world.passkeys.authentication_options("login", "browser-1")
    world.kv.delete("webauthn:login:browser-1")  # what the TTL does (MemoryStore's own expiry is tested in storage/)
    with pytest.raises(PasskeyRefused) as exc:
        world.passkeys.authenticate("login", "browser-1", phone.get(options), NOW, source="s")
    assert exc.value.reason == "passkey_challenge"


def test_a_registration_challenge_is_the_accounts_own(world, phone):
    options = world.passkeys.registration_options("alice", "b", user_name="x", display_name="x")
    with pytest.raises(PasskeyRefused) as exc:  # bob, in the same browser, answers alice's registration
        world.passkeys.register("bob", "b", phone.create(options), "", NOW)
    assert exc.value.reason == "passkey_challenge"


@pytest.mark.parametrize(("where", "kw"), [
    ("origin", {"origin": "https://evil.example.cn"}),
    ("origin", {"origin": "http://id.tongban.example.cn"}),  # the same host over http is another origin
    ("origin", {"origin": "https://id.tongban.example.cn:8443"}),
    ("rp id", {"rp_id": "tongban.example.cn"}),  # a registrable suffix is still another RP id
    ("rp id", {"rp_id": "evil.example.cn"}),
])
def test_an_assertion_for_another_origin_or_rp_id_is_refused(world, phone, where, kw):
    world.register(phone)
    with pytest.raises(PasskeyRefused) as exc:
        world.sign_in(phone, **kw)
    assert exc.value.reason == "passkey_invalid", where
    assert "login_failed" in world.kinds()


@pytest.mark.parametrize("kw", [{"origin": "https://evil.example.cn"}, {"rp_id": "evil.example.cn"}, {"uv": False}])
def test_a_registration_for_another_origin_rp_id_or_without_uv_is_refused(world, phone, kw):
    with pytest.raises(PasskeyRefused) as exc:
        world.register(phone, **kw)
    assert exc.value.reason == "passkey_invalid"
    assert world.passkeys.store.of("alice") == []


def test_user_verification_is_required(world, phone):
    world.register(phone)
    with pytest.raises(PasskeyRefused) as exc:
        world.sign_in(phone, uv=False)
    assert exc.value.reason == "passkey_invalid"


def test_a_credential_of_another_account_does_not_unlock_this_one(world, phone):
    bobs_phone = SoftAuthenticator(ORIGIN, RP_ID)
    world.register(phone, "alice")
    world.register(bobs_phone, "bob", binding="browser-9")
    options = world.passkeys.authentication_options("unlock", "wallet-alice", "alice")
    assert [d["id"] for d in options["allowCredentials"]] == [b64url(phone.credentials[0].id)]
    with pytest.raises(PasskeyRefused) as exc:  # bob answers alice's unlock with his own passkey
        world.passkeys.authenticate("unlock", "wallet-alice", bobs_phone.get(options), NOW, source="s", sub="alice")
    assert exc.value.reason == "passkey_unknown"
    assert world.sign_in(phone, binding="wallet-alice", purpose="unlock", sub="alice").sub == "alice"


def test_a_user_handle_of_another_account_is_refused(world, phone):
    world.register(phone)
    with pytest.raises(PasskeyRefused) as exc:
        world.sign_in(phone, user_handle=world.passkeys.user_handle("bob"))
    assert exc.value.reason == "passkey_user_handle"
    assert world.sign_in(phone, user_handle=None).sub == "alice"  # an authenticator may leave it out (§7.2 step 6)


def test_a_counter_going_backwards_is_refused_and_audited(world, phone):
    added = world.register(phone)
    world.sign_in(phone, sign_count=7)
    for stale in (7, 3, 0):  # the same value again, lower, and a clone that reports 0
        with pytest.raises(PasskeyRefused) as exc:
            world.sign_in(phone, sign_count=stale)
        assert exc.value.reason == "passkey_sign_count"
    assert world.kinds().count("passkey_sign_count_regression") == 3
    assert world.passkeys.store.get(added.credential_id).sign_count == 7
    assert world.sign_in(phone, sign_count=8).sub == "alice"


def test_a_counter_near_two_to_the_32_is_stored(world, phone):
    added = world.register(phone)
    world.sign_in(phone, sign_count=2**32 - 1)  # the largest a 32-bit counter holds (PostgreSQL INTEGER would not)
    assert world.passkeys.store.get(added.credential_id).sign_count == 2**32 - 1


def test_an_authenticator_that_always_says_zero_is_accepted(world):
    synced = SoftAuthenticator(ORIGIN, RP_ID, counting=False)
    world.register(synced)
    assert world.sign_in(synced).sub == world.sign_in(synced).sub == "alice"


def test_a_removed_passkey_no_longer_signs_in(world, phone):
    added = world.register(phone)
    assert not world.passkeys.remove("bob", added.credential_id, NOW)  # not bob's to remove
    assert world.passkeys.remove("alice", added.credential_id, NOW)
    with pytest.raises(PasskeyRefused) as exc:
        world.sign_in(phone)
    assert exc.value.reason == "passkey_unknown"
    assert "passkey_removed" in world.kinds()


def test_failures_count_in_the_sign_in_throttle(world, phone):
    world.register(phone)
    for _ in range(5):
        with pytest.raises(PasskeyRefused):
            world.sign_in(phone, uv=False)
    with pytest.raises(LockedOut):
        world.sign_in(phone)


def test_an_unknown_credential_is_throttled_too(world):
    stranger = SoftAuthenticator(ORIGIN, RP_ID)
    stranger.create(world.passkeys.registration_options("alice", "x", user_name="x", display_name="x"))
    for _ in range(5):
        with pytest.raises(PasskeyRefused) as exc:
            world.sign_in(stranger)
        assert exc.value.reason == "passkey_unknown"
    with pytest.raises(LockedOut):
        world.sign_in(stranger)


def test_the_same_credential_cannot_be_registered_twice(world, phone):
    world.register(phone)
    first = phone.credentials[0].id
    options = world.passkeys.registration_options("alice", "b", user_name="x", display_name="x")
    with pytest.raises(PasskeyRefused) as exc:  # an authenticator ignoring excludeCredentials
        world.passkeys.register("alice", "b", phone.create(options, credential_id=first), "", NOW)
    assert exc.value.reason == "passkey_exists"
    assert len(world.passkeys.store.of("alice")) == 1


def test_the_credential_id_sent_is_the_one_attested(world, phone):
    world.register(phone)
    options = world.passkeys.registration_options("alice", "b", user_name="x", display_name="x")
    again = json.loads(phone.create(options))
    first = b64url(phone.credentials[0].id)
    with pytest.raises(PasskeyRefused) as exc:  # the JSON names another id than the signed authenticator data
        world.passkeys.register("alice", "b", json.dumps({**again, "id": first, "rawId": first}), "", NOW)
    assert exc.value.reason == "passkey_invalid"


def test_no_relying_party_on_an_ip_address(tmp_path):
    assert relying_party("http://127.0.0.1:8000") is None and relying_party("http://[::1]:8000") is None
    assert relying_party("http://localhost:8000").origin == "http://localhost:8000"
    assert relying_party("https://id.example.cn").id == "id.example.cn"
    world = World(tmp_path, issuer="http://127.0.0.1:8000")
    with pytest.raises(PasskeyRefused) as exc:
        world.passkeys.authentication_options("login", "b")
    assert exc.value.reason == "passkeys_unavailable"


def test_names_are_bounded(world, phone):
    options = world.passkeys.registration_options("alice", "b", user_name="x", display_name="x")
    with pytest.raises(PasskeyRefused) as exc:
        world.passkeys.register("alice", "b", phone.create(options), "x" * 41, NOW)
    assert exc.value.reason == "passkey_name"


def _json_like():
    leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
    return st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=12), inner, max_size=5)),
                        max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.one_of(st.text(max_size=200), _json_like().map(json.dumps), st.binary(max_size=60).map(b64url)))
def test_malformed_assertions_are_refused_with_a_reason(world, junk):
    world.passkeys.authentication_options("login", "p")
    with pytest.raises((PasskeyRefused, LockedOut)):
        world.passkeys.authenticate("login", "p", junk, NOW, source="fuzz")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["clientDataJSON", "authenticatorData", "signature", "userHandle"]),
       value=st.one_of(st.binary(max_size=80).map(b64url), st.integers(), st.none(), st.text(max_size=30)))
def test_a_tampered_field_of_a_real_assertion_is_refused(world, phone, field, value):
    assume(not (field == "userHandle" and value is None))  # userHandle is unsigned and optional: leaving it out is fine
    if not phone.credentials:
        world.register(phone)
    options = world.passkeys.authentication_options("login", "p")
    answer = json.loads(phone.get(options))
    answer["response"][field] = value
    with pytest.raises((PasskeyRefused, LockedOut)):
        world.passkeys.authenticate("login", "p", json.dumps(answer), NOW, source=secrets.token_hex(4))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.one_of(st.text(max_size=200), _json_like().map(json.dumps)))
def test_malformed_registrations_are_refused_with_a_reason(world, junk):
    world.passkeys.registration_options("alice", "r", user_name="x", display_name="x")
    with pytest.raises(PasskeyRefused):
        world.passkeys.register("alice", "r", junk, "", NOW)
