"""Portraits on licence records: only real, small, portrait-shaped JPEGs; demo placeholders are deterministic."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from issuer.portrait import MAX_BYTES, PortraitError, check_portrait, placeholder_portrait
from tests.conftest import examples


def jpeg(size=(240, 300), quality=70, colour=(120, 140, 160), fmt="JPEG", noise=False) -> bytes:
    image = Image.new("RGB", size, colour)
    if noise:
        image = Image.frombytes("RGB", size, bytes((i * 7919) % 251 for i in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()


def test_placeholders_are_deterministic_per_person_small_and_valid():
    a, b = placeholder_portrait("110101199003071233"), placeholder_portrait("440304198512124569")
    assert a == placeholder_portrait("110101199003071233") and a != b
    assert check_portrait(a) == a and len(a) <= MAX_BYTES


def test_a_real_jpeg_passes():
    data = jpeg()
    assert check_portrait(data) == data


@pytest.mark.parametrize(("data", "words"), [
    (b"", "non-empty"),
    ("text", "non-empty"),
    (b"GIF89a" + b"\x00" * 100, "not a JPEG"),
    (jpeg(fmt="PNG"), "not a JPEG"),
    (jpeg(noise=True, size=(64, 80))[:-600], "not a JPEG"),  # cut short: no EOI
    (jpeg()[:2] + b"\xff\xc0\x00\x03\x08" + jpeg()[2:], "not a readable JPEG"),  # a broken frame header first
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9", "not a readable JPEG"),
    (jpeg(size=(300, 240)), "taller than wide"),
    (jpeg(size=(40, 60)), "64..1024"),
])
def test_what_is_not_a_portrait_is_refused_with_words(data, words):
    with pytest.raises(PortraitError, match=words):
        check_portrait(data)


def test_too_large_is_refused_before_decoding():
    big = jpeg(size=(600, 800), quality=95, noise=True)
    assert len(big) > MAX_BYTES
    with pytest.raises(PortraitError, match="at most 20480"):
        check_portrait(big)


@pytest.mark.parametrize(("height", "width"), [(60000, 50000), (1600, 800), (1025, 1000)])
def test_a_header_claiming_a_huge_image_is_refused_before_its_pixels_are_decoded(height, width):
    data = bytearray(jpeg(size=(64, 80)))
    sof = data.index(b"\xff\xc0")  # baseline SOF0: length(2) precision(1) height(2) width(2)
    data[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    with pytest.raises(PortraitError, match="64..1024|DecompressionBomb"):
        check_portrait(bytes(data))


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=400), st.integers(0, 2000))
def test_arbitrary_bytes_in_a_jpeg_give_a_portrait_error_or_pass(noise, at):
    data = bytearray(placeholder_portrait("x"))
    at = min(at, len(data))
    data[at:at + len(noise)] = noise
    try:
        check_portrait(bytes(data))
    except PortraitError:
        pass


def test_records_keep_the_portrait_sealed(tmp_path):
    from sqlalchemy import create_engine, select

    from issuer.pii import Vault
    from issuer.records import Records, records
    from storage.sql import metadata

    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    register = Records(engine, Vault(b"k" * 32))
    claims = {"name": "张三", "sex": "男", "ethnicity": "汉", "birth_date": "1990-03-07", "address": "北京市东城区东长安街1号",
              "id_number": "110101199003071233", "issuing_authority": "北京市公安局东城分局", "valid_from": "2018-03-07",
              "valid_until": "2038-03-07"}
    portrait = placeholder_portrait("110101199003071233")
    assert register.ensure("resident-id", "bj-police", claims, now=1, portrait=portrait)
    [record] = register.held_by("110101199003071233")
    assert record.portrait == portrait
    with engine.connect() as conn:
        stored = conn.execute(select(records)).first()
    assert b"JFIF" not in str(stored).encode() and "/9j/" not in str(stored)
    with pytest.raises(PortraitError):
        register.set_portrait(record.record_id, b"not a jpeg", now=2)
    with pytest.raises(PortraitError):
        register.put_many("resident-id", "bj-police", [("110101199003071233", claims)], now=3,
                          portraits={"110101199003071233": jpeg(fmt="PNG")})
    assert register.get(record.record_id).portrait == portrait, "a refused portrait changes nothing"
    register.set_portrait(record.record_id, None, now=4)
    assert register.get(record.record_id).portrait is None
