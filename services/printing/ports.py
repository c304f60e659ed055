"""What the printing use cases need from storage: jobs, station reservations and school deliveries.

`store.PrintingStore` implements these on MongoDB, `tests.fakes.printing` in memory. Every move is
guarded by the state it expects, so a redelivered event changes nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from services.printing.domain import (
    JobStatus,
    PendingReservation,
    PrintJob,
    ReprintClaim,
    ResidentPlace,
    SchoolDelivery,
    StationState,
)


class JobReader(Protocol):
    """Reading one job (what a station worker needs besides its heartbeat)."""

    async def job(self, job_id: str) -> PrintJob | None: ...

    async def heartbeat(self, station_id: str, at: dt.datetime) -> None: ...


class PrintJobs(JobReader, Protocol):
    """Print jobs: added once, moved only from the state an event expects."""

    async def add_job(self, job: PrintJob) -> bool: ...

    async def jobs_of_resident(self, resident_id: str) -> list[PrintJob]: ...

    async def next_waiting(self, station_id: str) -> PrintJob | None: ...

    async def queue(self, station_id: str, *, status: JobStatus | None = None, limit: int = 500) -> list[PrintJob]: ...

    async def queue_depths(self) -> dict[str, dict[JobStatus, int]]: ...

    async def mark_reserved(self, job_id: str, *, attempt: int, reservation_id: str) -> bool: ...

    async def mark_printed(self, job_id: str, *, attempt: int, reservation_id: str, at: dt.datetime,
                           printer: str) -> bool: ...

    async def mark_spoiled(self, job_id: str, *, attempt: int, reservation_id: str, reason: str,
                           at: dt.datetime) -> bool: ...

    async def mark_handed_over(self, job_id: str, *, at: dt.datetime, via: str) -> bool: ...

    async def mark_sent_to_school(self, job_ids: Sequence[str], delivery_id: str) -> int: ...

    async def mark_received_by_school(self, job_ids: Sequence[str], delivery_id: str) -> int: ...

    async def rerank(self, order: Sequence[str]) -> None: ...

    async def claim_handover(self, job_id: str, event_id: str) -> bool:
        """Take a printed, valid card for one hand-over (`event_id`); False when it was taken or voided."""
        ...

    async def release_handover(self, job_id: str, event_id: str) -> None:
        """Give back a hand-over claim whose event was not published."""
        ...

    async def void_cards(self, resident_id: str, *, replaced_by: str, reason: str, at: dt.datetime) -> int:
        """Mark the resident's printed cards other than `replaced_by` as replaced (no longer valid)."""
        ...

    async def cancel_open_jobs(self, resident_id: str) -> list[PrintJob]:
        """Cancel the resident's jobs not yet printed; the jobs as they were before (each cancelled once)."""
        ...

    async def take_blank_of_cancelled(self, job_id: str, reservation_id: str) -> bool:
        """Take the blank reserved (`reservation_id`) for a cancelled job, to pass it on; True only once."""
        ...


class Stations(Protocol):
    """Each station's one reservation in flight and whether it waits for stock."""

    async def station(self, station_id: str) -> StationState: ...

    async def claim_reservation(self, station_id: str, *, seq: int, pending: PendingReservation) -> bool: ...

    async def finish_reservation(self, station_id: str, reservation_id: str, *, waiting_for_stock: bool) -> bool: ...

    async def stock_arrived(self, station_id: str) -> None: ...

    async def touch_pending(self, station_id: str, reservation_id: str, at: dt.datetime) -> None: ...


class Deliveries(Protocol):
    """School deliveries: recorded once, acknowledged once."""

    async def add_delivery(self, delivery: SchoolDelivery) -> bool: ...

    async def delivery(self, delivery_id: str) -> SchoolDelivery | None: ...
    async def deliveries_waiting(self, *, kecamatan_code: str | None) -> list[SchoolDelivery]: ...

    async def record_acknowledgement(self, delivery_id: str, *, at: dt.datetime, received_by: str) -> bool: ...


class ResidentSchools(Protocol):
    """The school each resident attends and whether they left, as the resident topic says."""

    async def remember_residents(self, places: dict[str, ResidentPlace]) -> None:
        """Where residents live now and which school they attend (their latest records on the resident topic)."""
        ...

    async def schools_of(self, resident_ids: Sequence[str]) -> dict[str, str | None]: ...

    async def area_of(self, resident_id: str) -> tuple[str, str] | None:
        """The resident's current kecamatan and desa, None when the resident topic has not told it."""
        ...

    async def remember_left(self, resident_id: str, reason: str) -> None:
        """The resident left the regency's population: 'pindah' or 'meninggal'."""
        ...

    async def left_reason(self, resident_id: str) -> str | None:
        """Why the resident left ('pindah', 'meninggal'), None while they live in the regency."""
        ...


class ReadAudit(Protocol):
    """One record per read of a resident's data."""

    async def record_read(self, *, office_id: str, operator: str | None = None, action: str, kecamatan_code: str | None,
                          resident_ids: Sequence[str], now: dt.datetime) -> None: ...


class ReprintClaims(Protocol):
    """One claimed reprint per resident, taken atomically before its event is published."""

    async def claim_reprint(self, resident_id: str, job_id: str, *, now: dt.datetime) -> ReprintClaim | None:
        """Claim the resident's reprint for `job_id`; None when it is ours now, else the claim that holds."""
        ...

    async def replace_reprint_claim(self, resident_id: str, *, held_by: str, job_id: str, now: dt.datetime) -> bool:
        """Take over the claim `held_by` holds; False when another request changed it first."""
        ...

    async def release_reprint_claim(self, resident_id: str, job_id: str) -> None:
        """Give back a claim whose event was not published."""
        ...


class PrintingStorage(PrintJobs, Stations, Deliveries, ReprintClaims, ResidentSchools, ReadAudit, Protocol):
    """Everything the printing use cases read and write."""
