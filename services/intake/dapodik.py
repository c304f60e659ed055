"""Parser for CSV exports of Dapodik (the school database): messy files in, checked rows out."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from services.intake import domain
from services.intake.spreadsheet import SpreadsheetError, is_xlsx, xlsx_as_csv
from shared.areas import Areas, Kecamatan
from shared.contracts.resident import MaritalStatus, ResidentData, Sex

ALIASES: dict[str, tuple[str, ...]] = {
    "nisn": ("nisn",),
    "nik": ("nik", "no nik", "no. nik", "nomor nik", "nomor induk kependudukan"),
    "name": ("nama", "nama lengkap", "nama peserta didik", "nama siswa", "nama pd"),
    "sex": ("jenis kelamin", "jk", "l/p", "kelamin"),
    "birth_place": ("tempat lahir",),
    "birth_date": ("tanggal lahir", "tgl lahir", "tgl. lahir"),
    "place_and_date": ("tempat/tanggal lahir", "tempat, tanggal lahir", "tempat tanggal lahir", "ttl"),
    "npsn": ("npsn",),
    "school": ("sekolah", "nama sekolah", "satuan pendidikan"),
    "kecamatan": ("kecamatan", "kec", "kec.", "kode kecamatan"),
    "marital": ("status perkawinan", "status kawin", "perkawinan", "status_kawin"),
    "disabilitas": ("disabilitas", "penyandang disabilitas", "penyandang cacat"),
    "desa": ("desa", "kelurahan", "desa/kelurahan", "desa/kel", "desa/kel.", "desa / kelurahan", "kode desa",
             "kel/desa", "kelurahan/desa"),
}
REQUIRED = ("nik", "name", "sex", "kecamatan", "desa")
LABELS = {"nik": "NIK", "name": "Nama", "sex": "Jenis Kelamin", "kecamatan": "Kecamatan",
          "desa": "Desa/Kelurahan", "birth_date": "Tanggal Lahir (atau Tempat/Tanggal Lahir)"}
FIELD_NAMES = {"nik": "nik", "name": "name", "sex": "sex", "birth_date": "birth_date", "place_and_date": "birth_date",
               "kecamatan": "kecamatan_code", "desa": "desa_code", "npsn": "school_npsn",
               "marital": "marital_status", "disabilitas": "disabilitas"}
RULE_FIELD_TO_KIND = {"nik": "nik", "sex": "sex", "birth_date": "birth_date", "kecamatan_code": "kecamatan",
                      "desa_code": "desa"}
SEXES = {"l": Sex.LAKI_LAKI, "lk": Sex.LAKI_LAKI, "laki-laki": Sex.LAKI_LAKI, "laki laki": Sex.LAKI_LAKI,
         "laki": Sex.LAKI_LAKI, "p": Sex.PEREMPUAN, "pr": Sex.PEREMPUAN, "perempuan": Sex.PEREMPUAN,
         "wanita": Sex.PEREMPUAN}
MARITAL = {"belum kawin": MaritalStatus.BELUM_KAWIN, "belum_kawin": MaritalStatus.BELUM_KAWIN,
           "kawin": MaritalStatus.KAWIN, "kawin tercatat": MaritalStatus.KAWIN, "kawin belum tercatat": MaritalStatus.KAWIN,
           "cerai hidup": MaritalStatus.CERAI_HIDUP, "cerai_hidup": MaritalStatus.CERAI_HIDUP,
           "cerai mati": MaritalStatus.CERAI_MATI, "cerai_mati": MaritalStatus.CERAI_MATI}
YES = {"ya", "y", "1", "true", "ada"}
NO = {"", "tidak", "t", "0", "false", "-", "tidak ada"}
ROW_COLUMN = "(baris)"
QUOTE = '"'
QUOTED_LINES_SPAN = 20
"""A quoted cell (an address with line breaks) runs over at most this many lines."""
HEADER_SEARCH_LINES = 15
"""Title lines above the column titles of an export are skipped, at most this many."""
LINE_BREAK = re.compile(r"\r\n|\r|\n")
UNCLOSED_QUOTE = ('baris ini berisi tanda kutip (") yang tidak ditutup: hapus atau tutup tanda kutip itu di file, '
                  "lalu unggah ulang file")
NAME_MAX = 120
DAY_FIRST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
PLACE_AND_DATE = re.compile(r"(.*?)[,/]?\s*(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4})")
SCIENTIFIC = re.compile(r"\d[.,]\d+[eE]\+?\d+")
CODE_LIKE = re.compile(r"[\d.]+")
INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
EMPTY_FILE = "File kosong: ekspor ulang data dari Dapodik."
AREA_RULES = {"unknown_desa": "kode desa/kelurahan tidak dikenal",
              "desa_outside_kecamatan": "desa/kelurahan tidak berada di kecamatan yang ditulis"}
WRONG_WIDTH = "jumlah kolom tidak sama dengan judul (periksa pemisah ; atau , di dalam isi sel)"


class DapodikFileError(ValueError):
    """The file as a whole cannot be read; `reason` tells the clerk what to fix."""

    def __init__(self, reason: str, missing_columns: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing_columns = missing_columns or []


@dataclass(frozen=True)
class DapodikRow:
    """A valid row: its line in the file, the school facts and the resident data."""

    line: int
    nisn: str | None
    school_name: str | None
    birth_place: str | None
    data: ResidentData


@dataclass(frozen=True)
class RowError:
    """A problem of one row: line in the file, column as the file spells it, reason for the clerk."""

    line: int
    column: str
    reason: str
    group: str = ""
    """The reason without this row's particulars (a line number, a count), for counting; empty: the reason."""


@dataclass(frozen=True)
class DapodikParse:
    """The outcome of a file: valid rows, row errors, the number of non-blank data rows read and refused,
    and the line reading stopped at when too many rows were refused (None: the whole file was read)."""

    rows: list[DapodikRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total_rows: int = 0
    refused_rows: int = 0
    stopped_at_line: int | None = None


def parse_dapodik(data: bytes, *, areas: Areas, today: dt.date, stop_after_refused: int | None = None) -> DapodikParse:
    """Parse a Dapodik export; file-level problems raise DapodikFileError, row problems are listed.

    Reading stops at the first row past `stop_after_refused` refused rows (a file that bad is
    fixed and uploaded again, not imported in part)."""
    records = _records(_workbook_text(data) if is_xlsx(data) else _decode(data))
    header_line, header = next(records, (0, []))
    if header is None:
        raise DapodikFileError(f"Baris judul kolom (baris {header_line}) berisi tanda kutip (\") yang tidak "
                               "ditutup: hapus atau tutup tanda kutip itu, lalu unggah ulang file.")
    if not header:
        raise DapodikFileError(EMPTY_FILE)
    collector = _Collector(_Columns.from_header(header), _Places(areas), today)
    stopped_at = None
    for line, cells in records:
        if stop_after_refused is not None and collector.refused >= stop_after_refused:
            stopped_at = line
            break
        collector.add(line, cells)
    if collector.total == 0:
        raise DapodikFileError(f"File hanya berisi judul kolom (baris {header_line}), tanpa baris data.")
    return DapodikParse(rows=collector.rows, errors=collector.errors, total_rows=collector.total,
                        refused_rows=collector.refused, stopped_at_line=stopped_at)


def parse_date(text: str) -> dt.date | None:
    """A date in dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy (day and month may have one digit) or yyyy-mm-dd form."""
    try:
        if match := DAY_FIRST.fullmatch(text):
            return dt.date(int(match[4]), int(match[3]), int(match[1]))
        if match := ISO_DATE.fullmatch(text):
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return None


def _workbook_text(data: bytes) -> str:
    try:
        return xlsx_as_csv(data)
    except SpreadsheetError as exc:
        raise DapodikFileError(str(exc)) from exc


def _decode(data: bytes) -> str:
    if not data.strip():
        raise DapodikFileError(EMPTY_FILE)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DapodikFileError(
            "File bukan UTF-8: buka di Excel lalu pilih Simpan Sebagai > 'CSV UTF-8 (Comma delimited)' "
            "(LibreOffice: Simpan Sebagai > CSV, set karakter Unicode (UTF-8)), lalu unggah lagi."
        ) from exc


def _clean(value: str) -> str:
    """A cell without surrounding or repeated whitespace (non-breaking spaces included) or invisible marks."""
    for mark in INVISIBLE:
        if mark in value:
            value = value.replace(mark, "")
    return " ".join(value.split())


def _separator(header_line: str) -> str:
    outside = re.sub(r'"[^"]*"', "", header_line)
    return ";" if outside.count(";") > outside.count(",") else ","


def _records(text: str) -> Iterator[tuple[int, list[str] | None]]:
    """Non-blank records with the 1-based line they start on; the first is the header (title lines
    above it are skipped).

    A quoted cell may run over several lines, but only into a record as wide as the header: a quote that
    no following line closes that way gives None for its line (refused alone), and the next line is read
    on its own."""
    lines = LINE_BREAK.split(text)
    start = _header_index(lines)
    if start is None:
        return
    separator, width, index = _separator(lines[start]), None, start
    while index < len(lines):
        start = index
        cells, index = _record_at(lines, index, separator, width)
        if cells is None:
            yield start + 1, None
        elif any(_clean(c) for c in cells):
            width = width or len(cells)
            yield start + 1, cells


def _header_index(lines: list[str]) -> int | None:
    """The line of the column titles. A Dapodik export saved from Excel may open with title lines (the
    report's name, the school, the date it was pulled); the header is the first of the first
    HEADER_SEARCH_LINES lines that names at least two required columns. Without one, the first line that
    is not blank is taken, and its missing columns are reported."""
    first = None
    lookup = {alias: kind for kind, aliases in ALIASES.items() for alias in aliases}
    searched = 0
    for index, line in enumerate(lines):
        if not re.search(r"\w", line):
            continue
        first = index if first is None else first
        try:
            cells = next(csv.reader(io.StringIO(line), delimiter=_separator(line), quotechar=QUOTE), [])
        except csv.Error:
            cells = []
        kinds = {lookup.get(_clean(cell).lower()) for cell in cells}
        if len(kinds & set(REQUIRED)) >= 2:
            return index
        searched += 1
        if searched >= HEADER_SEARCH_LINES:
            break
    return first


def _record_at(lines: list[str], index: int, separator: str, width: int | None) -> tuple[list[str] | None, int]:
    """The record starting at lines[index] and the index of the line after it (None: an unclosed quote)."""
    text = lines[index]
    if text.count(QUOTE) % 2 == 0:
        return _cells(text, index + 1, separator), index + 1
    for end in range(index + 1, min(len(lines), index + QUOTED_LINES_SPAN)):
        text = f"{text}\n{lines[end]}"
        if text.count(QUOTE) % 2 == 0:
            cells = _quoted_record(text, separator)
            return (cells, end + 1) if cells is not None and width in (None, len(cells)) else (None, index + 1)
    return None, index + 1


def _quoted_record(text: str, separator: str) -> list[str] | None:
    """A record over several lines, strictly read: every closing quote stands before a separator or the end."""
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar=QUOTE, strict=True), None)
    except csv.Error:
        return None


def _cells(text: str, line: int, separator: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar=QUOTE), [])
    except csv.Error as exc:
        raise DapodikFileError(f"File CSV rusak di baris {line}: isi sel yang sangat panjang; periksa baris itu, "
                               "lalu ekspor ulang.") from exc


@dataclass(frozen=True)
class _Columns:
    """Where each kind of value sits, and how the file spells its column."""

    index: dict[str, int]
    names: dict[str, str]
    width: int

    @classmethod
    def from_header(cls, header: list[str]) -> _Columns:
        lookup = {alias: kind for kind, aliases in ALIASES.items() for alias in aliases}
        index: dict[str, int] = {}
        for position, name in enumerate(header):
            kind = lookup.get(_clean(name).lower())
            if kind and kind not in index:
                index[kind] = position
        missing = [kind for kind in REQUIRED if kind not in index]
        if "birth_date" not in index and "place_and_date" not in index:
            missing.append("birth_date")
        if missing:
            labels = [LABELS[kind] for kind in missing]
            raise DapodikFileError("Kolom wajib tidak ada: " + ", ".join(labels) + ".", labels)
        names = {kind: _clean(header[position]) for kind, position in index.items()}
        return cls(index, names, len(header))

    @property
    def date_kind(self) -> str:
        return "birth_date" if "birth_date" in self.index else "place_and_date"

    def label(self, kind: str) -> str:
        if kind == "birth_date":
            kind = self.date_kind
        return self.names.get(kind) or FIELD_NAMES.get(kind, kind)


def _key(name: str) -> str:
    return " ".join(name.lower().replace(".", " ").split())


class _Places:
    """Kecamatan and desa by code or by name (desa names are matched within their kecamatan)."""

    def __init__(self, areas: Areas) -> None:
        self.areas = areas
        self.kecamatan_by = {k.nik_digits: k for k in areas.kecamatan.values()}
        self.kecamatan_by.update({_key(k.name): k for k in areas.kecamatan.values()})
        self.desa_by_digits = {v.code.replace(".", ""): v.code for v in areas.villages.values()}
        self.desa_by_name = {code: {_key(v.name): v.code for v in k.villages} for code, k in areas.kecamatan.items()}

    def kecamatan(self, text: str) -> Kecamatan | None:
        if CODE_LIKE.fullmatch(text):
            return self.kecamatan_by.get(text.replace(".", ""))
        key = _key(text)
        return self.kecamatan_by.get(key) or self.kecamatan_by.get(re.sub(r"^(?:kecamatan|kec)\s+", "", key))

    def desa_code(self, text: str) -> str | None:
        """The desa code written with or without dots; None when it is not a known code."""
        return self.desa_by_digits.get(text.replace(".", ""))

    def desa_named(self, text: str, kecamatan: Kecamatan) -> str | None:
        names = self.desa_by_name[kecamatan.code]
        key = _key(text)
        return names.get(key) or names.get(re.sub(r"^(?:desa|kelurahan|kel|ds)\s+", "", key))


@dataclass
class _Row:
    """One data row being read: its cleaned cells and the errors found so far."""

    line: int
    cells: list[str]
    columns: _Columns
    errors: list[RowError] = field(default_factory=list)

    def cell(self, kind: str) -> str:
        position = self.columns.index.get(kind)
        return "" if position is None else self.cells[position]

    def fail(self, kind: str, reason: str, group: str = "") -> None:
        self.errors.append(RowError(self.line, self.columns.label(kind), reason, group))


class _Collector:
    """Reads data rows one by one, keeping valid rows, errors and the NIKs already seen."""

    def __init__(self, columns: _Columns, places: _Places, today: dt.date) -> None:
        self.columns, self.places, self.today = columns, places, today
        self.rows: list[DapodikRow] = []
        self.errors: list[RowError] = []
        self.seen: dict[str, int] = {}
        self.total = 0
        self.refused = 0

    def add(self, line: int, cells: list[str] | None) -> None:
        self.total += 1
        if cells is None:
            self.errors.append(RowError(line, ROW_COLUMN, UNCLOSED_QUOTE))
            self.refused += 1
            return
        if len(cells) != self.columns.width:
            reason = (f"jumlah kolom tidak sama dengan judul: baris ini {len(cells)} kolom, "
                      f"judul {self.columns.width} kolom (periksa pemisah ; atau , di dalam isi sel)")
            self.errors.append(RowError(line, ROW_COLUMN, reason, WRONG_WIDTH))
            self.refused += 1
            return
        row = _Row(line, [_clean(c) for c in cells], self.columns)
        result = _read_row(row, self.places, self.today)
        self._check_duplicate(row)
        if row.errors or result is None:
            self.errors.extend(row.errors)
            self.refused += 1
        else:
            self.rows.append(result)

    def _check_duplicate(self, row: _Row) -> None:
        nik = _nik_text(row.cell("nik"))
        if len(nik) != 16 or not nik.isdigit():
            return
        if nik in self.seen:
            row.fail("nik", f"NIK ini sudah muncul di baris {self.seen[nik]}", "NIK muncul lebih dari sekali di file")
        else:
            self.seen[nik] = row.line


def _nik_text(cell: str) -> str:
    return cell.lstrip("'").replace(" ", "")


def _read_row(row: _Row, places: _Places, today: dt.date) -> DapodikRow | None:
    """The row as a DapodikRow, or None with the problems recorded in row.errors."""
    nik = _read_nik(row)
    name = _read_name(row)
    sex = _read_sex(row)
    place, birth = _read_birth(row)
    kecamatan, desa = _read_area(row, places)
    npsn = _read_npsn(row)
    marital = _read_marital(row)
    disabilitas = _read_disabilitas(row)
    if nik:
        _check_nik_rules(row, nik, birth, sex, today)
    if kecamatan and desa:
        _check_area_rules(row, kecamatan.code, desa, places.areas)
    if row.errors or not (nik and name and sex and birth and kecamatan and desa and marital and disabilitas is not None):
        return None
    school = _school_name(row)
    data = ResidentData(nik=nik, name=name, sex=sex, birth_date=birth, marital_status=marital,
                        kecamatan_code=kecamatan.code, desa_code=desa, school_npsn=npsn,
                        school_name=school if npsn else None, disabilitas=disabilitas)
    return DapodikRow(row.line, row.cell("nisn").lstrip("'") or None, school, place, data)


def _school_name(row: _Row) -> str | None:
    """The school's name as the file spells it (cut to NAME_MAX characters); None when the cell is empty."""
    return row.cell("school")[:NAME_MAX] or None


def _read_nik(row: _Row) -> str | None:
    nik = _nik_text(row.cell("nik"))
    if not nik:
        row.fail("nik", "NIK kosong")
        return None
    if SCIENTIFIC.fullmatch(nik):
        row.fail("nik", "NIK tertulis sebagai angka ilmiah (mis. 1,7E+15): format kolom NIK sebagai Teks di Excel, "
                        "lalu ekspor ulang")
        return None
    return nik


def _read_name(row: _Row) -> str | None:
    name = row.cell("name")
    if not name:
        row.fail("name", "nama kosong")
        return None
    if len(name) > NAME_MAX:
        row.fail("name", f"nama lebih dari {NAME_MAX} karakter")
        return None
    return name


def _read_sex(row: _Row) -> Sex | None:
    sex = SEXES.get(row.cell("sex").lower())
    if sex is None:
        row.fail("sex", "jenis kelamin harus L/Laki-laki atau P/Perempuan")
    return sex


def _read_birth(row: _Row) -> tuple[str | None, dt.date | None]:
    """Birth place and birth date, from separate columns or one 'Tempat/Tanggal Lahir' column."""
    place = row.cell("birth_place") or None
    text = row.cell(row.columns.date_kind)
    if row.columns.date_kind == "place_and_date" and (match := PLACE_AND_DATE.fullmatch(text)):
        place, text = match[1].strip(" ,/") or place, match[2]
    if not text:
        row.fail("birth_date", "tanggal lahir kosong")
        return place, None
    birth = parse_date(text)
    if birth is None:
        row.fail("birth_date", _date_reason(text))
    return place, birth


def _date_reason(text: str) -> str:
    if DAY_FIRST.search(text) or ISO_DATE.search(text):
        return "tanggal lahir tidak ada di kalender (mis. 31/02)"
    return "tanggal lahir harus berbentuk dd/mm/yyyy (mis. 05/07/2007) atau yyyy-mm-dd"


def _read_area(row: _Row, places: _Places) -> tuple[Kecamatan | None, str | None]:
    kecamatan = _read_kecamatan(row, places)
    return kecamatan, _read_desa(row, places, kecamatan)


def _read_kecamatan(row: _Row, places: _Places) -> Kecamatan | None:
    text = row.cell("kecamatan")
    kecamatan = places.kecamatan(text) if text else None
    if not text:
        row.fail("kecamatan", "kecamatan kosong")
    elif kecamatan is None:
        row.fail("kecamatan", "kecamatan tidak dikenal di Kabupaten Rejang Lebong: tulis nama kecamatan "
                              "(mis. Curup) atau kodenya (mis. 17.02.09)")
    return kecamatan


def _read_desa(row: _Row, places: _Places, kecamatan: Kecamatan | None) -> str | None:
    """The desa code: a code is looked up in the whole regency, a name only inside the row's kecamatan."""
    text = row.cell("desa")
    if not text:
        row.fail("desa", "desa/kelurahan kosong")
        return None
    if CODE_LIKE.fullmatch(text):
        desa = places.desa_code(text)
        if desa is None:
            row.fail("desa", "kode desa/kelurahan tidak dikenal (contoh bentuk: 17.02.06.2001)")
        return desa
    if kecamatan is None:
        return None
    desa = places.desa_named(text, kecamatan)
    if desa is None:
        row.fail("desa", f"desa/kelurahan tidak ditemukan di kecamatan {kecamatan.name}: "
                         "tulis nama sesuai daftar wilayah atau kode desa",
                 "desa/kelurahan tidak ditemukan di kecamatannya: tulis nama sesuai daftar wilayah atau kode desa")
    return desa


def _read_npsn(row: _Row) -> str | None:
    npsn = row.cell("npsn").lstrip("'") or None
    if npsn is not None and not (len(npsn) == 8 and npsn.isascii() and npsn.isdigit()):
        row.fail("npsn", "NPSN harus 8 digit angka")
        return None
    return npsn


def _read_marital(row: _Row) -> MaritalStatus | None:
    """Status perkawinan; an absent column or empty cell means belum kawin (the Dapodik case)."""
    text = row.cell("marital").lower()
    if not text:
        return MaritalStatus.BELUM_KAWIN
    status = MARITAL.get(text)
    if status is None:
        row.fail("marital", "status perkawinan harus Belum Kawin, Kawin, Cerai Hidup atau Cerai Mati")
    return status


def _read_disabilitas(row: _Row) -> bool | None:
    text = row.cell("disabilitas").lower()
    if text in NO:
        return False
    if text in YES:
        return True
    row.fail("disabilitas", "isi Ya atau Tidak")
    return None


def _check_nik_rules(row: _Row, nik: str, birth: dt.date | None, sex: Sex | None, today: dt.date) -> None:
    """The NIK rules of the domain; a sex or birth date that could not be read is not held against the NIK."""
    stand_in_sex = sex or (Sex.PEREMPUAN if nik[6:8].isdigit() and int(nik[6:8]) > 40 else Sex.LAKI_LAKI)
    try:
        domain.check_nik(nik, birth_date=birth or today, sex=stand_in_sex, today=today)
    except domain.RosterRuleError as exc:
        if exc.field == "nik" or (exc.field == "sex" and sex) or (exc.field == "birth_date" and birth):
            row.fail(RULE_FIELD_TO_KIND.get(exc.field, exc.field), exc.reason)


def _check_area_rules(row: _Row, kecamatan_code: str, desa_code: str, areas: Areas) -> None:
    try:
        domain.check_area(kecamatan_code, desa_code, areas)
    except domain.RosterRuleError as exc:
        row.fail(RULE_FIELD_TO_KIND.get(exc.field, exc.field), exc.reason, AREA_RULES.get(exc.problem, ""))
