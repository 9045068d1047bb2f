"""Reading a QR code from a picture (a screenshot or a camera frame) with zxing-cpp."""

from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image, UnidentifiedImageError

from verifier.errors import VerifierError

MAX_PIXELS = 40_000_000


def read_qr(path: Path) -> str:
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise VerifierError(f"{path} is too large to be a camera frame", "image_too_large")
            image.load()
            results = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise VerifierError(f"no image at {path}", "image_unreadable") from exc
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise VerifierError(f"{path} is not a readable PNG or JPEG image", "image_unreadable") from exc
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise VerifierError(f"no QR code found in {path}", "no_qr_code")
    return texts[0]
