"""The counter code as a picture for the counter page: an SVG QR code (ECC level M) in a ``data:`` URL.

Drawn on the server with the ``qrcode`` package, so the counter page needs no QR library of its own and
the CSP stays ``img-src 'self' data:``. A counter code is ~150 characters of the alphanumeric alphabet:
a version 5 or 6 symbol, readable by a phone camera from across a desk when shown ≥ 6 cm wide.
"""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.constants
import qrcode.image.svg


def qr_svg_data_url(text: str) -> str:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10,
                         image_factory=qrcode.image.svg.SvgPathFillImage)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")
