"""Use cases of the inventory service on in-memory fakes: the clerks' ledger commands, the reads,
the consumers' use cases, and the one days-of-stock rule shared with coverage."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.coverage import domain as coverage_domain
from services.inventory import handlers
from services.inventory.domain import CountProposal, Forbidden, NotFound, Refused
from services.inventory.handlers import InventoryDeps
from shared import blangko
from shared.clock import WIB
from shared.contracts import Actor, Role
from shared.contracts.printing import CardPrinted, JobQueued, PrintSpoiled
from shared.contracts.stock import (
    BlankReserved,
    CountCorrected,
    LedgerOutcome,
    ReplenishmentRequested,
    ReservationPayload,
    ReservationRefused,
    ReservationRequested,
    StockReceived,
    StockSpoilReason,
    TransferReceived,
)
from tests.fakes.inventory import FakeLedgerStore, RecordingPublisher

NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=WIB)
NAMES = {"gudang": "Gudang blangko", "pusat": "Stasiun Pusat", "curup": "Stasiun Curup"}
ADMIN = Actor(office_id="dinas", role=Role.DINAS_ADMIN, operator="dinas")
PUSAT = Actor(office_id="pusat", role=Role.PRINT_STATION, operator="pusat")
KECAMATAN = Actor(office_id="kc-curup", role=Role.KECAMATAN_OFFICE, operator="kc-curup")


def world(*, consumer: bool = True, low_stock_days: float = 7.0) -> InventoryDeps:
    """Deps on fakes; with `consumer`, every published stock event reaches the ledger at once."""
    store, publisher = FakeLedgerStore(), RecordingPublisher()
    deps = InventoryDeps(store=store, publisher=publisher, clock=lambda: NOW, names=NAMES, answer_timeout=0.02,
                         poll_seconds=0.001, low_stock_days=low_stock_days)
    if consumer:
        async def ledger(event: object) -> None:
            if not isinstance(event, CardPrinted | PrintSpoiled | JobQueued):
                await handlers.apply_stock_event(event, deps=deps, position=None)  # type: ignore[arg-type]
        publisher.deliver = ledger
    return deps


def store_of(deps: InventoryDeps) -> FakeLedgerStore:
    assert isinstance(deps.store, FakeLedgerStore)
    return deps.store


def publisher_of(deps: InventoryDeps) -> RecordingPublisher:
    assert isinstance(deps.publisher, RecordingPublisher)
    return deps.publisher


async def receive(deps: InventoryDeps, quantity: int, location: str = "gudang", request_id: str | None = None) -> None:
    await handlers.receive_blanks(handlers.ReceiveBlanks(ADMIN, uuid.uuid4(), location, quantity,
                                                         f"BA-{uuid.uuid4().hex[:8]}", request_id), deps=deps)


async def send(deps: InventoryDeps, quantity: int, to: str = "pusat") -> str:
    sent = await handlers.send_transfer(handlers.SendTransfer(ADMIN, uuid.uuid4(), "gudang", to, quantity), deps=deps)
    assert sent.transfer_id is not None
    return sent.transfer_id


def envelope() -> dict[str, object]:
    """Fields every event carries."""
    return {"event_id": uuid.uuid4(), "occurred_at": NOW, "recorded_at": NOW, "actor": PUSAT}


async def print_card(deps: InventoryDeps, station: str, n: int) -> None:
    """Reserve a blank for a job and print it, as printing and the station would."""
    reservation = ReservationPayload(location_id=station, reservation_id=f"r-{n}", job_id=f"job-{n}", attempt=1)
    await deps.publisher.publish(ReservationRequested(**envelope(), payload=reservation),  # type: ignore[arg-type]
                                 topic=handlers.commands.STOCK, key=station)
    printed = CardPrinted(**envelope(), payload={"job_id": f"job-{n}", "station_id": station, "attempt": 1,  # type: ignore[arg-type]
                                                      "reservation_id": f"r-{n}", "printer": "pdf"})
    await handlers.apply_print_event(printed, deps=deps, source="print.events:0", position=n)


# Ledger commands.

async def test_blanks_received_from_the_province_are_recorded_at_the_warehouse() -> None:
    deps = world()
    result = await handlers.receive_blanks(handlers.ReceiveBlanks(ADMIN, uuid.uuid4(), "gudang", 500, "BA-7"), deps=deps)
    assert result.status == "dicatat" and result.location is not None
    assert result.location.balance.on_hand == 500 and result.location.balance.received == 500


async def test_only_a_dinas_admin_records_receipts_and_an_unknown_usulan_or_location_is_not_found() -> None:
    deps = world()
    with pytest.raises(Forbidden):
        await handlers.receive_blanks(handlers.ReceiveBlanks(PUSAT, uuid.uuid4(), "gudang", 5, "BA-7"), deps=deps)
    with pytest.raises(NotFound):
        await receive(deps, 5, request_id="usulan-tidak-ada")
    with pytest.raises(NotFound):
        await receive(deps, 5, location="mars")
    assert (await deps.store.balance("gudang")).received == 0


async def test_a_command_not_yet_applied_by_the_ledger_answers_that_it_is_being_processed() -> None:
    deps = world(consumer=False)
    result = await handlers.receive_blanks(handlers.ReceiveBlanks(ADMIN, uuid.uuid4(), "gudang", 5, "BA-7"), deps=deps)
    assert result.status == "diproses" and result.location is None
    assert len(publisher_of(deps).events(StockReceived)) == 1


async def test_the_same_command_twice_is_published_and_applied_once() -> None:
    deps = world()
    command = handlers.ReceiveBlanks(ADMIN, uuid.uuid4(), "gudang", 5, "BA-7")
    await handlers.receive_blanks(command, deps=deps)
    again = await handlers.receive_blanks(command, deps=deps)
    assert again.status == "dicatat" and (await deps.store.balance("gudang")).received == 5
    assert len(publisher_of(deps).events(StockReceived)) == 1


async def test_a_transfer_is_in_transit_until_the_receiving_station_takes_it_in() -> None:
    deps = world()
    await receive(deps, 10)
    transfer_id = await send(deps, 4)
    assert (await handlers.check_ledger(deps=deps)).in_transit == 4
    with pytest.raises(Forbidden):
        await handlers.receive_transfer(handlers.ReceiveTransfer(KECAMATAN, uuid.uuid4(), transfer_id), deps=deps)
    arrived = await handlers.receive_transfer(handlers.ReceiveTransfer(PUSAT, uuid.uuid4(), transfer_id), deps=deps)
    assert arrived.location is not None and arrived.location.balance.on_hand == 4
    check = await handlers.check_ledger(deps=deps)
    assert check.in_transit == 0 and check.balanced


async def test_sending_more_than_the_free_stock_or_an_unknown_transfer_is_refused() -> None:
    deps = world()
    await receive(deps, 3)
    with pytest.raises(Refused, match="tidak bisa mengirim 10"):
        await send(deps, 10)
    with pytest.raises(NotFound):
        await handlers.receive_transfer(handlers.ReceiveTransfer(ADMIN, uuid.uuid4(), "tr-tidak-ada"), deps=deps)
    published = [e for e in publisher_of(deps).events() if not isinstance(e, LedgerOutcome)]
    assert publisher_of(deps).events(StockReceived) == published


async def test_spoiled_blanks_leave_the_free_stock_and_may_be_returned_by_the_dinas() -> None:
    deps = world()
    await receive(deps, 10)
    spoiled = handlers.RecordSpoilage(ADMIN, uuid.uuid4(), "gudang", 3, StockSpoilReason.BLANGKO_RUSAK)
    await handlers.record_spoilage(spoiled, deps=deps)
    with pytest.raises(Forbidden):
        await handlers.return_spoiled(handlers.ReturnSpoiled(PUSAT, uuid.uuid4(), "gudang", 2, "BA-9", "Provinsi"),
                                      deps=deps)
    with pytest.raises(Refused):
        await handlers.return_spoiled(handlers.ReturnSpoiled(ADMIN, uuid.uuid4(), "gudang", 4, "BA-9", "Provinsi"),
                                      deps=deps)
    returned = await handlers.return_spoiled(handlers.ReturnSpoiled(ADMIN, uuid.uuid4(), "gudang", 2, "BA-9",
                                                                    "Provinsi"), deps=deps)
    assert returned.location is not None
    assert (returned.location.balance.on_hand, returned.location.balance.spoiled, returned.location.balance.returned) \
        == (7, 1, 2)


async def test_a_print_station_records_spoilage_only_at_its_own_location() -> None:
    deps = world()
    with pytest.raises(Forbidden):
        await handlers.record_spoilage(handlers.RecordSpoilage(PUSAT, uuid.uuid4(), "curup", 1,
                                                               StockSpoilReason.BLANGKO_RUSAK), deps=deps)


async def test_a_stock_count_sets_the_good_blanks_to_what_was_counted() -> None:
    deps = world()
    await receive(deps, 10)
    counted = await handlers.correct_count(handlers.CorrectCount(ADMIN, uuid.uuid4(), "gudang", 8, "stock opname Mei",
                                                                 "Kepala Dinas"), deps=deps)
    assert counted.location is not None and counted.location.balance.on_hand == 8
    assert counted.location.balance.spoiled == 2 and (await handlers.check_ledger(deps=deps)).balanced


async def test_a_stations_count_that_changes_the_stock_waits_for_a_dinas_approval() -> None:
    deps = world()
    await receive(deps, 10, "pusat")
    same = await handlers.correct_count(handlers.CorrectCount(PUSAT, uuid.uuid4(), "pusat", 10, "stock opname Mei"),
                                        deps=deps)
    assert isinstance(same, handlers.Recorded)  # a count that agrees with the ledger changes nothing: booked
    surplus = await handlers.correct_count(
        handlers.CorrectCount(PUSAT, uuid.uuid4(), "pusat", 25, "stock opname Mei", "Kepala Dinas"), deps=deps)
    assert isinstance(surplus, CountProposal) and surplus.difference == 15
    assert (await store_of(deps).balance("pusat")).on_hand == 10
    assert [p.count_id for p in await handlers.pending_counts(deps=deps)] == [surplus.count_id]
    with pytest.raises(Forbidden, match="admin dinas"):
        await handlers.approve_count(handlers.ApproveCount(PUSAT, uuid.uuid4(), surplus.count_id, "Kepala"), deps=deps)
    approved = await handlers.approve_count(handlers.ApproveCount(ADMIN, uuid.uuid4(), surplus.count_id, "Kabid"),
                                            deps=deps)
    assert approved.location is not None and approved.location.balance.on_hand == 25
    [booked] = [e for e in publisher_of(deps).events(CountCorrected) if e.payload.counted == 25]
    assert (booked.actor.office_id, booked.payload.approving_office, booked.payload.approved_by) == (
        "dinas", "dinas", "Kabid")
    with pytest.raises(Refused, match="sudah disetujui"):
        await handlers.approve_count(handlers.ApproveCount(ADMIN, uuid.uuid4(), surplus.count_id, "Kabid"), deps=deps)
    assert await handlers.pending_counts(deps=deps) == []


async def test_a_waiting_count_is_refused_for_good_once_the_stock_moved_since_it_was_made() -> None:
    deps = world()
    await receive(deps, 10, "pusat")
    short = await handlers.correct_count(handlers.CorrectCount(PUSAT, uuid.uuid4(), "pusat", 7, "stock opname Mei"),
                                         deps=deps)
    assert isinstance(short, CountProposal)
    await receive(deps, 5, "pusat")
    with pytest.raises(Refused, match="berubah sejak hitungan diajukan"):
        await handlers.approve_count(handlers.ApproveCount(ADMIN, uuid.uuid4(), short.count_id, "Kabid"), deps=deps)
    assert await handlers.pending_counts(deps=deps) == []
    with pytest.raises(Refused, match=f"Hitungan {short.count_id} sudah ditolak: Stok di pusat berubah"):
        await handlers.approve_count(handlers.ApproveCount(ADMIN, uuid.uuid4(), short.count_id, "Kabid"), deps=deps)
    assert (await deps.store.balance("pusat")).on_hand == 15


async def test_an_usulan_asks_for_the_suggested_quantity_and_receipts_count_against_it() -> None:
    deps = world()
    store_of(deps).backlog["pusat"] = 40
    sent = await handlers.request_usulan(handlers.RequestUsulan(ADMIN, uuid.uuid4(), "470/12/Dukcapil"), deps=deps)
    assert sent.quantity == 40 and sent.basis.backlog == 40
    await receive(deps, 25, request_id=sent.request_id)
    [usulan] = await handlers.list_usulan(deps=deps)
    assert (usulan.requested, usulan.received, usulan.missing) == (40, 25, 15)
    assert (await handlers.suggest_usulan(deps=deps)).quantity == 0


async def test_an_usulan_can_be_received_against_as_soon_as_it_is_sent_before_the_ledger_reads_it() -> None:
    deps = world(consumer=False)
    sent = await handlers.request_usulan(handlers.RequestUsulan(ADMIN, uuid.uuid4(), "470/13/Dukcapil", 200),
                                         deps=deps)
    await receive(deps, 200, request_id=sent.request_id)
    [event] = publisher_of(deps).events(ReplenishmentRequested)
    assert await handlers.apply_stock_event(event, deps=deps, position=None) == "duplicate"
    [usulan] = await handlers.list_usulan(deps=deps)
    # Received blanks count against it once the ledger reads the receipt, which no consumer does here.
    assert (usulan.requested, usulan.missing) == (200, 200)


async def test_a_berita_acara_is_booked_once_and_freed_when_its_receipt_is_not_published() -> None:
    deps = world()
    await handlers.receive_blanks(handlers.ReceiveBlanks(ADMIN, uuid.uuid4(), "gudang", 1200, "BA-1"), deps=deps)
    with pytest.raises(Refused, match=r"Berita acara BA-1 sudah dicatat pada 04-05-2026"):
        await handlers.receive_blanks(handlers.ReceiveBlanks(ADMIN, uuid.uuid4(), "gudang", 1200, " ba-1 "),
                                      deps=deps)
    assert (await deps.store.balance("gudang")).received == 1200
    publisher_of(deps).fail = True
    with pytest.raises(ConnectionError):
        await handlers.receive_blanks(handlers.ReceiveBlanks(ADMIN, uuid.uuid4(), "gudang", 5, "BA-2"), deps=deps)
    publisher_of(deps).fail = False
    await handlers.receive_blanks(handlers.ReceiveBlanks(ADMIN, uuid.uuid4(), "gudang", 5, "BA-2"), deps=deps)
    assert (await deps.store.balance("gudang")).received == 1205


async def test_a_receipt_above_what_its_usulan_requested_is_refused() -> None:
    deps = world()
    sent = await handlers.request_usulan(handlers.RequestUsulan(ADMIN, uuid.uuid4(), "470/123/DUK/2026", 5000),
                                         deps=deps)
    await receive(deps, 3000, request_id=sent.request_id)
    with pytest.raises(Refused, match=r"meminta 5000 blangko, sudah diterima 3000; penerimaan 3000"):
        await receive(deps, 3000, request_id=sent.request_id)
    await receive(deps, 2000, request_id=sent.request_id)
    [usulan] = await handlers.list_usulan(deps=deps)
    assert (usulan.requested, usulan.received, usulan.missing) == (5000, 5000, 0)


async def test_an_usulan_letter_number_is_used_once() -> None:
    deps = world()
    first = await handlers.request_usulan(handlers.RequestUsulan(ADMIN, uuid.uuid4(), "470/123/DUK/2026", 5000),
                                          deps=deps)
    with pytest.raises(Refused, match=f"470/123/DUK/2026 sudah dipakai untuk usulan {first.request_id}"):
        await handlers.request_usulan(handlers.RequestUsulan(ADMIN, uuid.uuid4(), "470/123/duk/2026", 5000),
                                      deps=deps)
    assert len(publisher_of(deps).events(ReplenishmentRequested)) == 1


async def test_an_usulan_of_zero_is_refused_and_only_the_dinas_may_send_one() -> None:
    deps = world()
    with pytest.raises(Refused, match="Saran usulan 0"):
        await handlers.request_usulan(handlers.RequestUsulan(ADMIN, uuid.uuid4(), "470/12"), deps=deps)
    with pytest.raises(Forbidden):
        await handlers.request_usulan(handlers.RequestUsulan(PUSAT, uuid.uuid4(), "470/12", 5), deps=deps)
    assert publisher_of(deps).events(ReplenishmentRequested) == []


# Reads.

async def test_every_named_location_is_listed_and_an_unknown_one_is_not_found() -> None:
    deps = world()
    await receive(deps, 10)
    views = await handlers.list_locations(deps=deps)
    assert [v.location_id for v in views] == list(NAMES)
    assert (await handlers.show_location(handlers.ShowLocation("gudang"), deps=deps)).balance.on_hand == 10
    with pytest.raises(NotFound):
        await handlers.show_location(handlers.ShowLocation("mars"), deps=deps)


async def test_days_of_stock_come_from_recent_use_and_the_warehouse_counts_the_regency_use() -> None:
    deps = world(low_stock_days=20)
    await receive(deps, 100)
    await handlers.receive_transfer(handlers.ReceiveTransfer(ADMIN, uuid.uuid4(), await send(deps, 10)), deps=deps)
    for n in range(7):
        await print_card(deps, "pusat", n)
    views = {v.location_id: v for v in await handlers.list_locations(deps=deps)}
    assert views["pusat"].per_day == 0.5 and views["pusat"].days == 6.0
    assert views["gudang"].per_day == 0.5 and views["gudang"].days == 180.0
    assert views["curup"].days is None
    assert [v.location_id for v in await handlers.low_stock(deps=deps)] == ["pusat"]


async def test_the_ledger_check_finds_the_regency_balanced() -> None:
    deps = world()
    await receive(deps, 10)
    check = await handlers.check_ledger(deps=deps)
    assert check.balanced and check.received == check.on_hand == 10


# The consumers' use cases.

async def test_a_reservation_is_answered_reserved_or_refused() -> None:
    deps = world(consumer=False)
    payload = ReservationPayload(location_id="pusat", reservation_id="r-1", job_id="job-1", attempt=1)
    event = ReservationRequested(**envelope(), payload=payload)  # type: ignore[arg-type]
    assert await handlers.apply_stock_event(event, deps=deps, position=("stock:0", 1)) == "refused"
    assert isinstance(publisher_of(deps).events()[-1], ReservationRefused)
    await store_of(deps).apply(StockReceived(**envelope(), payload={"location_id": "pusat", "quantity": 1,  # type: ignore[arg-type]
                                                                         "document_no": "BA-1"}))
    again = ReservationRequested(**envelope(), payload=payload)  # type: ignore[arg-type]
    assert await handlers.apply_stock_event(again, deps=deps, position=("stock:0", 2)) == "applied"
    assert isinstance(publisher_of(deps).events()[-1], BlankReserved)
    assert await handlers.apply_stock_event(publisher_of(deps).events()[-1], deps=deps, position=None) == "ignored"


async def test_a_printed_card_consumes_its_blank_and_leaves_the_backlog_once() -> None:
    deps = world()
    await receive(deps, 5, location="pusat")
    queued = JobQueued(**envelope(), payload={  # type: ignore[arg-type]
        "job_id": "job-1", "station_id": "pusat", "resident_id": "r", "kecamatan_code": "17.02.06",
        "desa_code": "17.02.06.2001", "source_event_id": str(uuid.uuid4()), "reason": "pertama",
        "priority_class": "pemilih_pemula"})
    assert await handlers.apply_print_event(queued, deps=deps, source="print:0", position=1) == "applied"
    assert await handlers.apply_print_event(queued, deps=deps, source="print:0", position=1) == "duplicate"
    await print_card(deps, "pusat", 2)
    balance = await deps.store.balance("pusat")
    assert (balance.on_hand, balance.reserved, balance.consumed) == (4, 0, 1)
    assert await deps.store.backlog_total() == 0


async def test_a_spoiled_print_spoils_its_reserved_blank() -> None:
    deps = world()
    await receive(deps, 5, location="pusat")
    reservation = ReservationPayload(location_id="pusat", reservation_id="r-9", job_id="job-9", attempt=1)
    await deps.publisher.publish(ReservationRequested(**envelope(), payload=reservation),  # type: ignore[arg-type]
                                 topic=handlers.commands.STOCK, key="pusat")
    spoiled = PrintSpoiled(**envelope(), payload={"job_id": "job-9", "station_id": "pusat", "attempt": 1,  # type: ignore[arg-type]
                                                       "reservation_id": "r-9", "reason": "salah_cetak"})
    assert await handlers.apply_print_event(spoiled, deps=deps, source="print:0", position=3) == "applied"
    balance = await deps.store.balance("pusat")
    assert (balance.on_hand, balance.reserved, balance.spoiled) == (4, 0, 1)


async def test_an_usulan_event_is_recorded_once() -> None:
    deps = world(consumer=False)
    event = ReplenishmentRequested(**envelope(), payload={  # type: ignore[arg-type]
        "request_id": "usulan-1", "location_id": "gudang", "quantity": 9, "backlog": 9, "daily_consumption": 0,
        "letter_no": "470/1"})
    assert await handlers.apply_stock_event(event, deps=deps, position=None) == "applied"
    assert await handlers.apply_stock_event(event, deps=deps, position=None) == "duplicate"
    assert [u.requested for u in await handlers.list_usulan(deps=deps)] == [9]


# The one days-of-stock rule.

async def test_inventory_and_coverage_compute_days_of_stock_by_the_same_rule_from_the_ledgers_outcomes() -> None:
    deps = world()
    await receive(deps, 12, location="pusat")
    await receive(deps, 30, location="gudang")
    for n in range(3):
        await print_card(deps, "pusat", n)
    inventory = {v.location_id: blangko.StockCover(v.per_day, v.days) for v in await handlers.list_locations(deps=deps)}
    projected: dict[str, dict[str, int]] = {}
    for outcome in publisher_of(deps).events(LedgerOutcome):
        for area, fields in coverage_domain.stock_delta(outcome, {}).items():
            for name, n in fields.items():
                projected.setdefault(area.removeprefix("lokasi:"), {})[name] = projected.get(
                    area.removeprefix("lokasi:"), {}).get(name, 0) + n
    used = {location: coverage_domain.used_by_day({k.removeprefix("terpakai_hari."): n for k, n in fields.items()
                                                   if k.startswith("terpakai_hari.")})
            for location, fields in projected.items()}
    coverage = coverage_domain.stock_covers({loc: fields["stok"] for loc, fields in projected.items()}, used,
                                            NOW.date())
    assert coverage == {loc: inventory[loc] for loc in coverage}
    assert coverage["pusat"] == blangko.StockCover(round(3 / blangko.USAGE_WINDOW_DAYS, 2), 42.0)
    assert coverage["gudang"] == blangko.StockCover(round(3 / blangko.USAGE_WINDOW_DAYS, 2), 140.0)


async def test_the_ledger_publishes_each_outcome_applied_with_its_change_refused_with_its_reason_and_again_once(
        ) -> None:
    deps = world()
    await receive(deps, 5)
    transfer = await send(deps, 2)
    arrival = handlers.ReceiveTransfer(PUSAT, uuid.uuid4(), transfer)
    await handlers.receive_transfer(arrival, deps=deps)
    [first] = [e for e in publisher_of(deps).events(TransferReceived)]
    assert await handlers.apply_stock_event(first, deps=deps, position=None) == "duplicate"
    second = first.model_copy(update={"event_id": uuid.uuid4()})
    assert await handlers.apply_stock_event(second, deps=deps, position=None) == "refused"
    outcomes = publisher_of(deps).events(LedgerOutcome)
    by_source = {}
    for outcome in outcomes:
        by_source.setdefault(outcome.payload.source_event_id, []).append(outcome)
    arrived = by_source[first.event_id]
    assert len({o.event_id for o in arrived}) == 1 and len(arrived) == 2  # the redelivery: the same outcome again
    assert arrived[0].payload.changes.on_hand == 2 and arrived[0].payload.outcome == "applied"
    [refused] = by_source[second.event_id]
    assert (refused.payload.outcome, refused.payload.changes.on_hand) == ("refused", 0)
    assert "sudah diterima" in (refused.payload.reason or "")


async def test_a_count_a_named_person_makes_is_approved_by_someone_else_even_at_the_dinas() -> None:
    """Through the web app a count names the person who made it: it waits, and that person cannot approve it."""
    deps = world()
    await receive(deps, 10)
    kabid = Actor(office_id="dinas", role=Role.DINAS_ADMIN, operator="kabid")
    kasi = Actor(office_id="dinas", role=Role.DINAS_ADMIN, operator="kasi")
    waiting = await handlers.correct_count(handlers.CorrectCount(kabid, uuid.uuid4(), "gudang", 9, "stock opname Juni"),
                                           deps=deps)
    assert isinstance(waiting, CountProposal) and waiting.proposed_by_person == "kabid"
    with pytest.raises(Forbidden, match="empat mata"):
        await handlers.approve_count(handlers.ApproveCount(kabid, uuid.uuid4(), waiting.count_id, "Kabid"), deps=deps)
    approved = await handlers.approve_count(handlers.ApproveCount(kasi, uuid.uuid4(), waiting.count_id, "Kasi"),
                                            deps=deps)
    assert approved.location is not None and approved.location.balance.on_hand == 9
