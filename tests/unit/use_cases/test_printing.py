"""Every printing use case against in-memory fakes: the queue, blank reservations, printed and spoiled
cards, reprints, school deliveries, hand-over and the reads staff use."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from services.printing import domain, handlers
from services.printing.domain import (
    REPRINT_CLAIM_HOLDS,
    Conflict,
    Forbidden,
    Invalid,
    JobStatus,
    NotFound,
    PrintJob,
    reservation_for,
)
from services.printing.handlers import (
    AcknowledgeDelivery,
    HandOver,
    PrintingDeps,
    RequestReprint,
    SendToSchool,
    ShowJob,
    ShowQueue,
)
from shared.auth import Office
from shared.contracts import Actor, Role
from shared.contracts.printing import (
    CardHandedOver,
    CardPrinted,
    JobDispatched,
    JobQueued,
    PrintedPayload,
    PrintReason,
    PrintSpoiled,
    PriorityClass,
    SchoolDeliveryAcknowledged,
    SchoolDeliverySent,
    SpoiledPayload,
    SpoilReason,
)
from shared.contracts.recording import PrintRequested, PrintRequestedPayload
from shared.contracts.stock import (
    BlankReserved,
    ReceivedPayload,
    RefusalPayload,
    ReservationPayload,
    ReservationRefused,
    ReservationRequested,
    StockReceived,
)
from shared.stations import Station, StationDirectory
from tests.fakes.printing import FakePrintingStore, RecordingPublisher
from tests.support.events import make

PUSAT, PUT = "dinas-curup", "kec-put"
STATIONS = StationDirectory({
    PUSAT: Station(PUSAT, "Dinas Curup", frozenset({"17.02.09"}), True),
    PUT: Station(PUT, "Padang Ulak Tanding", frozenset({"17.02.07"}), False),
})
START = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
TESTER = Actor(office_id="uji", role=Role.SYSTEM, operator="uji")
ADMIN = Office(office_id="dinas", name="Dinas", role=Role.DINAS_ADMIN)
KECAMATAN = Office(office_id="kec-09", name="Kecamatan Curup", role=Role.KECAMATAN_OFFICE, kecamatan_code="17.02.09")
OTHER_KECAMATAN = Office(office_id="kec-07", name="Kecamatan PUT", role=Role.KECAMATAN_OFFICE,
                         kecamatan_code="17.02.07")
STATION_OFFICE = Office(office_id=PUSAT, name="Stasiun pusat", role=Role.PRINT_STATION)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@dataclasses.dataclass
class World:
    deps: PrintingDeps
    store: FakePrintingStore
    publisher: RecordingPublisher
    clock: Clock
    printed: list[tuple[str, float]]

    def sent(self, kind: type) -> list[Any]:
        return self.publisher.events(kind)

    async def deliver_print_events(self) -> None:
        """Feed what was published on the print topic back to the consumer, as the broker would."""
        while self.publisher.sent:
            event = self.publisher.sent.pop(0).event
            if isinstance(event, JobQueued | CardPrinted | PrintSpoiled | SchoolDeliverySent
                          | SchoolDeliveryAcknowledged | CardHandedOver):
                await handlers.apply_print_event(event, deps=self.deps)


@pytest.fixture
def world() -> World:
    store, publisher, clock = FakePrintingStore(), RecordingPublisher(), Clock()
    printed: list[tuple[str, float]] = []
    deps = PrintingDeps(store=store, publisher=publisher, clock=clock, stations=STATIONS,
                        reservation_resend_seconds=30, on_printed=lambda s, seconds: printed.append((s, seconds)))
    return World(deps, store, publisher, clock, printed)


def resident() -> str:
    return "r" + uuid.uuid4().hex


def envelope(cls: Any, payload: Any, at: dt.datetime = START) -> Any:
    return cls(event_id=uuid.uuid4(), occurred_at=at, recorded_at=at, actor=TESTER, payload=payload)


def print_request(kecamatan: str = "17.02.09", desa: str = "17.02.09.1012", **fields: Any) -> PrintRequested:
    payload = PrintRequestedPayload(kecamatan_code=kecamatan, desa_code=desa,
                                    **{"resident_id": resident(), "reason": "pertama", **fields})
    return envelope(PrintRequested, payload)  # type: ignore[no-any-return]


def job(status: JobStatus, *, station: str = PUSAT, kecamatan: str = "17.02.09", who: str | None = None,
        **fields: Any) -> PrintJob:
    return PrintJob(job_id="job-" + uuid.uuid4().hex[:24], station_id=station, resident_id=who or resident(),
                    kecamatan_code=kecamatan, desa_code=kecamatan + ".1012", reason=PrintReason.PERTAMA,
                    priority_class=PriorityClass.PEMILIH_PEMULA, status=status, rank=0, queued_at=START, **fields)


async def stored(world: World, *jobs: PrintJob) -> list[PrintJob]:
    for one in jobs:
        await world.store.add_job(one)
    return list(jobs)


async def queued_job(world: World, **request: Any) -> PrintJob:
    """A print request that became a job waiting for its blank (its reservation request sent)."""
    await handlers.queue_print_request(print_request(**request), deps=world.deps)
    await world.deliver_print_events()
    return next(iter(world.store.jobs.values()))


def reserved(one: PrintJob, station: str = PUSAT) -> BlankReserved:
    return envelope(BlankReserved, ReservationPayload(location_id=station, reservation_id=f"{one.job_id}.1.1",
                                                      job_id=one.job_id, attempt=1))


# Print requests, blank reservations and the station's answers


async def test_a_print_request_becomes_one_job_on_its_kecamatans_station_and_asks_for_a_blank(world: World) -> None:
    request = print_request(kecamatan="17.02.07", desa="17.02.07.2001", wajib_ktp_from=dt.date(2025, 1, 1))
    assert await handlers.queue_print_request(request, deps=world.deps) == "applied"
    queued = world.sent(JobQueued)[0]
    assert (queued.payload.station_id, queued.payload.priority_class) == (PUT, PriorityClass.PEMILIH_PEMULA)
    assert await handlers.apply_print_event(queued, deps=world.deps) == "applied"
    assert await handlers.apply_print_event(queued, deps=world.deps) == "duplicate"
    [one] = world.store.jobs.values()
    assert (one.status, one.attempt, one.station_id) == (JobStatus.MENUNGGU_BLANGKO, 1, PUT)
    assert [e.payload.job_id for e in world.sent(ReservationRequested)] == [one.job_id]


async def test_a_reserved_blank_dispatches_the_job_to_its_station_once_per_answer(world: World) -> None:
    one = await queued_job(world)
    answer = reserved(one)
    assert await handlers.apply_stock_event(answer, deps=world.deps) == "applied"
    assert world.store.jobs[one.job_id].status == JobStatus.SIAP_CETAK
    assert await handlers.apply_stock_event(answer, deps=world.deps) == "duplicate"
    dispatched = world.sent(JobDispatched)
    assert len(dispatched) == 2 and dispatched[0].event_id == dispatched[1].event_id
    assert (await world.store.station(PUSAT)).pending is None


async def test_a_refused_reservation_makes_the_station_wait_until_stock_arrives(world: World) -> None:
    one = await queued_job(world)
    refusal = envelope(ReservationRefused, RefusalPayload(location_id=PUSAT, reservation_id=f"{one.job_id}.1.1",
                                                          job_id=one.job_id, attempt=1, reason="habis"))
    assert await handlers.apply_stock_event(refusal, deps=world.deps) == "applied"
    assert await handlers.apply_stock_event(refusal, deps=world.deps) == "duplicate"
    assert (await world.store.station(PUSAT)).waiting_for_stock
    assert await handlers.dispatch(PUSAT, deps=world.deps) == "waiting_for_stock"
    world.publisher.sent.clear()
    arrived = envelope(StockReceived, ReceivedPayload(location_id=PUSAT, quantity=5, document_no="BA/1"))
    assert await handlers.apply_stock_event(arrived, deps=world.deps) == "applied"
    assert [e.payload.reservation_id for e in world.sent(ReservationRequested)] == [f"{one.job_id}.1.2"]


async def test_a_refusal_older_than_arrived_stock_does_not_make_the_station_wait(world: World) -> None:
    one = await queued_job(world)
    await world.store.stock_arrived(PUSAT)
    refusal = envelope(ReservationRefused, RefusalPayload(location_id=PUSAT, reservation_id=f"{one.job_id}.1.1",
                                                          job_id=one.job_id, attempt=1, reason="habis"))
    await handlers.apply_stock_event(refusal, deps=world.deps)
    assert not (await world.store.station(PUSAT)).waiting_for_stock
    assert (await world.store.station(PUSAT)).pending is not None  # asked again at once


async def test_a_printed_card_finishes_the_job_and_a_spoiled_one_waits_for_its_next_attempt(world: World) -> None:
    first = await queued_job(world)
    await handlers.apply_stock_event(reserved(first), deps=world.deps)
    later = START + dt.timedelta(hours=2)
    spoiled = envelope(PrintSpoiled, SpoiledPayload(job_id=first.job_id, station_id=PUSAT, attempt=1,
                                                    reservation_id=f"{first.job_id}.1.1",
                                                    reason=SpoilReason.LAMINASI_TERKELUPAS), later)
    assert await handlers.apply_print_event(spoiled, deps=world.deps) == "applied"
    assert await handlers.apply_print_event(spoiled, deps=world.deps) == "duplicate"
    again = world.store.jobs[first.job_id]
    assert (again.status, again.attempt, [s.reason for s in again.spoiled]) == \
        (JobStatus.MENUNGGU_BLANGKO, 2, ["laminasi_terkelupas"])
    assert world.sent(ReservationRequested)[-1].payload.attempt == 2
    second = envelope(BlankReserved, ReservationPayload(location_id=PUSAT, reservation_id=f"{first.job_id}.2.2",
                                                        job_id=first.job_id, attempt=2))
    await handlers.apply_stock_event(second, deps=world.deps)
    printed = envelope(CardPrinted, PrintedPayload(job_id=first.job_id, station_id=PUSAT, attempt=2,
                                                   reservation_id=f"{first.job_id}.2.2", printer="pdf"), later)
    assert await handlers.apply_print_event(printed, deps=world.deps) == "applied"
    assert await handlers.apply_print_event(printed, deps=world.deps) == "duplicate"
    assert world.store.jobs[first.job_id].status == JobStatus.DICETAK
    assert world.printed == [(PUSAT, 7200.0)]


async def test_the_sweep_resends_an_unanswered_request_only_once_it_is_stale(world: World) -> None:
    await queued_job(world)
    world.publisher.sent.clear()
    world.clock.now = START + dt.timedelta(seconds=10)
    views = await handlers.sweep(deps=world.deps)
    assert world.sent(ReservationRequested) == []
    assert {v.station_id: v.waiting_for_blanks for v in views} == {PUSAT: 1, PUT: 0}
    world.clock.now = START + dt.timedelta(seconds=31)
    await handlers.sweep(deps=world.deps)
    [resent] = world.sent(ReservationRequested)
    world.clock.now = START + dt.timedelta(seconds=40)
    await handlers.sweep(deps=world.deps)
    assert world.sent(ReservationRequested) == [resent]


async def test_a_changed_priority_order_reranks_the_open_jobs(world: World) -> None:
    waiting, done = await stored(world, job(JobStatus.MENUNGGU_BLANGKO), job(JobStatus.DICETAK))
    order = (PriorityClass.CETAK_ULANG, PriorityClass.PERTAMA_LAINNYA, PriorityClass.LANSIA_DISABILITAS,
             PriorityClass.PEMILIH_PEMULA)
    await handlers.apply_priority_order(deps=dataclasses.replace(world.deps, priority_order=order))
    assert (world.store.jobs[waiting.job_id].rank, world.store.jobs[done.job_id].rank) == (3, 0)


# Reads


async def test_stations_show_their_queue_and_whether_they_wait_for_stock(world: World) -> None:
    await stored(world, job(JobStatus.MENUNGGU_BLANGKO), job(JobStatus.SIAP_CETAK), job(JobStatus.DICETAK))
    await world.store.claim_reservation(PUT, seq=0, pending=reservation_for(
        job(JobStatus.MENUNGGU_BLANGKO, station=PUT), await world.store.station(PUT), START))
    views = {v.station_id: v for v in await handlers.list_stations(deps=world.deps)}
    assert (views[PUSAT].waiting_for_blanks, views[PUSAT].ready_to_print, views[PUSAT].fallback) == (1, 1, True)
    assert views[PUT].pending_job_id is not None and views[PUT].kecamatan_codes == ("17.02.07",)


async def test_a_queue_shows_only_the_jobs_an_office_may_see_and_unknown_stations_are_not_found(world: World) -> None:
    mine, other = await stored(world, job(JobStatus.MENUNGGU_BLANGKO),
                               job(JobStatus.SIAP_CETAK, kecamatan="17.02.06"))
    everything = await handlers.show_queue(ShowQueue(ADMIN, PUSAT), deps=world.deps)
    assert {j.job_id for j in everything} == {mine.job_id, other.job_id}
    assert [j.job_id for j in await handlers.show_queue(ShowQueue(KECAMATAN, PUSAT), deps=world.deps)] == [mine.job_id]
    ready = await handlers.show_queue(ShowQueue(ADMIN, PUSAT, JobStatus.SIAP_CETAK), deps=world.deps)
    assert [j.job_id for j in ready] == [other.job_id]
    with pytest.raises(NotFound, match="tidak dikenal"):
        await handlers.show_queue(ShowQueue(ADMIN, "tidak-ada"), deps=world.deps)


async def test_a_job_of_another_kecamatan_is_not_found(world: World) -> None:
    [one] = await stored(world, job(JobStatus.DICETAK))
    assert (await handlers.show_job(ShowJob(KECAMATAN, one.job_id), deps=world.deps)) == one
    assert (await handlers.show_job(ShowJob(STATION_OFFICE, one.job_id), deps=world.deps)) == one
    with pytest.raises(NotFound):
        await handlers.show_job(ShowJob(OTHER_KECAMATAN, one.job_id), deps=world.deps)


# Reprints


async def test_a_reprint_queues_a_replacement_for_a_printed_card_once_per_request(world: World) -> None:
    who = resident()
    await stored(world, job(JobStatus.DISERAHKAN, who=who, lansia=True))
    command = RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4())
    accepted = await handlers.request_reprint(command, deps=world.deps)
    [queued] = world.sent(JobQueued)
    assert (accepted.status, accepted.event_id, accepted.station_id) == (JobStatus.MENUNGGU_BLANGKO, queued.event_id, PUSAT)
    assert (queued.payload.priority_class, queued.payload.lansia) == (PriorityClass.LANSIA_DISABILITAS, True)
    await world.deliver_print_events()
    again = await handlers.request_reprint(command, deps=world.deps)
    assert (again.job_id, again.event_id) == (accepted.job_id, None)
    with pytest.raises(Conflict, match="masih dalam antrean"):
        await handlers.request_reprint(dataclasses.replace(command, request_id=uuid.uuid4()), deps=world.deps)


async def test_two_reprint_requests_at_once_queue_one_card_and_the_claim_passes_on_once_it_is_printed(
        world: World) -> None:
    who = resident()
    await stored(world, job(JobStatus.DISERAHKAN, who=who))
    first = RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4())
    accepted = await handlers.request_reprint(first, deps=world.deps)
    # The second click arrives before the first job reached the queue (its event not yet consumed).
    with pytest.raises(Conflict, match="sudah diminta dan masih dalam antrean"):
        await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4()),
                                       deps=world.deps)
    assert len(world.sent(JobQueued)) == 1
    await world.deliver_print_events()
    await world.store.mark_reserved(accepted.job_id, attempt=1, reservation_id="res-1")
    await world.store.mark_printed(accepted.job_id, attempt=1, reservation_id="res-1", at=START, printer="uji")
    later = await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.RUSAK, uuid.uuid4()),
                                           deps=world.deps)
    assert later.job_id != accepted.job_id  # the first one's event was consumed above
    assert [event.payload.job_id for event in world.sent(JobQueued)] == [later.job_id]


async def test_a_reprint_claim_is_given_back_when_kafka_refuses_and_expires_when_its_job_never_came(
        world: World) -> None:
    who = resident()
    await stored(world, job(JobStatus.DISERAHKAN, who=who))

    async def refuse(event: Any, *, topic: Any, key: str) -> None:
        raise KafkaConnectionError("Kafka away")

    publish, world.publisher.publish = world.publisher.publish, refuse  # type: ignore[method-assign]
    with pytest.raises(KafkaConnectionError):
        await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4()),
                                       deps=world.deps)
    world.publisher.publish = publish  # type: ignore[method-assign]
    assert world.store.reprint_claims == {}
    await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4()), deps=world.deps)
    world.publisher.sent.clear()  # that job's event is lost: it never reaches the queue
    world.clock.now = START + REPRINT_CLAIM_HOLDS + dt.timedelta(seconds=1)
    await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4()), deps=world.deps)
    assert len(world.sent(JobQueued)) == 1


async def test_a_reprint_is_refused_for_a_card_never_printed_a_wrong_role_or_a_first_card(world: World) -> None:
    with pytest.raises(Conflict, match="belum pernah dicetak"):
        await handlers.request_reprint(RequestReprint(ADMIN, resident(), PrintReason.RUSAK, uuid.uuid4()),
                                       deps=world.deps)
    with pytest.raises(Forbidden):
        await handlers.request_reprint(RequestReprint(STATION_OFFICE, resident(), PrintReason.RUSAK, uuid.uuid4()),
                                       deps=world.deps)
    with pytest.raises(Invalid):
        await handlers.request_reprint(RequestReprint(ADMIN, resident(), PrintReason.PERTAMA, uuid.uuid4()),
                                       deps=world.deps)
    assert world.publisher.sent == []


# School deliveries and hand-over


async def test_a_printed_card_is_handed_over_directly_once(world: World) -> None:
    [one] = await stored(world, job(JobStatus.DICETAK))
    accepted = await handlers.hand_over(HandOver(KECAMATAN, one.job_id, uuid.uuid4()), deps=world.deps)
    [event] = world.sent(CardHandedOver)
    assert (accepted.status, event.payload.via) == (JobStatus.DISERAHKAN, "langsung")
    await world.deliver_print_events()
    assert world.store.jobs[one.job_id].status == JobStatus.DISERAHKAN
    with pytest.raises(Conflict, match="sudah diserahkan"):
        await handlers.hand_over(HandOver(KECAMATAN, one.job_id, uuid.uuid4()), deps=world.deps)
    assert world.publisher.sent == []


async def test_a_second_hand_over_before_the_first_is_applied_is_refused_and_a_failed_one_gives_the_card_back(
        world: World) -> None:
    [one] = await stored(world, job(JobStatus.DICETAK))

    async def refuse(event: Any, *, topic: Any, key: str) -> None:
        raise KafkaConnectionError("Kafka away")

    publish, world.publisher.publish = world.publisher.publish, refuse  # type: ignore[method-assign]
    with pytest.raises(KafkaConnectionError):
        await handlers.hand_over(HandOver(KECAMATAN, one.job_id, uuid.uuid4()), deps=world.deps)
    world.publisher.publish = publish  # type: ignore[method-assign]
    await handlers.hand_over(HandOver(KECAMATAN, one.job_id, uuid.uuid4()), deps=world.deps)
    with pytest.raises(Conflict, match="sudah diserahkan"):  # the first event is not consumed yet
        await handlers.hand_over(HandOver(ADMIN, one.job_id, uuid.uuid4()), deps=world.deps)
    assert len(world.sent(CardHandedOver)) == 1


async def test_a_reprint_voids_the_card_it_replaces_which_can_no_longer_be_handed_over_or_sent(world: World) -> None:
    who = resident()
    original, at_school = await stored(world, job(JobStatus.DICETAK, who=who), job(JobStatus.DISERAHKAN, who=who))
    accepted = await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4()),
                                              deps=world.deps)
    for card in (original, at_school):
        assert world.store.jobs[card.job_id].replaced_by == accepted.job_id
    with pytest.raises(Conflict, match=f"diganti cetak ulang \\(hilang\\).*{accepted.job_id}"):
        await handlers.hand_over(HandOver(KECAMATAN, original.job_id, uuid.uuid4()), deps=world.deps)
    world.store.schools[who] = "10700123"
    with pytest.raises(Conflict, match="tidak berlaku lagi"):
        await handlers.send_to_school(SendToSchool(ADMIN, "10700123", (original.job_id,), uuid.uuid4()),
                                      deps=world.deps)
    await world.deliver_print_events()  # the queued reprint voids nothing more and is itself valid
    assert world.store.jobs[accepted.job_id].replaced_by is None


async def test_a_reprint_arriving_from_the_topic_voids_the_earlier_cards_once(world: World) -> None:
    who = resident()
    [printed] = await stored(world, job(JobStatus.DICETAK, who=who))
    await handlers.queue_print_request(print_request(reason="rusak", resident_id=who), deps=world.deps)
    await world.deliver_print_events()
    [reprint] = [one for one in world.store.jobs.values() if one.job_id != printed.job_id]
    assert world.store.jobs[printed.job_id].replaced_by == reprint.job_id


async def test_hand_over_is_refused_before_printing_and_while_the_card_is_at_school_unsigned(world: World) -> None:
    waiting, at_school = await stored(world, job(JobStatus.SIAP_CETAK), job(JobStatus.DIKIRIM_KE_SEKOLAH))
    with pytest.raises(Conflict, match="belum dicetak"):
        await handlers.hand_over(HandOver(ADMIN, waiting.job_id, uuid.uuid4()), deps=world.deps)
    with pytest.raises(Conflict, match="tanda terima sekolah"):
        await handlers.hand_over(HandOver(ADMIN, at_school.job_id, uuid.uuid4()), deps=world.deps)
    with pytest.raises(NotFound):
        await handlers.hand_over(HandOver(OTHER_KECAMATAN, waiting.job_id, uuid.uuid4()), deps=world.deps)


async def test_cards_go_to_a_school_which_signs_and_then_each_is_handed_over_via_the_school(world: World) -> None:
    cards = await stored(world, job(JobStatus.DICETAK), job(JobStatus.DICETAK))
    ids = tuple(c.job_id for c in cards)
    world.store.schools.update({c.resident_id: "10700123" for c in cards})
    sent = await handlers.send_to_school(SendToSchool(STATION_OFFICE, "10700123", ids + ids[:1], uuid.uuid4()),
                                         deps=world.deps)
    assert sent.count == 2
    await world.deliver_print_events()
    assert {world.store.jobs[i].status for i in ids} == {JobStatus.DIKIRIM_KE_SEKOLAH}
    signed = await handlers.acknowledge_delivery(
        AcknowledgeDelivery(ADMIN, sent.delivery_id, "Kepala Sekolah", uuid.uuid4()), deps=world.deps)
    assert not signed.already and world.sent(SchoolDeliveryAcknowledged)[0].payload.count == 2
    await world.deliver_print_events()
    assert {world.store.jobs[i].status for i in ids} == {JobStatus.DITERIMA_SEKOLAH}
    again = await handlers.acknowledge_delivery(
        AcknowledgeDelivery(ADMIN, sent.delivery_id, "Kepala Sekolah", uuid.uuid4()), deps=world.deps)
    assert again.already and world.publisher.sent == []
    await handlers.hand_over(HandOver(ADMIN, ids[0], uuid.uuid4()), deps=world.deps)
    [handed] = world.sent(CardHandedOver)
    assert (handed.payload.via, handed.payload.delivery_id) == ("sekolah", sent.delivery_id)


async def test_a_school_delivery_is_refused_for_unprinted_cards_mixed_stations_or_a_kecamatan_office(
        world: World) -> None:
    printed, waiting, elsewhere = await stored(world, job(JobStatus.DICETAK), job(JobStatus.SIAP_CETAK),
                                               job(JobStatus.DICETAK, station=PUT, kecamatan="17.02.07"))
    with pytest.raises(Conflict, match="1 kartu belum dicetak"):
        await handlers.send_to_school(SendToSchool(ADMIN, "10700123", (printed.job_id, waiting.job_id), uuid.uuid4()),
                                      deps=world.deps)
    with pytest.raises(Conflict, match="satu stasiun"):
        await handlers.send_to_school(
            SendToSchool(ADMIN, "10700123", (printed.job_id, elsewhere.job_id), uuid.uuid4()), deps=world.deps)
    with pytest.raises(Forbidden):
        await handlers.send_to_school(SendToSchool(KECAMATAN, "10700123", (printed.job_id,), uuid.uuid4()),
                                      deps=world.deps)
    assert world.publisher.sent == []


async def test_an_unknown_or_unseen_delivery_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await handlers.acknowledge_delivery(AcknowledgeDelivery(ADMIN, "kirim-000000000000", "Kepala", uuid.uuid4()),
                                            deps=world.deps)
    [card] = await stored(world, job(JobStatus.DICETAK))
    world.store.schools[card.resident_id] = "10700123"
    sent = await handlers.send_to_school(SendToSchool(ADMIN, "10700123", (card.job_id,), uuid.uuid4()), deps=world.deps)
    await world.deliver_print_events()
    with pytest.raises(NotFound):
        await handlers.acknowledge_delivery(
            AcknowledgeDelivery(OTHER_KECAMATAN, sent.delivery_id, "Kepala", uuid.uuid4()), deps=world.deps)


async def test_a_school_delivery_carries_only_that_schools_students_and_gets_an_id_of_its_own(world: World) -> None:
    mine, other, unknown = await stored(world, job(JobStatus.DICETAK), job(JobStatus.DICETAK), job(JobStatus.DICETAK))
    world.store.schools.update({mine.resident_id: "10700123", other.resident_id: "10700999"})
    for card in (other, unknown):
        with pytest.raises(Conflict, match=f"bukan milik siswa sekolah NPSN 10700123.*{card.job_id}"):
            await handlers.send_to_school(SendToSchool(STATION_OFFICE, "10700123", (mine.job_id, card.job_id),
                                                       uuid.uuid4()), deps=world.deps)
    first, second = uuid.UUID(int=1 << 80), uuid.UUID(int=(1 << 80) + 1)  # the same first 12 hex digits
    ids = {(await handlers.send_to_school(SendToSchool(STATION_OFFICE, "10700123", (mine.job_id,), request),
                                          deps=world.deps)).delivery_id for request in (first, second)}
    assert len(ids) == 2


async def test_the_resident_topic_tells_printing_each_students_school(world: World) -> None:
    enrolled = make("resident.enrolled", school_npsn="10700123")
    moved = make("resident.updated", resident_id=enrolled.payload.resident_id, school_npsn=None, reason="lulus")
    assert await handlers.apply_resident_event(enrolled, deps=world.deps) == "applied"
    assert world.store.schools == {enrolled.payload.resident_id: "10700123"}
    await handlers.apply_resident_event(moved, deps=world.deps)
    assert world.store.schools == {enrolled.payload.resident_id: None}
    moved_out = make("resident.left", resident_id=enrolled.payload.resident_id, reason="pindah")
    assert await handlers.apply_resident_event(moved_out, deps=world.deps) == "applied"
    assert world.store.schools == {enrolled.payload.resident_id: None}
    assert world.store.left == {enrolled.payload.resident_id: "pindah"}


def died(who: str) -> Any:
    return make("resident.left", resident_id=who, reason="meninggal")


async def test_a_residents_death_cancels_their_cards_not_yet_printed_and_refuses_reprint_and_hand_over(
        world: World) -> None:
    who = resident()
    printed, waiting = await stored(world, job(JobStatus.DICETAK, who=who), job(JobStatus.MENUNGGU_BLANGKO, who=who))
    assert await handlers.apply_resident_event(died(who), deps=world.deps) == "applied"
    assert world.store.jobs[waiting.job_id].status == JobStatus.DIBATALKAN
    assert await handlers.show_queue(ShowQueue(ADMIN, PUSAT), deps=world.deps) == []
    assert world.store.jobs[printed.job_id].status == JobStatus.DICETAK
    with pytest.raises(Conflict, match="penduduk sudah tercatat meninggal"):
        await handlers.hand_over(HandOver(ADMIN, printed.job_id, uuid.uuid4()), deps=world.deps)
    with pytest.raises(Conflict, match="penduduk sudah tercatat meninggal"):
        await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4()),
                                       deps=world.deps)
    assert world.sent(CardHandedOver) == [] and world.sent(JobQueued) == []
    cards = await handlers.show_cards(handlers.ShowCards(KECAMATAN, who), deps=world.deps)
    assert "penduduk sudah tercatat meninggal" in cards.cards[0].where


async def test_a_resident_who_moved_out_may_collect_a_printed_card_but_gets_no_reprint(world: World) -> None:
    who = resident()
    [printed] = await stored(world, job(JobStatus.DICETAK, who=who))
    await handlers.apply_resident_event(make("resident.left", resident_id=who, reason="pindah"), deps=world.deps)
    with pytest.raises(Conflict, match="pindah keluar kabupaten"):
        await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4()),
                                       deps=world.deps)
    accepted = await handlers.hand_over(HandOver(ADMIN, printed.job_id, uuid.uuid4()), deps=world.deps)
    assert accepted.status == JobStatus.DISERAHKAN


async def test_a_blank_reserved_for_a_dead_residents_card_goes_to_the_next_card_of_the_station(world: World) -> None:
    ready = job(JobStatus.SIAP_CETAK, reservation_id="job-a.1.1")
    next_one = job(JobStatus.MENUNGGU_BLANGKO)
    await stored(world, ready, next_one)
    world.store.stations[PUSAT] = dataclasses.replace(await world.store.station(PUSAT), waiting_for_stock=True)
    await handlers.apply_resident_event(died(ready.resident_id), deps=world.deps)
    await handlers.apply_resident_event(died(ready.resident_id), deps=world.deps)
    assert world.store.jobs[ready.job_id].status == JobStatus.DIBATALKAN
    heir = world.store.jobs[next_one.job_id]
    assert (heir.status, heir.reservation_id) == (JobStatus.SIAP_CETAK, "job-a.1.1")
    [dispatched] = world.sent(JobDispatched)
    assert (dispatched.payload.job_id, dispatched.payload.reservation_id) == (next_one.job_id, "job-a.1.1")


async def test_a_blank_answered_after_the_death_goes_to_the_next_card_once(world: World) -> None:
    one = await queued_job(world)
    [other] = await stored(world, job(JobStatus.MENUNGGU_BLANGKO))
    await handlers.apply_resident_event(died(one.resident_id), deps=world.deps)
    answer = reserved(one)
    await handlers.apply_stock_event(answer, deps=world.deps)
    await handlers.apply_stock_event(answer, deps=world.deps)
    assert world.store.jobs[other.job_id].reservation_id == answer.payload.reservation_id
    assert [e.payload.job_id for e in world.sent(JobDispatched)] == [other.job_id]


async def test_the_sending_station_cannot_sign_the_schools_receipt(world: World) -> None:
    [card] = await stored(world, job(JobStatus.DICETAK))
    world.store.schools[card.resident_id] = "10700123"
    sent = await handlers.send_to_school(SendToSchool(ADMIN, "10700123", (card.job_id,), uuid.uuid4()),
                                         deps=world.deps)
    await world.deliver_print_events()
    for office in (STATION_OFFICE, ADMIN):  # a print station, or the very office that sent the cards
        with pytest.raises(Forbidden, match="Tanda terima sekolah"):
            await handlers.acknowledge_delivery(AcknowledgeDelivery(office, sent.delivery_id, "Kepala", uuid.uuid4()),
                                                deps=world.deps)
    signed = await handlers.acknowledge_delivery(
        AcknowledgeDelivery(KECAMATAN, sent.delivery_id, "Kepala Sekolah", uuid.uuid4()), deps=world.deps)
    assert not signed.already


async def test_a_residents_cards_tell_where_each_is_for_the_residents_kecamatan_and_the_read_is_audited(
        world: World) -> None:
    who = resident()
    first = job(JobStatus.DISERAHKAN, who=who, printed_at=START, handed_over_at=START, handed_over_via="langsung")
    await stored(world, first)
    accepted = await handlers.request_reprint(RequestReprint(KECAMATAN, who, PrintReason.HILANG, uuid.uuid4()),
                                              deps=world.deps)
    await world.deliver_print_events()
    cards = await handlers.show_cards(handlers.ShowCards(KECAMATAN, who), deps=world.deps)
    assert [c.job.job_id for c in cards.cards] == [accepted.job_id, first.job_id]
    assert cards.valid_job_id is None  # the replacement is not printed yet
    assert "Dicetak pada 01-03-2025" in cards.cards[1].where and "diserahkan langsung" in cards.cards[1].where
    assert f"diganti cetak ulang pada 01-03-2025 dengan {accepted.job_id}" in cards.cards[1].where
    assert "antrean cetak" in cards.cards[0].where
    assert world.store.reads == [{"office_id": KECAMATAN.office_id, "action": "baca_riwayat_kartu",
                                  "kecamatan_code": "17.02.09", "residents": 1, "resident_ids": [who], "at": START}]
    with pytest.raises(Forbidden):
        await handlers.show_cards(handlers.ShowCards(OTHER_KECAMATAN, who), deps=world.deps)
    with pytest.raises(NotFound):
        await handlers.show_cards(handlers.ShowCards(ADMIN, resident()), deps=world.deps)
    assert len(world.store.reads) == 1


# The lifecycle itself


def test_a_job_moves_only_forward_along_its_lifecycle_and_a_handed_over_card_is_final() -> None:
    assert domain.may_move(JobStatus.SIAP_CETAK, JobStatus.MENUNGGU_BLANGKO)  # a spoiled print waits again
    assert not domain.may_move(JobStatus.MENUNGGU_BLANGKO, JobStatus.DICETAK)
    assert not domain.may_move(JobStatus.DIKIRIM_KE_SEKOLAH, JobStatus.DISERAHKAN)
    assert domain.sources_of(JobStatus.DISERAHKAN) == (JobStatus.DICETAK, JobStatus.DITERIMA_SEKOLAH)
    assert not any(domain.may_move(JobStatus.DISERAHKAN, status) for status in JobStatus)


async def test_a_resident_who_moved_kecamatan_has_their_cards_read_and_reprinted_by_the_new_kecamatan(
        world: World) -> None:
    who = resident()
    [card] = await stored(world, job(JobStatus.DISERAHKAN, who=who, printed_at=START))
    moved = make("resident.updated", resident_id=who, kecamatan_code="17.02.07", desa_code="17.02.07.2001",
                 school_npsn=None, reason="pindah alamat")
    await handlers.apply_resident_event(moved, deps=world.deps)
    cards = await handlers.show_cards(handlers.ShowCards(OTHER_KECAMATAN, who), deps=world.deps)
    assert (cards.kecamatan_code, [c.job.job_id for c in cards.cards]) == ("17.02.07", [card.job_id])
    with pytest.raises(Forbidden):
        await handlers.show_cards(handlers.ShowCards(KECAMATAN, who), deps=world.deps)
    accepted = await handlers.request_reprint(RequestReprint(OTHER_KECAMATAN, who, PrintReason.RUSAK, uuid.uuid4()),
                                              deps=world.deps)
    [queued] = world.sent(JobQueued)
    assert (accepted.station_id, queued.payload.kecamatan_code, queued.payload.desa_code) == (
        PUT, "17.02.07", "17.02.07.2001")
