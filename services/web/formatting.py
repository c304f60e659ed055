"""How the pages say things: dates in Indonesian, field and role names as the office says them."""

from __future__ import annotations

import datetime as dt

from shared.contracts import Role

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
ROLE_NAMES = {Role.KECAMATAN_OFFICE: "Petugas kecamatan", Role.FIELD_TEAM: "Tim jemput bola",
              Role.PRINT_STATION: "Operator stasiun cetak", Role.DINAS_ADMIN: "Admin dinas", Role.SYSTEM: "Sistem"}
FIELD_LABELS = {"nik": "NIK", "name": "Nama lengkap", "sex": "Jenis kelamin", "birth_date": "Tanggal lahir",
                "marital_status": "Status perkawinan", "kecamatan_code": "Kecamatan", "desa_code": "Desa/kelurahan",
                "school_npsn": "NPSN sekolah", "school_name": "Nama sekolah", "phone": "Nomor HP",
                "disabilitas": "Penyandang disabilitas"}


def tanggal(value: dt.date | dt.datetime | str | None) -> str:
    """5 Juli 2025; a moment also gets its time in WIB (5 Juli 2025 09.30 WIB)."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
        local = moment.astimezone(WIB)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H.%M} WIB"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def angka(value: int | float | None) -> str:
    """211.077: thousands with a dot, as Indonesian writes them."""
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", "x").replace(".", ",").replace("x", ".")
    return f"{int(value):,}".replace(",", ".")
