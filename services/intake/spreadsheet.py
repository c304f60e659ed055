"""An Excel workbook (XLSX, as Dapodik exports it) read as the CSV text the import parser reads: the first
sheet, one line per row so line numbers are the sheet's row numbers, each cell as the clerk sees it.

A NIK kept as a number comes back as its digits (not 1.702064507070001E+15); a date cell as dd/mm/yyyy.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from typing import Any

XLSX_MAGIC = b"PK\x03\x04"
UNREADABLE = ("File Excel tidak dapat dibaca (rusak, terkunci kata sandi, atau bukan .xlsx). Buka di Excel, "
              "simpan ulang sebagai 'Buku Kerja Excel (.xlsx)' atau 'CSV UTF-8', lalu unggah lagi.")


class SpreadsheetError(ValueError):
    """The workbook cannot be read; the message says what to do, in Indonesian."""


def is_xlsx(data: bytes) -> bool:
    return data.startswith(XLSX_MAGIC)


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without a decimal part or exponent, dates as dd/mm/yyyy."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return f"{value.day:02d}/{value.month:02d}/{value.year}"
    return " ".join(str(value).split())


def xlsx_as_csv(data: bytes) -> str:
    """The first sheet as comma-separated text, row n of the sheet on line n."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SpreadsheetError(UNREADABLE) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise SpreadsheetError(UNREADABLE)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        expected = 1
        for row in sheet.iter_rows():
            cells = [c for c in row if getattr(c, "row", None) is not None]
            number = cells[0].row if cells else expected
            while expected < number:
                out.write("\n")
                expected += 1
            writer.writerow([cell_text(c.value) for c in row])
            expected += 1
        return out.getvalue()
    finally:
        workbook.close()
