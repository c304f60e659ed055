"""In-memory fakes of the printing ports, and a publisher that records what it sent."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.printing.domain import (
    OPEN_STATUSES,
    PRINTED_STATUSES,
    JobStatus,
    PendingReservation,
    PrintJob,
    ReprintClaim,
    ResidentPlace,
    SchoolDelivery,
    SpoiledAttempt,
    StationState,
    sources_of,
)
from shared.contracts.envelope import Envelope
from shared.contracts.printing import PrintReason
from shared.topics import Topic

EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Published:
    event: Envelope
    topic: Topic
    key: str


@dataclass
class RecordingPublisher:
    """An EventPublisher that keeps every event it is given, in order."""

    sent: list[Published] = field(default_factory=list)

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None:
        self.sent.append(Published(event, topic, key))

    def events(self, kind: type | None = None) -> list[Envelope]:
        """The events sent, or only those of one class."""
        return [p.event for p in self.sent if kind is None or isinstance(p.event, kind)]


class FakePrintingStore:
    """`ports.PrintingStorage` in dictionaries, with the same guards as the MongoDB store."""

    def __init__(self) -> None:
        self.jobs: dict[str, PrintJob] = {}
        self.stations: dict[str, StationState] = {}
        self.deliveries: dict[str, SchoolDelivery] = {}
        self.reprint_claims: dict[str, ReprintClaim] = {}
        self.schools: dict[str, str | None] = {}
        self.left: dict[str, str] = {}
        self.areas: dict[str, tuple[str, str]] = {}
        self.blanks_passed: set[tuple[str, str]] = set()
        self.reads: list[dict[str, object]] = []

    # Jobs

    async def add_job(self, job: PrintJob) -> bool:
        if job.job_id in self.jobs:
            return False
        self.jobs[job.job_id] = job
        return True

    async def job(self, job_id: str) -> PrintJob | None:
        return self.jobs.get(job_id)

    async def heartbeat(self, station_id: str, at: dt.datetime) -> None:
        self.stations[station_id] = dataclasses.replace(await self.station(station_id), heartbeat_at=at)

    async def jobs_of_resident(self, resident_id: str) -> list[PrintJob]:
        found = [job for job in self.jobs.values() if job.resident_id == resident_id]
        return sorted(found, key=lambda job: job.queued_at or EARLIEST)

    def _ordered(self, station_id: str, statuses: Sequence[JobStatus]) -> list[PrintJob]:
        found = [job for job in self.jobs.values() if job.station_id == station_id and job.status in statuses]
        return sorted(found, key=lambda job: (job.rank or 0, job.queued_at or EARLIEST, job.job_id))

    async def next_waiting(self, station_id: str) -> PrintJob | None:
        waiting = self._ordered(station_id, (JobStatus.MENUNGGU_BLANGKO,))
        return waiting[0] if waiting else None

    async def queue(self, station_id: str, *, status: JobStatus | None = None, limit: int = 500) -> list[PrintJob]:
        return self._ordered(station_id, (status,) if status else OPEN_STATUSES)[:limit]

    async def queue_depths(self) -> dict[str, dict[JobStatus, int]]:
        depths: dict[str, dict[JobStatus, int]] = {}
        for job in self.jobs.values():
            if job.status in OPEN_STATUSES:
                per_status = depths.setdefault(job.station_id, {})
                per_status[job.status] = per_status.get(job.status, 0) + 1
        return depths

    def _move(self, job_id: str, target: JobStatus, *, attempt: int | None = None, reservation_id: str | None = None,
              delivery_id: str | None = None, **changes: object) -> bool:
        job = self.jobs.get(job_id)
        if job is None or job.status not in sources_of(target) or (attempt is not None and job.attempt != attempt) \
                or (reservation_id is not None and job.reservation_id != reservation_id) \
                or (delivery_id is not None and job.delivery_id != delivery_id):
            return False
        self.jobs[job_id] = dataclasses.replace(job, status=target, **changes)  # type: ignore[arg-type]
        return True

    async def mark_reserved(self, job_id: str, *, attempt: int, reservation_id: str) -> bool:
        return self._move(job_id, JobStatus.SIAP_CETAK, attempt=attempt) and \
            self._set(job_id, reservation_id=reservation_id)

    def _set(self, job_id: str, **changes: object) -> bool:
        self.jobs[job_id] = dataclasses.replace(self.jobs[job_id], **changes)  # type: ignore[arg-type]
        return True

    async def mark_printed(self, job_id: str, *, attempt: int, reservation_id: str, at: dt.datetime,
                           printer: str) -> bool:
        return self._move(job_id, JobStatus.DICETAK, attempt=attempt, reservation_id=reservation_id,
                          printed_at=at, printer=printer)

    async def mark_spoiled(self, job_id: str, *, attempt: int, reservation_id: str, reason: str,
                           at: dt.datetime) -> bool:
        job = self.jobs.get(job_id)
        if job is None or not job.waits_for(attempt, reservation_id):
            return False
        self.jobs[job.job_id] = dataclasses.replace(
            job, status=JobStatus.MENUNGGU_BLANGKO, attempt=attempt + 1, reservation_id=None,
            spoiled=(*job.spoiled, SpoiledAttempt(attempt=attempt, reason=reason, at=at)))
        return True

    async def mark_handed_over(self, job_id: str, *, at: dt.datetime, via: str) -> bool:
        return self._move(job_id, JobStatus.DISERAHKAN, handed_over_at=at, handed_over_via=via)

    async def mark_sent_to_school(self, job_ids: Sequence[str], delivery_id: str) -> int:
        return sum(self._move(job_id, JobStatus.DIKIRIM_KE_SEKOLAH) and self._set(job_id, delivery_id=delivery_id)
                   for job_id in job_ids)

    async def mark_received_by_school(self, job_ids: Sequence[str], delivery_id: str) -> int:
        return sum(self._move(job_id, JobStatus.DITERIMA_SEKOLAH, delivery_id=delivery_id) for job_id in job_ids)

    async def rerank(self, order: Sequence[str]) -> None:
        for job in list(self.jobs.values()):
            if job.status in OPEN_STATUSES:
                self.jobs[job.job_id] = dataclasses.replace(job, rank=list(order).index(job.priority_class.value))

    async def claim_handover(self, job_id: str, event_id: str) -> bool:
        job = self.jobs.get(job_id)
        if job is None or job.status not in sources_of(JobStatus.DISERAHKAN) or job.replaced_by is not None \
                or job.handover_claim not in (None, event_id):
            return False
        return self._set(job_id, handover_claim=event_id)

    async def release_handover(self, job_id: str, event_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.handover_claim == event_id and job.status != JobStatus.DISERAHKAN:
            self._set(job_id, handover_claim=None)

    async def void_cards(self, resident_id: str, *, replaced_by: str, reason: str, at: dt.datetime) -> int:
        voided = [job for job in self.jobs.values()
                  if job.resident_id == resident_id and job.job_id != replaced_by
                  and job.status in PRINTED_STATUSES and job.replaced_by is None]
        for job in voided:
            self._set(job.job_id, replaced_by=replaced_by, replaced_at=at, replaced_reason=PrintReason(reason))
        return len(voided)

    # Residents' schools and the read audit

    async def remember_residents(self, places: dict[str, ResidentPlace]) -> None:
        for resident_id, place in places.items():
            self.schools[resident_id] = place.school_npsn
            self.areas[resident_id] = (place.kecamatan_code, place.desa_code)

    async def area_of(self, resident_id: str) -> tuple[str, str] | None:
        return self.areas.get(resident_id)

    async def remember_left(self, resident_id: str, reason: str) -> None:
        self.left[resident_id] = reason

    async def left_reason(self, resident_id: str) -> str | None:
        return self.left.get(resident_id)

    async def cancel_open_jobs(self, resident_id: str) -> list[PrintJob]:
        open_jobs = [job for job in self.jobs.values() if job.resident_id == resident_id and job.status in OPEN_STATUSES]
        for job in open_jobs:
            self.jobs[job.job_id] = dataclasses.replace(job, status=JobStatus.DIBATALKAN)
        return open_jobs

    async def take_blank_of_cancelled(self, job_id: str, reservation_id: str) -> bool:
        job = self.jobs.get(job_id)
        if job is None or job.status != JobStatus.DIBATALKAN or (job_id, reservation_id) in self.blanks_passed:
            return False
        self.blanks_passed.add((job_id, reservation_id))
        return True

    async def schools_of(self, resident_ids: Sequence[str]) -> dict[str, str | None]:
        return {resident_id: self.schools.get(resident_id) for resident_id in resident_ids}

    async def record_read(self, *, office_id: str, operator: str | None = None, action: str, kecamatan_code: str | None,
                          resident_ids: Sequence[str], now: dt.datetime) -> None:
        self.reads.append({"office_id": office_id, "action": action, "kecamatan_code": kecamatan_code,
                           "residents": len(resident_ids), "resident_ids": list(resident_ids), "at": now})

    # Stations

    async def station(self, station_id: str) -> StationState:
        return self.stations.setdefault(station_id, StationState(station_id=station_id))

    async def claim_reservation(self, station_id: str, *, seq: int, pending: PendingReservation) -> bool:
        state = await self.station(station_id)
        if state.seq != seq or state.pending is not None or state.waiting_for_stock:
            return False
        self.stations[station_id] = dataclasses.replace(state, pending=pending, seq=seq + 1)
        return True

    async def finish_reservation(self, station_id: str, reservation_id: str, *, waiting_for_stock: bool) -> bool:
        state = await self.station(station_id)
        if state.pending is None or state.pending.reservation_id != reservation_id:
            return False
        self.stations[station_id] = dataclasses.replace(state, pending=None, waiting_for_stock=waiting_for_stock)
        return True

    async def stock_arrived(self, station_id: str) -> None:
        state = await self.station(station_id)
        self.stations[station_id] = dataclasses.replace(state, stock_epoch=state.stock_epoch + 1,
                                                        waiting_for_stock=False)

    async def touch_pending(self, station_id: str, reservation_id: str, at: dt.datetime) -> None:
        state = await self.station(station_id)
        if state.pending is not None and state.pending.reservation_id == reservation_id:
            self.stations[station_id] = dataclasses.replace(
                state, pending=dataclasses.replace(state.pending, requested_at=at))

    # School deliveries

    async def add_delivery(self, delivery: SchoolDelivery) -> bool:
        if delivery.delivery_id in self.deliveries:
            return False
        self.deliveries[delivery.delivery_id] = delivery
        return True

    async def delivery(self, delivery_id: str) -> SchoolDelivery | None:
        return self.deliveries.get(delivery_id)

    async def deliveries_waiting(self, *, kecamatan_code: str | None) -> list[SchoolDelivery]:
        return [d for d in self.deliveries.values() if d.acknowledged_at is None and d.sent_at is not None
                and kecamatan_code in (None, d.kecamatan_code)]

    async def record_acknowledgement(self, delivery_id: str, *, at: dt.datetime, received_by: str) -> bool:
        delivery = self.deliveries.get(delivery_id)
        if delivery is None or delivery.acknowledged_at is not None:
            return False
        self.deliveries[delivery_id] = dataclasses.replace(delivery, acknowledged_at=at, received_by=received_by)
        return True

    # Reprint claims

    async def claim_reprint(self, resident_id: str, job_id: str, *, now: dt.datetime) -> ReprintClaim | None:
        held = self.reprint_claims.setdefault(resident_id, ReprintClaim(job_id=job_id, claimed_at=now))
        return None if held.job_id == job_id else held

    async def replace_reprint_claim(self, resident_id: str, *, held_by: str, job_id: str, now: dt.datetime) -> bool:
        if self.reprint_claims.get(resident_id, None) is None or self.reprint_claims[resident_id].job_id != held_by:
            return False
        self.reprint_claims[resident_id] = ReprintClaim(job_id=job_id, claimed_at=now)
        return True

    async def release_reprint_claim(self, resident_id: str, job_id: str) -> None:
        if resident_id in self.reprint_claims and self.reprint_claims[resident_id].job_id == job_id:
            del self.reprint_claims[resident_id]
