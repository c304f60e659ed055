"""CSV downloads open safely in spreadsheet programs: no live formulas, NIKs kept as 16 digits."""

from __future__ import annotations

import csv
import io

from services.coverage.csv_export import table_csv

NIK = "1702064507070001"  # synthetic


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text() -> None:
    names = ['=HYPERLINK("http://contoh.invalid","klik")', "+62 811", "-1+1", "@SUM(A1)", "\tx", "\rx", "Siti"]
    rows = _rows(table_csv([{"nama": name} for name in names]))
    assert [row["nama"] for row in rows] == ["'" + n for n in names[:-1]] + ["Siti"]


def test_a_nik_stays_sixteen_digits_and_numbers_stay_numbers() -> None:
    rows = _rows(table_csv([{"nik": NIK, "jumlah": -3, "wilayah": {"kode": "17.02.06"}, "catatan": None}]))
    assert rows == [{"nik": f'="{NIK}"', "jumlah": "-3", "wilayah_kode": "17.02.06", "catatan": ""}]


def test_decimals_yes_no_and_lists_are_written_for_a_spreadsheet_set_to_indonesian() -> None:
    rows = _rows(table_csv([{"persen": 97.5, "lansia": True, "disabilitas": False, "hari": 0.0,
                             "alasan": ["=salah", "dua"]}]))
    assert rows == [{"persen": "97,5", "lansia": "ya", "disabilitas": "tidak", "hari": "0,0", "alasan": "'=salah, dua"}]
