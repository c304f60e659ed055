"""Use cases of the printing service: print requests become queued jobs, each station gets one blank
reservation at a time in priority order, answers and printed or spoiled cards move the jobs, and
offices reprint, send cards to schools and hand them over.

Events that follow from another event have ids made from it, so publishing them again after a
crash is harmless: the consumers on the other side apply an event id once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from services.printing import policy
from services.printing.domain import (
    JobStatus,
    NotFound,
    PendingReservation,
    PrintJob,
    SchoolDelivery,
    check_may_request_reprint,
    check_may_send_to_school,
    delivery_station,
    handover_route,
    is_stale,
    may_see,
    reprint_source,
    reservation_for,
    seconds_queued_to_printed,
)
from services.printing.ports import PrintingStorage
from services.printing.routing import station_for
from shared.auth import Office, actor_of
from shared.clock import Clock
from shared.contracts import Actor, PrintEvent, Role, StockEvent
from shared.contracts.printing import (
    CardHandedOver,
    CardPrinted,
    HandedOverPayload,
    JobAttempt,
    JobDispatched,
    JobQueued,
    JobQueuedPayload,
    PrintReason,
    PrintSpoiled,
    PriorityClass,
    SchoolAcknowledgedPayload,
    SchoolDeliveryAcknowledged,
    SchoolDeliveryPayload,
    SchoolDeliverySent,
)
from shared.contracts.recording import PrintRequested
from shared.contracts.stock import (
    BlankReserved,
    CountCorrected,
    ReservationPayload,
    ReservationRefused,
    ReservationRequested,
    StockReceived,
    TransferReceived,
)
from shared.publishing import DerivedIds, EventPublisher
from shared.stations import StationDirectory
from shared.topics import PRINT, STOCK

DERIVED = uuid.UUID("9c4e2a71-0b3d-4f68-8e15-d7a9c3b5e204")
SYSTEM = Actor(office_id="printing", role=Role.SYSTEM, operator="printing")
log = logging.getLogger("ektp.printing")


derived_id = DerivedIds(DERIVED)


@dataclass(frozen=True)
class PrintingDeps:
    store: PrintingStorage
    publisher: EventPublisher
    clock: Clock
    stations: StationDirectory
    priority_order: tuple[PriorityClass, ...] = policy.DEFAULT_ORDER
    voter_target_date: dt.date = dt.date(2029, 2, 14)
    reservation_resend_seconds: float = 30.0
    on_printed: Callable[[str, float], None] | None = field(default=None, compare=False)
    """Told the station and the seconds from print-ready (the PRR's print request) to printed, once per card."""


# Commands and results of the office-facing use cases


@dataclass(frozen=True)
class RequestReprint:
    office: Office
    resident_id: str
    reason: PrintReason
    request_id: uuid.UUID


@dataclass(frozen=True)
class HandOver:
    office: Office
    job_id: str
    request_id: uuid.UUID


@dataclass(frozen=True)
class SendToSchool:
    office: Office
    school_npsn: str
    job_ids: tuple[str, ...]
    request_id: uuid.UUID


@dataclass(frozen=True)
class AcknowledgeDelivery:
    office: Office
    delivery_id: str
    received_by: str
    request_id: uuid.UUID


@dataclass(frozen=True)
class ShowQueue:
    office: Office
    station_id: str
    status: JobStatus | None = None
    limit: int = 200


@dataclass(frozen=True)
class ShowJob:
    office: Office
    job_id: str


@dataclass(frozen=True)
class JobAccepted:
    """A reprint or hand-over: the job's status after it; `event_id` None when it had happened already."""

    job_id: str
    status: JobStatus
    station_id: str
    event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class DeliveryAccepted:
    delivery_id: str
    count: int
    event_id: uuid.UUID


@dataclass(frozen=True)
class DeliveryAcknowledged:
    delivery_id: str
    already: bool
    event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class StationView:
    """A station as staff and metrics see it."""

    station_id: str
    name: str
    fallback: bool
    kecamatan_codes: tuple[str, ...]
    waiting_for_blanks: int
    ready_to_print: int
    waiting_for_stock: bool
    pending_job_id: str | None
    heartbeat_at: dt.datetime | None


def queued_event(*, job_id: str, source_event_id: str, resident_id: str, kecamatan_code: str, desa_code: str,
                 reason: PrintReason, wajib_ktp_from: dt.date | None, lansia: bool, disabilitas: bool,
                 occurred_at: dt.datetime, actor: Actor, deps: PrintingDeps) -> JobQueued:
    """The job a print request becomes: routed to a station, in a priority class."""
    priority_class = policy.classify(reason=reason, wajib_ktp_from=wajib_ktp_from, lansia=lansia,
                                     disabilitas=disabilitas, voter_target_date=deps.voter_target_date)
    return JobQueued(
        event_id=derived_id(job_id, "queued"), occurred_at=occurred_at, recorded_at=deps.clock(), actor=actor,
        payload=JobQueuedPayload(
            job_id=job_id, station_id=station_for(kecamatan_code, deps.stations), resident_id=resident_id,
            kecamatan_code=kecamatan_code, desa_code=desa_code, reason=reason, priority_class=priority_class,
            wajib_ktp_from=wajib_ktp_from, lansia=lansia, disabilitas=disabilitas, source_event_id=source_event_id))


# Reads


async def visible_job(office: Office, job_id: str, *, deps: PrintingDeps) -> PrintJob:
    """A job the office may see; NotFound otherwise (whether it exists is not told)."""
    job = await deps.store.job(job_id)
    if job is None or not may_see(office, station_id=job.station_id, kecamatan_code=job.kecamatan_code):
        raise NotFound(f"Pekerjaan cetak {job_id!r} tidak ditemukan.")
    return job


async def show_job(command: ShowJob, *, deps: PrintingDeps) -> PrintJob:
    """One job's status."""
    return await visible_job(command.office, command.job_id, deps=deps)


async def show_queue(command: ShowQueue, *, deps: PrintingDeps) -> list[PrintJob]:
    """A station's queue in priority order, only the jobs the office may see."""
    if command.station_id not in deps.stations.stations:
        raise NotFound(f"Stasiun {command.station_id!r} tidak dikenal.")
    jobs = await deps.store.queue(command.station_id, status=command.status, limit=command.limit)
    return [job for job in jobs
            if may_see(command.office, station_id=job.station_id, kecamatan_code=job.kecamatan_code)]


async def list_stations(*, deps: PrintingDeps) -> list[StationView]:
    """Every station: its queue, whether it waits for stock, the job its blank request is for."""
    depths = await deps.store.queue_depths()
    views = []
    for station in deps.stations.stations.values():
        state = await deps.store.station(station.station_id)
        depth = depths.get(station.station_id, {})
        views.append(StationView(
            station_id=station.station_id, name=station.name, fallback=station.fallback,
            kecamatan_codes=tuple(sorted(station.kecamatan_codes)),
            waiting_for_blanks=depth.get(JobStatus.MENUNGGU_BLANGKO, 0),
            ready_to_print=depth.get(JobStatus.SIAP_CETAK, 0), waiting_for_stock=state.waiting_for_stock,
            pending_job_id=state.pending.job_id if state.pending else None, heartbeat_at=state.heartbeat_at))
    return views


# Office commands


async def request_reprint(command: RequestReprint, *, deps: PrintingDeps) -> JobAccepted:
    """A new card for a resident printed before (lost, damaged, changed data), without recording again."""
    office = command.office
    check_may_request_reprint(office, command.reason)
    job_id = "job-" + derived_id(command.request_id, "reprint").hex[:24]
    existing = await deps.store.job(job_id)
    if existing is not None:
        return JobAccepted(job_id=job_id, status=existing.status, station_id=existing.station_id)
    history = [job for job in await deps.store.jobs_of_resident(command.resident_id)
               if may_see(office, station_id=job.station_id, kecamatan_code=job.kecamatan_code)]
    last = reprint_source(history)
    queued = queued_event(
        job_id=job_id, source_event_id=str(command.request_id), resident_id=command.resident_id,
        kecamatan_code=last.kecamatan_code, desa_code=last.desa_code, reason=command.reason, wajib_ktp_from=None,
        lansia=last.lansia, disabilitas=last.disabilitas, occurred_at=deps.clock(), actor=actor_of(office),
        deps=deps)
    await deps.publisher.publish(queued, topic=PRINT, key=queued.payload.station_id)
    return JobAccepted(job_id=job_id, status=JobStatus.MENUNGGU_BLANGKO, station_id=queued.payload.station_id,
                       event_id=queued.event_id)


async def hand_over(command: HandOver, *, deps: PrintingDeps) -> JobAccepted:
    """A printed card (directly, or from a school that signed for it) reaches its owner."""
    job = await visible_job(command.office, command.job_id, deps=deps)
    via = handover_route(job)
    if via is None:
        return JobAccepted(job_id=job.job_id, status=job.status, station_id=job.station_id)
    now = deps.clock()
    event = CardHandedOver(
        event_id=command.request_id, occurred_at=now, recorded_at=now, actor=actor_of(command.office),
        payload=HandedOverPayload(job_id=job.job_id, station_id=job.station_id, resident_id=job.resident_id,
                                  kecamatan_code=job.kecamatan_code, desa_code=job.desa_code, via=via,
                                  delivery_id=job.delivery_id))
    await deps.publisher.publish(event, topic=PRINT, key=job.station_id)
    return JobAccepted(job_id=job.job_id, status=JobStatus.DISERAHKAN, station_id=job.station_id,
                       event_id=event.event_id)


async def send_to_school(command: SendToSchool, *, deps: PrintingDeps) -> DeliveryAccepted:
    """Printed cards of one station taken to a school in one delivery."""
    check_may_send_to_school(command.office)
    jobs = [await visible_job(command.office, job_id, deps=deps) for job_id in dict.fromkeys(command.job_ids)]
    station_id = delivery_station(jobs)
    now = deps.clock()
    event = SchoolDeliverySent(
        event_id=command.request_id, occurred_at=now, recorded_at=now, actor=actor_of(command.office),
        payload=SchoolDeliveryPayload(delivery_id=f"kirim-{command.request_id.hex[:12]}", station_id=station_id,
                                      school_npsn=command.school_npsn, kecamatan_code=jobs[0].kecamatan_code,
                                      job_ids=[job.job_id for job in jobs]))
    await deps.publisher.publish(event, topic=PRINT, key=station_id)
    return DeliveryAccepted(delivery_id=event.payload.delivery_id, count=len(jobs), event_id=event.event_id)


async def acknowledge_delivery(command: AcknowledgeDelivery, *, deps: PrintingDeps) -> DeliveryAcknowledged:
    """A school signs for a delivery of cards."""
    delivery = await deps.store.delivery(command.delivery_id)
    if delivery is None or not may_see(command.office, station_id=delivery.station_id,
                                       kecamatan_code=delivery.kecamatan_code):
        raise NotFound(f"Pengiriman {command.delivery_id!r} tidak ditemukan.")
    if delivery.acknowledged_at is not None:
        return DeliveryAcknowledged(delivery_id=delivery.delivery_id, already=True)
    now = deps.clock()
    event = SchoolDeliveryAcknowledged(
        event_id=command.request_id, occurred_at=now, recorded_at=now, actor=actor_of(command.office),
        payload=SchoolAcknowledgedPayload(delivery_id=delivery.delivery_id, station_id=delivery.station_id,
                                          school_npsn=delivery.school_npsn, received_by=command.received_by,
                                          count=len(delivery.job_ids)))
    await deps.publisher.publish(event, topic=PRINT, key=delivery.station_id)
    return DeliveryAcknowledged(delivery_id=delivery.delivery_id, already=False, event_id=event.event_id)


# Events


async def queue_print_request(event: PrintRequested, *, deps: PrintingDeps) -> str:
    """recording.print_requested -> print.job_queued on the station's queue (the job id comes from the request)."""
    p = event.payload
    job_id = "job-" + derived_id(event.event_id, "job").hex[:24]
    queued = queued_event(job_id=job_id, source_event_id=str(event.event_id), resident_id=p.resident_id,
                          kecamatan_code=p.kecamatan_code, desa_code=p.desa_code, reason=PrintReason(p.reason),
                          wajib_ktp_from=p.wajib_ktp_from, lansia=p.lansia, disabilitas=p.disabilitas,
                          occurred_at=event.occurred_at, actor=SYSTEM, deps=deps)
    await deps.publisher.publish(queued, topic=PRINT, key=queued.payload.station_id)
    return "applied"


async def apply_print_event(event: PrintEvent, *, deps: PrintingDeps) -> str:
    """Move jobs by the print topic; every move is guarded by the state it expects."""
    if isinstance(event, JobQueued):
        return await _add_job(event, deps)
    if isinstance(event, CardPrinted | PrintSpoiled):
        return await _finish_attempt(event, deps)
    if isinstance(event, SchoolDeliverySent):
        return await _send_to_school(event, deps.store)
    if isinstance(event, SchoolDeliveryAcknowledged):
        return await _school_signed(event, deps.store)
    if isinstance(event, CardHandedOver):
        moved = await deps.store.mark_handed_over(event.payload.job_id, at=event.occurred_at, via=event.payload.via)
        return "applied" if moved else "duplicate"
    return "ignored"


async def _add_job(event: JobQueued, deps: PrintingDeps) -> str:
    p = event.payload
    added = await deps.store.add_job(PrintJob(
        job_id=p.job_id, station_id=p.station_id, resident_id=p.resident_id, kecamatan_code=p.kecamatan_code,
        desa_code=p.desa_code, reason=p.reason, priority_class=p.priority_class,
        rank=policy.rank(p.priority_class, deps.priority_order), wajib_ktp_from=p.wajib_ktp_from, lansia=p.lansia,
        disabilitas=p.disabilitas, queued_at=event.occurred_at, source_event_id=p.source_event_id))
    await dispatch(p.station_id, deps=deps)
    return "applied" if added else "duplicate"


async def _finish_attempt(event: CardPrinted | PrintSpoiled, deps: PrintingDeps) -> str:
    """Printed: the job is done. Spoiled: the job waits for a new blank, as its next attempt."""
    p = event.payload
    if isinstance(event, CardPrinted):
        moved = await deps.store.mark_printed(p.job_id, attempt=p.attempt, reservation_id=p.reservation_id,
                                              at=event.occurred_at, printer=event.payload.printer)
        if moved and deps.on_printed is not None:
            job = await deps.store.job(p.job_id)
            seconds = None if job is None else seconds_queued_to_printed(job, event.occurred_at)
            if seconds is not None:
                deps.on_printed(p.station_id, seconds)
    else:
        moved = await deps.store.mark_spoiled(p.job_id, attempt=p.attempt, reservation_id=p.reservation_id,
                                              reason=event.payload.reason.value, at=event.occurred_at)
    await dispatch(p.station_id, deps=deps)
    return "applied" if moved else "duplicate"


async def _send_to_school(event: SchoolDeliverySent, store: PrintingStorage) -> str:
    p = event.payload
    added = await store.add_delivery(SchoolDelivery(
        delivery_id=p.delivery_id, station_id=p.station_id, school_npsn=p.school_npsn,
        kecamatan_code=p.kecamatan_code, job_ids=tuple(p.job_ids), sent_at=event.occurred_at))
    await store.mark_sent_to_school(list(p.job_ids), p.delivery_id)
    return "applied" if added else "duplicate"


async def _school_signed(event: SchoolDeliveryAcknowledged, store: PrintingStorage) -> str:
    p = event.payload
    acknowledged = await store.record_acknowledgement(p.delivery_id, at=event.occurred_at, received_by=p.received_by)
    delivery = await store.delivery(p.delivery_id)
    await store.mark_received_by_school(delivery.job_ids if delivery else (), p.delivery_id)
    return "applied" if acknowledged else "duplicate"


async def apply_stock_event(event: StockEvent, *, deps: PrintingDeps) -> str:
    """The inventory's answers, and stock arriving at a station (which may let waiting jobs go)."""
    if isinstance(event, BlankReserved):
        return await _blank_reserved(event, deps)
    if isinstance(event, ReservationRefused):
        return await _reservation_refused(event, deps)
    location = _stock_arrival(event)
    if location is not None and location in deps.stations.stations:
        await deps.store.stock_arrived(location)
        await dispatch(location, deps=deps)
        return "applied"
    return "ignored"


async def _blank_reserved(event: BlankReserved, deps: PrintingDeps) -> str:
    """The job gets its blank and goes to the station (again, if this answer is redelivered)."""
    p = event.payload
    moved = await deps.store.mark_reserved(p.job_id, attempt=p.attempt, reservation_id=p.reservation_id)
    job = await deps.store.job(p.job_id)
    if job is not None and job.waits_for(p.attempt, p.reservation_id):
        dispatched = JobDispatched(
            event_id=derived_id(event.event_id, "dispatched"), occurred_at=event.occurred_at,
            recorded_at=deps.clock(), actor=SYSTEM,
            payload=JobAttempt(job_id=p.job_id, station_id=p.location_id, attempt=p.attempt,
                               reservation_id=p.reservation_id))
        await deps.publisher.publish(dispatched, topic=PRINT, key=p.location_id)
    elif not moved:
        log.warning("blank reserved for job %s attempt %s, which no longer waits", p.job_id, p.attempt)
    await deps.store.finish_reservation(p.location_id, p.reservation_id, waiting_for_stock=False)
    await dispatch(p.location_id, deps=deps)
    return "applied" if moved else "duplicate"


async def _reservation_refused(event: ReservationRefused, deps: PrintingDeps) -> str:
    """No blank: the station waits for stock, unless stock arrived after the request was made."""
    p = event.payload
    station = await deps.store.station(p.location_id)
    if station.pending is None or station.pending.reservation_id != p.reservation_id:
        return "duplicate"
    # Stock that arrived after the request was made may not have been seen by the ledger yet.
    waiting = station.stock_epoch == station.pending.stock_epoch
    await deps.store.finish_reservation(p.location_id, p.reservation_id, waiting_for_stock=waiting)
    await dispatch(p.location_id, deps=deps)
    return "applied"


def _stock_arrival(event: StockEvent) -> str | None:
    """The station whose free stock may have grown with this event."""
    if isinstance(event, StockReceived | CountCorrected):
        return event.payload.location_id
    if isinstance(event, TransferReceived):
        return event.payload.to_location
    return None


async def dispatch(station_id: str, *, deps: PrintingDeps) -> str:
    """Ask the inventory for a blank for the station's next job, one request in flight per station.

    A job is handed to the station only once a blank is reserved for it; without stock the
    station waits (visibly, in /stations) until stock arrives, and no job is dropped.
    """
    station = await deps.store.station(station_id)
    now = deps.clock()
    if station.pending is not None:
        if is_stale(station.pending, now, deps.reservation_resend_seconds):
            await deps.store.touch_pending(station_id, station.pending.reservation_id, now)
            await _send_request(station_id, station.pending, deps)
        return "pending"
    if station.waiting_for_stock:
        return "waiting_for_stock"
    job = await deps.store.next_waiting(station_id)
    if job is None:
        return "idle"
    request = reservation_for(job, station, now)
    if not await deps.store.claim_reservation(station_id, seq=station.seq, pending=request):
        return "claimed_elsewhere"
    await _send_request(station_id, request, deps)
    return "requested"


async def _send_request(station_id: str, pending: PendingReservation, deps: PrintingDeps) -> None:
    now = deps.clock()
    event = ReservationRequested(
        event_id=derived_id(pending.reservation_id, "reserve"), occurred_at=now, recorded_at=now, actor=SYSTEM,
        payload=ReservationPayload(location_id=station_id, reservation_id=pending.reservation_id,
                                   job_id=pending.job_id, attempt=pending.attempt))
    await deps.publisher.publish(event, topic=STOCK, key=station_id)


async def sweep(*, deps: PrintingDeps) -> list[StationView]:
    """Periodic: every known station gets a dispatch step (resends stale requests, starts idle queues);
    answers the stations as they are afterwards, for the gauges."""
    for station_id in deps.stations.stations:
        await dispatch(station_id, deps=deps)
    return await list_stations(deps=deps)


async def apply_priority_order(*, deps: PrintingDeps) -> None:
    """At start: open jobs take the rank of their class in the configured order."""
    await deps.store.rerank([c.value for c in deps.priority_order])
