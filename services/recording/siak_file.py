"""Reading a SIAK status file (CSV with NIK, STATUS, TANGGAL): pure, no I/O."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from shared.clock import WIB

REQUIRED_COLUMNS = frozenset({"nik", "status", "tanggal"})


class SiakFileError(Exception):
    """A file that cannot be read as a whole; `detail` is for the clerk."""

    def __init__(self, detail: str | dict[str, Any]) -> None:
        super().__init__(str(detail))
        self.detail = detail


@dataclass(frozen=True)
class SiakRow:
    """One row of the file: `line` is its line number in the file (the header is line 1)."""

    line: int
    nik: str
    status: str
    status_at: str


@dataclass(frozen=True)
class SiakFile:
    """The rows read and the lines refused because their NIK is not 16 digits."""

    rows: list[SiakRow]
    bad_nik_lines: list[int]


def siak_time(text: str) -> str:
    """SIAK dates come as ISO date or date-time; a date alone means midnight WIB."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment if moment.tzinfo else moment.replace(tzinfo=WIB)).isoformat()


def _records(data: bytes) -> tuple[list[dict[str | None, Any]], set[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SiakFileError("File bukan UTF-8: simpan ulang sebagai CSV UTF-8.") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise SiakFileError("File kosong.")
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise SiakFileError(f"File CSV rusak sekitar baris {reader.line_num + 1}: periksa tanda kutip (\") "
                            "atau isi sel yang sangat panjang, lalu ekspor ulang.") from exc
    # A row longer than the header puts its extra cells under the key None.
    header = {h.strip().lower() for h in (rows[0].keys() if rows else lines[0].split(delimiter)) if h}
    return rows, header  # type: ignore[return-value]


def read_siak_file(data: bytes) -> SiakFile:
    """The rows of a SIAK file; raises SiakFileError for a file that is not UTF-8 CSV with the three columns
    and at least one row."""
    rows, header = _records(data)
    missing = REQUIRED_COLUMNS - header
    if missing:
        raise SiakFileError({"message": "Kolom wajib tidak ada.", "missing_columns": sorted(missing)})
    if not rows:
        raise SiakFileError("File hanya berisi baris judul: tambahkan minimal satu baris status.")
    read: list[SiakRow] = []
    bad: list[int] = []
    for line, row in enumerate(rows, start=2):
        cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        nik = cells.get("nik", "")
        if not (nik.isdigit() and len(nik) == 16):
            bad.append(line)
            continue
        read.append(SiakRow(line=line, nik=nik, status=cells.get("status", ""),
                            status_at=siak_time(cells.get("tanggal", ""))))
    return SiakFile(rows=read, bad_nik_lines=bad)
