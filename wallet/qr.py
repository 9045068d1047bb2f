"""QR rendering adapters: PNG file and terminal, ECC level M, alphanumeric mode (base45 stays in it)."""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
import qrcode.constants

from wallet.errors import WalletError


def _qr(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=6)
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_version(text: str) -> int:
    return _qr(text).version


def write_png(text: str, path: Path) -> int:
    """Write the QR as a PNG; a path that cannot be written is a ``WalletError`` naming it, not a traceback."""
    code = _qr(text)
    try:
        code.make_image().save(str(path))
    except OSError as exc:
        raise WalletError(f"cannot write the QR picture to {path}: {exc.strerror or exc}") from exc
    return code.version


def terminal(text: str) -> str:
    out = io.StringIO()
    _qr(text).print_ascii(out=out, invert=True)
    return out.getvalue()
