"""The counter API with EU DCCs: ``POST /counter/api/verify`` and ``/scan-image`` route HC1 codes to the DCC
pipeline and show name (in full), date of birth and the kind's facts."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.dcc_world import NOW, kid_mapping, make_cert, pcr_entry, sign_dcc, vaccination
from verifier.cache import VerifierCache
from verifier.dcc_trust import DscStore, import_signers
from verifier.replay import MemoryReplayCache
from verifier.web import counter_blueprint
from wallet.qr import write_png


@pytest.fixture(scope="module")
def signer():
    return make_cert()


@pytest.fixture(scope="module")
def client(tmp_path_factory, signer):
    cache_dir = tmp_path_factory.mktemp("dcc-counter")
    DscStore(cache_dir).save(import_signers(kid_mapping(signer), now=NOW)[0], now=NOW)
    app = Flask("dcc-counter-test")
    app.register_blueprint(counter_blueprint(VerifierCache(cache_dir), MemoryReplayCache(), clock=lambda: NOW))
    return app.test_client()


def test_a_valid_dcc_shows_the_person_and_the_facts(client, signer):
    response = client.post("/counter/api/verify", json={"qr": sign_dcc(vaccination(), signer)})
    body = response.get_json()
    assert response.status_code == 200 and body["valid"] and response.headers["Cache-Control"] == "no-store"
    display = body["display"]
    assert display["verdict"] == "valid" and display["licence"]["view"] == "疫苗接种 / vaccination"
    rows = {row["en"]: row["value"] for row in display["claims"]}
    assert rows["name"] == "Gabriele Musterfrau-Gößinger" and rows["date of birth"] == "1998-02-26"
    assert rows["dose"] == "2/2" and rows["vaccination date"] == "2021-06-18"
    assert display["issuer"]["name"] == "Ministry of Health, Austria (AT)"


def test_a_positive_test_is_valid_with_a_warning(client, signer):
    body = client.post("/counter/api/verify",
                       json={"qr": sign_dcc(vaccination(v=None, t=[pcr_entry("260373001")]), signer)}).get_json()
    assert body["valid"] and body["display"]["warnings"][0]["code"] == "dcc_test_positive"
    assert {r["en"]: r["value"] for r in body["display"]["claims"]}["test result"].endswith("DETECTED (positive)")


def test_a_forged_dcc_shows_nothing_of_its_content(client, signer):
    forged = sign_dcc(vaccination(), signer, sign_with=make_cert().key)
    body = client.post("/counter/api/verify", json={"qr": forged}).get_json()
    assert not body["valid"] and body["display"]["claims"] == [] and body["display"]["licence"] is None
    assert body["display"]["reason"]["code"] == "dcc_bad_signature" and "Musterfrau" not in str(body)


def test_a_dcc_picture(client, signer, tmp_path):
    path = tmp_path / "dcc.png"
    write_png(sign_dcc(vaccination(), signer), path)
    response = client.post("/counter/api/scan-image", data=path.read_bytes(), content_type="image/png")
    assert response.status_code == 200 and response.get_json()["valid"]


@pytest.mark.parametrize("qr", ["HC1:", "HC1:%%%", "HC9:ABC", "HC1:" + "0" * 8000])
def test_junk_dccs_are_decisions_not_errors(client, qr):
    response = client.post("/counter/api/verify", json={"qr": qr})
    assert response.status_code == 200 and not response.get_json()["valid"]
