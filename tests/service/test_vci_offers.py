"""OpenID4VCI 1.0 pre-authorized flow through the Flask test client: ``tongban issue-offer`` → offer by reference →
token with tx_code → nonce → credential with proofs → SD-JWT VCs verified by our verifier (trust list, Token Status
List JWT) and by the reference implementation; and the attacks on each step."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

import keys
from credentials.sdjwt import SdJwtError, present, trust_list_keys, verify_sd_jwt
from credentials.status_list import StatusListError, verify_status_list_jwt
from credentials.status_uri import status_name as status_list_name
from idp.cli import DEMO_CITIZEN
from issuer.cli import records_for
from issuer.offers import MAX_TX_ATTEMPTS, PRE_AUTHORIZED_GRANT, Offers
from issuer.sd_jwt_issuance import SdJwtFormat, SdJwtIssuanceError
from service.cli import main
from tests.conftest import examples
from verifier.cache import DirectorySource, VerifierCache

SD = "driving-licence-sd-jwt"


@pytest.fixture(scope="module")
def client(live):
    return live.app.test_client()


@pytest.fixture(scope="module")
def record(live):
    [found] = [r for r in records_for(live.settings).held_by(DEMO_CITIZEN["id_number"]) if r.licence_type == "driving-licence"]
    return found


def cli_offer(live, *args: str) -> tuple[str, str]:
    env = {"TONGBAN_ISSUER_URL": live.url, "TONGBAN_DEV_PLAINTEXT_KEYS": "1", "TONGBAN_DATA": str(live.data)}
    result = CliRunner().invoke(main, ["issue-offer", "driving-licence", "--holder", DEMO_CITIZEN["id_number"], *args],
                                env=env)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.splitlines() if ": " in line)
    return lines["offer"], lines["tx_code"]


def offer(live, record, *, configurations=(SD,), now=None, ttl=600, by_reference=False) -> tuple[dict, str]:
    made = Offers(records_for(live.settings).engine).create(
        record_id=record.record_id, configurations=list(configurations), issuer_url=live.url,
        authorization_server=live.url + "/issuer", now=now or int(time.time()), ttl=ttl, by_reference=by_reference)
    return made.document, made.tx_code


def code_of(document: dict) -> str:
    return document["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]


def token(client, document: dict, tx_code: str | None):
    form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code_of(document)}
    if tx_code is not None:
        form["tx_code"] = tx_code
    return client.post("/issuer/token", data=form)


def proof(live, client, device, *, nonce=None, aud=None) -> str:
    nonce = nonce or client.post("/issuer/nonce").get_json()["c_nonce"]
    return jwt.encode({"aud": aud or live.url, "iat": int(time.time()), "nonce": nonce}, device.crypto_key(),
                      algorithm="ES256", headers={"typ": "openid4vci-proof+jwt", "jwk": device.public.public_jwk()})


def request_credential(client, access_token: str, proofs: list[str], configuration=SD, **extra):
    return client.post("/issuer/credential", headers={"Authorization": f"Bearer {access_token}"},
                       json={"credential_configuration_id": configuration, "proofs": {"jwt": proofs}, **extra})


def access(client, live, record, **kw) -> str:
    document, tx = offer(live, record, **kw)
    response = token(client, document, tx)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def trust(live, tmp_path, now):
    cache = VerifierCache(tmp_path / "cache")
    source = DirectorySource(live.data)
    cache.sync(source, now=now, root=keys.PublicKey.from_jwk(source.root_key()))
    return cache.trust_list(now)


def status_of(client, live, trust_list, now):
    """draft-ietf-oauth-status-list §8: fetch the list's JWT form from its URL, verify it with the authority's key.

    Verified at the time of the fetch, not at ``now``: the hub re-signs a list when a status changes (and its
    publisher at any time), so a list fetched a second after ``now`` may carry a later ``iat`` and would read as
    not yet valid (status_list_not_yet_valid), which failed this test now and then."""
    del now

    def check(idx: int, uri: str) -> int:
        now = int(time.time())
        path = urlsplit(uri).path
        response = client.get(path, headers={"Accept": "application/statuslist+jwt"})
        assert response.status_code == 200 and response.content_type == "application/statuslist+jwt"
        name = status_list_name(live.url, uri)
        authority = trust_list.authority(name.split(":")[1].split("/")[0])
        for key in authority.keys:
            try:
                found = verify_status_list_jwt(response.get_data(as_text=True), public_key=key.public,
                                               alg=key.public.alg, now=now, expected_subject=name)
            except StatusListError:  # another key of the authority signed it
                continue
            return found.status_list.get(idx)
        raise AssertionError("no key of the authority verifies its status list")
    return check


def test_metadata_offers_sd_jwt_vc_next_to_tongban_cose(client, live):
    meta = client.get("/.well-known/openid-credential-issuer").get_json()
    configs = meta["credential_configurations_supported"]
    assert configs["driving-licence"]["format"] == "tongban-cose"
    sd = configs[SD]
    assert sd["format"] == "dc+sd-jwt" and sd["vct"] == live.url + "/vct/driving-licence"
    assert sd["cryptographic_binding_methods_supported"] == ["jwk"] and sd["proof_types_supported"]["jwt"]
    names = {tuple(c["path"]): c["display"] for c in sd["credential_metadata"]["claims"]}
    assert names[("vehicle_classes",)][0] == {"name": "准驾车型", "locale": "zh-CN"}
    assert ("age_equal_or_over", "18") in names
    assert meta["batch_credential_issuance"]["batch_size"] == 10
    assert "health-code-sd-jwt" not in configs
    server = meta["authorization_servers"][1]
    assert_meta = client.get("/.well-known/oauth-authorization-server/issuer").get_json()
    assert assert_meta["issuer"] == server and assert_meta["token_endpoint"] == live.url + "/issuer/token"


def test_the_whole_pre_authorized_flow(client, live, record, tmp_path):
    uri, tx_code = cli_offer(live, "--png", str(tmp_path / "offer.png"))
    assert (tmp_path / "offer.png").read_bytes()[:4] == b"\x89PNG"
    assert uri.startswith("openid-credential-offer://?credential_offer_uri=") and tx_code.isdigit() and len(tx_code) == 6
    reference = unquote(parse_qs(urlsplit(uri).query)["credential_offer_uri"][0])
    document = client.get(urlsplit(reference).path).get_json()
    assert document["credential_configuration_ids"] == [SD] and document["credential_issuer"] == live.url
    assert document["grants"][PRE_AUTHORIZED_GRANT]["tx_code"]["input_mode"] == "numeric"
    assert client.get(urlsplit(reference).path).status_code == 404  # served once
    response = token(client, document, tx_code)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    access_token = response.get_json()["access_token"]
    devices = [keys.generate("ES256") for _ in range(3)]
    nonce = client.post("/issuer/nonce").get_json()["c_nonce"]
    issued = request_credential(client, access_token, [proof(live, client, d, nonce=nonce) for d in devices])
    assert issued.status_code == 200, issued.get_json()
    credentials = [c["credential"] for c in issued.get_json()["credentials"]]
    assert len(credentials) == 3

    now = int(time.time())
    trust_list = trust(live, tmp_path, now)
    statuses = status_of(client, live, trust_list, now)
    seen = []
    for device, sd_jwt in zip(devices, credentials, strict=True):
        shown = present(sd_jwt, ["name", "vehicle_classes", "age_equal_or_over.18"], holder_key=device, nonce="app-nonce",
                        audience="https://app.example", iat=now)
        result = verify_sd_jwt(shown, issuer_key=trust_list_keys(trust_list, now=now), now=now, nonce="app-nonce",
                               audience="https://app.example", require_key_binding=True, status_of=statuses)
        assert result.claims["name"] == "张三" and result.claims["vehicle_classes"] == ["C1"]
        assert result.claims["age_equal_or_over"] == {"18": True}
        assert "id_number" not in result.claims and "address" not in result.claims and "birth_date" not in result.claims
        assert result.holder_key == device.public
        seen.append(result.status)
        # The reference implementation verifies the same presentation.
        issuer_jwk = JWK.from_json(json.dumps(result.issuer_key.jwk))
        reference_claims = SDJWTVerifier(shown, lambda iss, header, jwk=issuer_jwk: jwk, expected_aud="https://app.example",
                                         expected_nonce="app-nonce").get_verified_payload()
        assert reference_claims["name"] == "张三" and reference_claims["cnf"]["jwk"] == device.public.jwk
    assert len(set(seen)) == 1  # one licence, one status entry

    # The code is spent: a replay is refused.
    assert token(client, document, tx_code).get_json()["error"] == "invalid_grant"

    # Revoking the licence shows in the status list the SD-JWT VC points to.
    elicence_id = records_for(live.settings).last_issued(f"{record.record_id}|dc+sd-jwt")
    live.app.extensions["tongban.vci"].issuer.set_status(elicence_id, now=now)
    shown = present(credentials[0], ["name"], holder_key=devices[0], nonce="n", audience="https://app.example", iat=now)
    with pytest.raises(SdJwtError) as exc:
        verify_sd_jwt(shown, issuer_key=trust_list_keys(trust_list, now=now), now=now, nonce="n",
                      audience="https://app.example", status_of=status_of(client, live, trust_list, now))
    assert exc.value.reason == "status_invalid"


def test_an_offer_by_value_carries_the_offer_itself(live):
    uri, _ = cli_offer(live, "--by-value", "--format", "both")
    document = json.loads(parse_qs(urlsplit(uri).query)["credential_offer"][0])
    assert document["credential_configuration_ids"] == [SD, "driving-licence"]
    assert document["grants"][PRE_AUTHORIZED_GRANT]["authorization_server"] == live.url + "/issuer"


def test_wrong_expired_and_replayed_codes(client, live, record):
    document, tx = offer(live, record)
    forged = {"grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "A" * 43}}}
    assert token(client, forged, tx).get_json()["error"] == "invalid_grant"
    assert token(client, document, None).get_json()["error"] == "invalid_request"  # tx_code required
    assert token(client, document, tx).status_code == 200
    assert token(client, document, tx).get_json()["error"] == "invalid_grant"  # replay
    old, old_tx = offer(live, record, now=int(time.time()) - 700, ttl=600)
    assert token(client, old, old_tx).get_json()["error"] == "invalid_grant"  # expired
    bad = client.post("/issuer/token", data={"grant_type": "authorization_code", "code": "x"})
    assert bad.get_json()["error"] == "unsupported_grant_type"


def test_tx_code_brute_force_kills_the_code(client, live, record):
    document, tx = offer(live, record)
    wrong = f"{(int(tx) + 1) % 10**6:06d}"
    for _ in range(MAX_TX_ATTEMPTS):
        assert token(client, document, wrong).get_json()["error"] == "invalid_grant"
    response = token(client, document, tx)  # the right code, too late
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_concurrent_guesses_cannot_exceed_the_attempt_budget(live, record):
    from concurrent.futures import ThreadPoolExecutor

    from issuer.offers import OfferRefused

    document, tx = offer(live, record)
    offers = Offers(records_for(live.settings).engine)

    def guess(n: int) -> str:
        try:
            offers.redeem(code_of(document), f"{n:06d}", int(time.time()))
            return "granted"
        except OfferRefused as exc:
            return str(exc)

    guesses = [n for n in range(40) if f"{n:06d}" != tx]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(guess, guesses))
    assert sum(r == "wrong tx_code" for r in results) == MAX_TX_ATTEMPTS
    with pytest.raises(OfferRefused):
        offers.redeem(code_of(document), tx, int(time.time()))


def test_the_access_token_is_bound_to_its_offer(client, live, record):
    access_token = access(client, live, record)
    device = keys.generate("ES256")
    other = request_credential(client, access_token, [proof(live, client, device)], configuration="driving-licence")
    assert other.get_json()["error"] == "invalid_credential_request"  # the offer named the SD-JWT VC only
    elsewhere = request_credential(client, access_token, [proof(live, client, device)], record="rec-someone-else")
    assert elsewhere.get_json()["error"] == "invalid_credential_request"
    unknown = request_credential(client, access_token, [proof(live, client, device)], configuration="passport")
    assert unknown.get_json()["error"] == "unknown_credential_configuration"
    unhashable = request_credential(client, access_token, [proof(live, client, device)], configuration=["x"])
    assert unhashable.get_json()["error"] == "unknown_credential_configuration"
    assert request_credential(client, "not-a-token", [proof(live, client, device)]).status_code == 401


def test_proof_attacks(client, live, record, tmp_path):
    access_token = access(client, live, record)
    device = keys.generate("ES256")
    aud = request_credential(client, access_token, [proof(live, client, device, aud="https://other.example")])
    assert aud.get_json()["error"] == "invalid_proof"
    nonce = client.post("/issuer/nonce").get_json()["c_nonce"]
    assert request_credential(client, access_token, [proof(live, client, device, nonce=nonce)]).status_code == 200
    old = request_credential(client, access_token, [proof(live, client, device, nonce=nonce)])
    assert old.get_json()["error"] == "invalid_nonce"  # the nonce was spent
    same_key = request_credential(client, access_token, [proof(live, client, device, nonce=nonce)] * 2)
    assert same_key.get_json()["error"] == "invalid_proof"
    two = [proof(live, client, keys.generate("ES256")), proof(live, client, keys.generate("ES256"))]
    assert request_credential(client, access_token, two).get_json()["error"] == "invalid_nonce"  # two nonces
    many = [proof(live, client, keys.generate("ES256"), nonce=nonce) for _ in range(11)]
    assert request_credential(client, access_token, many).get_json()["error"] == "invalid_proof"
    # A credential is bound to the proof's key: a presentation signed by another key is refused.
    issued = request_credential(client, access_token, [proof(live, client, device)]).get_json()
    sd_jwt = issued["credentials"][0]["credential"]
    now = int(time.time())
    payload = json.loads(jwt.utils.base64url_decode(sd_jwt.split("~")[0].split(".")[1]))
    assert payload["cnf"]["jwk"] == device.public.jwk
    shown = present(sd_jwt, ["name"], holder_key=keys.generate("ES256"), nonce="n", audience="a", iat=now)
    with pytest.raises(SdJwtError) as exc:
        verify_sd_jwt(shown, issuer_key=trust_list_keys(trust(live, tmp_path, now), now=now), now=now, nonce="n",
                      audience="a")
    assert exc.value.reason == "kb_invalid"


def test_an_sm2_authority_cannot_issue_sd_jwt_vc():
    with pytest.raises(SdJwtIssuanceError):
        SdJwtFormat.check_signer(keys.generate("SM2"))


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                     max_leaves=8)
_fields = st.sampled_from(["credential_configuration_id", "proof", "proofs", "record", "jwt"])


@given(st.dictionaries(_fields, _json, max_size=4))
@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_credential_request_body_gets_an_oauth_error_never_a_500(client, live, record, body):
    access_token = access(client, live, record)
    response = client.post("/issuer/credential", headers={"Authorization": f"Bearer {access_token}"}, json=body)
    assert response.status_code == 400 and response.get_json()["error"] in (
        "invalid_credential_request", "unknown_credential_configuration", "invalid_proof", "invalid_nonce")


@given(st.dictionaries(st.sampled_from(["grant_type", "pre-authorized_code", "tx_code", "code"]),
                       st.text(max_size=60), max_size=4))
@settings(max_examples=examples(100), deadline=None)
def test_any_token_request_gets_an_oauth_error_never_a_500(client, form):
    response = client.post("/issuer/token", data=form)
    assert response.status_code == 400 and response.get_json()["error"] in (
        "unsupported_grant_type", "invalid_grant", "invalid_request")
