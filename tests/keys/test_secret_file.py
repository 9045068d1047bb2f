import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from keys.errors import KeyFormatError
from keys.secret_file import load_secret


def test_file_is_made_once_private_and_shared(tmp_path):
    path = tmp_path / "d" / "svc-secret"
    with ThreadPoolExecutor(8) as pool:
        values = set(pool.map(lambda _: load_secret(path, "X_SECRET", env={}), range(16)))
    assert len(values) == 1 and len(values.pop()) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["svc-secret"]  # no temporary files left behind


def test_environment_wins_and_is_checked(tmp_path):
    assert load_secret(tmp_path / "s", "X_SECRET", env={"X_SECRET": "ab" * 32}) == bytes([0xAB]) * 32
    assert not (tmp_path / "s").exists()
    for bad in ("zz" * 32, "ab" * 31):
        with pytest.raises(KeyFormatError):
            load_secret(tmp_path / "s", "X_SECRET", env={"X_SECRET": bad})
