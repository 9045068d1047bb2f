"""Authority registers: CSV import (all or nothing, first error by line and field) and the init seed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from stdnum.cn import ric

from issuer.pii import open_vault
from issuer.records import DEMO_RECORDS, Record, RecordImportError, Records, parse_csv
from service.wiring import main
from storage import create_all, make_engine

HEADER = ("name,sex,birth_date,id_number,address,licence_number,vehicle_classes,first_issue_date,valid_from,"
          "valid_until,issuing_authority")
ROW = "张三,男,1990-03-07,110101199003071233,北京市东城区,110101199003071233,{classes},2010-05-01,2020-05-01,2030-05-01,交管局"
ROW2 = "李四,女,1985-12-12,440304198512124569,深圳市,440304198512124569,C1,2008-07-01,2020-07-01,2032-07-01,交管局"


@pytest.fixture
def register(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    create_all(engine)
    return Records(engine, open_vault(engine, b"s" * 32))


def test_import_parses_vehicle_classes_space_or_comma_separated(register):
    text = "\n".join([HEADER, ROW.format(classes='"C1, D"'), ROW2]) + "\n"
    assert register.import_csv("driving-licence", "bj-traffic-police", text, now=1) == 2
    [held] = register.held_by("110101199003071233")
    assert held.claims["vehicle_classes"] == ["C1", "D"] and held.claims["birth_date"] == "1990-03-07"
    assert register.get(held.record_id) == held
    text = "\n".join([HEADER, ROW.format(classes="C1 C2")])
    register.import_csv("driving-licence", "bj-traffic-police", text, now=2)  # re-export replaces
    [held] = register.held_by("110101199003071233")
    assert held.claims["vehicle_classes"] == ["C1", "C2"]


@pytest.mark.parametrize(("row", "line", "field"), [
    (ROW.format(classes="C1").replace("1990-03-07,", "1990-03-08,", 1), 3, "birth_date"),
    (ROW.format(classes="C1").replace("张三,男", "张三,女"), 3, "sex"),
    (ROW.format(classes="Z9"), 3, "vehicle_classes"),
    (ROW.format(classes="C1").replace("110101199003071233", "110101199003071234"), 3, "id_number"),
    (ROW2, 3, "id_number"),  # the same holder twice
    (ROW.format(classes="C1") + ",extra", 3, "row"),
])
def test_import_is_all_or_nothing_and_names_line_and_field(register, row, line, field):
    text = "\n".join([HEADER, ROW2, row])
    with pytest.raises(RecordImportError) as exc:
        register.import_csv("driving-licence", "bj-traffic-police", text, now=1)
    assert (exc.value.line, exc.value.field) == (line, field)
    assert f"line {line}, {field}:" in str(exc.value)
    assert register.held_by("440304198512124569") == []


def test_header_must_name_exactly_the_types_claims():
    with pytest.raises(RecordImportError, match="line 1, header: missing column issuing_authority"):
        parse_csv("driving-licence", HEADER.removesuffix(",issuing_authority") + "\n")
    with pytest.raises(RecordImportError, match="unknown column colour"):
        parse_csv("driving-licence", HEADER + ",colour\n")


def test_business_licence_rows_name_their_holder():
    header = ("uscc,name,legal_representative,entity_type,registered_capital,established_on,address,business_scope,"
              "registration_authority,holder_id_number")
    row = "91110000600037341L,通办科技有限公司,张三,有限责任公司,100万元,2015-01-01,北京,软件开发,北京市市场监督管理局,"
    with pytest.raises(RecordImportError, match="line 2, holder_id_number"):
        parse_csv("business-licence", f"{header}\n{row}\n")
    [(holder, _claims)] = parse_csv("business-licence", f"{header}\n{row}110101199003071233\n")
    assert holder == "110101199003071233"


def test_demo_records_match_their_id_numbers():
    for _type, claims in DEMO_RECORDS:
        number = claims["id_number"]
        assert ric.get_birth_date(number).isoformat() == claims["birth_date"]
        assert claims["sex"] == ("男" if int(number[16]) % 2 else "女")


def test_cli_import_and_init_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("TONGBAN_DEV_PLAINTEXT_KEYS", "1")
    runner, data = CliRunner(), str(tmp_path / "data")
    first = runner.invoke(main, ["init", "--data", data])
    assert first.exit_code == 0, first.output
    assert "3 demo licence record(s)" in first.output
    assert "wallet: public client tongban-wallet registered, redirect URI http://127.0.0.1:8000/wallet/" in first.output
    again = runner.invoke(main, ["init", "--data", data])
    assert "already on the authorities' registers" in again.output
    assert "client tongban-wallet already registered" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, ROW2, ROW.format(classes="X")]) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["records", "import", "driving-licence", str(bad), "--data", data])
    assert result.exit_code == 2 and "line 3, vehicle_classes:" in result.output
    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, ROW.format(classes="C1")]) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["records", "import", "driving-licence", str(good), "--data", data])
    assert result.exit_code == 0 and "imported 1 driving-licence record(s)" in result.output

    # Portraits (免证办): the demo records have their placeholders; an operator sets a real one, checked.
    from issuer.cli import records_for
    from issuer.portrait import placeholder_portrait
    from service.config import Settings

    def held() -> Record:
        [found] = [r for r in records_for(Settings.from_env(data)).held_by("110101199003071233")
                   if r.licence_type == "resident-id"]
        return found

    assert held().portrait == placeholder_portrait("110101199003071233")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(placeholder_portrait("someone else"))
    result = runner.invoke(main, ["records", "portrait", "resident-id", "110101199003071233", str(photo), "--data", data])
    assert result.exit_code == 0 and held().portrait == photo.read_bytes(), result.output
    not_jpeg = tmp_path / "photo.png"
    not_jpeg.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    result = runner.invoke(main, ["records", "portrait", "resident-id", "110101199003071233", str(not_jpeg),
                                  "--data", data])
    assert result.exit_code == 2 and "not a JPEG" in result.output and held().portrait == photo.read_bytes()
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\x00" * 21_000 + b"\xff\xd9")
    result = runner.invoke(main, ["records", "portrait", "resident-id", "110101199003071233", str(big), "--data", data])
    assert result.exit_code == 2 and "at most 20480" in result.output
    nobody = runner.invoke(main, ["records", "portrait", "resident-id", "110101199001011234", str(photo), "--data", data])
    assert nobody.exit_code == 2 and "no resident-id" in nobody.output
    removed = runner.invoke(main, ["records", "portrait", "resident-id", "110101199003071233", "--remove", "--data", data])
    assert removed.exit_code == 0 and held().portrait is None
