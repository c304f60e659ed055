"""The perekaman lifecycle: statuses only move forward; failures send a resident back to recording.

Pure rules: no broker, no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

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


def stuck(progress: Progress, now: dt.datetime, days: int) -> bool:
    """Residents sitting in one stage longer than `days` (for example SFE waiting for PRR)."""
    return progress.stage not in (Stage.BELUM_REKAM, Stage.PRR) and now - progress.since > dt.timedelta(days=days)


def carry_over(targets: list[str], stages: dict[str, Stage]) -> list[str]:
    """Targets of a closed visit not recorded yet (absent or failed): the next visit's targets."""
    return [r for r in targets if stages.get(r, Stage.BELUM_REKAM) not in RECORDED]


LANSIA_AGE = 60


def lansia_from(birth_date: dt.date) -> dt.date:
    """The day a resident counts as lansia (60th birthday, UU 13/1998); 29 February moves to 1 March."""
    return add_years(birth_date, LANSIA_AGE)


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
class StuckResident:
    """A resident sitting in one stage too long."""

    resident_id: str
    stage: Stage
    since: dt.datetime
    kecamatan_code: str | None
    desa_code: str | None
