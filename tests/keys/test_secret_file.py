import stat
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.errors import KeyAtRestError, KeyFormatError, KeysError
from keys.secret_file import is_sealed, load_secret
from tests.conftest import examples


def test_file_is_made_once_private_and_shared(tmp_path):
    path = tmp_path / "d" / "svc-secret"
    with ThreadPoolExecutor(8) as pool:
        values = set(pool.map(lambda _: load_secret(path, "X_SECRET"), range(16)))
    assert len(values) == 1 and len(values.pop()) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["svc-secret"]  # no temporary files left behind


def test_a_configured_value_wins_and_is_checked(tmp_path):
    assert load_secret(tmp_path / "s", "X_SECRET", value="ab" * 32) == bytes([0xAB]) * 32
    assert not (tmp_path / "s").exists()
    for bad in ("zz" * 32, "ab" * 31):
        with pytest.raises(KeyFormatError):
            load_secret(tmp_path / "s", "X_SECRET", value=bad)


PASS = "correct horse battery staple"


def test_with_a_passphrase_a_new_secret_is_sealed(tmp_path):
    path = tmp_path / "svc-secret"
    value = load_secret(path, "X_SECRET", passphrase=PASS)
    text = path.read_text()
    assert value.hex() not in text and text.startswith("tongban-sealed-secret:")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(path, "X_SECRET", passphrase=PASS) == value
    assert is_sealed(path) and not is_sealed(tmp_path / "absent")


def test_an_existing_plaintext_secret_is_sealed_on_the_next_start(tmp_path):
    """Issue 8, item 17: the migration of a data directory made before secrets were sealed."""
    path = tmp_path / "svc-secret"
    value = load_secret(path, "X_SECRET")
    assert path.read_text().strip() == value.hex() and not is_sealed(path)  # the plaintext file the attack reads
    with ThreadPoolExecutor(8) as pool:  # several workers starting together agree
        assert set(pool.map(lambda _: load_secret(path, "X_SECRET", passphrase=PASS), range(8))) == {value}
    assert value.hex() not in path.read_text() and is_sealed(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["svc-secret"]
    assert load_secret(path, "X_SECRET", passphrase=PASS) == value


def test_a_sealed_secret_needs_the_right_passphrase(tmp_path):
    path = tmp_path / "svc-secret"
    load_secret(path, "X_SECRET", passphrase=PASS)
    with pytest.raises(KeyAtRestError, match="TONGBAN_KEY_PASSPHRASE"):
        load_secret(path, "X_SECRET")
    with pytest.raises(KeyAtRestError, match="TONGBAN_KEY_PASSPHRASE"):
        load_secret(path, "X_SECRET", passphrase="wrong")


@settings(max_examples=examples(60), deadline=None)
@given(text=st.text(max_size=300))
def test_a_damaged_secret_file_is_a_key_error_not_a_traceback(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("damaged") / "svc-secret"
    path.write_text(text)
    for passphrase in (None, PASS):
        try:
            value = load_secret(path, "X_SECRET", passphrase=passphrase)
        except KeysError:
            continue
        assert len(value) >= 32
