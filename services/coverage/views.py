"""What the coverage store answers to the read use cases: typed values, no storage names.

The store turns its documents into these; queries and handlers turn these into the API's rows.
Weekly buckets keep the domain's keys (`domain.week_bucket`: "w20240108", "lama"), which the
domain's date functions read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

# The figures counted per week as well as in total (the keys of `AreaCounters.weekly`).
WEEKLY_FIGURES = ("wajib_ktp", "direkam", "prr", "dicetak", "diserahkan")


@dataclass(frozen=True)
class AreaCounters:
    """One area's counters: the regency ("kab"), a kecamatan ("kec"), a desa or a school ("sekolah")."""

    kind: str
    code: str
    terdaftar: int = 0
    direkam: int = 0
    belum_rekam: int = 0
    prr: int = 0
    dicetak: int = 0
    diserahkan: int = 0
    duplikat: int = 0
    gagal: int = 0
    antre_cetak: int = 0
    disabilitas_belum_rekam: int = 0
    # Unrecorded residents not counted through a school (the desa's own outreach work).
    belum_rekam_luar_sekolah: int = 0
    # Unrecorded residents per birth year.
    belum_rekam_per_tahun_lahir: Mapping[int, int] = field(default_factory=dict)
    # For each of WEEKLY_FIGURES, its count per week bucket.
    weekly: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # A school's counted students per kecamatan code they live in (empty for other areas).
    siswa_per_kecamatan: Mapping[str, int] = field(default_factory=dict)
    # Residents per day ("YYYYMMDD") their wajib KTP date falls on, for days from a week before their
    # roster event on (domain.day_bucket_from): this week's and later days are all there.
    wajib_ktp_per_hari: Mapping[str, int] = field(default_factory=dict)
    # Cards waiting to be printed per hour (UTC, "YYYYMMDDHH") they began waiting.
    antre_cetak_per_jam: Mapping[str, int] = field(default_factory=dict)

    def weeks(self, figure: str) -> Mapping[str, int]:
        """The week buckets of one of WEEKLY_FIGURES (empty when nothing was counted)."""
        return self.weekly.get(figure, {})


@dataclass(frozen=True)
class PlannerCounts:
    """What the planner needs of the whole regency, kept in one document: unrecorded residents per desa code
    (those not counted through a school), per school (NPSN), and each school's students per kecamatan
    code they live in."""

    desa_belum_rekam: Mapping[str, int] = field(default_factory=dict)
    sekolah_belum_rekam: Mapping[str, int] = field(default_factory=dict)
    siswa_per_sekolah: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class StockLocation:
    """Blangko counters of one location, mirrored from the ledger's events."""

    location_id: str
    stok: int = 0
    dipesan: int = 0
    dalam_perjalanan: int = 0
    diterima: int = 0
    terpakai: int = 0
    rusak: int = 0
    used_by_day: Mapping[dt.date, int] = field(default_factory=dict)
    # Net change of `stok` per day (WIB) of the ledger's outcomes: the stock over time.
    stock_change_by_day: Mapping[dt.date, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ListedResident:
    """A counted resident not yet recorded, with the personal data an office list shows."""

    resident_id: str
    desa_code: str
    school_npsn: str | None = None
    school_name: str | None = None
    wajib_ktp_from: str | None = None  # ISO date
    failed_recording: bool = False
    birth_year: int | None = None
    disabilitas: bool = False
    nik: str | None = None
    nama: str | None = None
    jenis_kelamin: str | None = None
    tanggal_lahir: str | None = None  # ISO date
    telepon: str | None = None


@dataclass(frozen=True)
class PlaceVisit:
    """An outreach visit scheduled at a desa or school on a day; `held_on` is the day (WIB) the team
    opened or closed it, None while it was never held."""

    place_code: str
    day: dt.date
    held_on: dt.date | None = None


@dataclass(frozen=True)
class ResidentStage:
    """Where one resident's KTP-el stands, with the birth date the lookup is checked against (no name)."""

    kecamatan_code: str
    birth_date: str | None  # ISO date, from the roster
    enrolled: bool
    active: bool
    recorded: bool
    print_ready: bool
    printed: bool
    handed_over: bool
