"""Use cases offices call: the reads of stations, queues and jobs; reprints, school deliveries and hand-over.

Each takes a command naming the office, checks the rules of `domain`, and publishes the event
that records it; the print topic's consumer then moves the jobs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from services.printing.domain import (
    Conflict,
    JobStatus,
    NotFound,
    PrintJob,
    SchoolDelivery,
    card_is_valid,
    check_may_acknowledge,
    check_may_hand_over_to,
    check_may_read_cards,
    check_may_reprint_for,
    check_may_request_reprint,
    check_may_send_to_school,
    check_students_of,
    delivery_station,
    handover_route,
    may_see,
    reprint_claim_replaceable,
    reprint_source,
    where_is,
)
from services.printing.handlers.common import PrintingDeps, derived_id, queued_event
from shared.auth import Office, actor_of
from shared.contracts.printing import (
    CardHandedOver,
    HandedOverPayload,
    PrintReason,
    SchoolAcknowledgedPayload,
    SchoolDeliveryAcknowledged,
    SchoolDeliveryPayload,
    SchoolDeliverySent,
)
from shared.topics import PRINT

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
class ShowCards:
    """Where a resident's cards are: every print job of the resident, newest first."""

    office: Office
    resident_id: str


@dataclass(frozen=True)
class CardView:
    """One card of a resident: its job, its school delivery, whether it is valid, and where it is."""

    job: PrintJob
    delivery: SchoolDelivery | None
    valid: bool
    where: str


@dataclass(frozen=True)
class ResidentCards:
    resident_id: str
    kecamatan_code: str
    cards: tuple[CardView, ...]

    @property
    def valid_job_id(self) -> str | None:
        """The card the resident may carry (None while none is printed)."""
        return next((card.job.job_id for card in self.cards if card.valid), None)


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


async def schools_of_jobs(jobs: list[PrintJob], *, deps: PrintingDeps) -> dict[str, str | None]:
    """The school (NPSN) of each job's resident, as the resident topic told it; None for a non-student."""
    schools = await deps.store.schools_of([job.resident_id for job in jobs])
    return {job.job_id: schools.get(job.resident_id) for job in jobs}


@dataclass(frozen=True)
class ListDeliveries:
    """School deliveries not yet signed for, that the office may see (a kecamatan's, a station's, or all)."""

    office: Office
    kecamatan_code: str | None = None


async def waiting_deliveries(command: ListDeliveries, *, deps: PrintingDeps) -> list[SchoolDelivery]:
    found = await deps.store.deliveries_waiting(kecamatan_code=command.kecamatan_code)
    return [d for d in found if may_see(command.office, station_id=d.station_id, kecamatan_code=d.kecamatan_code)]


async def show_cards(command: ShowCards, *, deps: PrintingDeps) -> ResidentCards:
    """Every card of a resident and where it is, for the office of the kecamatan the resident lives in now
    (the resident topic tells it; the last card's kecamatan until then); the read goes to the audit log."""
    jobs = await deps.store.jobs_of_resident(command.resident_id)
    if not jobs:
        raise NotFound("Belum ada kartu KTP-el penduduk ini di pencetakan: cetak pertama menunggu status PRR "
                       "dari perekaman.")
    area = await deps.store.area_of(command.resident_id)
    kecamatan_code = area[0] if area else jobs[-1].kecamatan_code
    check_may_read_cards(command.office, kecamatan_code)
    cards = []
    for job in reversed(jobs):
        delivery = await deps.store.delivery(job.delivery_id) if job.delivery_id else None
        cards.append(CardView(job=job, delivery=delivery, valid=card_is_valid(job), where=where_is(job, delivery)))
    await deps.store.record_read(office_id=command.office.office_id, operator=command.office.operator,
                                 action="baca_riwayat_kartu",
                                 kecamatan_code=kecamatan_code, resident_ids=[command.resident_id], now=deps.clock())
    return ResidentCards(command.resident_id, kecamatan_code, tuple(cards))


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
    """A new card for a resident printed before (lost, damaged, changed data), without recording again; asked
    by the office of the kecamatan the resident lives in now and printed by the station serving it.

    The resident's reprint is claimed atomically before the event goes out, so two requests at once
    (a double click, a retry after a timeout) queue one card; the other is refused with the reason."""
    office = command.office
    check_may_request_reprint(office, command.reason)
    job_id = "job-" + derived_id(command.request_id, "reprint").hex[:24]
    existing = await deps.store.job(job_id)
    if existing is not None:
        return JobAccepted(job_id=job_id, status=existing.status, station_id=existing.station_id)
    check_may_reprint_for(await deps.store.left_reason(command.resident_id))
    area = await deps.store.area_of(command.resident_id)
    history = [job for job in await deps.store.jobs_of_resident(command.resident_id)
               if may_see(office, station_id=job.station_id, kecamatan_code=area[0] if area else job.kecamatan_code)]
    last = reprint_source(history)
    kecamatan_code, desa_code = area or (last.kecamatan_code, last.desa_code)
    await _claim_reprint(command.resident_id, job_id, deps=deps)
    queued = queued_event(
        job_id=job_id, source_event_id=str(command.request_id), resident_id=command.resident_id,
        kecamatan_code=kecamatan_code, desa_code=desa_code, reason=command.reason, wajib_ktp_from=None,
        lansia=last.lansia, disabilitas=last.disabilitas, occurred_at=deps.clock(), actor=actor_of(office),
        deps=deps)
    try:
        await deps.publisher.publish(queued, topic=PRINT, key=queued.payload.station_id)
    except BaseException:
        await deps.store.release_reprint_claim(command.resident_id, job_id)
        raise
    await deps.store.void_cards(command.resident_id, replaced_by=job_id, reason=command.reason.value,
                                at=queued.occurred_at)
    return JobAccepted(job_id=job_id, status=JobStatus.MENUNGGU_BLANGKO, station_id=queued.payload.station_id,
                       event_id=queued.event_id)


async def _claim_reprint(resident_id: str, job_id: str, *, deps: PrintingDeps) -> None:
    """Hold the resident's one reprint for `job_id`, or refuse while another is on its way."""
    now = deps.clock()
    held = await deps.store.claim_reprint(resident_id, job_id, now=now)
    if held is None:
        return
    if reprint_claim_replaceable(held, await deps.store.job(held.job_id), now) and \
            await deps.store.replace_reprint_claim(resident_id, held_by=held.job_id, job_id=job_id, now=now):
        return
    raise Conflict("Cetak ulang untuk penduduk ini sudah diminta dan masih dalam antrean cetak; "
                   "tidak perlu meminta lagi.")


async def hand_over(command: HandOver, *, deps: PrintingDeps) -> JobAccepted:
    """A printed card (directly, or from a school that signed for it) reaches its owner, once.

    The card is claimed for this hand-over before its event goes out, so a second hand-over (or a
    hand-over of a card a reprint replaced) is refused with the reason, also when both come at once."""
    job = await visible_job(command.office, command.job_id, deps=deps)
    check_may_hand_over_to(await deps.store.left_reason(job.resident_id))
    via = handover_route(job)
    event_id = command.request_id
    if not await deps.store.claim_handover(job.job_id, str(event_id)):
        handover_route(await visible_job(command.office, command.job_id, deps=deps))
        raise Conflict("Kartu ini sedang diserahkan oleh permintaan lain; periksa statusnya sebentar lagi.")
    now = deps.clock()
    event = CardHandedOver(
        event_id=event_id, occurred_at=now, recorded_at=now, actor=actor_of(command.office),
        payload=HandedOverPayload(job_id=job.job_id, station_id=job.station_id, resident_id=job.resident_id,
                                  kecamatan_code=job.kecamatan_code, desa_code=job.desa_code, via=via,
                                  delivery_id=job.delivery_id))
    try:
        await deps.publisher.publish(event, topic=PRINT, key=job.station_id)
    except BaseException:
        await deps.store.release_handover(job.job_id, str(event_id))
        raise
    return JobAccepted(job_id=job.job_id, status=JobStatus.DISERAHKAN, station_id=job.station_id,
                       event_id=event.event_id)


async def send_to_school(command: SendToSchool, *, deps: PrintingDeps) -> DeliveryAccepted:
    """Printed cards of one station taken to their students' school in one delivery."""
    check_may_send_to_school(command.office)
    jobs = [await visible_job(command.office, job_id, deps=deps) for job_id in dict.fromkeys(command.job_ids)]
    station_id = delivery_station(jobs)
    check_students_of(command.school_npsn, jobs, await deps.store.schools_of([job.resident_id for job in jobs]))
    now = deps.clock()
    event = SchoolDeliverySent(
        event_id=command.request_id, occurred_at=now, recorded_at=now, actor=actor_of(command.office),
        payload=SchoolDeliveryPayload(delivery_id=f"kirim-{command.request_id.hex}", station_id=station_id,
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
    check_may_acknowledge(command.office, delivery)
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
