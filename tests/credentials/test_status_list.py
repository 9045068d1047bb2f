"""Token Status List (draft-ietf-oauth-status-list): the draft's published vectors, round trips, limits, fuzzing.

Expected values come from the draft (its example files in ../shared/vectors/status-list and the status
assignments of §4.1 and Appendix C copied below), never from this module's own output.
"""

from __future__ import annotations

import base64
import json
import re
import zlib

import cbor2
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycose.algorithms import Es256
from pycose.headers import KID, Algorithm
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message

import keys
from credentials.errors import CredentialError
from credentials.status_list import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListError,
    StatusListToken,
    list_digest,
    parse_status_reference,
    sign_status_list_cwt,
    sign_status_list_jwt,
    status_reference,
    verify_status_list_cwt,
    verify_status_list_jwt,
)
from tests.conftest import SHARED_VECTORS, examples

VECTORS = SHARED_VECTORS / "status-list"
EXAMPLES = VECTORS / "examples"

# Status assignments of the draft's Appendix C (every other entry is 0); list size 2^20 in each.
APPENDIX_C = {
    1: {0: 1, 1993: 1, 25460: 1, 159495: 1, 495669: 1, 554353: 1, 645645: 1, 723232: 1, 854545: 1, 934534: 1,
        1000345: 1},
    2: {0: 1, 1993: 2, 25460: 1, 159495: 3, 495669: 1, 554353: 1, 645645: 2, 723232: 1, 854545: 1, 934534: 2,
        1000345: 3},
    4: {0: 1, 1993: 2, 35460: 3, 459495: 4, 595669: 5, 754353: 6, 845645: 7, 923232: 8, 924445: 9, 934534: 10,
        1004534: 11, 1000345: 12, 1030203: 13, 1030204: 14, 1030205: 15},
}
# Appendix C.4 sets each value 0..255 once at its own index; a sample of those assignments:
APPENDIX_C_8_SAMPLE = {233478: 0, 52451: 1, 576778: 2, 513575: 3, 152133: 254, 19535: 255, 1199: 121, 4520: 213}
# §4.1's illustrated statuses, whose byte arrays the example files give.
SECTION_4_1 = {
    "status_list_encoding_json.md": (1, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]),
    "status_list_encoding2_json.md": (2, [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]),
}
ENCODING_FILES = [
    "status_list_encoding_json.md", "status_list_encoding_cbor.md",
    "status_list_encoding2_json.md", "status_list_encoding2_cbor.md",
    "status_list_encoding1_long_json.md", "status_list_encoding1_long_cbor.md",
    "status_list_encoding2_long_json.md", "status_list_encoding2_long_cbor.md",
    "status_list_encoding4_json.md", "status_list_encoding4_cbor.md",
    "status_list_encoding8_json.md", "status_list_encoding8_cbor.md",
]
SPEC_SUB, SPEC_IAT, SPEC_EXP, SPEC_TTL = "https://example.com/statuslists/1", 1686920170, 2291720170, 43200
SUB = "https://status.example.gov.cn/lists/7"
IAT, EXP = 1_700_000_000, 1_700_086_400


def vector(path: str) -> str:
    if not VECTORS.is_dir():
        pytest.skip(f"shared vectors not present at {VECTORS}")
    return (VECTORS / path).read_text()


def example(name: str) -> str:
    return vector(f"examples/{name}")


def squeeze(text: str) -> str:
    return re.sub(r"\s", "", text)


def parse_encoding(name: str) -> tuple[list[int] | None, dict]:
    """(byte_array if the file gives one, the encoded Status List object with lst as bytes)."""
    text = example(name)
    found = re.search(r"byte_array\s*=\s*\[([^\]]*)\]", text)
    byte_array = [int(b, 16) for b in found.group(1).split(",")] if found else None
    encoded = text.split("encoded:", 1)[-1]
    if name.endswith("_json.md"):
        obj = json.loads(squeeze(encoded))  # the long lst strings are wrapped over several lines
        raw = base64.urlsafe_b64decode(obj["lst"] + "=" * (-len(obj["lst"]) % 4))
        return byte_array, {"json": obj, "bits": obj["bits"], "lst": raw}
    cbor = bytes.fromhex(squeeze(encoded))
    obj = cbor2.loads(cbor)
    return byte_array, {"cbor": cbor, "bits": obj["bits"], "lst": obj["lst"]}


def decode_file(name: str, parsed: dict) -> StatusList:
    if name.endswith("_json.md"):
        return StatusList.from_json_obj(parsed["json"])
    return StatusList.from_cbor_obj(cbor2.loads(parsed["cbor"]))


def nonzero(status_list: StatusList, data: bytes) -> dict[int, int]:
    """Every non-zero entry, read entry by entry through get() but only where a byte is non-zero."""
    per_byte = 8 // status_list.bits
    return {i: status_list.get(i) for b, v in enumerate(data) if v
            for i in range(b * per_byte, (b + 1) * per_byte) if status_list.get(i)}


@pytest.fixture(scope="module")
def spec_key() -> keys.PrivateKey:
    jwk = json.loads(vector("example-key.json"))
    assert jwk["kid"] == "12"
    return keys.private_from_jwk(jwk)


@pytest.fixture(scope="module")
def es256() -> keys.PrivateKey:
    return keys.generate("ES256")


@pytest.fixture(scope="module")
def ed25519() -> keys.PrivateKey:
    return keys.generate("EdDSA")


def small_list() -> StatusList:
    status_list = StatusList(100, 2)
    status_list.set(3, INVALID)
    status_list.set(42, SUSPENDED)
    return status_list


def sign(fmt: str, key: keys.PrivateKey, status_list: StatusList | None = None, **overrides):
    args = {"subject_uri": SUB, "issued_at": IAT, "expires_at": EXP, "ttl": 3600, "signing_key": key,
            "kid": "k1", "alg": key.alg} | overrides
    signer = sign_status_list_jwt if fmt == "jwt" else sign_status_list_cwt
    return signer(status_list or small_list(), **args)


def verify(fmt: str, token, key: keys.PrivateKey | keys.PublicKey, **overrides) -> StatusListToken:
    public = key.public if isinstance(key, keys.PrivateKey) else key
    args = {"public_key": public, "alg": public.alg, "now": IAT + 60} | overrides
    verifier = verify_status_list_jwt if fmt == "jwt" else verify_status_list_cwt
    return verifier(token, **args)


def refused(reason: str | None = None):
    return pytest.raises(StatusListError, match=".") if reason is None else _RaisesReason(reason)


class _RaisesReason:
    def __init__(self, reason: str):
        self.reason, self.inner = reason, pytest.raises(StatusListError)

    def __enter__(self):
        self.info = self.inner.__enter__()
        return self.info

    def __exit__(self, *exc):
        suppressed = self.inner.__exit__(*exc)
        assert self.info.value.reason == self.reason, self.info.value
        return suppressed


# --- the draft's vectors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENCODING_FILES)
def test_vector_decodes_to_the_drafts_statuses(name):
    byte_array, parsed = parse_encoding(name)
    status_list = decode_file(name, parsed)
    data = status_list.as_bytes()
    assert status_list.bits == parsed["bits"]
    assert data == zlib.decompress(parsed["lst"])  # the reference inflater agrees on the content
    if byte_array is not None:
        assert list(data) == byte_array
    if name in SECTION_4_1:
        bits, statuses = SECTION_4_1[name]
        assert [status_list.get(i) for i in range(len(statuses))] == statuses
    if "_long_" in name or name.startswith(("status_list_encoding4", "status_list_encoding8")):
        assert status_list.size == 2**20
        if status_list.bits in APPENDIX_C:
            assert nonzero(status_list, data) == APPENDIX_C[status_list.bits]
        else:
            assert all(status_list.get(i) == v for i, v in APPENDIX_C_8_SAMPLE.items())
            assert sorted(v for v in data if v) == list(range(1, 256))  # C.4: each value once


@pytest.mark.parametrize("name", ENCODING_FILES)
def test_vector_reencodes(name):
    _, parsed = parse_encoding(name)
    original = zlib.decompress(parsed["lst"])
    status_list = StatusList.from_bytes(parsed["bits"], original)
    mine = status_list.encode_lst()
    assert mine[:2] == b"\x78\xda"  # ZLIB header: 32 KiB window, highest compression level (RFC 1950 §2.2)
    assert StatusList.decode(parsed["bits"], mine).as_bytes() == original
    # zlib output is not canonical across implementations; compare bytes only where this zlib reproduces them.
    if zlib.compress(original, 9) == parsed["lst"]:
        assert mine == parsed["lst"]
        if "cbor" in parsed:
            assert cbor2.dumps(status_list.to_cbor_obj()) == parsed["cbor"]
        else:
            assert status_list.to_json_obj() == parsed["json"]


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_json_and_cbor_vectors_carry_the_same_list(bits):
    stems = {1: ["status_list_encoding", "status_list_encoding1_long"], 2: ["status_list_encoding2",
             "status_list_encoding2_long"], 4: ["status_list_encoding4"], 8: ["status_list_encoding8"]}[bits]
    for stem in stems:
        _, as_json = parse_encoding(f"{stem}_json.md")
        _, as_cbor = parse_encoding(f"{stem}_cbor.md")
        assert as_json["bits"] == as_cbor["bits"] == bits
        assert as_json["lst"] == as_cbor["lst"]


def test_section_4_1_statuses_pack_into_the_drafts_byte_arrays():
    for name, (bits, statuses) in SECTION_4_1.items():
        byte_array, _ = parse_encoding(name)
        status_list = StatusList(len(statuses), bits)
        for idx, value in enumerate(statuses):
            status_list.set(idx, value)
        assert list(status_list.as_bytes()) == byte_array


def test_spec_jwt_verifies(spec_key):
    token = squeeze(example("status_list_jwt_raw.md"))
    result = verify("jwt", token, spec_key, now=SPEC_IAT + 1)
    # The decoded example of §5.1 (status_list_jwt.md) gives the claims; the raw token also carries "iss".
    header_text, payload_text = example("status_list_jwt.md").split("\n.\n")
    claims = json.loads(payload_text)
    assert json.loads(header_text) == {"alg": "ES256", "kid": "12", "typ": "statuslist+jwt"}
    assert (result.subject, result.issued_at, result.expires_at, result.ttl) == (
        claims["sub"], claims["iat"], claims["exp"], claims["ttl"])
    byte_array, _ = parse_encoding("status_list_encoding_json.md")
    assert list(result.status_list.as_bytes()) == byte_array
    with refused("status_list_expired"):
        verify("jwt", token, spec_key, now=SPEC_EXP)
    with refused("status_list_signature"):
        verify("jwt", token, keys.generate("ES256"), now=SPEC_IAT + 1)


def test_own_jwt_matches_the_spec_jwt_apart_from_iss_and_signature(spec_key):
    spec = squeeze(example("status_list_jwt_raw.md"))
    status_list = StatusList.from_json_obj(json.loads(example("status_list_jwt.md").split("\n.\n")[1])["status_list"])
    mine = sign("jwt", spec_key, status_list, subject_uri=SPEC_SUB, issued_at=SPEC_IAT, expires_at=SPEC_EXP,
                ttl=SPEC_TTL, kid="12", digest=False)
    assert mine.split(".")[0] == spec.split(".")[0]  # byte-identical protected header
    spec_claims = jwt.decode(spec, options={"verify_signature": False})
    assert jwt.decode(mine, options={"verify_signature": False}) == {k: v for k, v in spec_claims.items() if k != "iss"}
    assert verify("jwt", mine, spec_key, now=SPEC_IAT).subject == SPEC_SUB


def test_spec_cwt_verifies_and_own_cwt_matches_it_but_for_the_signature(spec_key):
    spec = bytes.fromhex(squeeze(example("status_list_cwt.md")))
    result = verify("cwt", spec, spec_key, now=SPEC_IAT + 1)
    assert (result.subject, result.issued_at, result.expires_at, result.ttl) == (SPEC_SUB, SPEC_IAT, SPEC_EXP, SPEC_TTL)
    byte_array, _ = parse_encoding("status_list_encoding_cbor.md")
    assert list(result.status_list.as_bytes()) == byte_array
    mine = sign("cwt", spec_key, result.status_list, subject_uri=SPEC_SUB, issued_at=SPEC_IAT, expires_at=SPEC_EXP,
                ttl=SPEC_TTL, kid="12", digest=False)
    assert len(mine) == len(spec) and mine[:-64] == spec[:-64]  # ECDSA signatures are randomised
    assert verify("cwt", mine, spec_key, now=SPEC_IAT).status_list == result.status_list
    with refused("status_list_expired"):
        verify("cwt", spec, spec_key, now=SPEC_EXP + 5)
    with refused("status_list_signature"):
        verify("cwt", spec, keys.generate("ES256"), now=SPEC_IAT + 1)


def test_spec_referenced_token_points_at_a_revoked_entry(spec_key):
    referenced = cbor2.loads(bytes.fromhex(squeeze(example("referenced_token_cwt.md"))))
    claims = cbor2.loads(referenced.value[2])
    idx, uri = parse_status_reference(claims[65535])  # §6.3: CWT claim 65535 "status"
    assert (idx, uri) == (0, SPEC_SUB)
    status_token = verify("cwt", bytes.fromhex(squeeze(example("status_list_cwt.md"))), spec_key,
                          now=SPEC_IAT + 1, expected_subject=uri)
    assert status_token.status_list.get(idx) == INVALID  # 0xB9: bit 0 set


# --- the list itself ------------------------------------------------------------------------------------------


def test_status_values_are_the_drafts():
    assert (VALID, INVALID, SUSPENDED) == (0, 1, 2)
    assert issubclass(StatusListError, CredentialError) and StatusListError.reason == "status_list_malformed"


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@settings(max_examples=examples(40), deadline=None)
@given(data=st.data())
def test_round_trips(bits, data):
    values = data.draw(st.lists(st.integers(0, (1 << bits) - 1), max_size=300))
    status_list = StatusList(len(values), bits)
    for idx, value in enumerate(values):
        status_list.set(idx, value)
    assert [status_list.get(i) for i in range(len(values))] == values
    assert len(status_list) == status_list.size == len(values)
    for decoded in (StatusList.from_json_obj(json.loads(json.dumps(status_list.to_json_obj()))),
                    StatusList.from_cbor_obj(cbor2.loads(cbor2.dumps(status_list.to_cbor_obj())))):
        assert decoded.bits == bits and decoded.size >= len(values)  # padded up to whole bytes (§4.1 step 2)
        assert [decoded.get(i) for i in range(len(values))] == values
        assert all(decoded.get(i) == VALID for i in range(len(values), decoded.size))


@given(st.sampled_from([1, 2, 4, 8]), st.lists(st.tuples(st.integers(0, 63), st.integers(0, 255)), max_size=60))
def test_set_changes_only_its_entry(bits, writes):
    status_list, model = StatusList(64, bits), [0] * 64
    for idx, value in writes:
        value %= 1 << bits
        status_list.set(idx, value)
        model[idx] = value
        assert [status_list.get(i) for i in range(64)] == model


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_bit_order_is_least_significant_first(bits):
    status_list = StatusList(8 // bits, bits)
    status_list.set(0, 1)
    assert status_list.as_bytes() == b"\x01"
    status_list.set(0, 0)
    status_list.set(8 // bits - 1, 1)
    assert status_list.as_bytes() == bytes([1 << (8 - bits)])


@pytest.mark.parametrize("idx", [-1, 10, 11, True, "1", 1.0, None])
def test_index_out_of_range(idx):
    status_list = StatusList(10, 4)
    with refused():
        status_list.get(idx)
    with refused():
        status_list.set(idx, 1)


@pytest.mark.parametrize(("bits", "value"), [(1, 2), (2, 4), (4, 16), (8, 256), (8, -1), (1, True), (2, "1")])
def test_value_out_of_range(bits, value):
    with refused("status_value_out_of_range"):
        StatusList(8, bits).set(0, value)


@pytest.mark.parametrize(("size", "bits"), [(8, 3), (8, 0), (8, 16), (8, True), (-1, 1), (1.5, 1), ("8", 1)])
def test_bad_shapes(size, bits):
    with refused():
        StatusList(size, bits)


# --- decompression limits and strict parsing -----------------------------------------------------------------------


def test_decompression_bomb_is_refused():
    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)  # 64 MiB of zeros in about 64 KB
    assert len(bomb) < 100_000
    with refused("status_list_too_large"):
        StatusList.decode(1, bomb)
    lst = base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()
    with refused("status_list_too_large"):
        StatusList.from_json_obj({"bits": 1, "lst": lst})
    with refused("status_list_too_large"):
        StatusList.from_cbor_obj({"bits": 8, "lst": bomb})


def test_decompression_limit_is_exact():
    lst = zlib.compress(bytes(range(100)), 9)
    assert StatusList.decode(8, lst, max_bytes=100).size == 100
    with refused("status_list_too_large"):
        StatusList.decode(8, lst, max_bytes=99)


def test_truncated_trailing_and_foreign_streams_are_refused():
    data = bytes(range(256)) * 4
    lst = zlib.compress(data, 9)
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    gzip = zlib.compressobj(9, zlib.DEFLATED, 31)
    for bad in (lst[:-1], lst[:-4], lst + b"\x00", lst + lst, b"", b"\x78",
                raw_deflate.compress(data) + raw_deflate.flush(), gzip.compress(data) + gzip.flush(),
                lst[:-1] + bytes([lst[-1] ^ 1])):  # last: Adler-32 checksum off by one bit
        with refused():
            StatusList.decode(8, bad)


@pytest.mark.parametrize("obj", [
    None, [], "x", {"bits": 1}, {"lst": "eNrbuRgAAhcBXQ"}, {"bits": 3, "lst": "eNrbuRgAAhcBXQ"},
    {"bits": True, "lst": "eNrbuRgAAhcBXQ"}, {"bits": 1.0, "lst": "eNrbuRgAAhcBXQ"}, {"bits": "1", "lst": "eNrbuRgAAhcBXQ"},
    {"bits": 1, "lst": "eNrbuRgAAhcBXQ=="}, {"bits": 1, "lst": "eNrbuRgAAhcBXQ+/"}, {"bits": 1, "lst": "eNrb uRgAAhcBXQ"},
    {"bits": 1, "lst": "eNrbuRgAAhcBXR"}, {"bits": 1, "lst": b"x\xda\xdb\xb9\x18\x00\x02\x17\x01]"},
    {"bits": 1, "lst": "eNrbuRgAAhcBXQ", "aggregation_uri": 5},
])
def test_json_form_is_strict(obj):
    assert StatusList.from_json_obj({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}).as_bytes() == b"\xb9\xa3"
    with refused():
        StatusList.from_json_obj(obj)


@pytest.mark.parametrize("obj", [
    None, {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}, {"bits": 1, "lst": bytearray(b"x\xda\xdb\xb9\x18\x00\x02\x17\x01]")},
    {1: 1, 2: b"x\xda\xdb\xb9\x18\x00\x02\x17\x01]"}, {"bits": 1.0, "lst": b"x\xda\xdb\xb9\x18\x00\x02\x17\x01]"},
])
def test_cbor_form_is_strict(obj):
    with refused():
        StatusList.from_cbor_obj(obj)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
lst_texts = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ", max_size=40)
status_list_json = st.fixed_dictionaries(
    {"bits": st.sampled_from([1, 2, 4, 8, 0, 3, True, "1"]), "lst": lst_texts | json_values},
    optional={"aggregation_uri": json_values},
)
cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.binary(max_size=30) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4),
    max_leaves=12,
)
status_list_cbor = st.fixed_dictionaries(
    {"bits": st.sampled_from([1, 2, 4, 8, 0, 3, True]),
     "lst": st.binary(max_size=40) | st.builds(lambda b: zlib.compress(b, 9), st.binary(max_size=40)) | cbor_values},
)


def only_status_list_error(fn, *args, **kwargs):
    """Run ``fn``; success or StatusListError are both fine, any other exception fails the test."""
    try:
        return fn(*args, **kwargs)
    except StatusListError:
        return None


@settings(max_examples=examples(300))
@given(st.sampled_from([1, 2, 4, 8]) | st.integers(-2, 16), st.binary(max_size=200))
def test_fuzz_decode(bits, data):
    only_status_list_error(StatusList.decode, bits, data, max_bytes=4096)


@settings(max_examples=examples(300))
@given(json_values | status_list_json)
def test_fuzz_from_json_obj(obj):
    only_status_list_error(StatusList.from_json_obj, obj)


@settings(max_examples=examples(300))
@given(cbor_values | status_list_cbor)
def test_fuzz_from_cbor_obj(obj):
    only_status_list_error(StatusList.from_cbor_obj, obj)


# --- Status List Tokens -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
@pytest.mark.parametrize("alg_key", ["es256", "ed25519"])
def test_token_round_trip(fmt, alg_key, request):
    key = request.getfixturevalue(alg_key)
    result = verify(fmt, sign(fmt, key), key, expected_subject=SUB)
    assert result == StatusListToken(subject=SUB, issued_at=IAT, expires_at=EXP, ttl=3600, status_list=small_list(),
                                     digest=list_digest(small_list()))
    assert (result.status_list.get(3), result.status_list.get(42), result.status_list.get(0)) == (
        INVALID, SUSPENDED, VALID)


def test_jwt_header_is_statuslist_jwt(es256):
    header = jwt.get_unverified_header(sign("jwt", es256))
    assert header == {"alg": "ES256", "typ": "statuslist+jwt", "kid": "k1"}


def test_cwt_headers(es256):
    outer = cbor2.loads(sign("cwt", es256))
    assert outer.tag == 18
    assert cbor2.loads(outer.value[0]) == {1: -7, 16: "application/statuslist+cwt"}
    assert outer.value[1] == {4: b"k1"}
    assert set(cbor2.loads(outer.value[2])) == {2, 6, 4, 65534, 65533, -65537}  # -65537: tongban's digest claim


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_another_key_is_refused(fmt, es256):
    with refused("status_list_signature"):
        verify(fmt, sign(fmt, es256), keys.generate("ES256"))


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_algorithm_is_the_callers(fmt, es256, ed25519):
    with refused("status_list_alg"):
        verify(fmt, sign(fmt, es256), ed25519)  # EdDSA expected: an ES256 token is refused
    with refused("status_list_alg"):
        verify(fmt, sign(fmt, ed25519), es256)
    with refused("status_list_alg"):
        verify(fmt, sign(fmt, es256), es256, alg="EdDSA")
    for alg in ("HS256", "none", "RS256", None):
        with refused("status_list_alg"):
            verify(fmt, sign(fmt, es256), es256, alg=alg)


def test_jwt_alg_confusion_and_none_are_refused(es256):
    claims = jwt.decode(sign("jwt", es256), options={"verify_signature": False})
    hs256 = jwt.encode(claims, "s" * 32, algorithm="HS256", headers={"typ": "statuslist+jwt"})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"typ": "statuslist+jwt"})
    for token in (hs256, unsigned):
        with refused("status_list_alg"):
            verify("jwt", token, es256)


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_expiry_uses_the_injected_clock(fmt, es256):
    token = sign(fmt, es256)
    assert verify(fmt, token, es256, now=EXP - 1).expires_at == EXP
    for now in (EXP, EXP + 1):
        with refused("status_list_expired"):
            verify(fmt, token, es256, now=now)
    assert verify(fmt, token, es256, now=EXP + 30, leeway=60).subject == SUB
    with refused("status_list_not_yet_valid"):
        verify(fmt, token, es256, now=IAT - 1)
    unexpiring = sign(fmt, es256, expires_at=None)
    with refused("status_list_expired"):
        verify(fmt, unexpiring, es256)
    assert verify(fmt, unexpiring, es256, require_exp=False).expires_at is None


def test_no_clock_is_read(es256, monkeypatch):
    tokens = {fmt: sign(fmt, es256) for fmt in ("jwt", "cwt")}

    def no_clock(*_args):
        raise AssertionError("the clock was read")

    monkeypatch.setattr("time.time", no_clock)
    monkeypatch.setattr("time.time_ns", no_clock)
    monkeypatch.setattr("jwt.api_jwt.datetime", type("NoClock", (), {"now": staticmethod(no_clock)}))
    for fmt, token in tokens.items():
        assert verify(fmt, token, es256).subject == SUB


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_subject_must_match_the_reference(fmt, es256):
    with refused("status_list_subject"):
        verify(fmt, sign(fmt, es256), es256, expected_subject="https://status.example.gov.cn/lists/8")


@pytest.mark.parametrize("typ", ["JWT", "jwt", "statuslist+cwt", "application/jwt", "", 7])
def test_jwt_wrong_typ_is_refused(typ, es256):
    claims = jwt.decode(sign("jwt", es256), options={"verify_signature": False})
    token = jwt.encode(claims, es256.crypto_key(), algorithm="ES256", headers={"typ": typ})
    with refused("status_list_typ"):
        verify("jwt", token, es256)


@pytest.mark.parametrize("typ", ["application/statuslist+jwt", "Statuslist+JWT"])
def test_jwt_typ_equivalent_forms_are_accepted(typ, es256):
    claims = jwt.decode(sign("jwt", es256), options={"verify_signature": False})
    token = jwt.encode(claims, es256.crypto_key(), algorithm="ES256", headers={"typ": typ})
    assert verify("jwt", token, es256).subject == SUB


def pycose_sign(key: keys.PrivateKey, claims, phdr=None, *, tag: bool = True, uhdr=None) -> bytes:
    numbers = key.crypto_key().private_numbers()
    message = Sign1Message(phdr=phdr if phdr is not None else {Algorithm: Es256, 16: "application/statuslist+cwt"},
                           uhdr={KID: b"k1"} if uhdr is None else uhdr, payload=cbor2.dumps(claims))
    message.key = EC2Key(crv=P256, x=numbers.public_numbers.x.to_bytes(32, "big"),
                         y=numbers.public_numbers.y.to_bytes(32, "big"), d=numbers.private_value.to_bytes(32, "big"))
    return message.encode(tag=tag)


def cwt_claims(**overrides):
    claims = {2: SUB, 6: IAT, 4: EXP, 65534: 3600, 65533: small_list().to_cbor_obj()}
    claims.update({int(k[1:]): v for k, v in overrides.items()})
    return {k: v for k, v in claims.items() if v is not None}


def test_cwt_built_independently_verifies(es256):
    assert verify("cwt", pycose_sign(es256, cwt_claims()), es256).status_list == small_list()
    protected_kid = {Algorithm: Es256, 16: "application/statuslist+cwt", KID: b"k1"}
    assert verify("cwt", pycose_sign(es256, cwt_claims(), protected_kid, uhdr={}), es256).subject == SUB
    with refused():  # RFC 9052 §3: a label in both buckets (here the kid) is malformed
        verify("cwt", pycose_sign(es256, cwt_claims(), protected_kid), es256)


@pytest.mark.parametrize("phdr", [
    {Algorithm: Es256}, {Algorithm: Es256, 16: "application/cwt"}, {Algorithm: Es256, 16: "statuslist+cwt"},
    {Algorithm: Es256, 16: "application/statuslist+jwt"}, {Algorithm: Es256, 16: "application/statuslist+cwt", 2: [16]},
    {Algorithm: Es256, 16: "application/statuslist+cwt", 33: b"cert"}, {Algorithm: Es256, 16: 61},
])
def test_cwt_wrong_protected_header_is_refused(phdr, es256):
    with refused():
        verify("cwt", pycose_sign(es256, cwt_claims(), phdr), es256)


def test_cwt_tagging(es256):
    good = sign("cwt", es256)
    with pytest.raises(StatusListError, match="tag 61"):  # §5.2 forbids the CWT tag
        verify("cwt", cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(good))), es256)
    with refused():
        verify("cwt", pycose_sign(es256, cwt_claims(), tag=False), es256)  # COSE_Sign1_Tagged is required
    with refused():
        verify("cwt", good + b"\x00", es256)


def test_cwt_unprotected_header_must_be_a_map(es256):
    outer = cbor2.loads(sign("cwt", es256))
    outer.value[1] = [4, b"k1"]  # not covered by the signature, still must be well-formed
    with refused():
        verify("cwt", cbor2.dumps(outer), es256)
    outer.value[1] = {4: b"another kid"}
    assert verify("cwt", cbor2.dumps(outer), es256).subject == SUB


def test_cwt_tampered_payload_is_refused(es256):
    outer = cbor2.loads(sign("cwt", es256))
    claims = cbor2.loads(outer.value[2])
    claims[65533] = StatusList(100, 2).to_cbor_obj()  # every entry VALID again
    outer.value[2] = cbor2.dumps(claims)
    with refused("status_list_signature"):
        verify("cwt", cbor2.dumps(outer), es256)


@pytest.mark.parametrize("claims", [
    {"s2": None}, {"s2": 5}, {"s2": "not a uri"}, {"s6": None}, {"s6": "1700000000"}, {"s6": 1.7e9}, {"s4": "x"},
    {"s4": IAT - 1}, {"s65534": 0}, {"s65534": -5}, {"s65534": "60"}, {"s65533": None},
    {"s65533": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}, {"s5": IAT + 3600},
])
def test_cwt_bad_claims_are_refused(claims, es256):
    with refused():
        verify("cwt", pycose_sign(es256, cwt_claims(**claims)), es256)


@pytest.mark.parametrize("change", [
    {"sub": None}, {"sub": 5}, {"iat": None}, {"iat": "1700000000"}, {"iat": True}, {"exp": IAT}, {"ttl": 0},
    {"ttl": 1.5}, {"status_list": None}, {"status_list": {"bits": 1, "lst": 5}}, {"aud": "someone"},
    {"nbf": IAT + 3600},
])
def test_jwt_bad_claims_are_refused(change, es256):
    claims = jwt.decode(sign("jwt", es256), options={"verify_signature": False}) | change
    token = jwt.encode({k: v for k, v in claims.items() if v is not None}, es256.crypto_key(), algorithm="ES256",
                       headers={"typ": "statuslist+jwt"})
    with refused():
        verify("jwt", token, es256)


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"claims"', b"null", b"\xff\xfe", b"{", b"[" * 100_000])
def test_jwt_payload_must_be_a_json_object(payload, es256):
    token = jwt.PyJWS().encode(payload, es256.crypto_key(), algorithm="ES256", headers={"typ": "statuslist+jwt"})
    with refused("status_list_malformed"):
        verify("jwt", token, es256)


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_a_bomb_inside_a_signed_token_is_refused(fmt, es256):
    bomb = StatusList.from_bytes(8, bytes(20 * 1024 * 1024))
    token = sign(fmt, es256, bomb)
    with refused("status_list_too_large"):
        verify(fmt, token, es256)
    assert verify(fmt, token, es256, max_bytes=32 * 1024 * 1024).status_list.size == 20 * 1024 * 1024


def test_signing_refuses_bad_arguments(es256, ed25519):
    for overrides in ({"alg": "HS256"}, {"subject_uri": "relative/path"}, {"issued_at": -1}, {"expires_at": IAT},
                      {"ttl": 0}, {"signing_key": ed25519}, {"signing_key": "secret"}):
        for fmt in ("jwt", "cwt"):
            with refused():
                sign(fmt, es256, **overrides)


b64 = st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode())
json_b64 = json_values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).rstrip(b"=").decode())


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120) | st.builds(lambda *p: ".".join(p), json_b64 | b64, json_b64 | b64, b64))
def test_fuzz_verify_jwt(es256, token):
    only_status_list_error(verify, "jwt", token, es256)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["sub", "iat", "exp", "ttl", "nbf", "status_list", "aud", "x"]),
                       json_values | status_list_json, max_size=7),
       st.sampled_from(["statuslist+jwt", "JWT", None]))
def test_fuzz_signed_jwt_claims(es256, claims, typ):
    token = jwt.encode(claims, es256.crypto_key(), algorithm="ES256", headers={"typ": typ} if typ else None)
    only_status_list_error(verify, "jwt", token, es256)


cose_like = st.builds(
    lambda tag, parts: cbor2.dumps(cbor2.CBORTag(tag, parts)),
    st.sampled_from([18, 61, 17, 96]),
    st.lists(st.binary(max_size=20) | cbor_values | st.builds(cbor2.dumps, cbor_values), min_size=3, max_size=5),
)


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.builds(cbor2.dumps, cbor_values) | cose_like)
def test_fuzz_verify_cwt(es256, token):
    only_status_list_error(verify, "cwt", token, es256)


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.integers(-3, 40) | st.text(max_size=3), cbor_values, max_size=3), st.binary(max_size=70))
def test_fuzz_cwt_protected_header_extras(es256, extra, signature):
    """Right alg and typ, then anything else in the protected header: pycose must never see it unguarded."""
    protected = cbor2.dumps({**extra, 1: -7, 16: "application/statuslist+cwt"})
    token = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, cbor2.dumps(cwt_claims()), signature]))
    only_status_list_error(verify, "cwt", token, es256)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from([1, 2, 4, 5, 6, 65533, 65534, "sub"]), cbor_values | status_list_cbor,
                       max_size=7) | cbor_values,
       st.sampled_from(["application/statuslist+cwt", "application/cwt", 61]))
def test_fuzz_signed_cwt_claims(es256, claims, typ):
    token = pycose_sign(es256, claims, {Algorithm: Es256, 16: typ})
    only_status_list_error(verify, "cwt", token, es256)


# --- referenced tokens (§6) ------------------------------------------------------------------------------------


def test_status_reference_round_trip():
    claim = status_reference(12345, SUB)
    assert claim == {"status_list": {"idx": 12345, "uri": SUB}}
    assert parse_status_reference(json.loads(json.dumps(claim))) == (12345, SUB)
    assert parse_status_reference(cbor2.loads(cbor2.dumps(claim))) == (12345, SUB)
    # Other status mechanisms and extra members may sit beside it (§6.1, §6.2 "at least").
    assert parse_status_reference({"status_list": {"idx": 0, "uri": SUB, "x": 1}, "other": {}}) == (0, SUB)


@pytest.mark.parametrize("obj", [
    None, [], {}, {"status_list": None}, {"status_list": []}, {"status_list": {"uri": SUB}},
    {"status_list": {"idx": 0}}, {"status_list": {"idx": -1, "uri": SUB}}, {"status_list": {"idx": True, "uri": SUB}},
    {"status_list": {"idx": 1.0, "uri": SUB}}, {"status_list": {"idx": "1", "uri": SUB}},
    {"status_list": {"idx": 0, "uri": ""}}, {"status_list": {"idx": 0, "uri": "no scheme"}},
    {"status_list": {"idx": 0, "uri": b"https://x"}}, {"status_list": {"idx": 0, "uri": "https://x\n"}},
    {"idx": 0, "uri": SUB},
])
def test_parse_status_reference_is_strict(obj):
    with refused("status_reference"):
        parse_status_reference(obj)


@pytest.mark.parametrize(("idx", "uri"), [(-1, SUB), (True, SUB), (0, "relative"), (0, None)])
def test_status_reference_refuses_bad_values(idx, uri):
    with refused("status_reference"):
        status_reference(idx, uri)


@given(json_values | cbor_values)
def test_fuzz_parse_status_reference(obj):
    only_status_list_error(parse_status_reference, obj)
    only_status_list_error(parse_status_reference, {"status_list": obj})
