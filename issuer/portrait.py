"""A licence record's portrait (证件照): checked on the way in, and the demo's generated placeholders.

A portrait travels only to a counter that fetched the licence with the holder's authorisation (免证办,
``issuer.fetch``): never in a QR code, which has no room for it. It is stored sealed with the record's other
personal data (``issuer.records``, ``issuer.pii``).

What is accepted (``check_portrait``): a baseline or progressive JPEG (JFIF/Exif; ISO/IEC 10918-1) of at most
``MAX_BYTES``, starting with SOI and ending with EOI, that Pillow reads as JPEG and decodes completely, of
``MIN_SIDE``..``MAX_SIDE`` pixels on each side and taller than wide (a head-and-shoulders photo, as GA 461's
358×441 ID photo). Dimensions are read from the header before any pixel is decoded, so a small file that
claims a huge image (a decompression bomb) is refused before it costs memory. Every failure is a
``PortraitError`` naming what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, ImageDraw, UnidentifiedImageError

from issuer.errors import IssuerError

MAX_BYTES = 20 * 1024
MIN_SIDE, MAX_SIDE = 64, 1024
SOI, EOI = b"\xff\xd8\xff", b"\xff\xd9"


class PortraitError(IssuerError):
    """The portrait is not a JPEG tongban accepts (type, size, dimensions)."""

    reason = "invalid_portrait"


def check_portrait(data: object) -> bytes:
    """``data`` if it is an acceptable portrait; ``PortraitError`` otherwise."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise PortraitError("a portrait is a non-empty JPEG file")
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise PortraitError(f"the portrait is {len(data)} bytes; at most {MAX_BYTES} (20 KB)")
    if not data.startswith(SOI) or not data.rstrip(b"\x00").endswith(EOI):
        raise PortraitError("the portrait is not a JPEG (it must start with SOI and end with EOI)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
                width, height = image.size
                if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                    raise PortraitError(f"the portrait is {width}×{height} pixels; each side must be "
                                        f"{MIN_SIDE}..{MAX_SIDE}")
                if height < width:
                    raise PortraitError(f"the portrait is {width}×{height}: a portrait is taller than wide")
                image.load()  # decode every pixel: a truncated or corrupt body fails here
    except PortraitError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise PortraitError(f"the portrait is not a readable JPEG ({type(exc).__name__})") from exc
    return data


def placeholder_portrait(seed: str, *, size: tuple[int, int] = (240, 300)) -> bytes:
    """A generated head-and-shoulders silhouette on a background coloured from ``seed`` (the holder's ID
    number): the same person always gets the same picture, two people almost never the same, no asset files.
    For demo records only; a real register imports the authority's photos."""
    digest = hashlib.sha256(("tongban-demo-portrait:" + seed).encode()).digest()
    width, height = size
    background = (150 + digest[0] % 90, 160 + digest[1] % 80, 170 + digest[2] % 70)
    figure = (40 + digest[3] % 60, 50 + digest[4] % 60, 70 + digest[5] % 60)
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    head_w = width * (30 + digest[6] % 8) // 100
    head_h = head_w * (120 + digest[7] % 20) // 100
    cx, top = width // 2, height * 22 // 100
    draw.ellipse((cx - head_w, top, cx + head_w, top + 2 * head_h * 100 // 120), fill=figure)
    shoulders = height * 68 // 100
    draw.ellipse((cx - width * 45 // 100, shoulders, cx + width * 45 // 100, height + height * 40 // 100), fill=figure)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70, optimize=True)
    return check_portrait(out.getvalue())
