"""The Dapodik parser on messy exports: encodings, separators, date forms, names for places, row errors."""

from __future__ import annotations

import datetime as dt

import pytest

from services.intake.dapodik import DapodikFileError, DapodikParse, RowError, parse_dapodik
from shared.areas import load_areas
from shared.contracts.resident import MaritalStatus, Sex

TODAY = dt.date(2026, 11, 23)
AREAS = load_areas()
HEADER = "NIK;Nama;JK;Tanggal Lahir;Kecamatan;Desa"


def nik(born: dt.date, sex: str = "L", serial: int = 1, region: str = "170206") -> str:
    """A synthetic NIK that agrees with the birth date and sex (women: day + 40)."""
    day = born.day + (40 if sex == "P" else 0)
    return f"{region}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def parse(text: str, encoding: str = "utf-8") -> DapodikParse:
    return parse_dapodik(text.encode(encoding), areas=AREAS, today=TODAY)


def errors_by_line(result: DapodikParse) -> dict[int, list[RowError]]:
    grouped: dict[int, list[RowError]] = {}
    for error in result.errors:
        grouped.setdefault(error.line, []).append(error)
    return grouped


def test_nik_helper_matches_the_documented_example() -> None:
    assert nik(dt.date(2007, 7, 5), "P") == "1702064507070001"


def test_bom_semicolons_crlf_day_first_dates_and_surrounding_spaces() -> None:
    text = ("\ufeffNISN ; NIK ;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;"
            "Desa/Kelurahan\r\n"
            " 0071234567 ; 1702064507070001 ;\u00a0Siti  Sintetis\u00a0;P; Curup ; 05/07/2007 ;10700123;"
            " SMA Negeri Sintetis ; Kota Padang ; Derati \r\n")
    result = parse(text)
    assert result.errors == [] and result.total_rows == 1 and len(result.rows) == 1
    row = result.rows[0]
    assert (row.line, row.nisn, row.school_name, row.birth_place) == (2, "0071234567", "SMA Negeri Sintetis", "Curup")
    data = row.data
    assert (data.nik, data.name, data.sex, data.birth_date) == (
        "1702064507070001", "Siti Sintetis", Sex.PEREMPUAN, dt.date(2007, 7, 5))
    assert (data.kecamatan_code, data.desa_code, data.school_npsn) == ("17.02.06", "17.02.06.2001", "10700123")
    assert data.marital_status == MaritalStatus.BELUM_KAWIN and data.phone is None


def test_commas_iso_dates_and_codes_with_or_without_dots() -> None:
    text = ("NIK,Nama,Jenis Kelamin,Tanggal Lahir,Kecamatan,Desa\n"
            "1702061207070002,Budi Sintetis,Laki-laki,2007-07-12,17.02.06,1702062001\n"
            "1702061307070003,Adi Sintetis,L,2007-07-13,170206,17.02.06.2001\n")
    result = parse(text)
    assert result.errors == []
    assert [r.line for r in result.rows] == [2, 3]
    assert [r.data.birth_date for r in result.rows] == [dt.date(2007, 7, 12), dt.date(2007, 7, 13)]
    assert {(r.data.kecamatan_code, r.data.desa_code) for r in result.rows} == {("17.02.06", "17.02.06.2001")}
    assert all(r.nisn is None and r.school_name is None and r.data.school_npsn is None for r in result.rows)


@pytest.mark.parametrize("header", ["Tempat/Tanggal Lahir", "Tempat, Tanggal Lahir", "TTL"])
def test_combined_place_and_date_column(header: str) -> None:
    text = (f'NIK,Nama,JK,"{header}",Kecamatan,Desa\n'
            '1702061207070002,Budi Sintetis,L,"Curup, 12/07/2007",Kota Padang,Derati\n'
            "1702061307070003,Adi Sintetis,L,Curup / 2007-07-13,Kota Padang,Derati\n"
            '1702061407070004,Ali Sintetis,L,"Rejang Lebong, Curup, 14-07-2007",Kota Padang,Derati\n'
            "1702061507070005,Ari Sintetis,L,15/07/2007,Kota Padang,Derati\n")
    result = parse(text)
    assert result.errors == []
    assert [r.birth_place for r in result.rows] == ["Curup", "Curup", "Rejang Lebong, Curup", None]
    assert [r.data.birth_date.day for r in result.rows] == [12, 13, 14, 15]


def test_combined_column_with_an_unreadable_date_is_an_error_on_that_column() -> None:
    text = ("NIK;Nama;JK;Tempat/Tanggal Lahir;Kecamatan;Desa\n"
            "1702061207070002;Budi Sintetis;L;Curup, 12 Juli 2007;Kota Padang;Derati\n")
    result = parse(text)
    assert result.rows == [] and [(e.line, e.column) for e in result.errors] == [(2, "Tempat/Tanggal Lahir")]


def test_names_instead_of_codes_with_prefixes_and_case() -> None:
    text = (HEADER + "\n"
            "1702061207070002;Budi Sintetis;L;12/07/2007;Kecamatan Kota Padang;Desa Derati\n"
            "1702061307070003;Adi Sintetis;L;13/07/2007;kec. KOTA PADANG;kelurahan dusun baru\n"
            "1702061407070004;Ali Sintetis;L;14/07/2007;Kota Padang;Kel. Bedeng SS.\n")
    result = parse(text)
    assert result.errors == []
    assert [r.data.desa_code for r in result.rows] == ["17.02.06.2001", "17.02.06.1016", "17.02.06.1015"]


def test_desa_names_that_repeat_are_matched_inside_the_rows_kecamatan() -> None:
    twins = [v for v in AREAS.villages.values() if v.name == "Suka Rami"]
    assert len({v.kecamatan_code for v in twins}) == 2
    lines = [HEADER]
    for serial, village in enumerate(twins, start=1):
        kecamatan = AREAS.kecamatan[village.kecamatan_code]
        born = dt.date(2007, 7, 12)
        lines.append(f"{nik(born, serial=serial, region=kecamatan.nik_digits)};Siswa Sintetis;L;12/07/2007;"
                     f"{kecamatan.name};Suka Rami")
    result = parse("\n".join(lines))
    assert result.errors == []
    assert [r.data.desa_code for r in result.rows] == [v.code for v in twins]


def test_header_aliases_match_case_and_whitespace_insensitively() -> None:
    text = ("  no   NIK ;NAMA   LENGKAP;l/p;Tgl Lahir;Kode Kecamatan;Desa/Kel;Satuan Pendidikan\n"
            "1702 0612 0707 0002;Budi Sintetis;LK;12/07/2007;17.02.06;17.02.06.2001;SMP Sintetis\n")
    result = parse(text)
    assert result.errors == []
    assert result.rows[0].data.nik == "1702061207070002" and result.rows[0].school_name == "SMP Sintetis"


@pytest.mark.parametrize(("cell", "sex"), [
    ("L", Sex.LAKI_LAKI), ("l", Sex.LAKI_LAKI), ("Laki-laki", Sex.LAKI_LAKI), ("LAKI LAKI", Sex.LAKI_LAKI),
    ("lk", Sex.LAKI_LAKI), ("P", Sex.PEREMPUAN), ("perempuan", Sex.PEREMPUAN), ("PR", Sex.PEREMPUAN),
])
def test_sex_spellings(cell: str, sex: Sex) -> None:
    born = dt.date(2007, 7, 5)
    text = f"{HEADER}\n{nik(born, sex)};Siswa Sintetis;{cell};05/07/2007;Kota Padang;Derati\n"
    assert parse(text).rows[0].data.sex == sex


@pytest.mark.parametrize("cell", ["05/07/2007", "5/7/2007", "05-07-2007", "5-7-2007", "2007-07-05"])
def test_date_forms(cell: str) -> None:
    text = f"{HEADER}\n1702060507070001;Siswa Sintetis;L;{cell};Kota Padang;Derati\n"
    assert parse(text).rows[0].data.birth_date == dt.date(2007, 7, 5)


@pytest.mark.parametrize("cell", ["2007/07/05", "05 Juli 2007", "05/07/07", "31/02/2007", "", "2007-13-01"])
def test_unreadable_dates_are_row_errors(cell: str) -> None:
    text = f"{HEADER}\n1702060507070001;Siswa Sintetis;L;{cell};Kota Padang;Derati\n"
    result = parse(text)
    assert result.rows == [] and [(e.line, e.column) for e in result.errors] == [(2, "Tanggal Lahir")]


def test_missing_columns_are_listed() -> None:
    with pytest.raises(DapodikFileError) as caught:
        parse("NISN;Nama;Tempat Lahir\n1;Budi Sintetis;Curup\n")
    missing = caught.value.missing_columns
    assert len(missing) == 5
    assert {"NIK", "Jenis Kelamin", "Kecamatan", "Desa/Kelurahan"} <= set(missing)
    assert any("Tanggal Lahir" in m for m in missing)
    assert all(m in caught.value.reason for m in missing)


def test_latin1_file_is_refused_with_advice_to_save_as_csv_utf8() -> None:
    text = f"{HEADER}\n1702064507070001;Siti Ma\xefmunah;P;05/07/2007;Kota Padang;Derati\n"
    with pytest.raises(DapodikFileError) as caught:
        parse(text, "latin-1")
    assert "UTF-8" in caught.value.reason and "CSV UTF-8" in caught.value.reason
    assert caught.value.missing_columns == []


@pytest.mark.parametrize("text", ["", "  \r\n\n", "\ufeff", f"{HEADER}\n", f"{HEADER}\n\n;;;;;\n"])
def test_empty_files_and_files_without_data_rows_are_refused(text: str) -> None:
    with pytest.raises(DapodikFileError):
        parse(text)


def test_row_errors_carry_line_and_column_and_valid_rows_survive() -> None:
    born = dt.date(2007, 7, 5)
    text = "\n".join([
        HEADER,
        f"{nik(born, 'P')};Siti Sintetis;P;05/07/2007;Kota Padang;Derati",             # 2 valid
        f"{nik(born, serial=2)};Budi Sintetis;X;05/07/2007;Kota Padang;Derati",        # 3 bad sex
        f"{nik(born, serial=3)};Adi Sintetis;L;5 Juli 2007;Kota Padang;Derati",        # 4 bad date
        "",                                                                             # 5 blank, skipped
        f"{nik(born, serial=4)};Ani Sintetis;L;06/07/2007;Kota Padang;Derati",         # 6 NIK/birth date
        f"{nik(born, serial=5)};Ina Sintetis;P;05/07/2007;Kota Padang;Derati",         # 7 NIK/sex
        f"{nik(born, serial=6)};Ida Sintetis;L;05/07/2007;Kota Padang;Desa Tidak Ada",  # 8 unknown desa
        f"{nik(born, serial=7)};Ira Sintetis;L;05/07/2007;Kota Padang",                # 9 cell count
        f"{nik(born, 'P')};Siti Sintetis;P;05/07/2007;Kota Padang;Derati",             # 10 duplicate
        f"{nik(born, serial=8)};Oni Sintetis;L;05/07/2007;Kota Padang;Derati;x",       # 11 cell count
        f"{nik(born, serial=9)};Uli Sintetis;L;05/07/2007;Kota Padang;17.02.07.2001",  # 12 desa elsewhere
        f"{nik(born, serial=10)};Eka Sintetis;L;05/07/2007;Kota Padang;Derati",        # 13 valid
    ]) + "\n"
    result = parse(text)
    assert [r.line for r in result.rows] == [2, 13]
    assert result.total_rows == 11
    by_line = errors_by_line(result)
    assert {line: [e.column for e in errors] for line, errors in by_line.items()} == {
        3: ["JK"], 4: ["Tanggal Lahir"], 6: ["Tanggal Lahir"], 7: ["JK"], 8: ["Desa"], 9: ["(baris)"],
        10: ["NIK"], 11: ["(baris)"], 12: ["Desa"],
    }
    assert by_line[10][0].reason == "NIK ini sudah muncul di baris 2"
    assert by_line[9][0].reason.startswith("jumlah kolom tidak sama dengan judul")
    assert "tidak cocok" in by_line[6][0].reason and "tidak cocok" in by_line[7][0].reason


def test_every_bad_column_of_a_row_is_reported() -> None:
    text = ("NIK;Nama;JK;Tanggal Lahir;NPSN;Kecamatan;Desa\n"
            "1702060507070000;;X;31/02/2007;1234;Kecamatan Entah;Derati\n"
            "1702060507070001;Budi Sintetis;L;05/07/2007;10700123;Kota Padang;99.99.99.9999\n")
    by_line = errors_by_line(parse(text))
    assert sorted(e.column for e in by_line[2]) == ["JK", "Kecamatan", "NIK", "NPSN", "Nama", "Tanggal Lahir"]
    assert [e.column for e in by_line[3]] == ["Desa"]


def test_nik_rules_of_the_domain_map_to_the_nik_column() -> None:
    text = (HEADER + "\n"
            "170206050707;Budi Sintetis;L;05/07/2007;Kota Padang;Derati\n"
            "9999990507070001;Budi Sintetis;L;05/07/2007;Kota Padang;Derati\n"
            "1,70206E+15;Budi Sintetis;L;05/07/2007;Kota Padang;Derati\n"
            ";Budi Sintetis;L;05/07/2007;Kota Padang;Derati\n")
    result = parse(text)
    assert result.rows == [] and [(e.line, e.column) for e in result.errors] == [(n, "NIK") for n in (2, 3, 4, 5)]
    assert "16 digit" in result.errors[0].reason and "wilayah" in result.errors[1].reason


def test_quoted_cells_with_separators_and_line_breaks_keep_line_numbers() -> None:
    text = ('NIK;Nama;JK;"Tempat, Tanggal Lahir";Kecamatan;Desa;Nama Sekolah\n'
            '1702060507070001;Budi Sintetis;L;"Curup; Kota, 05/07/2007";Kota Padang;Derati;"SMA\nSintetis"\n'
            "1702060607070002;Adi Sintetis;X;06/07/2007;Kota Padang;Derati;SMA\n")
    result = parse(text)
    assert result.rows[0].birth_place == "Curup; Kota" and result.rows[0].school_name == "SMA Sintetis"
    assert [(e.line, e.column) for e in result.errors] == [(4, "JK")]


def test_no_reason_names_the_nik_or_the_person() -> None:
    born = dt.date(2007, 7, 5)
    people = [(nik(born, serial=s), f"Nama Rahasia {s}") for s in range(1, 9)]
    cells = [
        "X;05/07/2007;Kota Padang;Derati", "L;06/07/2007;Kota Padang;Derati", "P;05/07/2007;Kota Padang;Derati",
        "L;31/02/2007;Kota Padang;Derati", "L;05/07/2007;Entah;Derati", "L;05/07/2007;Kota Padang;Entah",
        "L;05/07/2007;Kota Padang", "L;05/07/2060;Kota Padang;Derati",
    ]
    lines = [HEADER] + [f"{n};{name};{rest}" for (n, name), rest in zip(people, cells, strict=True)]
    lines.append(f"{people[0][0]};{people[0][1]};L;05/07/2007;Kota Padang;Derati")
    result = parse("\n".join(lines))
    assert result.rows == [] and len(errors_by_line(result)) == 9
    for error in result.errors:
        for number, name in people:
            assert number not in error.reason and number[6:] not in error.reason
            assert name not in error.reason and "Rahasia" not in error.reason


def test_ten_thousand_rows_parse_completely_with_their_line_numbers() -> None:
    """Speed is the benchmark's business (a timed assertion here failed whenever the machine was busy)."""
    lines = ["\ufeffNISN;NIK;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;Desa"]
    for i in range(10_000):
        born = dt.date(2007, 1, 1) + dt.timedelta(days=i % 365)
        sex = "LP"[i % 2]
        lines.append(f"00{i:08d}; {nik(born, sex, serial=i // 365 + 1)} ;Siswa Sintetis {i};{sex};Curup;"
                     f"{born:%d/%m/%Y};10700123;SMA Sintetis;Kota Padang;Derati")
    data = ("\r\n".join(lines) + "\r\n").encode()
    result = parse_dapodik(data, areas=AREAS, today=TODAY)
    assert result.errors == [] and len(result.rows) == 10_000 and result.total_rows == 10_000
    assert result.rows[-1].line == 10_001


def test_roster_columns_status_perkawinan_and_disabilitas() -> None:
    text = ("NIK;Nama;JK;Tanggal Lahir;Status Perkawinan;Disabilitas;Kecamatan;Desa\n"
            f"{nik(dt.date(1950, 3, 2))};Tua Sintetis;L;02/03/1950;Cerai Mati;Ya;17.02.06;17.02.06.2001\n"
            f"{nik(dt.date(1990, 4, 9), 'P', 2)};Ibu Sintetis;P;09/04/1990;KAWIN;tidak;17.02.06;17.02.06.2001\n"
            f"{nik(dt.date(1991, 4, 9), 'P', 3)};Salah Sintetis;P;09/04/1991;janda;mungkin;17.02.06;17.02.06.2001\n")
    result = parse(text)
    assert [(r.data.marital_status, r.data.disabilitas) for r in result.rows] == [
        (MaritalStatus.CERAI_MATI, True), (MaritalStatus.KAWIN, False)]
    assert [(e.line, e.column) for e in result.errors] == [(4, "Status Perkawinan"), (4, "Disabilitas")]
    assert "Belum Kawin, Kawin, Cerai Hidup atau Cerai Mati" in result.errors[0].reason


def test_an_unclosed_quote_refuses_its_line_and_every_following_line_is_read_on_its_own() -> None:
    born = dt.date(2007, 7, 12)
    text = ("NIK,Nama,JK,Tanggal Lahir,Kecamatan,Desa\n"
            f"{nik(born, serial=1)},Budi Sintetis,L,12/07/2007,Kota Padang,Derati\n"
            f'{nik(born, serial=2)},"Oki Sintetis,L,12/07/2007,Kota Padang,Derati\n'
            f"{nik(born, serial=3)},Adi Sintetis,L,12/07/2007,Kota Padang,Derati\n"
            f"{nik(born, serial=4)},Ali Sintetis,L,12/07/2007,Kota Padang,Derati\n")
    result = parse(text)
    assert result.total_rows == 4 and result.refused_rows == 1
    assert [row.line for row in result.rows] == [2, 4, 5]
    [error] = result.errors
    assert error.line == 3 and 'tanda kutip (") yang tidak ditutup' in error.reason


def test_a_quote_closed_only_by_a_later_stray_quote_refuses_the_first_line_alone() -> None:
    born = dt.date(2007, 7, 12)
    text = ("NIK,Nama,JK,Tanggal Lahir,Kecamatan,Desa\n"
            f'{nik(born, serial=1)},"Oki Sintetis,L,12/07/2007,Kota Padang,Derati\n'
            f"{nik(born, serial=2)},Adi Sintetis,L,12/07/2007,Kota Padang,Derati\n"
            f'{nik(born, serial=3)},Ali "Sintetis,L,12/07/2007,Kota Padang,Derati\n')
    result = parse(text)
    assert result.total_rows == 3 and [row.line for row in result.rows] == [3]
    assert [(e.line, "tanda kutip" in e.reason) for e in result.errors] == [(2, True), (4, True)]


def test_a_header_with_an_unclosed_quote_is_refused_with_its_line() -> None:
    with pytest.raises(DapodikFileError, match="baris 1"):
        parse('NIK,"Nama,JK,Tanggal Lahir,Kecamatan,Desa\n1702061207070001,Budi,L,12/07/2007,Kota Padang,Derati\n')


def test_title_lines_of_an_excel_export_above_the_column_titles_are_skipped() -> None:
    text = ("Daftar Peserta Didik;;;;;\n"
            "SMA Negeri Sintetis (NPSN 10700123);;;;;\n"
            "Tanggal Unduh: 01/12/2026;;;;;\n"
            ";;;;;\n"
            f"{HEADER}\n"
            "1702064507070001;Siti Sintetis;P;05/07/2007;Kota Padang;Derati\n"
            "1702064507070002;Nama;X;05/07/2007;Kota Padang;Derati\n")
    result = parse(text)
    assert [row.line for row in result.rows] == [6]
    assert result.total_rows == 2 and [e.line for e in result.errors] == [7]


def test_a_title_line_does_not_decide_the_separator_of_the_column_titles() -> None:
    text = ("Daftar Peserta Didik, SMA Negeri Sintetis\n"
            f"{HEADER}\n"
            "1702064507070001;Siti Sintetis;P;05/07/2007;Kota Padang;Derati\n")
    result = parse(text)
    assert result.errors == [] and [row.line for row in result.rows] == [3]


def test_without_column_titles_in_the_first_lines_the_first_line_is_the_header() -> None:
    titles = "".join(f"Judul {n}\n" for n in range(20))
    with pytest.raises(DapodikFileError) as caught:
        parse(f"{titles}{HEADER}\n1702064507070001;Siti Sintetis;P;05/07/2007;Kota Padang;Derati\n")
    assert "NIK" in caught.value.missing_columns


def xlsx(rows: list[list[object]]) -> bytes:
    """A workbook as Excel saves it, written with openpyxl."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_excel_export_with_niks_as_numbers_and_as_text_and_date_cells() -> None:
    """Dapodik exports Excel: a NIK cell may hold a number or text, a birth date a date cell; title
    lines above the header are skipped and a row error names the sheet's row number."""
    data = xlsx([
        ["Daftar Peserta Didik SMA Negeri Sintetis"], [],
        ["NIK", "Nama", "JK", "Tanggal Lahir", "Kecamatan", "Desa"],
        [int(nik(dt.date(2007, 7, 5), "P")), "Siti Sintetis", "P", dt.datetime(2007, 7, 5), "17.02.06", "17.02.06.2001"],
        [nik(dt.date(2008, 1, 2), serial=7), "Budi Sintetis", "L", "02/01/2008", "Kota Padang", "Derati"],
        [float(nik(dt.date(2008, 3, 4), serial=9)), "Adi Sintetis", "L", dt.date(2008, 3, 5), "17.02.06", "17.02.06.2001"],
    ])
    result = parse_dapodik(data, areas=AREAS, today=TODAY)
    assert [row.data.nik for row in result.rows] == [nik(dt.date(2007, 7, 5), "P"), nik(dt.date(2008, 1, 2), serial=7)]
    assert [row.line for row in result.rows] == [4, 5]
    assert result.rows[0].data.birth_date == dt.date(2007, 7, 5)
    assert [(e.line, e.column) for e in result.errors] == [(6, "Tanggal Lahir")], result.errors


def test_a_file_that_looks_like_excel_but_is_not_is_refused_with_what_to_do() -> None:
    with pytest.raises(DapodikFileError, match="File Excel tidak dapat dibaca"):
        parse_dapodik(b"PK\x03\x04 bukan buku kerja", areas=AREAS, today=TODAY)
