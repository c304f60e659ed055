"""What intake's use cases need from storage and background work, and the typed values stores return."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.areas import Areas
from shared.clock import Clock
from shared.coalescing import Coalescer
from shared.contracts import ResidentEnrolled, ResidentLeft, ResidentUpdated
from shared.contracts.resident import LeaveReason
from shared.idempotency import RequestClaims
from shared.publishing import BatchPublisher

ACTIVE = "aktif"
CLAIM_STALE_AFTER = dt.timedelta(minutes=5)
"""A registration claim older than this was left by a process that stopped; another registration may take it."""
RUNNING, DONE, INTERRUPTED, FAILED = "berjalan", "selesai", "terputus", "gagal"
IMPORT_LEASE = dt.timedelta(seconds=60)
"""An import job belongs to the replica running it while that replica renews the job's heartbeat; a job not
renewed for this long was left by a replica that stopped without recording it (a crash, a lost machine)."""
ORPHANED_MESSAGE = ("proses impor terhenti karena layanan yang menjalankannya berhenti mendadak; unggah ulang file "
                    "yang sama untuk melanjutkan")


@dataclass(frozen=True)
class ResidentRecord:
    """One resident in the roster as intake knows them."""

    resident_id: str
    nik: str
    name: str
    sex: str
    birth_date: dt.date
    marital_status: str
    kecamatan_code: str
    desa_code: str
    wajib_ktp_from: dt.date
    school_npsn: str | None = None
    phone: str | None = None
    nik_from_other_regency: bool = False
    school_name: str | None = None
    disabilitas: bool = False
    left_reason: LeaveReason | None = None
    left_on: dt.date | None = None

    @property
    def active(self) -> bool:
        """Still in the regency and alive."""
        return self.left_reason is None

    @property
    def status(self) -> str:
        """aktif, pindah or meninggal, as a clerk reads it."""
        return ACTIVE if self.left_reason is None else self.left_reason.value


@dataclass(frozen=True)
class ReviewItem:
    """A resident flagged for a person to look at: possibly the same person as others under another NIK,
    and/or an implausible age (`age_reason` says why and what to do)."""

    resident_id: str
    kecamatan_code: str
    possible_duplicates: tuple[str, ...]
    flagged_at: dt.datetime
    age_reason: str | None = None
    settled_duplicates: tuple[str, ...] = ()
    """Residents a person already found to be someone else (they do not flag this resident again)."""


@dataclass(frozen=True)
class RowProblem:
    """One refused row of an import file; `group` is the reason without the row's particulars (empty: the reason)."""

    line: int
    column: str
    reason: str
    group: str = ""


@dataclass(frozen=True)
class ReasonCount:
    """How many row errors of an import share a column and a reason."""

    column: str
    reason: str
    count: int


@dataclass(frozen=True)
class ErrorReport:
    """The row errors of an import as a job keeps them: the first ones, and counts of all of them."""

    kept: tuple[RowProblem, ...] = ()
    total: int = 0
    refused_rows: int = 0
    reasons: tuple[ReasonCount, ...] = ()
    stopped_at_line: int | None = None


@dataclass(frozen=True)
class ImportJob:
    """An import job: status, progress counters and per-row errors (the first ones kept, all counted)."""

    job_id: str
    office_id: str
    kecamatan_code: str | None
    status: str
    total_rows: int = 0
    valid_rows: int = 0
    processed: int = 0
    imported: int = 0
    already_registered: int = 0
    flagged_for_review: int = 0
    errors: tuple[RowProblem, ...] = ()
    error_count: int = 0
    refused_rows: int = 0
    reasons: tuple[ReasonCount, ...] = ()
    stopped_at_line: int | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    message: str | None = None
    owner: str | None = None
    """The replica (host, process) running the job, while it runs."""
    heartbeat_at: dt.datetime | None = None
    """When that replica last said it still runs the job."""

    def orphaned(self, now: dt.datetime, lease: dt.timedelta) -> bool:
        """Still marked running, but its replica has not renewed it within the lease: it stopped without
        saying so, and the job is interrupted."""
        return self.status == RUNNING and (self.heartbeat_at is None or now - self.heartbeat_at > lease)

    def as_seen(self, now: dt.datetime, lease: dt.timedelta) -> ImportJob:
        """The job as a clerk should see it: an orphaned job is interrupted, even before a replica's sweep
        records it so."""
        if not self.orphaned(now, lease):
            return self
        return dataclasses.replace(self, status=INTERRUPTED, message=ORPHANED_MESSAGE)

    @property
    def progress_percent(self) -> float:
        """Share of valid rows processed, in percent."""
        return 100.0 if self.valid_rows == 0 else round(100.0 * self.processed / self.valid_rows, 1)


ResidentEvent = ResidentEnrolled | ResidentUpdated | ResidentLeft


@dataclass(frozen=True)
class PersonFacts:
    """Who a resident is without their NIK, for the same-person check."""

    resident_id: str
    name: str
    birth_date: dt.date
    desa_code: str


class RosterPort(Protocol):
    """The roster of residents, applied from resident events once and in order; a resident is registered
    under a claim (one event at a time per resident) so that two registrations of one NIK cannot both pass."""

    async def get(self, resident_id: str) -> ResidentRecord | None: ...
    async def has_applied(self, resident_id: str, event_id: str) -> bool: ...
    async def existing_ids(self, resident_ids: list[str]) -> set[str]: ...
    async def departed(self, resident_ids: list[str]) -> dict[str, ResidentRecord]: ...
    async def claim_registration(self, resident_id: str, event_id: str, *, now: dt.datetime,
                                 stale_after: dt.timedelta) -> bool: ...
    async def release_registration(self, resident_id: str, event_id: str) -> None: ...
    async def claim_registrations(self, claims: dict[str, str], *, now: dt.datetime,
                                  stale_after: dt.timedelta) -> set[str]: ...
    async def release_registrations(self, claims: dict[str, str]) -> None: ...
    def writing(self, events: Sequence[ResidentEvent]) -> AbstractAsyncContextManager[None]: ...
    async def insert_new(self, events: list[ResidentEnrolled]) -> list[ResidentEnrolled]: ...
    async def apply(self, event: ResidentEvent) -> bool: ...
    async def apply_many(self, events: list[ResidentEvent]) -> list[bool]: ...
    async def same_person_elsewhere(
        self, *, resident_id: str, name: str, birth_date: dt.date, desa_code: str) -> list[str]: ...
    async def same_people_elsewhere(self, people: list[PersonFacts]) -> dict[str, list[str]]: ...
    async def cohort(self, *, kecamatan_code: str | None, after: dt.date, until: dt.date) -> list[ResidentRecord]: ...
    async def count_wajib(self, *, kecamatan_code: str | None, on: dt.date) -> int: ...


class ReviewsPort(Protocol):
    """Possible duplicates and implausible ages waiting for a person to decide."""

    async def flag(self, *, resident_id: str, others: list[str], kecamatan_code: str, now: dt.datetime,
                   age_reason: str | None = None) -> None: ...
    async def clear_age(self, *, resident_id: str, now: dt.datetime) -> None: ...
    async def open(self, kecamatan_code: str | None) -> list[ReviewItem]: ...
    async def get(self, resident_id: str) -> ReviewItem | None: ...
    async def settle_duplicates(self, *, resident_id: str, office_id: str, note: str, now: dt.datetime) -> None: ...


class AuditPort(Protocol):
    """One record per read of personal data."""

    async def record(self, *, office_id: str, action: str, scope: str | None, resident_ids: Sequence[str],
                     now: dt.datetime, operator: str | None = None) -> None: ...


class ImportJobsPort(Protocol):
    """Import job records."""

    async def get(self, job_id: str) -> ImportJob | None: ...
    async def create(self, job_id: str, *, office_id: str, kecamatan_code: str | None, total_rows: int,
                     valid_rows: int, errors: ErrorReport, now: dt.datetime) -> None: ...
    async def progress(self, job_id: str, **increments: int) -> bool:
        """Add to the counters of a job this replica runs; False when it no longer does (another replica
        took the job over after its lease ran out)."""
    async def finish(self, job_id: str, status: str, now: dt.datetime, message: str | None = None) -> None: ...


class BackgroundPort(Protocol):
    """Runs work after the answer is sent (an import's rows)."""

    def start(self, work: Coroutine[Any, Any, None]) -> None: ...


@dataclass(frozen=True)
class ImportLimits:
    """How many row errors an import job keeps, after how many refused rows it stops reading the file, and
    how long a job's heartbeat may be silent before the job counts as interrupted."""

    errors_kept: int = 1_000
    stop_after_refused: int = 10_000
    lease: dt.timedelta = IMPORT_LEASE


@dataclass(frozen=True)
class IntakeDeps:
    """Everything intake's use cases need, built once by the app (or a test)."""

    publisher: BatchPublisher
    clock: Clock
    areas: Areas
    pseudonym_key: str
    roster: RosterPort
    reviews: ReviewsPort
    audit: AuditPort
    requests: RequestClaims
    jobs: ImportJobsPort
    background: BackgroundPort
    import_limits: ImportLimits = ImportLimits()
    # Registrations posted at the same moment are written together (`handlers._register_together`).
    registrations: Coalescer[Any, Any] = field(default_factory=Coalescer)
