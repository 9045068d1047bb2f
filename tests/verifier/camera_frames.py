"""A corpus of camera-like 1280×720 JPEG frames of real tongban codes, for the image decoder's test and for
``benchmarks/camera_decode.py``: the code at several sizes (about 5 to 7 pixels a module), turned a little
either way and foreshortened, on a cluttered counter, blurred, lit unevenly, with sensor noise, saved at the
JPEG qualities a browser's ``canvas.toBlob`` uses. Deterministic (seeded), so the test and the benchmark see
the same frames.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from wallet.qr import _qr

W, H = 1280, 720


def code_image(text: str) -> Image.Image:
    return _qr(text).make_image().get_image().convert("L")


def frame(text: str, seed: int) -> bytes:
    rng = random.Random(seed)
    background = Image.new("RGB", (W, H), tuple(rng.randrange(60, 140) for _ in range(3)))
    draw = ImageDraw.Draw(background)
    for _ in range(250):  # clutter around the code, as on a counter
        x, y = rng.randrange(W), rng.randrange(H)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(5, 60), y + rng.randrange(5, 60)), fill=colour)
    code = code_image(text).convert("RGB")
    side = rng.randrange(380, 560)  # the phone held nearer or further (5 to 7 pixels a module at V13)
    code = code.resize((side, side), Image.BILINEAR)
    squeeze = rng.uniform(0.0, 0.08)  # the phone tilted: one side a little shorter
    code = code.transform(code.size, Image.QUAD, (0, 0, 0, side, side, side * (1 + squeeze), side, -side * squeeze),
                          Image.BILINEAR, fillcolor=(255, 255, 255))
    code = code.rotate(rng.uniform(-15, 15), expand=True, resample=Image.BILINEAR, fillcolor=(250, 250, 250))
    x, y = rng.randrange(0, max(1, W - code.width)), rng.randrange(0, max(1, H - code.height))
    background.paste(code, (x, y))
    shot = background.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))
    shot = ImageEnhance.Brightness(shot).enhance(rng.uniform(0.75, 1.15))
    shot = ImageEnhance.Contrast(shot).enhance(rng.uniform(0.7, 1.0))
    noise = Image.effect_noise((W, H), rng.uniform(8, 20)).convert("RGB")
    shot = Image.blend(shot, noise, 0.08)
    out = io.BytesIO()
    shot.save(out, "JPEG", quality=rng.choice((60, 70, 80, 92)))
    return out.getvalue()


def corpus(texts: list[str], per_text: int = 6) -> list[tuple[str, bytes]]:
    """(the text, a JPEG frame of it) for every text, ``per_text`` frames each."""
    return [(text, frame(text, seed=i * 1000 + j)) for i, text in enumerate(texts) for j in range(per_text)]
