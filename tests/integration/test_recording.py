"""Recording against the real broker: offline uploads, out-of-order SIAK statuses, visits, bad input."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from services.recording.handlers import derived_id
from shared.contracts import RECORDING_EVENTS, Role
from shared.contracts.resident import ResidentUpdated, ResidentUpdatedPayload
from shared.topics import RECORDING, RESIDENT
from tests.integration.helpers import coverage_of, create_office_key, enrolled_event, eventually, running

pytestmark = pytest.mark.infra
KEC, DESA = "17.02.09", "17.02.09.1012"


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "recording", "coverage")


@pytest.fixture
async def http(services: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=services["recording"].url, timeout=60) as recording, \
            httpx.AsyncClient(base_url=services["coverage"].url) as coverage:
        yield recording, coverage


async def roster(kafka_producer: Any, n: int, *, school: str | None = None) -> list[str]:
    rng = random.Random()
    ids = []
    for _ in range(n):
        event = enrolled_event(rng, kecamatan=KEC, desa=DESA, school=school)
        await kafka_producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(),
                                           key=event.payload.resident_id.encode())
        ids.append(event.payload.resident_id)
    return ids


async def known(recording: httpx.AsyncClient, key: str, ids: list[str]) -> None:
    for resident_id in ids:
        await eventually(lambda rid=resident_id: recording.get(f"/residents/{rid}/status", headers={"X-API-Key": key}),
                         lambda r: r.status_code == 200 and r.json()["in_roster"])


def capture(resident_id: str, *, visit_id: str | None = None, minutes_ago: int = 10, **extra: Any) -> dict[str, Any]:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    return {"event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": resident_id, "visit_id": visit_id,
            "device_id": "tab-07", "operator": "op1", "device_time": at.isoformat(),
            "biometrics": ["foto", "sidik_jari", "iris", "tanda_tangan"], **extra}


async def stage_of(recording: httpx.AsyncClient, key: str, resident_id: str) -> Any:
    return (await recording.get(f"/residents/{resident_id}/status", headers={"X-API-Key": key})).json()


async def test_offline_batch_uploaded_twice_is_applied_once(http: Any, mongo_db: Any, kafka_producer: Any) -> None:
    recording, coverage = http
    key = await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)
    ids = await roster(kafka_producer, 20)
    await known(recording, key, ids)
    before = await eventually(lambda: coverage_of(coverage, KEC), lambda row: row["terdaftar"] >= 20)
    batch = {"device_id": "tab-07", "events": [capture(r) for r in ids]}
    first = (await recording.post("/batches", json=batch, headers={"X-API-Key": key})).json()
    assert first["ringkasan"]["diterima"] == 20
    second = (await recording.post("/batches", json=batch, headers={"X-API-Key": key})).json()
    assert second["ringkasan"] == {"diterima": 0, "duplikat": 20, "walk_in": 0, "ditolak": 0}
    after = await eventually(lambda: coverage_of(coverage, KEC), lambda row: row["direkam"] >= before["direkam"] + 20)
    assert after["direkam"] == before["direkam"] + 20
    for resident_id in ids:
        # Recording applies its own captures from the topic; coverage may show them first.
        stage = await eventually(lambda rid=resident_id: stage_of(recording, key, rid),
                                 lambda answer: answer["stage"] == "rekam", timeout=30)
        assert stage["stage"] == "rekam"


async def test_prr_before_capture_ends_print_ready_and_the_stale_report_is_counted(
    http: Any, mongo_db: Any, kafka_producer: Any, stack: Any
) -> None:
    recording, _ = http
    field = await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)
    admin = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    [resident] = await roster(kafka_producer, 1)
    elder = enrolled_event(random.Random(), kecamatan=KEC, desa=DESA, birth=dt.date(1950, 3, 1), disabilitas=True)
    await kafka_producer.send_and_wait(RESIDENT.name, elder.model_dump_json().encode(),
                                       key=elder.payload.resident_id.encode())
    await known(recording, field, [resident, elder.payload.resident_id])
    now = dt.datetime.now(dt.UTC)
    prr = {"resident_id": resident, "status": "PRR", "status_at": now.isoformat()}
    elder_prr = {**prr, "resident_id": elder.payload.resident_id}
    answer = (await recording.post("/siak/status", json={"updates": [prr, elder_prr]},
                                   headers={"X-API-Key": admin})).json()
    assert answer["diterima"] == 2
    await eventually(lambda: stage_of(recording, field, resident), lambda s: s["stage"] == "prr")
    late = await recording.post("/batches", headers={"X-API-Key": field},
                                json={"device_id": "tab", "events": [capture(resident, minutes_ago=60)]})
    assert late.json()["ringkasan"]["diterima"] == 1
    status = await eventually(lambda: stage_of(recording, field, resident), lambda s: s["stale_reports"] == 1)
    assert status["stage"] == "prr"
    metrics = (await recording.get("/metrics")).text
    assert 'ektp_recording_stale_reports_total{event_type="recording.captured"}' in metrics
    # What the service published and consumed: its own publish counter, FastStream's consume metrics.
    published = next(line for line in metrics.splitlines() if line.startswith(
        f'ektp_events_published_total{{outcome="sent",service="recording",topic="{RECORDING.name}"}}'))
    assert float(published.rsplit(" ", 1)[1]) >= 3
    assert "faststream_received_processed_messages_total{" in metrics
    assert "faststream_published_messages_total{" not in metrics
    consumer = AIOKafkaConsumer(RECORDING.name, bootstrap_servers=f"127.0.0.1:{stack.ports.kafka}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    wanted = str(derived_id(uuid.UUID(str(uuid.uuid5(uuid.UUID("a8e2f0d4-6b1c-4e59-8f3a-1d7c9b2e4f66"),
                                                   f"{resident}:PRR:{now.isoformat()}"))), "print"))
    found: list[Any] = []

    async def scan() -> list[Any]:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                event = RECORDING_EVENTS.validate_json(record.value)
                if event.event_type == "recording.print_requested" and event.payload.resident_id in (
                        resident, elder.payload.resident_id):
                    found.append(event)
        return found

    try:
        await eventually(scan, lambda f: len(f) >= 2)
    finally:
        await consumer.stop()
    mine = [e for e in found if e.payload.resident_id == resident]
    assert {str(e.event_id) for e in mine} == {wanted}
    assert (mine[0].payload.lansia, mine[0].payload.disabilitas) == (False, False)
    [theirs] = [e for e in found if e.payload.resident_id == elder.payload.resident_id]
    assert (theirs.payload.lansia, theirs.payload.disabilitas) == (True, True)


async def test_duplicate_record_raises_a_follow_up_and_status_never_goes_back(
    http: Any, mongo_db: Any, kafka_producer: Any
) -> None:
    recording, _ = http
    field = await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)
    admin = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    [resident] = await roster(kafka_producer, 1)
    await known(recording, field, [resident])
    await recording.post("/batches", headers={"X-API-Key": field},
                         json={"device_id": "tab", "events": [capture(resident)]})
    now = dt.datetime.now(dt.UTC)
    updates = [{"resident_id": resident, "status": "DUPLICATE_RECORD", "status_at": now.isoformat()},
               {"resident_id": resident, "status": "SFE", "status_at": (now + dt.timedelta(seconds=1)).isoformat()},
               {"resident_id": resident, "status": "CETAK_ULANG", "status_at": now.isoformat()}]
    answer = (await recording.post("/siak/status", json={"updates": updates}, headers={"X-API-Key": admin})).json()
    assert [r["hasil"] for r in answer["hasil"]] == ["diterima", "diabaikan", "ditolak"]
    assert "DUPLICATE_RECORD" in answer["hasil"][1]["alasan"] and "CETAK_ULANG" in answer["hasil"][2]["alasan"]
    status = await eventually(lambda: stage_of(recording, field, resident), lambda s: s["stage"] == "duplikat")
    assert status["stage"] == "duplikat"


async def test_no_show_is_carried_to_the_next_visit_and_bad_events_are_refused(
    http: Any, mongo_db: Any, kafka_producer: Any
) -> None:
    recording, _ = http
    office = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)
    npsn = f"{random.randrange(10**7, 10**8)}"
    ids = await roster(kafka_producer, 3, school=npsn)
    await known(recording, office, ids)
    # A student who changed school is not drawn at the old one (its member list still names them).
    first = enrolled_event(random.Random(), kecamatan=KEC, desa=DESA, school=npsn)
    changed = first.payload.resident_id
    moved = ResidentUpdated(event_id=uuid.uuid4(), occurred_at=first.occurred_at, recorded_at=first.recorded_at,
                            actor=first.actor, payload=ResidentUpdatedPayload(
                                **{**first.payload.model_dump(), "school_npsn": "69999999", "reason": "pindah sekolah"}))
    for event in (first, moved):
        await kafka_producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(), key=changed.encode())
    await eventually(lambda: mongo_db["recording_residents"].find_one({"_id": changed}),
                     lambda doc: doc is not None and doc.get("school_npsn") == "69999999")
    parts = (await mongo_db["recording_places"].find_one({"_id": f"sekolah:{npsn}"}))["parts"]
    assert changed in {r async for part in mongo_db["recording_place_parts"].find({"_id": {"$in": parts}})
                       for r in part["residents"]}
    headers = {"X-API-Key": office}
    visit = {"visit_id": f"sma-{npsn}-1", "date": dt.date.today().isoformat(), "kind": "sekolah",
             "place_code": npsn, "kecamatan_code": KEC, "team": "tim-1"}
    scheduled = await recording.post("/visits", json=visit, headers=headers)
    assert scheduled.status_code == 201, scheduled.text
    assert sorted(scheduled.json()["targets"]) == sorted(ids)
    early = await recording.post("/batches", headers=headers,
                                 json={"device_id": "tab", "events": [capture(ids[0], visit_id=visit["visit_id"])]})
    assert early.json()["hasil"][0]["hasil"] == "ditolak" and "belum dibuka" in early.json()["hasil"][0]["alasan"]
    assert (await recording.post(f"/visits/{visit['visit_id']}/buka", headers=headers)).status_code == 200
    absent = {**capture(ids[1], visit_id=visit["visit_id"]), "kind": "absent", "biometrics": []}
    future = capture(ids[2], visit_id=visit["visit_id"], minutes_ago=-120)
    broken = {"event_id": "bukan-uuid", "kind": "captured"}
    walk_in = {**capture(None, visit_id=visit["visit_id"]),  # type: ignore[arg-type]
               "walk_in": {"nik": "1702094507080001", "name": "Warga Sintetis", "desa_code": DESA}}
    walk_in.pop("resident_id")
    batch = {"device_id": "tab", "events": [capture(ids[0], visit_id=visit["visit_id"]), absent, future, broken, walk_in]}
    answer = (await recording.post("/batches", json=batch, headers=headers)).json()
    assert [r["hasil"] for r in answer["hasil"]] == ["diterima", "diterima", "ditolak", "ditolak", "walk_in"]
    assert "masa depan" in answer["hasil"][2]["alasan"]
    assert "event_id" in answer["hasil"][3]["alasan"]
    await eventually(lambda: stage_of(recording, office, ids[0]), lambda s: s["stage"] == "rekam")
    closed = await recording.post(f"/visits/{visit['visit_id']}/tutup", headers=headers)
    assert sorted(closed.json()["no_shows"]) == sorted(ids[1:])
    after_close = await recording.post("/batches", headers=headers,
                                       json={"device_id": "tab", "events": [capture(ids[1], visit_id=visit["visit_id"])]})
    assert after_close.json()["hasil"][0]["hasil"] == "ditolak"
    again = await recording.post("/visits", headers=headers, json={**visit, "visit_id": f"sma-{npsn}-2"})
    assert sorted(again.json()["carried_over"]) == sorted(ids[1:])
    assert sorted(again.json()["targets"]) == sorted(ids[1:])


async def test_oversized_batch_is_refused(http: Any, mongo_db: Any) -> None:
    recording, _ = http
    key = await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)
    too_many = {"device_id": "tab", "events": [{"kind": "captured"}] * 5001}
    assert (await recording.post("/batches", json=too_many, headers={"X-API-Key": key})).status_code == 413
    huge = {"device_id": "tab", "events": [{"kind": "x" * 1000}] * 5000}
    assert (await recording.post("/batches", json=huge, headers={"X-API-Key": key})).status_code == 413


async def test_siak_file_import_and_residents_stuck_in_sfe(http: Any, mongo_db: Any, kafka_producer: Any) -> None:
    recording, _ = http
    field = await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)
    admin = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    rng = random.Random()
    events = [enrolled_event(rng, kecamatan=KEC, desa=DESA) for _ in range(2)]
    for event in events:
        await kafka_producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(),
                                           key=event.payload.resident_id.encode())
    ids = [e.payload.resident_id for e in events]
    await known(recording, field, ids)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    csv_text = ("NIK;STATUS;TANGGAL\n"
                f"{events[0].payload.nik};SFE;{old.date().isoformat()}\n"
                f"{events[1].payload.nik};PRR;{dt.date.today().isoformat()}\n"
                "12345;SFE;2024-01-01\n"
                f"{events[1].payload.nik};DICETAK;2024-01-01\n")
    answer = await recording.post("/siak/import", headers={"X-API-Key": admin},
                                  files={"file": ("siak.csv", csv_text.encode())})
    assert answer.status_code == 200, answer.text
    assert [(r["baris"], r["hasil"]) for r in answer.json()["hasil"]] == [
        (2, "diterima"), (3, "diterima"), (4, "ditolak"), (5, "ditolak")]
    assert events[0].payload.nik not in answer.text
    await eventually(lambda: stage_of(recording, field, ids[0]), lambda s: s["stage"] == "rekam")
    stuck = (await recording.get("/stuck", params={"days": 14, "stage": "rekam"}, headers={"X-API-Key": admin})).json()
    assert ids[0] in [r["resident_id"] for r in stuck["penduduk"]]
    assert ids[1] not in [r["resident_id"] for r in stuck["penduduk"]]
    fresh = (await recording.get("/stuck", params={"days": 30, "stage": "rekam"}, headers={"X-API-Key": admin})).json()
    assert ids[0] not in [r["resident_id"] for r in fresh["penduduk"]]
