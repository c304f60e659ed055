"""Use cases of the printing service: print requests become queued jobs, each station gets one blank
reservation at a time in priority order, answers and printed or spoiled cards move the jobs.

Events that follow from another event have ids made from it, so publishing them again after a
crash is harmless: the consumers on the other side apply an event id once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.printing import policy
from services.printing.routing import station_for
from services.printing.store import JobStatus, PrintingStore
from shared.clock import Clock
from shared.contracts import Actor, PrintEvent, Role, StockEvent
from shared.contracts.printing import (
    CardHandedOver,
    CardPrinted,
    JobAttempt,
    JobDispatched,
    JobQueued,
    JobQueuedPayload,
    PrintReason,
    PrintSpoiled,
    PriorityClass,
    SchoolDeliveryAcknowledged,
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
    store: PrintingStore
    publisher: EventPublisher
    clock: Clock
    stations: StationDirectory
    priority_order: tuple[PriorityClass, ...] = policy.DEFAULT_ORDER
    voter_target_date: dt.date = dt.date(2029, 2, 14)
    reservation_resend_seconds: float = 30.0
    on_printed: Callable[[str, float], None] | None = field(default=None, compare=False)
    """Told the station and the seconds from print-ready (the PRR's print request) to printed, once per card."""


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
        moved = await deps.store.move_job(
            event.payload.job_id,
            expect={"status": {"$in": [JobStatus.DICETAK.value, JobStatus.DITERIMA_SEKOLAH.value]}},
            update={"$set": {"status": JobStatus.DISERAHKAN.value, "handed_over_at": event.occurred_at,
                             "handed_over_via": event.payload.via}})
        return "applied" if moved else "duplicate"
    return "ignored"


async def _add_job(event: JobQueued, deps: PrintingDeps) -> str:
    p = event.payload
    added = await deps.store.add_job({
        "_id": p.job_id, "station_id": p.station_id, "resident_id": p.resident_id,
        "kecamatan_code": p.kecamatan_code, "desa_code": p.desa_code, "reason": p.reason.value,
        "priority_class": p.priority_class.value, "rank": policy.rank(p.priority_class, deps.priority_order),
        "wajib_ktp_from": p.wajib_ktp_from.isoformat() if p.wajib_ktp_from else None,
        "lansia": p.lansia, "disabilitas": p.disabilitas, "queued_at": event.occurred_at,
        "status": JobStatus.MENUNGGU_BLANGKO.value, "attempt": 1, "reservation_id": None,
        "source_event_id": p.source_event_id})
    await dispatch(p.station_id, deps=deps)
    return "applied" if added else "duplicate"


async def _finish_attempt(event: CardPrinted | PrintSpoiled, deps: PrintingDeps) -> str:
    """Printed: the job is done. Spoiled: the job waits for a new blank, as its next attempt."""
    p = event.payload
    expect = {"status": JobStatus.SIAP_CETAK.value, "attempt": p.attempt, "reservation_id": p.reservation_id}
    if isinstance(event, CardPrinted):
        update: dict[str, Any] = {"$set": {"status": JobStatus.DICETAK.value, "printed_at": event.occurred_at,
                                           "printer": event.payload.printer}}
    else:
        update = {"$set": {"status": JobStatus.MENUNGGU_BLANGKO.value, "attempt": p.attempt + 1,
                           "reservation_id": None},
                  "$push": {"spoiled": {"attempt": p.attempt, "reason": event.payload.reason.value,
                                        "at": event.occurred_at}}}
    moved = await deps.store.move_job(p.job_id, expect=expect, update=update)
    if moved and isinstance(event, CardPrinted) and deps.on_printed is not None:
        job = await deps.store.job(p.job_id)
        if job is not None and isinstance(job.get("queued_at"), dt.datetime):
            queued_at = job["queued_at"] if job["queued_at"].tzinfo else job["queued_at"].replace(tzinfo=dt.UTC)
            deps.on_printed(p.station_id, max(0.0, (event.occurred_at - queued_at).total_seconds()))
    await dispatch(p.station_id, deps=deps)
    return "applied" if moved else "duplicate"


async def _send_to_school(event: SchoolDeliverySent, store: PrintingStore) -> str:
    p = event.payload
    added = await store.add_delivery({"_id": p.delivery_id, "station_id": p.station_id, "school_npsn": p.school_npsn,
                                      "kecamatan_code": p.kecamatan_code, "job_ids": list(p.job_ids),
                                      "sent_at": event.occurred_at, "acknowledged_at": None})
    await store.move_jobs(list(p.job_ids), expect={"status": JobStatus.DICETAK.value},
                          update={"$set": {"status": JobStatus.DIKIRIM_KE_SEKOLAH.value, "delivery_id": p.delivery_id}})
    return "applied" if added else "duplicate"


async def _school_signed(event: SchoolDeliveryAcknowledged, store: PrintingStore) -> str:
    p = event.payload
    acknowledged = await store.acknowledge_delivery(p.delivery_id, {"acknowledged_at": event.occurred_at,
                                                                    "received_by": p.received_by})
    delivery = await store.delivery(p.delivery_id) or {}
    await store.move_jobs(delivery.get("job_ids", []),
                          expect={"status": JobStatus.DIKIRIM_KE_SEKOLAH.value, "delivery_id": p.delivery_id},
                          update={"$set": {"status": JobStatus.DITERIMA_SEKOLAH.value}})
    return "applied" if acknowledged else "duplicate"


async def apply_stock_event(event: StockEvent, *, deps: PrintingDeps) -> str:
    """The inventory's answers, and stock arriving at a station (which may let waiting jobs go)."""
    store = deps.store
    if isinstance(event, BlankReserved):
        p = event.payload
        expect = {"status": JobStatus.MENUNGGU_BLANGKO.value, "attempt": p.attempt}
        moved = await store.move_job(p.job_id, expect=expect,
                                     update={"$set": {"status": JobStatus.SIAP_CETAK.value,
                                                      "reservation_id": p.reservation_id}})
        job = await store.job(p.job_id) or {}
        if job.get("status") == JobStatus.SIAP_CETAK.value and job.get("reservation_id") == p.reservation_id:
            dispatched = JobDispatched(
                event_id=derived_id(event.event_id, "dispatched"), occurred_at=event.occurred_at,
                recorded_at=deps.clock(), actor=SYSTEM,
                payload=JobAttempt(job_id=p.job_id, station_id=p.location_id, attempt=p.attempt,
                                   reservation_id=p.reservation_id))
            await deps.publisher.publish(dispatched, topic=PRINT, key=p.location_id)
        elif not moved:
            log.warning("blank reserved for job %s attempt %s, which no longer waits", p.job_id, p.attempt)
        await store.finish_reservation(p.location_id, p.reservation_id, waiting_for_stock=False)
        await dispatch(p.location_id, deps=deps)
        return "applied" if moved else "duplicate"
    if isinstance(event, ReservationRefused):
        p = event.payload
        station = await store.station(p.location_id)
        pending = station.get("pending") or {}
        if pending.get("reservation_id") != p.reservation_id:
            return "duplicate"
        # Stock that arrived after the request was made may not have been seen by the ledger yet.
        waiting = station.get("stock_epoch", 0) == pending.get("stock_epoch", 0)
        await store.finish_reservation(p.location_id, p.reservation_id, waiting_for_stock=waiting)
        await dispatch(p.location_id, deps=deps)
        return "applied"
    location = _stock_arrival(event)
    if location is not None and location in deps.stations.stations:
        await store.stock_arrived(location)
        await dispatch(location, deps=deps)
        return "applied"
    return "ignored"


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
    store = deps.store
    station = await store.station(station_id)
    pending = station.get("pending")
    if pending is not None:
        await _resend_if_stale(station_id, pending, deps)
        return "pending"
    if station.get("waiting_for_stock"):
        return "waiting_for_stock"
    job = await store.next_waiting(station_id)
    if job is None:
        return "idle"
    seq = int(station.get("seq", 0))
    reservation_id = f"{job['_id']}.{job['attempt']}.{seq + 1}"
    now = deps.clock()
    request = {"reservation_id": reservation_id, "job_id": job["_id"], "attempt": job["attempt"],
               "requested_at": now, "stock_epoch": station.get("stock_epoch", 0)}
    if not await store.claim_reservation(station_id, seq=seq, pending=request):
        return "claimed_elsewhere"
    await _send_request(station_id, request, deps)
    return "requested"


async def _send_request(station_id: str, pending: dict[str, Any], deps: PrintingDeps) -> None:
    now = deps.clock()
    event = ReservationRequested(
        event_id=derived_id(pending["reservation_id"], "reserve"), occurred_at=now, recorded_at=now, actor=SYSTEM,
        payload=ReservationPayload(location_id=station_id, reservation_id=pending["reservation_id"],
                                   job_id=pending["job_id"], attempt=pending["attempt"]))
    await deps.publisher.publish(event, topic=STOCK, key=station_id)


async def _resend_if_stale(station_id: str, pending: dict[str, Any], deps: PrintingDeps) -> None:
    """A request whose answer did not come (e.g. the process stopped before publishing) is sent again."""
    requested_at = pending.get("requested_at")
    now = deps.clock()
    if requested_at is None or (now - requested_at).total_seconds() >= deps.reservation_resend_seconds:
        await deps.store.touch_pending(station_id, pending["reservation_id"], now)
        await _send_request(station_id, pending, deps)


async def sweep(deps: PrintingDeps) -> None:
    """Periodic: every known station gets a dispatch step (resends stale requests, starts idle queues)."""
    for station_id in deps.stations.stations:
        await dispatch(station_id, deps=deps)
