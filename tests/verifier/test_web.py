"""The counter page and its JSON API through Flask's test client: verdicts, words, masking, bad input."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.conftest import examples
from tests.counter_world import make_world, run
from verifier.cache import DirectorySource, VerifierCache
from verifier.replay import MemoryReplayCache
from verifier.web import MAX_IMAGE_BYTES, counter_blueprint
from wallet.qr import write_png

PROPERTY = settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("counter-web"))
    world.eid = world.issue()
    return world


@pytest.fixture(scope="module")
def cache(world):
    cache_dir = world.base / "cache"
    run("verifier", "sync", "--data", str(world.data), "--cache", str(cache_dir))
    return VerifierCache(cache_dir)


@pytest.fixture(scope="module")
def client(world, cache):
    app = Flask("counter-test")
    app.register_blueprint(counter_blueprint(cache, MemoryReplayCache(),
                                             resync=lambda: cache.sync(DirectorySource(world.data), now=int(time.time()))))
    return app.test_client()


def check(client, qr) -> tuple[int, dict]:
    response = client.post("/counter/api/verify", json={"qr": qr})
    return response.status_code, response.get_json()


def png_bytes(text: str, tmp_path) -> bytes:
    path = tmp_path / "qr.png"
    write_png(text, path)
    return path.read_bytes()


# -- the page ----------------------------------------------------------------------------------------------
def test_page_has_a_focused_scanner_field_and_no_inline_script(client):
    response = client.get("/counter")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and 'id="qr"' in page and "autofocus" in page
    assert 'id="camera"' in page and "width=device-width" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline scripts are forbidden by the CSP"
    assert not re.search(r"\son[a-z]+=", page), "inline event handlers are forbidden by the CSP"
    for asset in re.findall(r'(?:src|href)="(/counter/static/[^"]+)"', page):
        with client.get(asset) as response:  # a streamed file: close it
            assert response.status_code == 200, asset


def test_state_reports_the_synced_trust_list(client, cache):
    state = client.get("/counter/api/state").get_json()
    assert state["trust_list_version"] >= 1 and state["last_sync"]["status_lists"] == 4 and state["can_resync"]
    assert 0 < state["status_current_until"] - state["last_sync"]["synced_at"] <= 3600
    assert VerifierCache(cache.directory / "nothing").status_current_until() is None


# -- verdicts ----------------------------------------------------------------------------------------------------
def test_valid_presentation_is_valid_with_words_labels_and_a_masked_name(world, client):
    status, body = check(client, world.present(world.eid))
    assert status == 200 and body["valid"] is True, body
    d = body["display"]
    assert d["verdict"] == "valid" and d["headline"] == {"zh": "有效", "en": "VALID"}
    assert d["reason"]["zh"] == "证照有效"
    assert d["licence"]["label"] == "机动车驾驶证 / Driving licence" and d["licence"]["view"] == "完整 / full"
    labels = {c["name"]: (c["zh"], c["en"], c["value"]) for c in d["claims"]}
    assert labels["name"] == ("姓名", "Name", "张*")
    assert labels["valid_until"][2] == "2030-05-01"
    # The default profile (entrance) shows validity only: no licence facts, no ID number, nothing else leaves.
    assert "vehicle_classes" not in labels and "id_number" not in labels and "address" not in labels
    assert body["claims"]["name"] == "张*", "the full name never leaves the counter server"
    assert set(body["claims"]) == {"name", "valid_from", "valid_until"}
    assert d["profile"]["name"] == "entrance"
    assert d["issuer"] == {"name": "北京市公安局公安交通管理局", "region": "北京市 (110000)"}
    assert 0 <= d["age_seconds"] <= 5 and d["health"] is None and d["proxy"] is None


def test_age_view_discloses_only_the_age(world, client):
    status, body = check(client, world.present(world.eid, "age"))
    assert status == 200 and body["valid"]
    assert [c["name"] for c in body["display"]["claims"]] == ["age_over_18"]
    assert body["display"]["claims"][0]["value"] == "是 / yes"


def test_the_same_code_twice_is_replayed(world, client):
    qr = world.present(world.eid)
    assert check(client, qr)[1]["valid"]
    status, body = check(client, qr)
    assert status == 200 and body["reasons"] == ["replayed"]
    assert "重复" in body["display"]["reason"]["zh"] and "already" in body["display"]["reason"]["en"]


def test_revoked_after_resync_shows_the_reason(world, client):
    eid = world.issue()
    world.revoke(eid)
    assert check(client, world.present(eid))[1]["valid"]  # as of the last sync
    assert client.post("/counter/api/sync", json={}).status_code == 200
    status, body = check(client, world.present(eid))
    assert status == 200 and body["valid"] is False and body["reasons"] == ["revoked"]
    assert body["display"]["reason"]["zh"] == "证照已被签发机关吊销（注销）"
    assert body["display"]["licence"]["label"] == "机动车驾驶证 / Driving licence"  # signed, so the type is known


def test_stale_code(world, cache):
    app = Flask("two-minutes-later")
    app.register_blueprint(counter_blueprint(cache, MemoryReplayCache(), clock=lambda: time.time() + 120))
    status, body = check(app.test_client(), world.present(world.eid))
    assert body["reasons"] == ["stale"] and "超时" in body["display"]["reason"]["zh"]


@pytest.mark.parametrize(("qr", "reason"), [
    ("hello", "unknown_prefix"), ("TB2:ABC", "unsupported_version"), ("TB1:", "malformed_encoding"),
    ("TB1:%%%%", "malformed_encoding"), ("https://example.org/", "unknown_prefix"),
])
def test_not_a_tongban_code_is_invalid_with_words(client, qr, reason):
    status, body = check(client, qr)
    assert status == 200 and body["valid"] is False and body["reasons"] == [reason]
    assert body["display"]["reason"]["code"] == reason and body["display"]["licence"] is None
    assert body["claims"] == {} and body["display"]["claims"] == []


def test_a_tampered_code_shows_no_claims(world, client):
    qr = world.present(world.eid)
    position = len(qr) // 2
    tampered = qr[:position] + ("A" if qr[position] != "A" else "B") + qr[position + 1:]
    status, body = check(client, tampered)
    assert status == 200 and body["valid"] is False and body["display"]["claims"] == []


# -- bad requests --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "error"), [
    ({"data": "qr=TB1", "content_type": "application/x-www-form-urlencoded"}, "unsupported_content_type"),
    ({"data": "TB1:ABC", "content_type": "text/plain"}, "unsupported_content_type"),
    ({"data": "{not json", "content_type": "application/json"}, "malformed_json"),
    ({"data": b"\xff\xfe", "content_type": "application/json"}, "malformed_json"),
    ({"json": []}, "malformed_request"),
    ({"json": {}}, "malformed_request"),
    ({"json": {"qr": 5}}, "malformed_request"),
    ({"json": {"qr": "  "}}, "malformed_request"),
    ({"json": {"qr": "TB1:A", "extra": 1}}, "malformed_request"),
    ({"json": {"qr": "x" * 9000}}, "too_large"),
])
def test_bad_verify_requests_are_400_with_a_specific_message(client, kwargs, error):
    response = client.post("/counter/api/verify", **kwargs)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == error and body["message"] and body["display"]["zh"] and body["display"]["en"]


def test_oversized_bodies_are_413(client):
    response = client.post("/counter/api/verify", data=b"{" * 40_000, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    response = client.post("/counter/api/scan-image", data=b"\x89PNG" + b"\0" * MAX_IMAGE_BYTES,
                           content_type="image/png")
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"


def test_get_on_the_api_is_405_not_500(client):
    assert client.get("/counter/api/verify").status_code == 405


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["qr", "QR", "a", ""]), inner, max_size=3),
    max_leaves=10,
)


@PROPERTY
@given(doc=json_values)
def test_any_json_body_is_a_decision_or_a_400(client, doc):
    response = client.post("/counter/api/verify", data=json.dumps(doc), content_type="application/json")
    assert response.status_code in (200, 400), response.data
    body = response.get_json()
    if response.status_code == 200:
        assert body["valid"] is False and body["reasons"] and body["display"]["reason"]["zh"]
    else:
        assert body["error"] and body["message"]


@PROPERTY
@given(raw=st.binary(max_size=500), content_type=st.sampled_from(["application/json", "application/json; charset=utf-8",
                                                                  "text/plain", ""]))
def test_any_raw_body_is_a_decision_or_a_400(client, raw, content_type):
    response = client.post("/counter/api/verify", data=raw, content_type=content_type or None)
    assert response.status_code in (200, 400), response.data
    assert response.is_json


@PROPERTY
@given(qr=st.text(max_size=300).map(lambda s: "TB1:" + s) | st.text(max_size=300))
def test_any_qr_text_is_a_decision(client, qr):
    response = client.post("/counter/api/verify", json={"qr": qr})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.get_json()["valid"] is False


# -- camera frames -------------------------------------------------------------------------------------------------------
def test_png_frame_is_decoded_and_verified(world, client, tmp_path):
    response = client.post("/counter/api/scan-image", data=png_bytes(world.present(world.eid), tmp_path),
                           content_type="image/png")
    assert response.status_code == 200 and response.get_json()["valid"] is True


def test_jpeg_camera_frame_is_decoded_and_verified(world, client, tmp_path):
    with Image.open(io.BytesIO(png_bytes(world.present(world.eid, "age"), tmp_path))) as qr:
        frame = Image.new("RGB", (960, 720), (200, 190, 180))  # a grey desk around the phone's screen
        frame.paste(qr.convert("RGB").resize((500, 500)), (230, 110))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=80)
    response = client.post("/counter/api/scan-image", data=out.getvalue(), content_type="image/jpeg")
    assert response.status_code == 200 and response.get_json()["claims"] == {"age_over_18": True}


def test_frame_without_a_code_is_400_no_qr_code(client):
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (255, 255, 255)).save(out, "PNG")
    response = client.post("/counter/api/scan-image", data=out.getvalue(), content_type="image/png")
    assert response.status_code == 400 and response.get_json()["error"] == "no_qr_code"
    assert response.get_json()["display"]["zh"] == "画面中没有找到二维码"


@pytest.mark.parametrize(("data", "content_type", "error"), [
    (b"", "image/png", "image_unreadable"),
    (b"not an image", "image/jpeg", "image_unreadable"),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/png", "image_unreadable"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png", "image_unreadable"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 64, "image/jpeg", "image_unreadable"),
    (b"\x89PNG", "image/gif", "unsupported_content_type"),
    (b"\x89PNG", "application/octet-stream", "unsupported_content_type"),
])
def test_bad_frames_are_400(client, data, content_type, error):
    response = client.post("/counter/api/scan-image", data=data, content_type=content_type)
    assert response.status_code == 400 and response.get_json()["error"] == error


def _png_of(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, "PNG")
    return out.getvalue()


@PROPERTY
@given(data=st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=2000).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
    st.binary(max_size=2000).map(lambda b: b"\xff\xd8\xff\xe0" + b),
    st.tuples(st.integers(1, 64), st.integers(1, 64), st.integers(0, 200), st.binary(min_size=1, max_size=8)).map(
        lambda t: (lambda png: png[:t[2]] + t[3] + png[t[2] + len(t[3]):])(_png_of(t[0], t[1]))),
), content_type=st.sampled_from(["image/png", "image/jpeg"]))
def test_any_image_bytes_are_a_decision_or_a_400(client, data, content_type):
    response = client.post("/counter/api/scan-image", data=data, content_type=content_type)
    assert response.status_code in (200, 400), response.data
    body = response.get_json()
    assert body["error"] in ("image_unreadable", "no_qr_code", "image_too_large") if response.status_code == 400 \
        else body["display"]


def test_sync_needs_json_and_is_absent_without_a_source(cache):
    app = Flask("no-source")
    app.register_blueprint(counter_blueprint(cache, MemoryReplayCache()))
    c = app.test_client()
    response = c.post("/counter/api/sync", json={})
    assert response.status_code == 404 and response.get_json()["error"] == "sync_unavailable"
    assert 'id="sync"' not in c.get("/counter").get_data(as_text=True)


def test_sync_refuses_a_form_post(client):
    response = client.post("/counter/api/sync", data="x=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_without_a_synced_cache_the_counter_says_so(tmp_path):
    app = Flask("empty")
    app.register_blueprint(counter_blueprint(VerifierCache(tmp_path / "none"), MemoryReplayCache()))
    response = app.test_client().post("/counter/api/verify", json={"qr": "TB1:ABC"})
    body = response.get_json()
    assert response.status_code == 200 and body["valid"] is False
    assert body["reasons"] in (["malformed_encoding"], ["malformed_cbor"], ["trust_list_missing"])


# -- a real health code ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("colour", "reason", "shown_by", "view"), [
    ("green", "", "李四", "proxy-code"), ("red", "密接 / close contact", None, "full"), ("yellow", "", None, "code"),
])
def test_health_code_from_the_issuer(world, cache, client, colour, reason, shown_by, view):
    eid = world.issue_health_code(colour, reason, shown_by)
    cache.sync(DirectorySource(world.data), now=int(time.time()))
    status, body = check(client, world.present(eid, view))
    assert status == 200 and body["valid"] is True, body
    d = body["display"]
    assert d["licence"]["label"] == "健康码 / Health code" and d["health"]["code"] == colour
    assert d["health"]["reason"] == (reason or "无异常")  # every view discloses the reason with the colour
    assert d["issuer"]["name"] == "北京市卫生健康委员会"
    assert body["claims"]["name"] == "张*"
    if shown_by:
        assert d["proxy"] == {"zh": "代为出示", "en": "shown on behalf", "by": "李*", "for": ""}
        assert "李四" not in json.dumps(body, ensure_ascii=False)
    else:
        assert d["proxy"] is None


def test_a_suspended_health_code_shows_no_colour(world, cache, client):
    eid = world.issue_health_code("green", "", None)
    world.revoke(eid, "--suspend")
    cache.sync(DirectorySource(world.data), now=int(time.time()))
    body = check(client, world.present(eid, "code"))[1]
    assert body["reasons"] == ["suspended"] and body["display"]["health"] is None
    assert body["display"]["reason"]["zh"].startswith("此健康码已被更新的码取代")
    assert body["display"]["reason"]["action"] == "retry"


# -- numbers no counter can use -------------------------------------------------------------------------------

@pytest.mark.parametrize("iat", [2**20000, 2**64, 2**53, -1], ids=["2^20000", "2^64", "2^53", "-1"])
def test_a_holder_proof_time_out_of_range_is_a_decision_at_the_api_and_the_cli(world, client, cache, iat):
    """The holder signs their own proof, so they choose its ``iat``: once 2^20000 was a traceback and a 500."""
    import cbor2

    from credentials import frame
    from credentials.cose import sign1
    from credentials.presentation import credential_digest
    from wallet.holder import Wallet

    wallet = Wallet(world.wallet)
    credential = wallet.load(world.eid).views["full"]
    proof = sign1(cbor2.dumps({6: iat}), wallet.device_key(int(time.time())),
                  external_aad=credential_digest(credential))
    qr = frame(cbor2.dumps([credential, proof]))
    status, body = check(client, qr)
    assert status == 200 and body["valid"] is False
    assert body["reasons"] == ["malformed_cbor" if abs(iat) >= 2**64 else "malformed_structure"]
    result = run("verify", "--cache", str(cache.directory), qr, code=1)
    assert json.loads(result.output)["valid"] is False and "Traceback" not in result.output
