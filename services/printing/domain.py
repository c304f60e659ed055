"""The print job lifecycle as pure rules: statuses and their allowed moves, who may see a job, and
when a reprint, a school delivery or a hand-over may happen.

A job waits for a blank (menunggu_blangko), gets one (siap_cetak), is printed (dicetak) or
spoiled (back to waiting, as its next attempt); a printed card is handed over directly or goes
to a school first (dikirim_ke_sekolah, then diterima_sekolah once the school signs). A job not yet
printed is cancelled (dibatalkan) when its resident dies; a blank reserved for it goes to the next
card of its station.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from shared.clock import WIB
from shared.contracts.envelope import Role
from shared.contracts.printing import PrintReason, PriorityClass


class JobStatus(StrEnum):
    MENUNGGU_BLANGKO = "menunggu_blangko"
    SIAP_CETAK = "siap_cetak"
    DICETAK = "dicetak"
    DIKIRIM_KE_SEKOLAH = "dikirim_ke_sekolah"
    DITERIMA_SEKOLAH = "diterima_sekolah"
    DISERAHKAN = "diserahkan"
    DIBATALKAN = "dibatalkan"


PRINTED_STATUSES = (JobStatus.DICETAK, JobStatus.DIKIRIM_KE_SEKOLAH, JobStatus.DITERIMA_SEKOLAH, JobStatus.DISERAHKAN)
OPEN_STATUSES = (JobStatus.MENUNGGU_BLANGKO, JobStatus.SIAP_CETAK)
REPRINT_REASONS = (PrintReason.HILANG, PrintReason.RUSAK, PrintReason.PERUBAHAN_DATA)

# Each status and the statuses a job may move to from it (a spoiled print goes back to waiting).
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.MENUNGGU_BLANGKO: frozenset({JobStatus.SIAP_CETAK, JobStatus.DIBATALKAN}),
    JobStatus.SIAP_CETAK: frozenset({JobStatus.DICETAK, JobStatus.MENUNGGU_BLANGKO, JobStatus.DIBATALKAN}),
    JobStatus.DICETAK: frozenset({JobStatus.DIKIRIM_KE_SEKOLAH, JobStatus.DISERAHKAN}),
    JobStatus.DIKIRIM_KE_SEKOLAH: frozenset({JobStatus.DITERIMA_SEKOLAH}),
    JobStatus.DITERIMA_SEKOLAH: frozenset({JobStatus.DISERAHKAN}),
    JobStatus.DISERAHKAN: frozenset(),
    JobStatus.DIBATALKAN: frozenset(),
}


def may_move(current: JobStatus, target: JobStatus) -> bool:
    """Whether a job in `current` may move to `target`."""
    return target in TRANSITIONS[current]


def sources_of(target: JobStatus) -> tuple[JobStatus, ...]:
    """The statuses from which a job may move to `target` (the guard of a stored move)."""
    return tuple(status for status, targets in TRANSITIONS.items() if target in targets)


class PrintingError(Exception):
    """A command the rules refuse; the message is for the clerk."""


class NotFound(PrintingError):
    """The job, station or delivery does not exist or is not the office's to see."""


class Conflict(PrintingError):
    """The job is not in a state that allows the command."""


class Forbidden(PrintingError):
    """The office's role may not give this command."""


class Invalid(PrintingError):
    """The command's data is outside what the rules accept."""


@dataclass(frozen=True)
class SpoiledAttempt:
    attempt: int
    reason: str
    at: dt.datetime | None = None


@dataclass(frozen=True)
class PrintJob:
    """One card to print for one resident, and how far it got."""

    job_id: str
    station_id: str
    resident_id: str
    kecamatan_code: str
    desa_code: str
    reason: PrintReason
    priority_class: PriorityClass
    status: JobStatus = JobStatus.MENUNGGU_BLANGKO
    rank: int | None = None
    attempt: int = 1
    reservation_id: str | None = None
    wajib_ktp_from: dt.date | None = None
    lansia: bool = False
    disabilitas: bool = False
    source_event_id: str | None = None
    queued_at: dt.datetime | None = None
    printed_at: dt.datetime | None = None
    printer: str | None = None
    handed_over_at: dt.datetime | None = None
    handed_over_via: str | None = None
    delivery_id: str | None = None
    spoiled: tuple[SpoiledAttempt, ...] = ()
    handover_claim: str | None = None
    replaced_by: str | None = None
    replaced_at: dt.datetime | None = None
    replaced_reason: PrintReason | None = None

    def waits_for(self, attempt: int, reservation_id: str) -> bool:
        """Whether this job is ready to print exactly this attempt with this reserved blank."""
        return (self.status == JobStatus.SIAP_CETAK and self.attempt == attempt
                and self.reservation_id == reservation_id)


@dataclass(frozen=True)
class SchoolDelivery:
    """Printed cards of students taken to one school together."""

    delivery_id: str
    station_id: str
    school_npsn: str
    kecamatan_code: str
    job_ids: tuple[str, ...]
    sent_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    received_by: str | None = None
    sent_by: str | None = None


@dataclass(frozen=True)
class ResidentPlace:
    """Where a resident lives and which school they attend, as their latest record on the resident topic says."""

    school_npsn: str | None
    kecamatan_code: str
    desa_code: str


@dataclass(frozen=True)
class PendingReservation:
    """The one blank request a station has in flight."""

    reservation_id: str
    job_id: str
    attempt: int
    requested_at: dt.datetime | None
    stock_epoch: int = 0


@dataclass(frozen=True)
class StationState:
    """A station's reservation in flight, whether it waits for stock, and its worker's last sign of life."""

    station_id: str
    pending: PendingReservation | None = None
    waiting_for_stock: bool = False
    stock_epoch: int = 0
    seq: int = 0
    heartbeat_at: dt.datetime | None = None


def reservation_for(job: PrintJob, station: StationState, now: dt.datetime) -> PendingReservation:
    """The blank request a station makes for its next job (its id names the job, attempt and sequence)."""
    return PendingReservation(reservation_id=f"{job.job_id}.{job.attempt}.{station.seq + 1}", job_id=job.job_id,
                              attempt=job.attempt, requested_at=now, stock_epoch=station.stock_epoch)


def is_stale(pending: PendingReservation, now: dt.datetime, resend_seconds: float) -> bool:
    """A request unanswered this long is sent again."""
    return pending.requested_at is None or (now - pending.requested_at).total_seconds() >= resend_seconds


class Viewer(Protocol):
    """Who asks: an office's id, role and (for a kecamatan office) its kecamatan."""

    @property
    def office_id(self) -> str: ...

    @property
    def role(self) -> Role: ...

    @property
    def kecamatan_code(self) -> str | None: ...


def may_see(viewer: Viewer, *, station_id: str, kecamatan_code: str) -> bool:
    """Dinas sees everything, a station its own jobs, a kecamatan office its kecamatan's."""
    if viewer.role == Role.DINAS_ADMIN:
        return True
    if viewer.role == Role.PRINT_STATION:
        return viewer.office_id == station_id
    return viewer.role == Role.KECAMATAN_OFFICE and viewer.kecamatan_code == kecamatan_code


def check_may_request_reprint(viewer: Viewer, reason: PrintReason) -> None:
    """Reprints come from a kecamatan office or the dinas, for a lost, damaged or changed card."""
    if viewer.role not in (Role.DINAS_ADMIN, Role.KECAMATAN_OFFICE):
        raise Forbidden("Cetak ulang diajukan oleh kantor kecamatan atau admin dinas.")
    if reason not in REPRINT_REASONS:
        raise Invalid("Alasan cetak ulang: hilang, rusak atau perubahan_data.")


# How long a reprint claim whose job never reached the queue holds (its request died before publishing).
REPRINT_CLAIM_HOLDS = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class ReprintClaim:
    """The reprint a resident's card is claimed for: one queued replacement at a time."""

    job_id: str
    claimed_at: dt.datetime


def reprint_claim_replaceable(claim: ReprintClaim, claimed_job: PrintJob | None, now: dt.datetime) -> bool:
    """Whether a new reprint may take over a resident's claim: its card left the queue (printed or
    further), or it never reached the queue and the claim is older than REPRINT_CLAIM_HOLDS."""
    if claimed_job is None:
        return now - claim.claimed_at > REPRINT_CLAIM_HOLDS
    return claimed_job.status not in OPEN_STATUSES


DECEASED = "meninggal"
MOVED_OUT = "pindah"


DECEASED_REFUSAL = ("Tidak dapat diproses: penduduk sudah tercatat meninggal. Kartunya tidak dicetak ulang dan "
                    "tidak diserahkan; bila data kematian keliru, perbaiki dulu di kantor kecamatan.")


def check_may_reprint_for(left_reason: str | None) -> None:
    """A reprint is made only for a resident still living in the regency."""
    if left_reason == DECEASED:
        raise Conflict(DECEASED_REFUSAL)
    if left_reason == MOVED_OUT:
        raise Conflict("Cetak ulang tidak dapat diajukan: penduduk sudah tercatat pindah keluar kabupaten. "
                       "Cetak ulang diurus di daerah tujuan; kartu yang sudah dicetak tetap dapat diserahkan.")


def check_may_hand_over_to(left_reason: str | None) -> None:
    """No card is handed over for a resident recorded as deceased (one who moved out may still collect it)."""
    if left_reason == DECEASED:
        raise Conflict(DECEASED_REFUSAL)


def reprint_source(history: Sequence[PrintJob]) -> PrintJob:
    """The printed job a reprint copies its area and needs from; refused if never printed or still queued."""
    printed = [job for job in history if job.status in PRINTED_STATUSES]
    if not printed:
        raise Conflict("Penduduk ini belum pernah dicetak KTP-el-nya di sini: cetak pertama datang dari "
                       "status PRR perekaman, bukan dari cetak ulang.")
    if any(job.status in OPEN_STATUSES for job in history):
        raise Conflict("Kartu penduduk ini masih dalam antrean cetak.")
    return printed[-1]


def _day(at: dt.datetime | None) -> str:
    """A moment as the clerk reads it: its date in WIB."""
    if at is None:
        return ""
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return f" pada {at.astimezone(WIB):%d-%m-%Y}"


def handover_route(job: PrintJob) -> str:
    """How a card reaches its owner: 'langsung' or 'sekolah'; refused for a card handed over already,
    replaced by a reprint, still at school unsigned, or not printed."""
    if job.replaced_by is not None:
        reason = f" ({job.replaced_reason.value})" if job.replaced_reason else ""
        raise Conflict(f"Kartu ini tidak berlaku lagi: sudah diganti cetak ulang{reason}{_day(job.replaced_at)} "
                       f"dengan pekerjaan {job.replaced_by}. Serahkan kartu pengganti itu setelah dicetak.")
    if job.status == JobStatus.DISERAHKAN or job.handover_claim is not None:
        raise Conflict(f"Kartu ini sudah diserahkan kepada pemiliknya{_day(job.handed_over_at)}; satu kartu "
                       "diserahkan sekali saja. Bila kartu hilang atau rusak, ajukan cetak ulang.")
    if job.status == JobStatus.DIKIRIM_KE_SEKOLAH:
        raise Conflict("Kartu sudah dikirim ke sekolah: catat dulu tanda terima sekolah.")
    if not may_move(job.status, JobStatus.DISERAHKAN):
        raise Conflict(f"Kartu belum dicetak (status {job.status.value}).")
    return "sekolah" if job.status == JobStatus.DITERIMA_SEKOLAH else "langsung"


def check_may_send_to_school(viewer: Viewer) -> None:
    """School deliveries are recorded by a print station or the dinas."""
    if viewer.role not in (Role.DINAS_ADMIN, Role.PRINT_STATION):
        raise Forbidden("Pengiriman ke sekolah dicatat oleh stasiun cetak atau admin dinas.")


def delivery_station(jobs: Iterable[PrintJob]) -> str:
    """The one station whose printed cards go to a school together; refused for cards not just printed."""
    jobs = list(jobs)
    replaced = [job.job_id for job in jobs if job.replaced_by is not None]
    if replaced:
        raise Conflict(f"{len(replaced)} kartu sudah diganti cetak ulang dan tidak berlaku lagi: "
                       f"{', '.join(replaced[:10])}. Keluarkan dari pengiriman.")
    not_ready = [job.job_id for job in jobs
                 if job.handover_claim is not None or not may_move(job.status, JobStatus.DIKIRIM_KE_SEKOLAH)]
    if not_ready:
        raise Conflict(f"{len(not_ready)} kartu belum dicetak atau sudah dikirim/diserahkan: "
                       f"{', '.join(not_ready[:10])}")
    stations = {job.station_id for job in jobs}
    if len(stations) != 1:
        raise Conflict("Satu pengiriman berisi kartu dari satu stasiun cetak.")
    return stations.pop()


def check_students_of(school_npsn: str, jobs: Iterable[PrintJob], schools: Mapping[str, str | None]) -> None:
    """Every card of a school delivery belongs to a student of that school (`schools`: resident -> NPSN)."""
    elsewhere = [job.job_id for job in jobs if schools.get(job.resident_id) != school_npsn]
    if elsewhere:
        raise Conflict(f"{len(elsewhere)} kartu bukan milik siswa sekolah NPSN {school_npsn} menurut data "
                       f"penduduk: {', '.join(elsewhere[:10])}. Kirim kartu itu ke sekolah pemiliknya atau "
                       "serahkan langsung.")


def check_may_acknowledge(viewer: Viewer, delivery: SchoolDelivery) -> None:
    """The school's receipt is recorded by the kecamatan office or the dinas, never by the office that sent it."""
    if viewer.role == Role.PRINT_STATION or viewer.office_id == delivery.sent_by:
        raise Forbidden("Tanda terima sekolah dicatat oleh kantor kecamatan atau admin dinas yang tidak mengirim "
                        "kartu itu, setelah sekolah menandatangani; stasiun cetak yang mengirim tidak boleh "
                        "mencatatnya sendiri.")


def seconds_queued_to_printed(job: PrintJob, printed_at: dt.datetime) -> float | None:
    """Seconds from the print request to the printed card (stored times without a zone are UTC)."""
    if job.queued_at is None:
        return None
    queued_at = job.queued_at if job.queued_at.tzinfo else job.queued_at.replace(tzinfo=dt.UTC)
    return max(0.0, (printed_at - queued_at).total_seconds())


def card_is_valid(job: PrintJob) -> bool:
    """A printed card no reprint replaced: the one the resident may carry."""
    return job.status in PRINTED_STATUSES and job.replaced_by is None


def where_is(job: PrintJob, delivery: SchoolDelivery | None) -> str:
    """Where one card is, in a sentence for the clerk: printed when and where, at school, handed over, replaced."""
    if job.status == JobStatus.DIBATALKAN:
        return f"Dibatalkan sebelum dicetak di stasiun {job.station_id}: penduduk sudah tercatat meninggal."
    if job.status in OPEN_STATUSES:
        spoiled = f" ({len(job.spoiled)} blangko rusak sebelumnya)" if job.spoiled else ""
        return f"Dalam antrean cetak di stasiun {job.station_id}, status {job.status.value}{spoiled}."
    steps = [f"Dicetak{_day(job.printed_at)} di stasiun {job.station_id}"]
    if delivery is not None:
        steps.append(f"dikirim ke sekolah NPSN {delivery.school_npsn}{_day(delivery.sent_at)}")
        if delivery.acknowledged_at is not None:
            steps.append(f"diterima sekolah{_day(delivery.acknowledged_at)} ({delivery.received_by})")
    if job.status == JobStatus.DISERAHKAN:
        via = "melalui sekolah" if job.handed_over_via == "sekolah" else "langsung"
        steps.append(f"diserahkan {via}{_day(job.handed_over_at)}")
    elif job.replaced_by is None:
        steps.append("belum diserahkan")
    if job.replaced_by is not None:
        steps.append(f"tidak berlaku: diganti cetak ulang{_day(job.replaced_at)} dengan {job.replaced_by}")
    return ", ".join(steps) + "."


def check_may_read_cards(viewer: Viewer, kecamatan_code: str) -> None:
    """A resident's cards are read by the office of the resident's kecamatan or the dinas."""
    if viewer.role == Role.DINAS_ADMIN:
        return
    if viewer.role != Role.KECAMATAN_OFFICE or viewer.kecamatan_code != kecamatan_code:
        raise Forbidden("Riwayat kartu penduduk hanya dapat dibaca kantor kecamatan tempat penduduk terdaftar "
                        "atau admin dinas.")
