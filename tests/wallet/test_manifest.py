"""The wallet's install manifest (issue 11, "The wallet as an app"): served as ``application/manifest+json``,
valid JSON, linked from the page, every icon it names serves with the type and size it claims, and the
service worker caches the manifest and icons (an installed wallet opens offline)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from flask import Flask
from PIL import Image

from wallet.web import bp

STATIC = Path(__file__).resolve().parents[2] / "wallet" / "static"


def client():
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app.test_client()


def test_manifest_is_json_with_its_media_type_and_the_install_fields():
    response = client().get("/wallet/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert "通办钱包" in manifest["name"] and "tongban wallet" in manifest["name"]
    assert manifest["start_url"] == "/wallet/" and manifest["scope"] == "/wallet/"
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512", "any"} <= sizes


def test_every_icon_serves_with_the_type_and_size_the_manifest_claims():
    c = client()
    manifest = c.get("/wallet/manifest.webmanifest").get_json(force=True)
    for icon in manifest["icons"]:
        response = c.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response.mimetype == icon["type"], icon["src"]
        if icon["type"] == "image/png":
            image = Image.open(io.BytesIO(response.data))
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"], icon["src"]
        response.close()


def test_the_page_links_the_manifest_and_the_service_worker_caches_it():
    page = client().get("/wallet/").get_data(as_text=True)
    assert '<link rel="manifest" href="/wallet/manifest.webmanifest">' in page
    sw = (STATIC / "sw.js").read_text(encoding="utf-8")
    assets = set(re.findall(r'"(/wallet/[^"]*)"', re.search(r"const ASSETS = \[(.*?)\];", sw, re.DOTALL).group(1)))
    manifest = client().get("/wallet/manifest.webmanifest").get_json(force=True)
    assert "/wallet/manifest.webmanifest" in assets
    assert {icon["src"] for icon in manifest["icons"]} <= assets
