"""The wheel (what `pip install .` and the Dockerfile install) carries every template, static file and migration."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("service", "idp", "issuer", "wallet", "verifier", "credentials", "storage", "keys")


@pytest.mark.slow
def test_wheel_carries_every_package_file(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("tongban-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(p.relative_to(ROOT))
        for package in PACKAGES
        for p in (ROOT / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel (add to [tool.setuptools.package-data]): {missing}"


def test_dockerfile_copies_every_package():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in PACKAGES:
        assert f"COPY {package} ./{package}" in dockerfile, package
