"""Reading a SIAK status file (CSV with NIK, STATUS, TANGGAL): pure, no I/O.

Every non-blank line after the header is answered: a line that cannot be read (a stray quote, a
bad date, extra cells) is answered with its line number and the reason, naming the column as the
file spells it, so one broken line never hides the lines after it.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass

from shared.clock import WIB
from shared.contracts.recording import SiakStatus

REQUIRED_COLUMNS = ("nik", "status", "tanggal")
QUOTE = '"'
NIK_SEPARATORS = re.compile(r"[.\s-]")
SCIENTIFIC = re.compile(r"\d[.,]\d+[eE]\+?\d+")
DAY_FIRST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
# Python's csv module refuses a cell longer than this; such a file is refused whole.
MAX_CELL = csv.field_size_limit()
STATUS_CODES = ", ".join(SiakStatus.__members__)
DATE_FORM = "tulis dd/mm/yyyy (mis. 05/07/2024) atau yyyy-mm-dd"


class SiakFileError(Exception):
    """A file that cannot be read as a whole; `reason` is for the clerk, `missing_columns` the columns
    its header lacks."""

    def __init__(self, reason: str, missing_columns: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing_columns = missing_columns or []


@dataclass(frozen=True)
class SiakRow:
    """One readable line: `line` is its line number in the file (the header is line 1)."""

    line: int
    nik: str
    status: SiakStatus
    status_at: dt.datetime


@dataclass(frozen=True)
class SiakLineProblem:
    """A line that cannot be read, and why (for the clerk, naming the file's column)."""

    line: int
    reason: str


@dataclass(frozen=True)
class SiakFile:
    """The lines read and the lines refused, each with its line number."""

    rows: list[SiakRow]
    problems: list[SiakLineProblem]

    @property
    def data_lines(self) -> int:
        return len(self.rows) + len(self.problems)


@dataclass(frozen=True)
class _Header:
    """Where the three columns are, how the file spells them, and how many columns it has."""

    index: dict[str, int]
    names: dict[str, str]
    width: int


def parse_siak_time(text: str) -> dt.datetime | None:
    """A SIAK date or date-time: ISO (yyyy-mm-dd, with or without a time) or day first (dd/mm/yyyy,
    dd-mm-yyyy, dd.mm.yyyy, optionally with HH:MM[:SS]); without a zone it is WIB. None if unreadable."""
    try:
        if match := DAY_FIRST.fullmatch(text):
            moment = dt.datetime(int(match[4]), int(match[3]), int(match[1]), int(match[5] or 0),
                                 int(match[6] or 0), int(match[7] or 0))
        elif text[:1].isdigit() and not _is_number(text):
            moment = dt.datetime.fromisoformat(text)
        else:
            return None
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=WIB)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _date_reason(column: str, text: str) -> str:
    if not text:
        return f"kolom {column} kosong: {DATE_FORM}"
    if _is_number(text):
        return f"kolom {column} harus tanggal, bukan angka: {DATE_FORM}"
    if DAY_FIRST.fullmatch(text) or re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}.*", text):
        return f"kolom {column}: tanggal {text} tidak ada di kalender"
    return f"kolom {column} tidak terbaca sebagai tanggal: {DATE_FORM}"


def _nik_reason(column: str, text: str) -> str | None:
    """Why a NIK cell (separators removed) is not a NIK, or None."""
    if not text:
        return f"kolom {column} kosong"
    if SCIENTIFIC.fullmatch(text):
        return (f"kolom {column} tertulis sebagai angka ilmiah (mis. 1,7E+15): format kolom {column} sebagai Teks "
                "di Excel lalu ekspor ulang")
    if not (text.isascii() and text.isdigit() and len(text) == 16):
        return f"kolom {column}: NIK harus 16 digit angka"
    return None


def _status_reason(column: str, code: str) -> str:
    """Why a STATUS cell is not a SIAK status; the cell is shown only when it looks like a code (never a
    NIK or a long text that landed in the wrong column)."""
    if not code:
        return f"kolom {column} kosong; isi salah satu: {STATUS_CODES}"
    shown = f" {code!r}" if len(code) <= 40 and code.replace("_", "").isalpha() else ""
    return f"kolom {column}: kode{shown} tidak dikenal; gunakan salah satu: {STATUS_CODES}"


def _decode(data: bytes) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SiakFileError("File bukan UTF-8: simpan ulang sebagai CSV UTF-8.") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _separator(header_line: str) -> str:
    outside = re.sub(r'"[^"]*"', "", header_line)
    return ";" if outside.count(";") >= outside.count(",") else ","


def _cells(line: str, number: int, separator: str) -> list[str]:
    """The cells of one line, read on its own (a SIAK record never spans lines)."""
    try:
        return [cell.strip() for cell in next(csv.reader([line], delimiter=separator, strict=False))]
    except csv.Error as exc:
        raise SiakFileError(f"File CSV rusak di baris {number}: isi sel lebih dari {MAX_CELL} karakter. "
                            "Periksa baris itu lalu ekspor ulang.") from exc


def _header(cells: list[str]) -> _Header:
    index: dict[str, int] = {}
    names: dict[str, str] = {}
    for position, cell in enumerate(cells):
        key = cell.lower()
        if key in REQUIRED_COLUMNS and key not in index:
            index[key], names[key] = position, cell
    missing = [c.upper() for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        raise SiakFileError(f"Kolom wajib tidak ada: {', '.join(missing)}. Baris judul harus berisi "
                            "NIK;STATUS;TANGGAL.", missing)
    return _Header(index, names, len(cells))


def _read_line(number: int, cells: list[str], header: _Header) -> SiakRow | SiakLineProblem:
    """One data line as a status, or the reasons it cannot be taken."""
    def cell(column: str) -> str:
        position = header.index[column]
        return cells[position] if position < len(cells) else ""

    names = header.names
    problems: list[str] = []
    extra = [c for c in cells[header.width:] if c]
    if extra:
        problems.append(f"baris ini berisi {header.width + len(extra)} sel, padahal judul hanya {header.width} kolom: "
                        "periksa pemisah di dalam isi sel, lalu kirim ulang baris ini")
    nik = cell("nik") if SCIENTIFIC.fullmatch(cell("nik")) else NIK_SEPARATORS.sub("", cell("nik"))
    if (nik_problem := _nik_reason(names["nik"], nik)) is not None:
        problems.append(nik_problem)
    code = cell("status").upper()
    if code not in SiakStatus.__members__:
        problems.append(_status_reason(names["status"], code))
    status_at = parse_siak_time(cell("tanggal"))
    if status_at is None:
        problems.append(_date_reason(names["tanggal"], cell("tanggal")))
    if problems:
        return SiakLineProblem(number, "; ".join(problems))
    return SiakRow(line=number, nik=nik, status=SiakStatus(code), status_at=status_at)  # type: ignore[arg-type]


def _unclosed_quote(line: str) -> bool:
    return line.count(QUOTE) % 2 == 1


def read_siak_file(data: bytes) -> SiakFile:
    """Every data line of a SIAK file, read or refused; raises SiakFileError for a file that is not UTF-8
    CSV with the three columns and at least one data line."""
    lines = _decode(data)
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise SiakFileError("File kosong.")
    (header_number, header_line), body = numbered[0], numbered[1:]
    separator = _separator(header_line)
    header = _header(_cells(header_line, header_number, separator))
    if not body:
        raise SiakFileError("File hanya berisi baris judul: tambahkan minimal satu baris status.")
    rows: list[SiakRow] = []
    problems: list[SiakLineProblem] = []
    for number, line in body:
        if _unclosed_quote(line):
            problems.append(SiakLineProblem(number, 'baris ini berisi tanda kutip (") yang tidak ditutup: hapus '
                                                    "atau tutup tanda kutip itu, lalu kirim ulang baris ini"))
            continue
        read = _read_line(number, _cells(line, number, separator), header)
        if isinstance(read, SiakRow):
            rows.append(read)
        else:
            problems.append(read)
    return SiakFile(rows=rows, problems=problems)
