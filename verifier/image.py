"""Reading a QR code from a picture (a screenshot or a camera frame) with zxing-cpp."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import zxingcpp
from PIL import Image, UnidentifiedImageError

from verifier.errors import VerifierError

MAX_PIXELS = 40_000_000


def read_qr(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return _decode(handle, str(path))
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise VerifierError(f"no image at {path}", "image_unreadable") from exc


def read_qr_bytes(data: bytes, what: str = "the picture") -> str:
    """Decode a QR from PNG or JPEG bytes (a camera frame posted by the counter page)."""
    return _decode(io.BytesIO(data), what)


def _decode(handle: BinaryIO, what: str) -> str:
    try:
        with Image.open(handle, formats=("PNG", "JPEG")) as image:
            if image.width * image.height > MAX_PIXELS:
                raise VerifierError(f"{what} is too large to be a camera frame", "image_too_large")
            image.load()
            results = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise VerifierError(f"{what} is not a readable PNG or JPEG image", "image_unreadable") from exc
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise VerifierError(f"no QR code found in {what}", "no_qr_code")
    return texts[0]
