"""QR codes from pictures: a clean PNG, and a camera-like JPEG (rotated, scaled, on a busy background)."""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageDraw, ImageFilter

from verifier.errors import VerifierError
from verifier.image import read_qr, read_qr_bytes
from wallet.qr import write_png

TEXT = "TB1:" + "6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%NFQGRJPC%OQHIZC4.OI1RM8ZA*LPUY29+KCFF-+K*LPH*AO+"


def test_png_round_trip(tmp_path):
    png = tmp_path / "qr.png"
    write_png(TEXT, png)
    assert read_qr(png) == TEXT


def test_camera_like_jpeg(tmp_path):
    png = tmp_path / "qr.png"
    write_png(TEXT, png)
    rng = random.Random(7)
    frame = Image.new("RGB", (1280, 960), (90, 110, 100))
    draw = ImageDraw.Draw(frame)
    for _ in range(300):  # clutter around the code, as on a counter
        x, y = rng.randrange(1280), rng.randrange(960)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(5, 60), y + rng.randrange(5, 60)), fill=colour)
    code = Image.open(png).convert("RGB").resize((520, 520)).rotate(8, expand=True, fillcolor=(255, 255, 255))
    frame.paste(code, (380, 200))
    frame = frame.filter(ImageFilter.GaussianBlur(1.2))
    jpeg = tmp_path / "frame.jpg"
    frame.save(jpeg, quality=60)
    assert read_qr(jpeg) == TEXT


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_unreadable_pictures_are_one_clear_error(tmp_path, content):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(VerifierError) as err:
        read_qr(path)
    assert err.value.reason in {"image_unreadable", "no_qr_code"}


def test_picture_without_a_code(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(path)
    with pytest.raises(VerifierError) as err:
        read_qr(path)
    assert err.value.reason == "no_qr_code"


@pytest.mark.slow
def test_every_camera_frame_of_the_corpus_reads(tmp_path):
    """The tuned first pass (greyscale draft, no rotation/inversion/downscale search) loses no frame."""
    import credentials
    from tests.verifier.camera_frames import corpus

    rng = random.Random(13)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    texts = [credentials.PREFIX + "".join(rng.choice(alphabet) for _ in range(n)) for n in (476, 381)]  # as long as
    # a full driving licence (version 13) and an age view (version 12)
    for text, jpeg in corpus(texts, per_text=8):
        assert read_qr_bytes(jpeg) == text


def test_an_inverted_code_still_reads_through_the_second_pass(tmp_path):
    from PIL import ImageOps

    png = tmp_path / "qr.png"
    write_png(TEXT, png)
    inverted = tmp_path / "inverted.png"
    ImageOps.invert(Image.open(png).convert("L")).save(inverted)
    assert read_qr(inverted) == TEXT
