"""Service secrets (HMAC and encryption master keys): from an environment variable, else a 0600 file.

The file is made on first use with 32 random bytes; several processes starting together agree on one
value because the first ``link`` wins. A value from the environment must be hex of at least 32 bytes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from keys.errors import KeyFormatError

MIN_BYTES = 32


def load_secret(path: Path, env_name: str, env: dict[str, str] | None = None) -> bytes:
    env = os.environ if env is None else env
    if env.get(env_name):
        try:
            value = bytes.fromhex(env[env_name])
        except ValueError as exc:
            raise KeyFormatError(f"{env_name} must be hex") from exc
        if len(value) < MIN_BYTES:
            raise KeyFormatError(f"{env_name} must hold at least {MIN_BYTES} bytes ({2 * MIN_BYTES} hex digits)")
        return value
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_hex(MIN_BYTES))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # first writer wins across processes
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())
