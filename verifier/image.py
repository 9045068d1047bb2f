"""Reading a QR code from a picture (a screenshot or a camera frame) with zxing-cpp.

A counter's camera posts 1280×720 JPEG frames, and a verdict is wanted within a frame's time. Two things make the
decode about twice as fast (``benchmarks/camera_decode.py``, on the corpus of ``tests/verifier/camera_frames``):
the JPEG is decoded straight to greyscale (Pillow's draft mode: the decoder skips the colour conversion, and
zxing wants grey anyway), and the first pass skips what a tongban code never needs: 90° rotations (a QR code's
finder patterns work at any angle; this search is for 1-D barcodes), inverted (light-on-dark) codes and
down-scaled copies. Only when that pass finds nothing does a second pass try everything (a code shown inverted,
a very large or noisy frame), so nothing that read before is lost.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import zxingcpp
from PIL import Image, UnidentifiedImageError

from verifier.errors import VerifierError

MAX_PIXELS = 40_000_000
_QR = zxingcpp.BarcodeFormat.QRCode


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
            if image.format == "JPEG":
                image.draft("L", image.size)  # decode straight to greyscale, at full size
            image.load()
            grey = image if image.mode == "L" else image.convert("L")
            results = _valid(zxingcpp.read_barcodes(grey, formats=_QR, try_rotate=False, try_invert=False,
                                                    try_downscale=False))
            if not results:
                results = _valid(zxingcpp.read_barcodes(grey, formats=_QR))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise VerifierError(f"{what} is not a readable PNG or JPEG image", "image_unreadable") from exc
    if not results:
        raise VerifierError(f"no QR code found in {what}", "no_qr_code")
    return results[0]


def _valid(results: list) -> list[str]:
    return [r.text for r in results if r.valid and r.text]
