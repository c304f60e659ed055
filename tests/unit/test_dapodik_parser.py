"""The Dapodik parser on messy exports: encodings, separators, date forms, names for places."""

from __future__ import annotations

import datetime as dt

import pytest

from services.intake.dapodik import DapodikFileError, parse_dapodik
from shared.areas import load_areas

TODAY = dt.date(2026, 11, 23)
AREAS = load_areas()


def parse(text: str, encoding: str = "utf-8") -> object:
    return parse_dapodik(text.encode(encoding), areas=AREAS, today=TODAY)


def test_bom_semicolons_spaces_and_day_first_dates() -> None:
    text = ("\ufeffNISN ; NIK ;Nama Peserta Didik;JK;Tanggal Lahir;NPSN;Kecamatan;Desa/Kelurahan\r\n"
            " 0071234567 ; 1702064507070001 ; Siti  Sintetis ;P; 05/07/2007 ;10700123; Kota Padang ; Derati \r\n")
    result = parse(text)
    assert not result.errors and len(result.rows) == 1
    row = result.rows[0]
    assert row.line == 2 and row.nisn == "0071234567"
    assert row.data.name == "Siti Sintetis" and row.data.birth_date == dt.date(2007, 7, 5)
    assert (row.data.kecamatan_code, row.data.desa_code) == ("17.02.06", "17.02.06.2001")


def test_commas_iso_dates_codes_and_combined_place_and_date() -> None:
    text = ('NIK,Nama,Jenis Kelamin,"Tempat/Tanggal Lahir",Kecamatan,Desa\n'
            '1702061207070002,Budi Sintetis,Laki-laki,"Curup, 12/07/2007",17.02.06,1702062001\n'
            '1702061307070003,Adi Sintetis,L,Curup / 2007-07-13,170206,Desa Derati\n')
    result = parse(text)
    assert not result.errors, result.errors
    assert [r.birth_place for r in result.rows] == ["Curup", "Curup"]
    assert result.rows[1].data.birth_date == dt.date(2007, 7, 13)


def test_row_errors_name_line_and_column_and_never_the_nik_or_name() -> None:
    text = ("NIK;Nama;JK;Tanggal Lahir;Kecamatan;Desa\n"
            "1702064507070001;Siti Sintetis;P;05/07/2007;Kota Padang;Derati\n"
            "1702061207070002;Budi Sintetis;X;12/07/2007;Kota Padang;Derati\n"
            "1702061307070003;Adi Sintetis;L;31/02/2007;Kota Padang;Derati\n"
            "1702061407070004;Ani Sintetis;L;15/07/2007;Kota Padang;Derati\n"
            "1702061607070005;Ina Sintetis;L;16/07/2007;Kota Padang;Desa Tidak Ada\n"
            "1702061707070006;Ida Sintetis;L;17/07/2007;Kota Padang\n"
            "1702064507070001;Siti Sintetis;P;05/07/2007;Kota Padang;Derati\n")
    result = parse(text)
    assert [r.line for r in result.rows] == [2]
    by_line = {e.line: e for e in result.errors}
    assert by_line[3].column == "JK"
    assert by_line[4].column == "Tanggal Lahir"
    assert by_line[5].column == "Tanggal Lahir"
    assert by_line[6].column == "Desa"
    assert by_line[7].column == "(baris)"
    assert "baris 2" in by_line[8].reason
    for error in result.errors:
        assert "17020" not in error.reason and "Sintetis" not in error.reason


def test_missing_columns_and_wrong_encoding_are_file_errors() -> None:
    with pytest.raises(DapodikFileError) as missing:
        parse("NISN;Nama\n1;Budi\n")
    assert "NIK" in missing.value.missing_columns
    with pytest.raises(DapodikFileError, match="UTF-8"):
        parse("NIK;Nama;JK;Tanggal Lahir;Kecamatan;Desa\n1;Ma\xefmunah;P;01/01/2007;Kota Padang;Derati\n", "latin-1")
    with pytest.raises(DapodikFileError):
        parse("")


def test_ten_thousand_rows_parse() -> None:
    lines = ["NIK;Nama;JK;Tanggal Lahir;Kecamatan;Desa"]
    for i in range(10_000):
        birth = dt.date(2007, 1, 1) + dt.timedelta(days=i % 360)
        lines.append(f"170206{birth.day:02d}{birth.month:02d}07{i % 9999 + 1:04d};Siswa {i};L;"
                     f"{birth:%d/%m/%Y};Kota Padang;Derati")
    result = parse("\n".join(lines))
    assert len(result.rows) == 10_000 and result.total_rows == 10_000
