"""Use cases the topics drive: print requests become jobs, each station gets one blank reservation at a
time in priority order, and answers and printed or spoiled cards move the jobs."""

from __future__ import annotations

from services.printing import policy
from services.printing.domain import (
    REPRINT_REASONS,
    JobStatus,
    PendingReservation,
    PrintJob,
    ResidentPlace,
    SchoolDelivery,
    is_stale,
    reservation_for,
    seconds_queued_to_printed,
)
from services.printing.handlers.common import SYSTEM, PrintingDeps, derived_id, log, queued_event
from services.printing.handlers.office import StationView, list_stations
from services.printing.ports import PrintingStorage
from shared.contracts import PrintEvent, ResidentEvent, StockEvent
from shared.contracts.printing import (
    CardHandedOver,
    CardPrinted,
    JobAttempt,
    JobDispatched,
    JobQueued,
    PrintReason,
    PrintSpoiled,
    SchoolDeliveryAcknowledged,
    SchoolDeliverySent,
)
from shared.contracts.recording import PrintRequested
from shared.contracts.resident import LeaveReason, ResidentEnrolled, ResidentLeft, ResidentUpdated
from shared.contracts.stock import (
    BlankReserved,
    CountCorrected,
    ReservationPayload,
    ReservationRefused,
    ReservationRequested,
    StockReceived,
    TransferReceived,
)
from shared.topics import PRINT, STOCK

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


async def apply_resident_event(event: ResidentEvent, *, deps: PrintingDeps) -> str:
    """Remember each resident's school (a school delivery carries only its own students' cards), where they
    live now (whose office reads their cards) and whether they left; a death cancels their cards not yet printed."""
    [outcome] = await apply_resident_events([event], deps=deps)
    return outcome


async def apply_resident_events(events: list[ResidentEvent], *, deps: PrintingDeps) -> list[str]:
    """`apply_resident_event` for events of different residents (at most one each): their places in one
    bulk write, then the few who left one by one."""
    await deps.store.remember_residents({
        e.payload.resident_id: ResidentPlace(e.payload.school_npsn, e.payload.kecamatan_code, e.payload.desa_code)
        for e in events if isinstance(e, ResidentEnrolled | ResidentUpdated)})
    outcomes = []
    for event in events:
        if isinstance(event, ResidentEnrolled | ResidentUpdated):
            outcomes.append("applied")
        elif isinstance(event, ResidentLeft):
            outcomes.append(await _resident_left(event, deps))
        else:
            outcomes.append("ignored")
    return outcomes


async def _resident_left(event: ResidentLeft, deps: PrintingDeps) -> str:
    p = event.payload
    await deps.store.remember_left(p.resident_id, p.reason.value)
    if p.reason != LeaveReason.MENINGGAL:
        return "applied"
    for job in await deps.store.cancel_open_jobs(p.resident_id):
        if job.status == JobStatus.SIAP_CETAK and job.reservation_id is not None:
            await _pass_blank(job, job.reservation_id, deps)
        await dispatch(job.station_id, deps=deps)
    return "applied"


async def _pass_blank(cancelled: PrintJob, reservation_id: str, deps: PrintingDeps) -> None:
    """A blank reserved for a cancelled job goes, still reserved, to the next waiting job of its station
    (printed or spoiled under the same reservation, so the inventory's ledger closes it as usual)."""
    if not await deps.store.take_blank_of_cancelled(cancelled.job_id, reservation_id):
        return
    station = await deps.store.station(cancelled.station_id)
    requesting = station.pending.job_id if station.pending else None
    waiting = await deps.store.queue(cancelled.station_id, status=JobStatus.MENUNGGU_BLANGKO, limit=2)
    heir = next((job for job in waiting if job.job_id != requesting), None)
    if heir is None or not await deps.store.mark_reserved(heir.job_id, attempt=heir.attempt,
                                                          reservation_id=reservation_id):
        log.warning("station %s keeps blank %s of a cancelled job reserved: no job waits for it",
                    cancelled.station_id, reservation_id)
        return
    now = deps.clock()
    dispatched = JobDispatched(
        event_id=derived_id(reservation_id, f"passed:{heir.job_id}"), occurred_at=now, recorded_at=now, actor=SYSTEM,
        payload=JobAttempt(job_id=heir.job_id, station_id=cancelled.station_id, attempt=heir.attempt,
                           reservation_id=reservation_id))
    await deps.publisher.publish(dispatched, topic=PRINT, key=cancelled.station_id)


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
    if added and p.reason in REPRINT_REASONS:
        await deps.store.void_cards(p.resident_id, replaced_by=p.job_id, reason=p.reason.value, at=event.occurred_at)
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
        kecamatan_code=p.kecamatan_code, job_ids=tuple(p.job_ids), sent_at=event.occurred_at,
        sent_by=event.actor.office_id))
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
    await deps.store.finish_reservation(p.location_id, p.reservation_id, waiting_for_stock=False)
    if job is not None and job.status == JobStatus.DIBATALKAN:
        await _pass_blank(job, p.reservation_id, deps)
    elif not moved and (job is None or not job.waits_for(p.attempt, p.reservation_id)):
        log.warning("blank reserved for job %s attempt %s, which no longer waits", p.job_id, p.attempt)
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
