"""Parser for CSV exports of Dapodik (the school database): messy files in, checked rows out."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from services.intake import domain
from shared.areas import Areas, Kecamatan
from shared.contracts.resident import MaritalStatus, ResidentData, Sex

ALIASES: dict[str, tuple[str, ...]] = {
    "nisn": ("nisn",),
    "nik": ("nik", "no nik", "nomor nik", "nomor induk kependudukan"),
    "name": ("nama", "nama lengkap", "nama peserta didik", "nama siswa", "nama pd"),
    "sex": ("jenis kelamin", "jk", "l/p", "kelamin"),
    "birth_place": ("tempat lahir",),
    "birth_date": ("tanggal lahir", "tgl lahir", "tgl. lahir"),
    "place_and_date": ("tempat/tanggal lahir", "tempat, tanggal lahir", "tempat tanggal lahir", "ttl"),
    "npsn": ("npsn",),
    "school": ("sekolah", "nama sekolah", "satuan pendidikan"),
    "kecamatan": ("kecamatan", "kec", "kec.", "kode kecamatan"),
    "desa": ("desa", "kelurahan", "desa/kelurahan", "desa/kel", "desa / kelurahan", "kode desa", "kel/desa"),
}
REQUIRED = ("nik", "name", "sex", "kecamatan", "desa")
SEXES = {"l": Sex.LAKI_LAKI, "lk": Sex.LAKI_LAKI, "laki-laki": Sex.LAKI_LAKI, "laki laki": Sex.LAKI_LAKI,
         "laki": Sex.LAKI_LAKI, "p": Sex.PEREMPUAN, "pr": Sex.PEREMPUAN, "perempuan": Sex.PEREMPUAN,
         "wanita": Sex.PEREMPUAN}
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y")
FIELD_TO_KIND = {"nik": "nik", "sex": "sex", "birth_date": "birth_date", "kecamatan_code": "kecamatan",
                 "desa_code": "desa"}


class DapodikFileError(ValueError):
    """The file as a whole cannot be read; `reason` tells the clerk what to fix."""

    def __init__(self, reason: str, missing_columns: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing_columns = missing_columns or []


@dataclass(frozen=True)
class DapodikRow:
    line: int
    nisn: str | None
    school_name: str | None
    birth_place: str | None
    data: ResidentData


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str


@dataclass(frozen=True)
class DapodikParse:
    rows: list[DapodikRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total_rows: int = 0


def _clean(value: str) -> str:
    return " ".join(value.replace("\u00a0", " ").split())


def _decode(data: bytes) -> str:
    if not data.strip():
        raise DapodikFileError("File kosong: ekspor ulang data dari Dapodik.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DapodikFileError(
            "File bukan UTF-8: buka di Excel/LibreOffice lalu simpan sebagai 'CSV UTF-8 (comma delimited)'."
        ) from exc


def _separator(header_line: str) -> str:
    outside = re.sub(r'"[^"]*"', "", header_line)
    return ";" if outside.count(";") > outside.count(",") else ","


def _map_columns(header: list[str]) -> dict[str, int]:
    lookup = {alias: kind for kind, names in ALIASES.items() for alias in names}
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        kind = lookup.get(_clean(name).lower())
        if kind and kind not in columns:
            columns[kind] = index
    missing = [k for k in REQUIRED if k not in columns]
    if "birth_date" not in columns and "place_and_date" not in columns:
        missing.append("birth_date")
    if missing:
        labels = {"nik": "NIK", "name": "Nama", "sex": "Jenis Kelamin", "kecamatan": "Kecamatan",
                  "desa": "Desa/Kelurahan", "birth_date": "Tanggal Lahir (atau Tempat/Tanggal Lahir)"}
        raise DapodikFileError(
            "Kolom wajib tidak ada: " + ", ".join(labels[m] for m in missing) + ".",
            [labels[m] for m in missing],
        )
    return columns


def parse_date(text: str) -> dt.date | None:
    """A date in dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy or ISO form; None when it is none of these."""
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _split_place_and_date(text: str) -> tuple[str | None, str]:
    match = re.match(r"^(.*?)[,/]?\s*(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4})$", text)
    if not match:
        return None, text
    place = match.group(1).strip(" ,/") or None
    return place, match.group(2)


def _strip_prefix(name: str, prefixes: tuple[str, ...]) -> str:
    lowered = name.lower()
    for prefix in prefixes:
        if lowered.startswith(prefix):
            return lowered[len(prefix):].strip()
    return lowered


class _Places:
    """Kecamatan and desa by code or by name (names are matched within their kecamatan)."""

    def __init__(self, areas: Areas) -> None:
        self.areas = areas
        self.kec_by_name = {k.name.lower(): k for k in areas.kecamatan.values()}
        self.kec_by_digits = {k.nik_digits: k for k in areas.kecamatan.values()}

    def kecamatan(self, text: str) -> Kecamatan | None:
        if text in self.areas.kecamatan:
            return self.areas.kecamatan[text]
        if text.isdigit():
            return self.kec_by_digits.get(text)
        return self.kec_by_name.get(_strip_prefix(text, ("kecamatan ", "kec. ", "kec ")))

    def desa(self, text: str, kecamatan: Kecamatan) -> str | None:
        digits = text.replace(".", "")
        for village in kecamatan.villages:
            if village.code == text or village.code.replace(".", "") == digits:
                return village.code
        wanted = _strip_prefix(text, ("desa ", "kelurahan ", "kel. ", "kel "))
        for village in kecamatan.villages:
            if village.name.lower() == wanted:
                return village.code
        return None


def parse_dapodik(data: bytes, *, areas: Areas, today: dt.date) -> DapodikParse:
    """Parse a Dapodik export; file-level problems raise DapodikFileError, row problems are listed."""
    text = _decode(data)
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DapodikFileError("File kosong: ekspor ulang data dari Dapodik.")
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=_separator(lines[first]), quotechar='"')
    records = list(reader)
    header = records[first]
    columns = _map_columns(header)
    names = {kind: _clean(header[index]) for kind, index in columns.items()}
    places = _Places(areas)
    rows: list[DapodikRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    total = 0
    for index in range(first + 1, len(records)):
        cells = records[index]
        if not any(c.strip() for c in cells):
            continue
        total += 1
        line = index + 1
        if len(cells) != len(header):
            reason = f"jumlah kolom ({len(cells)}) tidak sama dengan judul ({len(header)})"
            errors.append(RowError(line, "(baris)", reason))
            continue
        row, row_errors = _parse_row(line, [_clean(c) for c in cells], columns, names, places, today)
        if row is not None and row.data.nik in seen:
            row_errors.append(RowError(line, names["nik"], f"NIK ini sudah muncul di baris {seen[row.data.nik]}"))
        if row_errors:
            errors.extend(row_errors)
        elif row is not None:
            seen[row.data.nik] = line
            rows.append(row)
    if total == 0:
        raise DapodikFileError("File hanya berisi judul kolom, tanpa baris data.")
    return DapodikParse(rows=rows, errors=errors, total_rows=total)


def _parse_row(
    line: int, cells: list[str], columns: dict[str, int], names: dict[str, str], places: _Places, today: dt.date
) -> tuple[DapodikRow | None, list[RowError]]:
    def cell(kind: str) -> str:
        return cells[columns[kind]] if kind in columns else ""

    errors: list[RowError] = []
    nik = cell("nik").replace(" ", "")
    if not nik:
        errors.append(RowError(line, names["nik"], "NIK kosong"))
    name = cell("name")
    if not name:
        errors.append(RowError(line, names["name"], "nama kosong"))
    sex = SEXES.get(cell("sex").lower())
    if sex is None:
        errors.append(RowError(line, names["sex"], "jenis kelamin harus L/Laki-laki atau P/Perempuan"))
    place = cell("birth_place") or None
    date_kind = "birth_date" if "birth_date" in columns else "place_and_date"
    date_text = cell(date_kind)
    if date_kind == "place_and_date":
        place, date_text = _split_place_and_date(date_text)
    birth = parse_date(date_text)
    if birth is None:
        errors.append(RowError(line, names[date_kind], "tanggal lahir harus berbentuk dd/mm/yyyy atau yyyy-mm-dd "
                                                        "dan ada di kalender"))
    kecamatan = places.kecamatan(cell("kecamatan"))
    desa = places.desa(cell("desa"), kecamatan) if kecamatan else None
    if kecamatan is None:
        errors.append(RowError(line, names["kecamatan"], "kecamatan tidak dikenal di Kabupaten Rejang Lebong"))
    elif desa is None:
        errors.append(RowError(line, names["desa"], f"desa/kelurahan tidak dikenal di kecamatan {kecamatan.name}"))
    npsn = cell("npsn") or None
    if npsn is not None and not re.fullmatch(r"\d{8}", npsn):
        errors.append(RowError(line, names["npsn"], "NPSN harus 8 digit"))
    if errors or sex is None or birth is None or kecamatan is None or desa is None:
        return None, errors
    try:
        domain.check_nik(nik, birth_date=birth, sex=sex, today=today)
        domain.check_area(kecamatan.code, desa, places.areas)
        data = ResidentData(nik=nik, name=name[:120], sex=sex, birth_date=birth,
                            marital_status=MaritalStatus.BELUM_KAWIN, kecamatan_code=kecamatan.code,
                            desa_code=desa, school_npsn=npsn)
    except domain.RosterRuleError as exc:
        kind = FIELD_TO_KIND.get(exc.field, exc.field)
        column = names.get(kind) or names.get(date_kind if kind == "birth_date" else kind) or exc.field
        return None, [RowError(line, column, exc.reason)]
    return DapodikRow(line, cell("nisn") or None, cell("school") or None, place, data), []
