"""Importing EU DCC document signers (verifier.dcc_trust, ``tongban verifier import-dcc-trust``)."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.wiring import main as cli
from tests.conftest import examples
from tests.dcc_world import DAY, NOW, gateway_list, kid_mapping, make_cert, sign_dcc, vaccination
from verifier.dcc_pipeline import verify_dcc
from verifier.dcc_trust import DscStore, import_signers, parse_trust_file, read_cscas
from verifier.errors import VerifierError


@pytest.fixture(scope="module")
def csca():
    return make_cert(ca=True, cn="CSCA AT", not_before=NOW - 900 * DAY, not_after=NOW + 900 * DAY)


@pytest.fixture(scope="module")
def dsc(csca):
    return make_cert(issuer=csca)


def test_gateway_list_and_kid_mapping_both_import(dsc):
    for data in (gateway_list((dsc, "AT")), kid_mapping(dsc),
                 json.dumps({"certificates": json.loads(gateway_list((dsc, "AT")))}).encode()):
        records, report = import_signers(data, now=NOW)
        assert report.stored == 1 and not report.refused and records[0]["kid"] == base64.b64encode(dsc.kid).decode()


def test_each_bad_entry_is_refused_with_its_reason_and_the_rest_kept(dsc):
    expired = make_cert(not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    p384 = make_cert(key_type="p384")
    entries = json.loads(gateway_list((dsc, "AT"), (expired, "AT"), (p384, "AT"), (make_cert(country="DE"), "AT")))
    entries.append({**entries[0], "kid": base64.b64encode(b"12345678").decode()})  # a kid not its certificate's
    entries.append({**entries[0], "thumbprint": "00" * 32})
    entries.append({**entries[0], "rawData": "not base64!"})
    entries.append({**entries[0], "certificateType": "UPLOAD"})
    records, report = import_signers(json.dumps(entries).encode(), now=NOW)
    assert report.stored == 1 and len(records) == 1
    assert sorted(report.refused.values()) == sorted(["dsc_expired", "dsc_key_unsupported", "dsc_country_mismatch",
                                                      "dsc_kid_mismatch", "dsc_kid_mismatch", "dsc_malformed",
                                                      "dsc_not_a_signer"])


def test_with_cscas_every_dsc_must_chain(csca, dsc):
    stranger = make_cert()  # self-signed, not by the CSCA
    other_ca = make_cert(ca=True, cn="CSCA other")
    by_other = make_cert(issuer=other_ca)
    pem = csca.cert.public_bytes(serialization.Encoding.PEM)
    records, report = import_signers(gateway_list((dsc, "AT"), (stranger, "AT"), (by_other, "AT")), now=NOW,
                                     csca_ders=read_cscas(pem))
    assert report.stored == report.chained == 1 and records[0]["chained"] is True
    assert sorted(report.refused.values()) == ["dsc_chain", "dsc_chain"]
    # CSCA entries inside the list itself count as given too.
    _, report = import_signers(gateway_list((dsc, "AT"), (stranger, "AT"), csca=(csca,)), now=NOW)
    assert report.chained == 1 and list(report.refused.values()) == ["dsc_chain"]


def test_a_csca_that_is_not_a_ca_or_is_expired_chains_nothing(csca):
    not_ca = make_cert(cn="not a CA")
    child = make_cert(issuer=not_ca)
    _, report = import_signers(gateway_list((child, "AT")), now=NOW, csca_ders=[not_ca.der])
    assert list(report.refused.values()) == ["dsc_chain"]
    old_ca = make_cert(ca=True, not_before=NOW - 900 * DAY, not_after=NOW - DAY)
    child = make_cert(issuer=old_ca)
    _, report = import_signers(gateway_list((child, "AT")), now=NOW, csca_ders=[old_ca.der])
    assert list(report.refused.values()) == ["dsc_chain"]


def test_a_csca_of_another_country_does_not_vouch(csca):
    child = make_cert(issuer=csca, country="DE")
    _, report = import_signers(gateway_list((child, "DE")), now=NOW, csca_ders=[csca.der])
    assert list(report.refused.values()) == ["dsc_chain"]


@pytest.mark.parametrize("data", [b"", b"not json", b"[1, 2]", b'{"kid": "x"}', b'"text"', b"{" * 100_000])
def test_unreadable_files_are_refused_whole(data):
    with pytest.raises(VerifierError) as caught:
        parse_trust_file(data)
    assert caught.value.reason == "dcc_trust_malformed"


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20))
def test_any_json_is_entries_or_a_specific_refusal(doc):
    try:
        records, report = import_signers(json.dumps(doc).encode(), now=NOW)
    except VerifierError as exc:
        assert exc.reason == "dcc_trust_malformed"
    else:
        assert records == [] and report.stored == 0


def test_cli_import_replaces_atomically_and_keeps_the_old_set_when_nothing_is_usable(tmp_path, dsc):
    cache = tmp_path / "cache"
    good, junk = tmp_path / "good.json", tmp_path / "junk.json"
    good.write_text(gateway_list((dsc, "AT")).decode())
    junk.write_text(json.dumps([{"kid": "x", "certificateType": "DSC", "rawData": "AAAA"}]))
    now = "2026-05-28T20:26:40Z"
    runner = CliRunner()
    result = runner.invoke(cli, ["verifier", "import-dcc-trust", str(good), "--cache", str(cache), "--now", now])
    assert result.exit_code == 0, result.output
    assert "1 EU DCC document signer(s) stored" in result.output and "unchained" in result.output
    result = runner.invoke(cli, ["verifier", "import-dcc-trust", str(junk), "--cache", str(cache), "--now", now])
    assert result.exit_code == 2 and "keeps its previous set" in result.output
    assert DscStore(cache).find(dsc.kid), "the previous set is still there"
    assert not list(cache.glob("*.tmp"))
    code = sign_dcc(vaccination(), dsc)
    result = runner.invoke(cli, ["verify", "--cache", str(cache), "--now", now, code])
    assert result.exit_code == 0 and json.loads(result.output)["claims"]["dcc_dob"] == "1998-02-26"
    result = runner.invoke(cli, ["verify", "--cache", str(cache), "--now", now, code[:-10] + "0000000000"])
    assert result.exit_code == 1


def test_cli_some_refused_is_exit_1(tmp_path, dsc):
    mixed = tmp_path / "mixed.json"
    mixed.write_text(gateway_list((dsc, "AT"), (make_cert(not_after=NOW - DAY, not_before=NOW - 9 * DAY), "AT")).decode())
    result = CliRunner().invoke(cli, ["verifier", "import-dcc-trust", str(mixed), "--cache", str(tmp_path / "c"),
                                      "--now", "2026-05-28T20:26:40Z"])
    assert result.exit_code == 1 and "dsc_expired" in result.output


def test_a_new_import_drops_withdrawn_signers(tmp_path, dsc):
    store = DscStore(tmp_path)
    other = make_cert()
    store.save(import_signers(kid_mapping(dsc, other), now=NOW)[0], now=NOW)
    assert verify_dcc(sign_dcc(vaccination(), other), signers=store, now=NOW).valid
    store.save(import_signers(kid_mapping(dsc), now=NOW)[0], now=NOW + 1)
    assert verify_dcc(sign_dcc(vaccination(), other), signers=store, now=NOW).reasons == ("dcc_unknown_signer",)
