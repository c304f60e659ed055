"""The perekaman lifecycle: statuses only move forward; failures send a resident back to recording.

Pure rules: no broker, no database.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.contracts import Role
from shared.contracts.recording import MAX_VISIT_TARGETS, SiakStatus
from shared.dates import add_years

FUTURE_TOLERANCE = dt.timedelta(minutes=5)


class Stage(StrEnum):
    """Where a resident is in the lifecycle (SIAK's statuses, plus the field's own)."""

    BELUM_REKAM = "belum_rekam"
    GAGAL_REKAM = "gagal_rekam"
    REKAM = "rekam"
    GAGAL_PUSAT = "gagal_pusat"
    DUPLIKAT = "duplikat"
    PRR = "prr"


RANK = {
    Stage.BELUM_REKAM: 0, Stage.GAGAL_REKAM: 0, Stage.REKAM: 1,
    Stage.GAGAL_PUSAT: 2, Stage.DUPLIKAT: 2, Stage.PRR: 3,
}
FAILURES = {Stage.GAGAL_REKAM, Stage.GAGAL_PUSAT}
RECORDED = {Stage.REKAM, Stage.GAGAL_PUSAT, Stage.DUPLIKAT, Stage.PRR}

SIAK_STAGE = {
    SiakStatus.SFE: Stage.REKAM,
    SiakStatus.PRR: Stage.PRR,
    SiakStatus.DUPLICATE_RECORD: Stage.DUPLIKAT,
    SiakStatus.ENROLL_FAILURE_AT_CENTRAL: Stage.GAGAL_PUSAT,
    SiakStatus.ENROLL_FAILURE_AT_REGIONAL: Stage.GAGAL_PUSAT,
    SiakStatus.SEARCH_FAILURE_AT_CENTRAL: Stage.GAGAL_PUSAT,
}
REMEDY = {Stage.DUPLIKAT: "selesaikan_duplikat", Stage.GAGAL_PUSAT: "rekam_ulang"}


@dataclass(frozen=True)
class Progress:
    """A resident's stage and since when."""

    stage: Stage
    since: dt.datetime


def advance(current: Progress | None, stage: Stage, at: dt.datetime) -> Progress | None:
    """The new progress after a report of `stage` at `at`, or None when the report is stale.

    Higher stages win whatever order reports arrive in. A new capture after a failure is a
    re-recording and counts when it happened after the failure; a failed capture never
    undoes a successful one.
    """
    if current is None:
        return Progress(stage, at)
    if RANK[stage] > RANK[current.stage]:
        return Progress(stage, at)
    if current.stage in FAILURES and stage in (Stage.REKAM, Stage.GAGAL_REKAM) and at > current.since:
        return Progress(stage, at)
    return None


def remedy_for(stage: Stage) -> str | None:
    """The follow-up a status needs: re-record after a failure, resolve a duplicate."""
    return REMEDY.get(stage)


def visit_date_problem(date: dt.date, *, today: dt.date, days_back: int, days_ahead: int) -> str | None:
    """A visit date outside the window around today (WIB) is a typo, not a plan: 9999 would never
    come, and a visit dated years back would count as held and push its desa down the plan."""
    earliest, latest = today - dt.timedelta(days=days_back), today + dt.timedelta(days=days_ahead)
    if date < earliest:
        return (f"tanggal kunjungan terlalu jauh di masa lalu: paling awal {earliest.isoformat()} "
                f"({days_back} hari sebelum hari ini)")
    if date > latest:
        return (f"tanggal kunjungan terlalu jauh di masa depan: paling lambat {latest.isoformat()} "
                f"({days_ahead} hari sesudah hari ini)")
    return None


def too_many_targets(count: int, *, carried: int) -> str | None:
    """A visit has at most MAX_VISIT_TARGETS targets, carried-over residents included: more would make
    an event larger than the consumers take."""
    if count <= MAX_VISIT_TARGETS:
        return None
    if carried:
        return (f"paling banyak {MAX_VISIT_TARGETS} target per kunjungan, termasuk {carried} penduduk yang terbawa "
                f"dari kunjungan sebelumnya di tempat ini (jumlahnya kini {count}): kurangi targets atau bagi menjadi "
                "beberapa kunjungan")
    return f"paling banyak {MAX_VISIT_TARGETS} target per kunjungan (terkirim {count}): bagi menjadi beberapa kunjungan"


def device_time_problem(device_time: dt.datetime, now: dt.datetime) -> str | None:
    """A device clock ahead of the server by more than a few minutes is refused."""
    if device_time > now + FUTURE_TOLERANCE:
        return "waktu perangkat di masa depan: periksa jam perangkat lalu kirim ulang"
    return None


def status_time_problem(status_at: dt.datetime, now: dt.datetime, *, column: str = "status_at") -> str | None:
    """A SIAK status dated in the future (beyond a few minutes of clock difference) is refused: it would
    hold the resident's stage against every real status until that day."""
    if status_at > now + FUTURE_TOLERANCE:
        return f"{column}: tanggal status di masa depan; periksa tanggal dan tahunnya"
    return None


def stuck(progress: Progress, now: dt.datetime, days: int) -> bool:
    """Residents sitting in one stage longer than `days` (for example SFE waiting for PRR)."""
    return progress.stage not in (Stage.BELUM_REKAM, Stage.PRR) and now - progress.since > dt.timedelta(days=days)


def carry_over(targets: list[str], stages: dict[str, Stage], captured: frozenset[str] = frozenset()) -> list[str]:
    """Targets of a closed visit not recorded yet (absent or failed): the next visit's targets. A target
    whose capture at this visit was accepted is recorded, even before the capture is applied."""
    return [r for r in targets if r not in captured and stages.get(r, Stage.BELUM_REKAM) not in RECORDED]


LANSIA_AGE = 60


def lansia_from(birth_date: dt.date) -> dt.date:
    """The day a resident counts as lansia (60th birthday, UU 13/1998); 29 February moves to 1 March."""
    return add_years(birth_date, LANSIA_AGE)


# Perekaman may start at 16, a year before a resident becomes wajib KTP at 17 (the card is printed from 17).

RECORDING_YEARS_AHEAD = 1


def recordable_from(wajib_ktp_from: dt.date) -> dt.date:
    """The first day a resident may be recorded: a year before they become wajib KTP (the 16th birthday,
    or at once for a resident wajib KTP by marriage)."""
    return add_years(wajib_ktp_from, -RECORDING_YEARS_AHEAD)


def latest_wajib_recordable_on(day: dt.date) -> dt.date:
    """The latest wajib KTP date of a resident who may be recorded on `day` (29 February counted as
    `add_years` counts it)."""
    latest = add_years(day, RECORDING_YEARS_AHEAD)
    while recordable_from(latest + dt.timedelta(days=1)) <= day:
        latest += dt.timedelta(days=1)
    while recordable_from(latest) > day:
        latest -= dt.timedelta(days=1)
    return latest


def too_young_problem(wajib_ktp_from: dt.date | None, on: dt.date) -> str | None:
    """Why a resident may not be recorded on `on` yet, naming the day from which they may; None if they may
    (or the roster gives no wajib KTP date)."""
    if wajib_ktp_from is None or recordable_from(wajib_ktp_from) <= on:
        return None
    return (f"belum boleh direkam: perekaman KTP-el mulai umur 16 tahun, penduduk ini boleh direkam mulai "
            f"{recordable_from(wajib_ktp_from).isoformat()}")


def too_young_targets_problem(day: dt.date, young: list[tuple[str, dt.date]]) -> str | None:
    """Why explicit targets cannot be taken: some may not be recorded on the visit's date yet."""
    if not young:
        return None
    shown = ", ".join(f"{r} mulai {recordable_from(w).isoformat()}" for r, w in young[:3])
    return (f"{len(young)} target belum boleh direkam pada {day.isoformat()} (perekaman KTP-el mulai umur 16 tahun): "
            f"{shown}{', ...' if len(young) > 3 else ''}; hapus dari targets atau jadwalkan kunjungan pada tanggal "
            "itu atau sesudahnya")


STAGE_LABEL = {
    Stage.BELUM_REKAM: "belum rekam", Stage.GAGAL_REKAM: "gagal rekam", Stage.REKAM: "rekam (SFE)",
    Stage.GAGAL_PUSAT: "gagal rekam di pusat", Stage.DUPLIKAT: "DUPLICATE_RECORD", Stage.PRR: "PRR (siap cetak)",
}


def backwards_problem(current: Progress, status: str, stage: Stage) -> str:
    """Why a SIAK status is not applied: it would move the resident backwards, or repeats where they are."""
    where = f"penduduk ini sudah di tahap {STAGE_LABEL[current.stage]} sejak {current.since.isoformat()}"
    if RANK[stage] == RANK[current.stage] and stage not in FAILURES:
        return f"status {status} tidak mengubah apa pun: {where}"
    return f"status {status} tidak dipakai karena status tidak boleh mundur: {where}; tidak ada yang diubah"


# Who may do what: dinas admins everywhere, offices and field teams in their own kecamatan.

FIELD_ROLES = frozenset({Role.FIELD_TEAM, Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN})
SCHEDULING_ROLES = frozenset({Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN})


def in_scope(role: Role, own_kecamatan: str | None, kecamatan_code: str | None) -> bool:
    """A dinas admin sees every kecamatan; anyone else only their own."""
    return role == Role.DINAS_ADMIN or own_kecamatan == kecamatan_code


class VisitState(StrEnum):
    """A visit is scheduled, then opened for recording, then closed."""

    DIJADWALKAN = "dijadwalkan"
    DIBUKA = "dibuka"
    DITUTUP = "ditutup"


@dataclass(frozen=True)
class Visit:
    """A jemput bola visit and its targets (resident ids only)."""

    visit_id: str
    date: dt.date
    kind: str
    place_code: str
    kecamatan_code: str
    team: str
    targets: tuple[str, ...]
    carried_over: tuple[str, ...]
    state: VisitState
    no_shows: tuple[str, ...] | None = None
    opened_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


def closed_visit_problem(visit: Visit, device_time: dt.datetime, kind: str) -> str | None:
    """Why a field event naming a visit that is not open now is refused, or None when it was made while the
    visit was open (an offline device uploads after closing); the reason says what to send instead."""
    if visit.state == VisitState.DIJADWALKAN:
        return (f"kunjungan {visit.visit_id} belum dibuka: buka kunjungan dulu lalu kirim ulang, atau kirim "
                "kejadian ini tanpa visit_id")
    if visit.state == VisitState.DIBUKA:
        return None
    if visit.opened_at is not None and visit.closed_at is not None \
            and visit.opened_at <= device_time <= visit.closed_at:
        return None
    if kind == "absent":
        return (f"kunjungan {visit.visit_id} sudah ditutup dan ketidakhadiran ini di luar masa kunjungan dibuka: "
                "penduduk yang belum direkam sudah tercatat tidak hadir saat kunjungan ditutup; jangan kirim ulang")
    window = (f" ({visit.opened_at.isoformat()} s.d. {visit.closed_at.isoformat()})"
              if visit.opened_at and visit.closed_at else "")
    return (f"kunjungan {visit.visit_id} sudah ditutup dan waktu perangkat di luar masa kunjungan dibuka{window}: "
            "kirim ulang kejadian ini tanpa visit_id")


@dataclass(frozen=True)
class Place:
    """Where a resident lives."""

    kecamatan_code: str | None
    desa_code: str | None


@dataclass(frozen=True)
class RosterFacts:
    """What recording keeps of the roster; a resident who left keeps the rest and only leaves the roster."""

    in_roster: bool
    kecamatan_code: str | None = None
    desa_code: str | None = None
    school_npsn: str | None = None
    wajib_ktp_from: dt.date | None = None
    lansia_from: dt.date | None = None
    disabilitas: bool = False


@dataclass(frozen=True)
class ResidentRecord:
    """A resident as recording knows them: place, roster facts and progress."""

    resident_id: str
    in_roster: bool
    place: Place
    stage: Stage
    since: dt.datetime | None
    stale_reports: int = 0
    wajib_ktp_from: dt.date | None = None
    lansia_from: dt.date | None = None
    disabilitas: bool = False
    applied: frozenset[str] = frozenset()

    @property
    def progress(self) -> Progress | None:
        """The progress to advance from; None before anything was recorded."""
        return None if self.since is None else Progress(self.stage, self.since)


@dataclass(frozen=True)
class Taken:
    """An uploaded field event taken (published or kept as a walk-in); a capture at a visit names the
    resident it recorded there, so closing the visit counts them before the capture is applied."""

    event_id: str
    visit_id: str | None = None
    captured_resident: str | None = None


@dataclass(frozen=True)
class WaitingWalkIn:
    """A field event of someone not in the roster, waiting until the kecamatan office registers them.

    `item` is the field event as uploaded; `resident_id` the pseudonym its NIK (or given id) will have."""

    event_id: str
    resident_id: str
    kecamatan_code: str | None
    item: dict[str, Any]
    office_id: str
    actor: dict[str, Any]
    at: dt.datetime


WALK_IN_KEPT = ("belum ada di daftar perekaman: kejadian ini menunggu pendaftaran; kantor kecamatan melihatnya di "
                "daftar walk-in (GET /walk-ins) dan mendaftarkan penduduknya, lalu perekaman ini dihitung otomatis")


@dataclass(frozen=True)
class StuckResident:
    """A resident sitting in one stage too long."""

    resident_id: str
    stage: Stage
    since: dt.datetime
    kecamatan_code: str | None
    desa_code: str | None


# Where a visit may be: its place and its targets lie in its kecamatan.

DESA_CODE = re.compile(r"\d{2}\.\d{2}\.\d{2}\.\d{4}")
NPSN = re.compile(r"\d{8}")


def place_problem(kind: str, place_code: str, kecamatan_code: str) -> str | None:
    """Why a visit's place does not lie in its kecamatan, or None.

    Desa codes are hierarchical (17.02.06.2001 lies in 17.02.06); a kantor_kecamatan visit is at the
    kecamatan itself. A school's NPSN says nothing of its kecamatan, so a school visit is checked by
    its targets instead (`outside_kecamatan`).
    """
    if kind in ("desa", "rumah"):
        if not DESA_CODE.fullmatch(place_code):
            return "untuk kunjungan desa atau rumah, isi kode desa/kelurahan (mis. 17.02.06.2001)"
        if not place_code.startswith(kecamatan_code + "."):
            return (f"desa/kelurahan {place_code} tidak berada di kecamatan {kecamatan_code}: jadwalkan di desa "
                    f"kecamatan ini, atau minta kecamatan {place_code[:8]} yang menjadwalkannya")
    if kind == "kantor_kecamatan" and place_code != kecamatan_code:
        return f"untuk kunjungan kantor_kecamatan, isi kode kecamatan itu sendiri ({kecamatan_code})"
    if kind == "sekolah" and not NPSN.fullmatch(place_code):
        return "untuk kunjungan sekolah, isi NPSN sekolah (8 digit angka)"
    return None


def residents_of(kecamatan_code: str, ids: list[str], records: dict[str, ResidentRecord]) -> list[str]:
    """The ids of roster residents living in the kecamatan, in the order given."""
    return [r for r in ids if (record := records.get(r)) is not None and record.in_roster
            and record.place.kecamatan_code == kecamatan_code]


def outside_problem(kecamatan_code: str, outside: list[str]) -> str | None:
    """Why explicit targets cannot be taken: some are not roster residents of the visit's kecamatan."""
    if not outside:
        return None
    shown = ", ".join(outside[:3]) + (", ..." if len(outside) > 3 else "")
    return (f"{len(outside)} target bukan penduduk kecamatan {kecamatan_code} di daftar perekaman ({shown}): hapus "
            "dari targets; penduduk kecamatan lain dijadwalkan oleh kecamatannya sendiri")
