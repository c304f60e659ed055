"""Use cases of the recording service with in-memory ports: no Kafka, no MongoDB."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from services.recording import domain, handlers
from services.recording.domain import Stage, VisitState
from services.recording.handlers import RecordingDeps
from services.recording.siak_file import SiakFileError, read_siak_file
from shared.auth import Office
from shared.contracts import MAX_EVENT_BYTES, Actor, Role
from shared.contracts.recording import (
    MAX_FLAG_LENGTH,
    MAX_QUALITY_FLAGS,
    MAX_VISIT_TARGETS,
    Biometric,
    RecordingCaptured,
    SiakStatus,
    SiakStatusReported,
    VisitKind,
    VisitScheduled,
)
from shared.contracts.resident import LeaveReason, ResidentLeft, ResidentLeftPayload
from shared.pseudonym import resident_pseudonym
from tests.fakes.recording import FakePublisher, FakeRecordingStore
from tests.integration.helpers import enrolled_event

KEC, DESA, OTHER_KEC = "17.02.09", "17.02.09.1012", "17.02.06"
NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
KEY = "kunci-uji"
ADMIN = Office(office_id="dinas", name="Dinas", role=Role.DINAS_ADMIN)
OWN = Office(office_id="kec-09", name="Kecamatan", role=Role.KECAMATAN_OFFICE, kecamatan_code=KEC)
FIELD = Office(office_id="tim-09", name="Tim", role=Role.FIELD_TEAM, kecamatan_code=KEC)
OTHER = Office(office_id="kec-06", name="Lain", role=Role.KECAMATAN_OFFICE, kecamatan_code=OTHER_KEC)
STATION = Office(office_id="cetak", name="Cetak", role=Role.PRINT_STATION, kecamatan_code=KEC)


def make_deps(**limits: Any) -> RecordingDeps:
    return RecordingDeps(publisher=FakePublisher(), store=FakeRecordingStore(), clock=lambda: NOW,
                         pseudonym_key=KEY, **limits)


def store_of(deps: RecordingDeps) -> FakeRecordingStore:
    assert isinstance(deps.store, FakeRecordingStore)
    return deps.store


def publisher_of(deps: RecordingDeps) -> FakePublisher:
    assert isinstance(deps.publisher, FakePublisher)
    return deps.publisher


def rid(n: int) -> str:
    return "r" + f"{n:032x}"


def roster(deps: RecordingDeps, n: int, **facts: Any) -> list[str]:
    ids = [rid(i + 1) for i in range(n)]
    for resident_id in ids:
        store_of(deps).add_resident(resident_id, kecamatan=KEC, desa=DESA, **facts)
    return ids


def schedule(visit_id: str = "v-1", office: Office = OWN, **changes: Any) -> handlers.ScheduleVisit:
    fields: dict[str, Any] = {"office": office, "visit_id": visit_id, "date": NOW.date(), "kind": VisitKind("desa"),
                              "place_code": DESA, "kecamatan_code": KEC, "team": "tim-1", **changes}
    return handlers.ScheduleVisit(**fields)


async def opened_visit(deps: RecordingDeps, visit_id: str = "v-1", **changes: Any) -> None:
    await handlers.schedule_visit(schedule(visit_id, **changes), deps=deps)
    await handlers.open_visit(handlers.VisitCommand(OWN, visit_id), deps=deps)


def capture(resident_id: str | None, **extra: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": resident_id, "device_id": "tab",
            "operator": "op", "device_time": (NOW - dt.timedelta(minutes=10)).isoformat(),
            "biometrics": ["foto", "sidik_jari"], **extra}


async def upload(deps: RecordingDeps, *items: dict[str, Any], office: Office = FIELD) -> handlers.BatchResult:
    return await handlers.upload_batch(handlers.UploadBatch(office, "tab", list(items)), deps=deps)


# Visits

async def test_scheduling_draws_unrecorded_residents_of_the_place_and_keeps_the_visit() -> None:
    deps = make_deps()
    ids = roster(deps, 3)
    store_of(deps).add_resident(rid(99), kecamatan=KEC, desa=DESA, stage=Stage.REKAM, since=NOW)
    event = await handlers.schedule_visit(schedule(), deps=deps)
    assert sorted(event.payload.targets) == ids
    visit = await deps.store.visit("v-1")
    assert visit is not None and visit.state == VisitState.DIJADWALKAN and sorted(visit.targets) == ids
    assert [e.event_type for e in publisher_of(deps).events()] == ["visit.scheduled"]


async def test_scheduling_twice_or_for_another_kecamatan_is_refused() -> None:
    deps = make_deps()
    await handlers.schedule_visit(schedule(targets=[]), deps=deps)
    with pytest.raises(handlers.Conflict):
        await handlers.schedule_visit(schedule(targets=[]), deps=deps)
    for office in (OTHER, FIELD):
        with pytest.raises(handlers.Forbidden):
            await handlers.schedule_visit(schedule("v-2", office=office), deps=deps)


@pytest.mark.parametrize("date", [dt.date(9999, 12, 31), dt.date(2019, 6, 1), NOW.date() + dt.timedelta(days=366),
                                  NOW.date() - dt.timedelta(days=366)])
async def test_a_visit_dated_outside_the_window_around_today_is_refused_naming_the_date(date: dt.date) -> None:
    deps = make_deps()
    with pytest.raises(handlers.FieldRefused) as refused:
        await handlers.schedule_visit(schedule(date=date), deps=deps)
    assert refused.value.field == "date" and "tanggal kunjungan" in refused.value.reason
    assert publisher_of(deps).events() == [] and await deps.store.visit("v-1") is None
    for edge in (NOW.date() - dt.timedelta(days=365), NOW.date() + dt.timedelta(days=365)):
        await handlers.schedule_visit(schedule(f"v-{edge.isoformat()}", date=edge), deps=deps)
    narrow = make_deps(visit_days_ahead=7)
    with pytest.raises(handlers.FieldRefused):
        await handlers.schedule_visit(schedule(date=NOW.date() + dt.timedelta(days=8)), deps=narrow)


async def test_opening_a_visit_and_the_field_team_of_another_kecamatan_may_not() -> None:
    deps = make_deps()
    await handlers.schedule_visit(schedule(targets=[]), deps=deps)
    with pytest.raises(handlers.Forbidden):
        await handlers.open_visit(handlers.VisitCommand(OTHER, "v-1"), deps=deps)
    with pytest.raises(handlers.NotFound):
        await handlers.open_visit(handlers.VisitCommand(OWN, "tidak-ada"), deps=deps)
    event = await handlers.open_visit(handlers.VisitCommand(FIELD, "v-1"), deps=deps)
    assert event.payload.kecamatan_code == KEC
    visit = await deps.store.visit("v-1")
    assert visit is not None and visit.state == VisitState.DIBUKA


async def test_closing_carries_no_shows_over_to_the_next_visit_at_the_place() -> None:
    deps = make_deps()
    ids = roster(deps, 3)
    await handlers.schedule_visit(schedule(), deps=deps)
    with pytest.raises(handlers.Conflict):
        await handlers.close_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    await handlers.open_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    store = store_of(deps)
    store.residents[ids[0]] = dataclasses.replace(store.residents[ids[0]], stage=Stage.REKAM, since=NOW)
    closed = await handlers.close_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    assert sorted(closed.payload.no_shows) == ids[1:]
    visit = await deps.store.visit("v-1")
    assert visit is not None and visit.state == VisitState.DITUTUP
    with pytest.raises(handlers.Conflict):
        await handlers.open_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    again = await handlers.schedule_visit(schedule("v-2", targets=[]), deps=deps)
    assert sorted(again.payload.carried_over) == ids[1:] and sorted(again.payload.targets) == ids[1:]
    assert await deps.store.carried_over(DESA) == []


async def test_only_residents_old_enough_for_perekaman_on_the_visit_date_are_drawn_or_targeted() -> None:
    deps = make_deps()
    store = store_of(deps)
    store.add_resident(rid(1), kecamatan=KEC, desa=DESA, wajib_ktp_from=dt.date(2027, 5, 4))
    store.add_resident(rid(2), kecamatan=KEC, desa=DESA, wajib_ktp_from=dt.date(2027, 5, 5))
    store.add_resident(rid(3), kecamatan=KEC, desa=DESA, wajib_ktp_from=dt.date(2030, 1, 1))
    drawn = await handlers.schedule_visit(schedule(), deps=deps)
    assert drawn.payload.targets == [rid(1)]
    with pytest.raises(handlers.FieldRefused) as refused:
        await handlers.schedule_visit(schedule("v-2", targets=[rid(1), rid(3)]), deps=deps)
    assert refused.value.field == "targets" and "2029-01-01" in refused.value.reason and "16 tahun" in refused.value.reason
    later = await handlers.schedule_visit(schedule("v-3", date=dt.date(2026, 5, 5), targets=[rid(2)]), deps=deps)
    assert later.payload.targets == [rid(2)]
    assert domain.recordable_from(dt.date(2025, 3, 1)) == dt.date(2024, 3, 1)
    assert domain.latest_wajib_recordable_on(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)
    assert domain.latest_wajib_recordable_on(dt.date(2023, 2, 28)) == dt.date(2024, 2, 28)


async def test_a_capture_made_while_a_visit_was_open_is_taken_after_closing_and_ends_its_no_show() -> None:
    deps = make_deps()
    ids = roster(deps, 2)
    await opened_visit(deps, targets=ids)
    await handlers.close_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    answer = await upload(deps, capture(ids[0], visit_id="v-1", device_time=NOW.isoformat()),
                          capture(ids[1], visit_id="v-1"), {**capture(ids[1], visit_id="v-1"), "kind": "absent"})
    assert [r.hasil for r in answer.hasil] == ["diterima", "ditolak", "ditolak"]
    assert "tanpa visit_id" in (answer.hasil[1].alasan or "") and "jangan kirim ulang" in (answer.hasil[2].alasan or "")
    visit = await deps.store.visit("v-1")
    assert visit is not None and visit.no_shows == (ids[1],)
    assert await deps.store.carried_over(DESA) == [ids[1]]


async def test_a_visit_closed_right_after_its_upload_counts_the_captures_not_applied_yet() -> None:
    """The team uploads and closes at once: captures taken but not yet applied by the consumer are not
    no-shows; an absence or a failed recording still is."""
    deps = make_deps()
    ids = roster(deps, 3)
    await opened_visit(deps, targets=ids)
    answer = await upload(deps, capture(ids[0], visit_id="v-1"),
                          {**capture(ids[1], visit_id="v-1"), "kind": "failed", "reason": "sidik jari tidak terbaca"},
                          {**capture(ids[2], visit_id="v-1"), "kind": "absent"})
    assert [r.hasil for r in answer.hasil] == ["diterima"] * 3
    assert (await deps.store.resident(ids[0])).stage == Stage.BELUM_REKAM  # type: ignore[union-attr]
    closed = await handlers.close_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    assert closed.payload.no_shows == ids[1:]


async def test_a_visit_is_read_in_its_own_kecamatan_only() -> None:
    deps = make_deps()
    await handlers.schedule_visit(schedule(targets=[]), deps=deps)
    visit = await handlers.get_visit(handlers.VisitCommand(FIELD, "v-1"), deps=deps)
    assert visit.visit_id == "v-1" and visit.kecamatan_code == KEC
    with pytest.raises(handlers.NotFound):
        await handlers.get_visit(handlers.VisitCommand(OTHER, "v-1"), deps=deps)


async def test_a_visit_has_at_most_the_targets_one_event_may_carry_carried_over_included() -> None:
    deps = make_deps(visit_size=MAX_VISIT_TARGETS)
    waiting = [rid(10_000 + i) for i in range(MAX_VISIT_TARGETS + 5)]
    for resident_id in waiting:
        store_of(deps).add_resident(resident_id, kecamatan=KEC, desa=DESA)
    store_of(deps).carry[DESA] = waiting
    ids = roster(deps, 3)
    with pytest.raises(handlers.FieldRefused) as refused:
        await handlers.schedule_visit(schedule(targets=ids), deps=deps)
    assert refused.value.field == "targets" and str(MAX_VISIT_TARGETS) in refused.value.reason
    assert "terbawa" in refused.value.reason and publisher_of(deps).events() == []
    drawn = await handlers.schedule_visit(schedule(), deps=deps)
    assert drawn.payload.targets == waiting[:MAX_VISIT_TARGETS] and len(drawn.payload.carried_over) == MAX_VISIT_TARGETS
    assert await deps.store.carried_over(DESA) == waiting[MAX_VISIT_TARGETS:]
    assert len(drawn.model_dump_json()) <= MAX_EVENT_BYTES


@pytest.mark.parametrize(("kind", "place"), [("desa", "17.02.06.2001"), ("rumah", "17.02.06.2001"), ("desa", KEC),
                                             ("kantor_kecamatan", OTHER_KEC), ("sekolah", DESA)])
async def test_a_visit_at_a_place_outside_its_kecamatan_is_refused_naming_the_place(kind: str, place: str) -> None:
    deps = make_deps()
    for office in (OWN, ADMIN):
        with pytest.raises(handlers.FieldRefused) as refused:
            await handlers.schedule_visit(schedule(office=office, kind=VisitKind(kind), place_code=place), deps=deps)
        assert refused.value.field == "place_code"
    assert publisher_of(deps).events() == []
    for kind, place in (("desa", DESA), ("kantor_kecamatan", KEC), ("sekolah", "10700123")):
        await handlers.schedule_visit(schedule(f"v-{kind}", kind=VisitKind(kind), place_code=place), deps=deps)


async def test_explicit_targets_are_residents_of_the_kecamatan_and_no_shows_of_another_stay_its_own() -> None:
    deps = make_deps()
    [mine] = roster(deps, 1)
    store_of(deps).add_resident(rid(50), kecamatan=OTHER_KEC, desa="17.02.06.2001", school="10700123")
    store_of(deps).add_resident(rid(51), kecamatan=KEC, desa=DESA, school="10700123")
    for targets in ([mine, rid(50)], [mine, rid(77)]):
        with pytest.raises(handlers.FieldRefused) as refused:
            await handlers.schedule_visit(schedule(targets=targets), deps=deps)
        assert refused.value.field == "targets" and KEC in refused.value.reason and "1 target" in refused.value.reason
    store_of(deps).carry["10700123"] = [rid(50), rid(51), rid(78)]
    school = await handlers.schedule_visit(schedule(kind=VisitKind("sekolah"), place_code="10700123", targets=[]),
                                           deps=deps)
    assert school.payload.carried_over == [rid(51)] and school.payload.targets == [rid(51)]
    assert await deps.store.carried_over("10700123") == [rid(50)]
    await handlers.open_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    await handlers.close_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    assert await deps.store.carried_over("10700123") == [rid(51), rid(50)]
    theirs = Office(office_id="kec-06", name="Lain", role=Role.KECAMATAN_OFFICE, kecamatan_code=OTHER_KEC)
    own_visit = await handlers.schedule_visit(schedule("v-2", office=theirs, kind=VisitKind("sekolah"),
                                                       place_code="10700123", kecamatan_code=OTHER_KEC), deps=deps)
    assert own_visit.payload.carried_over == [rid(50)] and await deps.store.carried_over("10700123") == [rid(51)]


def test_the_largest_events_recording_inputs_allow_fit_what_the_consumers_take() -> None:
    actor = Actor(office_id="o" * 64, role=Role.DINAS_ADMIN, operator="p" * 64)
    ids = [rid(i) for i in range(MAX_VISIT_TARGETS)]
    common: dict[str, Any] = {"event_id": uuid.uuid4(), "occurred_at": NOW, "recorded_at": NOW, "actor": actor}
    visit = VisitScheduled(**common, payload={  # type: ignore[arg-type]
        "visit_id": "v" * 64, "date": NOW.date(), "kind": "sekolah", "place_code": "p" * 20, "kecamatan_code": KEC,
        "team": "t" * 64, "targets": ids, "carried_over": ids})
    place = {"resident_id": rid(1), "kecamatan_code": KEC, "desa_code": DESA, "visit_id": "v" * 64,
             "device_id": "d" * 64, "device_time": NOW}
    captured = RecordingCaptured(**common, payload={  # type: ignore[arg-type]
        **place, "biometrics": list(Biometric), "operator": "p" * 64,
        "quality_flags": ["q" * MAX_FLAG_LENGTH] * MAX_QUALITY_FLAGS})
    for event in (visit, captured):
        assert len(event.model_dump_json().encode()) <= MAX_EVENT_BYTES
    with pytest.raises(ValueError):
        VisitScheduled(**{**visit.model_dump(), "payload": {**visit.payload.model_dump(), "targets": [*ids, rid(0)]}})
    flags = {**captured.payload.model_dump(), "quality_flags": ["q" * (MAX_FLAG_LENGTH + 1)]}
    with pytest.raises(ValueError):
        RecordingCaptured(**{**captured.model_dump(), "payload": flags})


# Field uploads

async def test_an_upload_is_answered_item_by_item_and_a_second_upload_is_a_duplicate() -> None:
    deps = make_deps()
    ids = roster(deps, 2)
    await opened_visit(deps, targets=ids)
    items = [capture(ids[0], visit_id="v-1"),
             {**capture(ids[1], visit_id="v-1"), "kind": "absent", "biometrics": []},
             capture(ids[1], device_time=(NOW + dt.timedelta(hours=2)).isoformat()),
             {"event_id": "bukan-uuid", "kind": "captured"},
             {**capture(None), "walk_in": {"nik": "1702094507080001", "name": "Warga Sintetis", "desa_code": DESA}}]
    first = await upload(deps, *items)
    assert [r.hasil for r in first.hasil] == ["diterima", "diterima", "ditolak", "ditolak", "walk_in"]
    assert "masa depan" in (first.hasil[2].alasan or "") and "event_id" in (first.hasil[3].alasan or "")
    assert first.ringkasan == {"diterima": 2, "duplikat": 0, "walk_in": 1, "ditolak": 2}
    assert [e.event_type for e in publisher_of(deps).events()][-2:] == ["recording.captured", "recording.absent"]
    assert list(store_of(deps).walk_ins) == [items[4]["event_id"]]
    second = await upload(deps, *items)
    assert second.ringkasan == {"diterima": 0, "duplikat": 3, "walk_in": 0, "ditolak": 2}


async def test_a_walk_in_waits_for_its_kecamatan_office_and_counts_once_the_resident_is_enrolled() -> None:
    deps = make_deps()
    newcomer = enrolled_event(random.Random(7), kecamatan=KEC, desa=DESA, pseudonym_key=KEY)
    p = newcomer.payload
    item = {**capture(None), "walk_in": {"nik": p.nik, "name": p.name, "desa_code": DESA}}
    answer = await upload(deps, item)
    assert answer.hasil[0].hasil == "walk_in" and "GET /walk-ins" in (answer.hasil[0].alasan or "")
    [waiting] = await handlers.list_walk_ins(handlers.ListWalkIns(OWN), deps=deps)
    assert (waiting.resident_id, waiting.kecamatan_code) == (p.resident_id, KEC)
    assert store_of(deps).reads == [(OWN.office_id, "baca_walk_in", KEC, [p.resident_id])]
    with pytest.raises(handlers.Forbidden):
        await handlers.list_walk_ins(handlers.ListWalkIns(OTHER, KEC), deps=deps)
    with pytest.raises(handlers.Forbidden):
        await handlers.list_walk_ins(handlers.ListWalkIns(FIELD), deps=deps)
    await handlers.apply_resident_event(newcomer, store=deps.store)
    assert await handlers.apply_waiting_walk_ins(newcomer, deps=deps) == 1
    [captured] = publisher_of(deps).events("recording.captured")
    assert str(captured.event_id) == item["event_id"] and captured.payload.resident_id == p.resident_id
    assert captured.payload.kecamatan_code == KEC and captured.actor.office_id == FIELD.office_id
    assert await handlers.list_walk_ins(handlers.ListWalkIns(ADMIN), deps=deps) == []
    assert await handlers.apply_waiting_walk_ins(newcomer, deps=deps) == 0


async def test_an_event_id_repeated_in_one_upload_is_taken_once() -> None:
    deps = make_deps()
    [resident] = roster(deps, 1)
    captured = capture(resident)
    failed = {**captured, "kind": "failed", "biometrics": [], "reason": "sidik jari tidak terbaca"}
    walk_in = {**capture(None), "walk_in": {"nik": "1702094507080001", "name": "Warga Sintetis", "desa_code": DESA}}
    answer = await upload(deps, captured, dict(captured), failed, walk_in, dict(walk_in),
                          {**walk_in, "operator": "op2"})
    assert [r.hasil for r in answer.hasil] == ["diterima", "duplikat", "ditolak", "walk_in", "duplikat", "ditolak"]
    assert "event_id" in (answer.hasil[2].alasan or "") and "lain" in (answer.hasil[2].alasan or "")
    assert answer.ringkasan == {"diterima": 1, "duplikat": 2, "walk_in": 1, "ditolak": 2}
    assert [e.event_type for e in publisher_of(deps).events()] == ["recording.captured"]


async def test_an_upload_refuses_items_the_rules_do_not_allow() -> None:
    deps = make_deps()
    [resident] = roster(deps, 1)
    await handlers.schedule_visit(schedule(targets=[resident]), deps=deps)
    answer = await upload(deps, capture(resident, visit_id="v-1"), capture(resident, visit_id="tidak-ada"),
                          {**capture(resident), "kind": "absent"}, capture(resident, biometrics=[]),
                          {**capture(resident), "kind": "failed", "biometrics": []}, capture(None))
    reasons = [r.alasan for r in answer.hasil]
    assert [r.hasil for r in answer.hasil] == ["ditolak"] * 6
    assert "belum dibuka" in (reasons[0] or "") and "tidak dikenal" in (reasons[1] or "")
    assert publisher_of(deps).events("recording.captured") == []
    other = await upload(deps, capture(resident), office=Office(office_id="tim-06", name="Tim", role=Role.FIELD_TEAM,
                                                                  kecamatan_code=OTHER_KEC))
    assert other.hasil[0].alasan == "penduduk dari kecamatan lain"


async def test_a_capture_of_a_resident_too_young_for_perekaman_is_refused_naming_the_day() -> None:
    deps = make_deps()
    store_of(deps).add_resident(rid(1), kecamatan=KEC, desa=DESA, wajib_ktp_from=dt.date(2030, 6, 1))
    store_of(deps).add_resident(rid(2), kecamatan=KEC, desa=DESA, wajib_ktp_from=dt.date(2027, 5, 1))
    failed = {**capture(rid(1)), "kind": "failed", "biometrics": [], "reason": "anak belum cukup umur"}
    answer = await upload(deps, capture(rid(1)), failed, capture(rid(2)))
    assert [r.hasil for r in answer.hasil] == ["ditolak", "ditolak", "diterima"]
    assert "2029-06-01" in (answer.hasil[0].alasan or "") and "16 tahun" in (answer.hasil[0].alasan or "")


async def test_an_item_over_a_bound_is_refused_naming_the_field_and_may_be_sent_again_fixed() -> None:
    deps = make_deps()
    [resident] = roster(deps, 1)
    long_flag = capture(resident, quality_flags=["x" * 100_000])
    answer = await upload(deps, long_flag, capture(resident, operator="o" * 65), capture(resident, biometrics=["foto"] * 5))
    assert [r.hasil for r in answer.hasil] == ["ditolak"] * 3
    reasons = [r.alasan or "" for r in answer.hasil]
    assert reasons[0].startswith("quality_flags.0: paling panjang 64 karakter")
    assert reasons[1].startswith("operator: paling panjang 64") and reasons[2].startswith("biometrics: paling banyak 4")
    assert publisher_of(deps).events() == []
    fixed = await upload(deps, {**long_flag, "quality_flags": ["q" * 64] * 10})
    assert fixed.hasil[0].hasil == "diterima"


async def test_an_upload_is_refused_whole_for_a_print_station_too_many_items_or_kafka_down() -> None:
    deps = make_deps(max_batch_events=2)
    [resident] = roster(deps, 1)
    with pytest.raises(handlers.Forbidden):
        await upload(deps, capture(resident), office=STATION)
    with pytest.raises(handlers.TooLarge):
        await upload(deps, capture(resident), capture(resident), capture(resident))
    publisher_of(deps).fail = KafkaConnectionError()
    item = capture(resident)
    with pytest.raises(handlers.NotDelivered):
        await upload(deps, item)
    assert not await deps.store.seen_among([item["event_id"]])


# SIAK statuses

def status(resident_id: str, code: str, at: dt.datetime = NOW) -> dict[str, Any]:
    return {"resident_id": resident_id, "status": code, "status_at": at.isoformat()}


async def test_siak_statuses_are_published_for_known_residents_and_refused_row_by_row() -> None:
    deps = make_deps()
    [resident] = roster(deps, 1)
    command = handlers.ReportStatuses(ADMIN, [status(resident, "PRR"), status(resident, "CETAK_ULANG"),
                                             status(rid(77), "SFE"), {"resident_id": "x"}])
    answer = await handlers.report_siak_statuses(command, deps=deps)
    assert answer.diterima == 1
    assert [r.hasil for r in answer.hasil] == ["diterima", "ditolak", "ditolak", "ditolak"]
    assert "CETAK_ULANG" in (answer.hasil[1].alasan or "")
    [event] = publisher_of(deps).events()
    assert isinstance(event, SiakStatusReported) and event.payload.status == SiakStatus.PRR
    with pytest.raises(handlers.Forbidden):
        await handlers.report_siak_statuses(handlers.ReportStatuses(OWN, []), deps=deps)
    with pytest.raises(handlers.TooLarge):
        await handlers.report_siak_statuses(handlers.ReportStatuses(ADMIN, [{}] * 5001), deps=deps)


async def test_a_siak_status_that_would_move_a_resident_backwards_is_answered_diabaikan() -> None:
    deps = make_deps()
    [done, fresh] = roster(deps, 2)
    store_of(deps).residents[done] = dataclasses.replace(store_of(deps).residents[done], stage=Stage.PRR, since=NOW)
    command = handlers.ReportStatuses(ADMIN, [status(done, "DUPLICATE_RECORD"), status(fresh, "PRR"),
                                             status(fresh, "SFE"), status(fresh, "PRR")])
    answer = await handlers.report_siak_statuses(command, deps=deps)
    assert [r.hasil for r in answer.hasil] == ["diabaikan", "diterima", "diabaikan", "diabaikan"]
    assert (answer.diterima, answer.diabaikan) == (1, 3)
    assert "mundur" in (answer.hasil[0].alasan or "") and "PRR" in (answer.hasil[0].alasan or "")
    assert "tidak mengubah" in (answer.hasil[3].alasan or "")
    assert len(publisher_of(deps).events()) == 1


async def test_a_siak_status_dated_in_the_future_is_refused_with_its_reason() -> None:
    deps = make_deps()
    [resident] = roster(deps, 1)
    ahead = {**status(resident, "PRR"), "status_at": (NOW + dt.timedelta(days=400)).isoformat()}
    answer = await handlers.report_siak_statuses(handlers.ReportStatuses(ADMIN, [ahead]), deps=deps)
    assert [r.hasil for r in answer.hasil] == ["ditolak"] and "masa depan" in (answer.hasil[0].alasan or "")
    assert publisher_of(deps).events() == []


async def test_a_siak_file_is_read_by_nik_and_answered_by_line() -> None:
    deps = make_deps()
    nik = "1702094507080001"
    resident = resident_pseudonym(nik, key=KEY)
    store_of(deps).add_resident(resident, kecamatan=KEC, desa=DESA)
    text = (f"NIK;STATUS;TANGGAL\n{nik};SFE;2026-05-01\n12345;SFE;2026-05-01\n{nik};PRR;1700000000\n"
            f"{nik};PRR;01/05/2036\n")
    answer = await handlers.import_siak_file(handlers.ImportSiakFile(ADMIN, text.encode()), deps=deps)
    assert [(r.baris, r.hasil) for r in answer.hasil] == [(2, "diterima"), (3, "ditolak"), (4, "ditolak"),
                                                          (5, "ditolak")]
    assert "bukan angka" in (answer.hasil[2].alasan or "") and "TANGGAL" in (answer.hasil[2].alasan or "")
    future = answer.hasil[3].alasan or ""
    assert "masa depan" in future and "TANGGAL" in future and "status_at" not in future
    [event] = publisher_of(deps).events()
    assert event.payload.resident_id == resident and event.payload.status_at.utcoffset() == dt.timedelta(hours=7)
    for broken in (b"", b"\xff\xfe", b"h/w\n1;2;3\n"):
        with pytest.raises(handlers.Unreadable):
            await handlers.import_siak_file(handlers.ImportSiakFile(ADMIN, broken), deps=deps)
    with pytest.raises(handlers.Forbidden):
        await handlers.import_siak_file(handlers.ImportSiakFile(OWN, text.encode()), deps=deps)


async def test_a_stray_quote_hides_no_later_line_and_every_line_is_answered() -> None:
    deps = make_deps()
    niks = [f"17020945070800{n:02d}" for n in range(1, 7)]
    for nik in niks:
        store_of(deps).add_resident(resident_pseudonym(nik, key=KEY), kecamatan=KEC, desa=DESA)
    text = ("nik;Status;TANGGAL\n\n"
            f'{niks[0]};"PRR;04/05/2026\n'
            f"{niks[1]};prr;4/5/2026\n"
            f"{niks[2]};SFE;2026-05-01;catatan\n"
            f"{niks[3]};SFE;31/02/2026\n"
            f"{niks[4]};CETAK;\n"
            f"1702.0945.0708.0006;SFE;04-05-2026 10:30\n"
            f"{niks[5][:15]};SFE;2026-05-01;\n"
            "1.70209E+15;SFE;2026-05-01\n"
            f"{'9' * 16};SFE;2026-05-01\n"
            f"PRR;{niks[0]};2026-05-01\n")
    answer = await handlers.import_siak_file(handlers.ImportSiakFile(ADMIN, text.encode()), deps=deps)
    assert [(r.baris, r.hasil) for r in answer.hasil] == [
        (3, "ditolak"), (4, "diterima"), (5, "ditolak"), (6, "ditolak"), (7, "ditolak"), (8, "diterima"),
        (9, "ditolak"), (10, "ditolak"), (11, "ditolak"), (12, "ditolak")]
    reasons = {r.baris: r.alasan or "" for r in answer.hasil}
    assert "kutip" in reasons[3] and "4 sel" in reasons[5] and "judul hanya 3 kolom" in reasons[5]
    assert "TANGGAL" in reasons[6] and "kalender" in reasons[6]
    assert "Status" in reasons[7] and "CETAK" in reasons[7] and "TANGGAL kosong" in reasons[7]
    assert "nik" in reasons[9] and "16 digit" in reasons[9] and "sel" not in reasons[9]
    assert "Teks" in reasons[10] and "daftar penduduk" in reasons[11]
    assert "Status: kode tidak dikenal" in reasons[12] and niks[0] not in str(answer)
    prr, sfe = publisher_of(deps).events()
    assert prr.payload.status == SiakStatus.PRR
    assert prr.payload.status_at == dt.datetime(2026, 5, 4, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert sfe.payload.status_at == dt.datetime(2026, 5, 4, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def test_a_siak_file_names_its_missing_columns_and_a_huge_cell() -> None:
    with pytest.raises(SiakFileError) as missing:
        read_siak_file(b"NIK;STATUS\n1702094507080001;SFE\n")
    assert missing.value.missing_columns == ["TANGGAL"] and "TANGGAL" in missing.value.reason
    with pytest.raises(SiakFileError, match="rusak di baris 2"):
        read_siak_file(b"NIK;STATUS;TANGGAL\n" + b"1" * 200_000 + b";SFE;2024-01-01\n")


# Reading progress

async def test_a_residents_status_is_read_in_its_own_kecamatan_only() -> None:
    deps = make_deps()
    [resident] = roster(deps, 1)
    record = await handlers.resident_status(handlers.ResidentStatus(FIELD, resident), deps=deps)
    assert record.stage == Stage.BELUM_REKAM and record.in_roster and record.since is None
    for office, resident_id in ((OTHER, resident), (ADMIN, rid(55))):
        with pytest.raises(handlers.NotFound):
            await handlers.resident_status(handlers.ResidentStatus(office, resident_id), deps=deps)


async def test_stuck_residents_are_those_in_a_stage_longer_than_the_days_asked() -> None:
    deps = make_deps()
    old, fresh = roster(deps, 2)
    store = store_of(deps)
    store.residents[old] = dataclasses.replace(store.residents[old], stage=Stage.REKAM,
                                               since=NOW - dt.timedelta(days=20))
    store.residents[fresh] = dataclasses.replace(store.residents[fresh], stage=Stage.REKAM, since=NOW)
    rows = await handlers.stuck_residents(handlers.FindStuck(ADMIN, days=14, stage=Stage.REKAM), deps=deps)
    assert [r.resident_id for r in rows] == [old]
    assert await handlers.stuck_residents(handlers.FindStuck(OWN, days=30, kecamatan_code=KEC), deps=deps) == []
    with pytest.raises(handlers.Forbidden):
        await handlers.stuck_residents(handlers.FindStuck(OWN), deps=deps)


# Applying events

async def test_roster_events_are_kept_once_and_a_resident_who_left_leaves_the_roster() -> None:
    deps = make_deps()
    enrolled = enrolled_event(random.Random(7), kecamatan=KEC, desa=DESA, birth=dt.date(1964, 2, 29))
    assert await handlers.apply_resident_event(enrolled, store=deps.store)
    assert not await handlers.apply_resident_event(enrolled, store=deps.store)
    record = await deps.store.resident(enrolled.payload.resident_id)
    assert record is not None and record.in_roster and record.lansia_from == dt.date(2024, 2, 29)
    left = ResidentLeft(event_id=uuid.uuid4(), occurred_at=NOW, recorded_at=NOW,
                        actor=Actor(office_id="uji", role=Role.DINAS_ADMIN, operator="uji"),
                        payload=ResidentLeftPayload(resident_id=enrolled.payload.resident_id, kecamatan_code=KEC,
                                                    desa_code=DESA, reason=LeaveReason("pindah"),
                                                    effective_date=NOW.date()))
    assert await handlers.apply_resident_event(left, store=deps.store)
    record = await deps.store.resident(enrolled.payload.resident_id)
    assert record is not None and not record.in_roster and record.place.kecamatan_code == KEC


async def test_outreach_events_applied_twice_change_nothing_more() -> None:
    deps = make_deps()
    roster(deps, 2)
    scheduled = await handlers.schedule_visit(schedule(), deps=deps)
    assert not await handlers.apply_outreach_event(scheduled, store=deps.store)
    await handlers.open_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    closed = await handlers.close_visit(handlers.VisitCommand(OWN, "v-1"), deps=deps)
    store_of(deps).carry[DESA] = []
    assert not await handlers.apply_outreach_event(closed, store=deps.store)
    assert await deps.store.carried_over(DESA) == []


def siak_event(resident_id: str, code: str, at: dt.datetime = NOW) -> SiakStatusReported:
    return SiakStatusReported(
        event_id=uuid.uuid4(), occurred_at=at, recorded_at=at, actor=Actor(office_id="d", role=Role.DINAS_ADMIN,
                                                                            operator="d"),
        payload={"resident_id": resident_id, "kecamatan_code": KEC, "desa_code": DESA,  # type: ignore[arg-type]
                 "status": SiakStatus(code), "status_at": at})


async def test_prr_requests_a_print_once_and_a_later_capture_is_stale() -> None:
    deps = make_deps()
    [resident] = roster(deps, 1, lansia_from=dt.date(2020, 1, 1), disabilitas=True)
    prr = siak_event(resident, "PRR")
    assert await handlers.apply_recording_event(prr, deps=deps) == "applied"
    assert await handlers.apply_recording_event(prr, deps=deps) == "duplicate"
    [request] = publisher_of(deps).events("recording.print_requested")
    assert request.event_id == handlers.derived_id(prr.event_id, "print")
    assert (request.payload.lansia, request.payload.disabilitas) == (True, True)
    assert await handlers.apply_recording_event(siak_event(resident, "SFE", NOW - dt.timedelta(days=1)),
                                                deps=deps) == "stale"
    record = await deps.store.resident(resident)
    assert record is not None and record.stage == Stage.PRR and record.stale_reports == 1


async def test_a_duplicate_record_raises_a_follow_up() -> None:
    deps = make_deps()
    [resident] = roster(deps, 1)
    assert await handlers.apply_recording_event(siak_event(resident, "DUPLICATE_RECORD"), deps=deps) == "applied"
    [follow_up] = publisher_of(deps).events("recording.follow_up")
    assert follow_up.payload.remedy == "selesaikan_duplikat"
    assert domain.lansia_from(dt.date(2040, 2, 29)) == dt.date(2100, 3, 1)


async def test_a_round_of_residents_applies_in_bulk_as_one_by_one_would() -> None:
    """The consumer's bulk path gives every event the outcome and the follow-ups the one-by-one path gives."""
    bulk, single = make_deps(), make_deps()
    residents = roster(bulk, 4, lansia_from=dt.date(2020, 1, 1))
    roster(single, 4, lansia_from=dt.date(2020, 1, 1))
    first = [siak_event(residents[0], "PRR"), siak_event(residents[1], "DUPLICATE_RECORD"),
             siak_event(residents[2], "SFE")]
    later = [siak_event(residents[0], "SFE", NOW - dt.timedelta(days=1)), first[1],
             siak_event(residents[3], "PRR")]
    bulk_outcomes = [await handlers.apply_recording_events(round_, deps=bulk) for round_ in (first, later)]
    single_outcomes = [[await handlers.apply_recording_event(e, deps=single) for e in round_] for round_ in (first, later)]
    assert bulk_outcomes == single_outcomes == [["applied", "applied", "applied"], ["stale", "duplicate", "applied"]]

    def published(deps: Any) -> list[tuple[str, str]]:
        return sorted((e.event_type, str(e.event_id)) for e in publisher_of(deps).events())

    assert published(bulk) == published(single)
    assert [e.event_id for e in publisher_of(bulk).events("recording.print_requested")] == [
        handlers.derived_id(first[0].event_id, "print"), handlers.derived_id(later[2].event_id, "print")]
    for resident in residents:
        assert await bulk.store.resident(resident) == await single.store.resident(resident)


def test_a_siak_file_with_only_its_header_is_refused() -> None:
    with pytest.raises(SiakFileError, match="baris judul"):
        read_siak_file(b"NIK;STATUS;TANGGAL\n\n")
