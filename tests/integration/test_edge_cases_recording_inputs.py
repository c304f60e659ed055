"""Edge cases of recording's inputs found trying the system as a new user would (issue 21): a SIAK
file with a stray quote, events too large for the consumers, and visits at another kecamatan's
place. The recording service is started once for the module."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.recording.store import WAITING
from shared.clock import WIB
from shared.contracts import Role
from shared.contracts.recording import MAX_FLAG_LENGTH, MAX_QUALITY_FLAGS, MAX_VISIT_TARGETS
from shared.topics import RESIDENT
from tests.integration.helpers import create_office_key, enrolled_event, eventually, running

pytestmark = pytest.mark.infra
KEC, DESA = "17.02.23", "17.02.23.2001"
OTHER_KEC, OTHER_DESA = "17.02.24", "17.02.24.2001"


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "recording")


async def enrolled(kafka_producer: Any, n: int, *, kecamatan: str = KEC, desa: str = DESA) -> list[Any]:
    """n different residents put on the roster topic (not yet waited for). Random NIKs of one kecamatan and birth
    year meet now and then (800 of them share one about once in twenty runs): each NIK is taken once."""
    rng = random.Random()
    distinct: dict[str, Any] = {}
    while len(distinct) < n:
        event = enrolled_event(rng, kecamatan=kecamatan, desa=desa)
        distinct.setdefault(event.payload.resident_id, event)
    events = list(distinct.values())
    sent = [await kafka_producer.send(RESIDENT.name, e.model_dump_json().encode(), key=e.payload.resident_id.encode())
            for e in events]
    for delivery in sent:
        await delivery
    return events


async def in_roster(mongo_db: Any, ids: list[str]) -> None:
    """Wait until recording keeps every one of these residents in its roster."""
    async def count() -> int:
        return await mongo_db["recording_residents"].count_documents({"_id": {"$in": ids}, "in_roster": True})

    await eventually(count, lambda n: n == len(ids))


def _english(text: str) -> bool:
    return any(word in text for word in ("String should", "should match", "List should", "Input should",
                                         "Value error", "at most"))


# -- item 1: a SIAK file with a stray quote, day-first dates, extra cells ------------------------------

async def test_a_siak_file_with_an_unclosed_quote_answers_every_data_line(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    events = await enrolled(kafka_producer, 5)
    niks = [e.payload.nik for e in events]
    ids = [e.payload.resident_id for e in events]
    await in_roster(mongo_db, ids)
    today = dt.date.today()
    csv_text = ("NIK;STATUS;TANGGAL\n"
                f"{niks[0]};SFE;{today.isoformat()}\n"
                f'{niks[1]};"PRR;{today:%d/%m/%Y}\n'
                f"{niks[2]};PRR;{today:%d/%m/%Y}\n"
                f"{niks[3]};SFE;{today.isoformat()};catatan\n"
                f"{niks[4]};SFE;31/02/2024\n")
    answer = await recording.post("/siak/import", headers=admin, files={"file": ("siak.csv", csv_text.encode())})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["hasil"]
    assert [(r["baris"], r["hasil"]) for r in rows] == [
        (2, "diterima"), (3, "ditolak"), (4, "diterima"), (5, "ditolak"), (6, "ditolak")]
    assert answer.json()["diterima"] == 2
    quote, extra, date = rows[1]["alasan"], rows[3]["alasan"], rows[4]["alasan"]
    assert "kutip" in quote and "sel" in extra and "TANGGAL" in date
    assert not any(_english(r["alasan"] or "") for r in rows) and "status_at" not in answer.text
    assert not any(nik in answer.text for nik in niks)
    status = await eventually(lambda: recording.get(f"/residents/{ids[2]}/status", headers=admin),
                              lambda r: r.json()["stage"] == "prr")
    assert dt.datetime.fromisoformat(status.json()["since"]) == dt.datetime.combine(today, dt.time(), WIB)


# -- item 5: nothing accepted that the consumers would dead-letter ------------------------------------

async def metric(recording: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The sum of a counter's samples whose labels contain these values."""
    from prometheus_client.parser import text_string_to_metric_families

    text = (await recording.get("/metrics")).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(value in sample.labels.get(key, "") for key, value in labels.items()))


def visit_body(targets: list[str], *, place: str = DESA, kecamatan: str = KEC) -> dict[str, Any]:
    return {"visit_id": f"v21-{uuid.uuid4().hex[:10]}", "date": dt.date.today().isoformat(), "kind": "desa",
            "place_code": place, "kecamatan_code": kecamatan, "team": "tim-21", "targets": targets}


async def test_a_visit_with_more_targets_than_the_consumers_take_is_refused_and_one_at_the_bound_is_consumed(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    office = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}
    events = await enrolled(kafka_producer, MAX_VISIT_TARGETS, desa="17.02.23.2002")
    ids = [e.payload.resident_id for e in events]
    dead_before = await metric(recording, "ektp_dead_letters_total", topic="outreach")
    too_many = visit_body([f"r{uuid.uuid4().hex}" for _ in range(2000)], place="17.02.23.2002")
    refused = await recording.post("/visits", json=too_many, headers=office)
    assert refused.status_code == 422, refused.text[:500]
    [error] = refused.json()["errors"]
    assert error["field"] == "targets" and str(MAX_VISIT_TARGETS) in error["reason"]
    assert not _english(error["reason"])
    assert (await recording.get(f"/visits/{too_many['visit_id']}", headers=office)).status_code == 404
    await in_roster(mongo_db, ids)
    async def consumed() -> float:
        # The API applies the visit right after publishing it and the consumer may come first: either way
        # the consumer counts the event, as applied or as a duplicate.
        return sum([await metric(recording, name, event_type="visit.scheduled")
                    for name in ("ektp_events_applied_total", "ektp_events_duplicate_total")])

    consumed_before = await consumed()
    at_bound = visit_body(ids, place="17.02.23.2002")
    accepted = await recording.post("/visits", json=at_bound, headers=office)
    assert accepted.status_code == 201, accepted.text
    assert len(accepted.json()["targets"]) == MAX_VISIT_TARGETS
    await eventually(consumed, lambda n: n > consumed_before)
    assert await metric(recording, "ektp_dead_letters_total", topic="outreach") == dead_before


async def test_a_field_event_with_an_overlong_quality_flag_is_refused_and_can_be_sent_again(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    field = {"X-API-Key": await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)}
    [first, second] = await enrolled(kafka_producer, 2)
    await in_roster(mongo_db, [first.payload.resident_id, second.payload.resident_id])
    dead_before = await metric(recording, "ektp_dead_letters_total", topic="recording")
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).isoformat()
    event = {"event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": first.payload.resident_id,
             "device_id": "tab-21", "operator": "op1", "device_time": at, "biometrics": ["foto", "sidik_jari"],
             "quality_flags": ["x" * 100_000]}
    answer = await recording.post("/batches", headers=field, json={"device_id": "tab-21", "events": [event]})
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["hasil"]
    assert item["hasil"] == "ditolak" and "quality_flags" in item["alasan"] and "64" in item["alasan"]
    assert not _english(item["alasan"])
    longest = {**event, "quality_flags": ["q" * MAX_FLAG_LENGTH] * MAX_QUALITY_FLAGS}
    widest = {"event_id": str(uuid.uuid4()), "kind": "failed", "resident_id": second.payload.resident_id,
              "device_id": "d" * 64, "operator": "o" * 64, "device_time": at, "reason": "r" * 200}
    again = await recording.post("/batches", headers=field, json={"device_id": "tab-21", "events": [longest, widest]})
    assert [r["hasil"] for r in again.json()["hasil"]] == ["diterima", "diterima"], again.text
    for resident, stage in ((first, "rekam"), (second, "gagal_rekam")):
        await eventually(lambda r=resident: recording.get(f"/residents/{r.payload.resident_id}/status", headers=field),
                         lambda s, want=stage: s.json()["stage"] == want)
    assert await metric(recording, "ektp_dead_letters_total", topic="recording") == dead_before


# -- item 20: a visit's place and targets lie in the office's kecamatan ---------------------------------

async def test_an_office_schedules_only_at_places_and_for_residents_of_its_own_kecamatan(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    own = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}
    other = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=OTHER_KEC)}
    place = "17.02.24.2003"
    theirs = await enrolled(kafka_producer, 2, kecamatan=OTHER_KEC, desa=place)
    mine = await enrolled(kafka_producer, 1, desa="17.02.23.2003")
    their_ids, [my_id] = [e.payload.resident_id for e in theirs], [e.payload.resident_id for e in mine]
    await in_roster(mongo_db, [*their_ids, my_id])
    visit = {**visit_body([], place=place, kecamatan=OTHER_KEC), "targets": None}
    assert (await recording.post("/visits", json=visit, headers=other)).status_code == 201
    assert (await recording.post(f"/visits/{visit['visit_id']}/buka", headers=other)).status_code == 200
    closed = await recording.post(f"/visits/{visit['visit_id']}/tutup", headers=other)
    assert sorted(closed.json()["no_shows"]) == sorted(their_ids)

    for body, field in ((visit_body([my_id], place=place), "place_code"),
                        ({**visit_body([], place=OTHER_KEC), "kind": "kantor_kecamatan"}, "place_code"),
                        (visit_body([my_id, their_ids[0]], place="17.02.23.2003"), "targets"),
                        ({**visit_body([their_ids[1]], place="10799901"), "kind": "sekolah"}, "targets")):
        answer = await recording.post("/visits", json=body, headers=own)
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["errors"]
        assert error["field"] == field and not _english(error["reason"]), error
        assert (await recording.get(f"/visits/{body['visit_id']}", headers=own)).status_code == 404
    assert "17.02.24" in answer.json()["errors"][0]["reason"] or "kecamatan" in answer.json()["errors"][0]["reason"]
    school = {**visit_body([my_id], place="10799901"), "kind": "sekolah"}
    assert (await recording.post("/visits", json=school, headers=own)).status_code == 201
    again = {**visit_body([], place=place, kecamatan=OTHER_KEC), "targets": None}
    taken_back = await recording.post("/visits", json=again, headers=other)
    assert taken_back.status_code == 201, taken_back.text
    assert sorted(taken_back.json()["carried_over"]) == sorted(their_ids)


# -- item 6: children not yet old enough for perekaman are neither drawn, targeted nor recorded ---------

def born_years_ago(years: int, days: int = 0) -> dt.date:
    from shared.dates import add_years

    return add_years(dt.date.today(), -years) - dt.timedelta(days=days)


async def test_a_child_too_young_for_perekaman_is_not_drawn_targeted_or_recorded(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    from shared.dates import add_years

    office = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}
    field = {"X-API-Key": await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)}
    school = f"9{random.randint(0, 9_999_999):07d}"
    rng = random.Random()
    births = [born_years_ago(14), born_years_ago(10), born_years_ago(16, days=180)]
    events = [enrolled_event(rng, kecamatan=KEC, desa=DESA, school=school, birth=b) for b in births]
    for event in events:
        await (await kafka_producer.send(RESIDENT.name, event.model_dump_json().encode(),
                                         key=event.payload.resident_id.encode()))
    fourteen, ten, sixteen = [e.payload.resident_id for e in events]
    await in_roster(mongo_db, [fourteen, ten, sixteen])

    drawn = await recording.post("/visits", headers=office, json={
        **visit_body([], place=school), "kind": "sekolah", "targets": None})
    assert drawn.status_code == 201, drawn.text
    assert drawn.json()["targets"] == [sixteen]

    explicit = await recording.post("/visits", headers=office, json={
        **visit_body([fourteen, sixteen], place=school), "kind": "sekolah"})
    assert explicit.status_code == 422, explicit.text
    [error] = explicit.json()["errors"]
    assert error["field"] == "targets" and add_years(births[0], 16).isoformat() in error["reason"], error
    assert not _english(error["reason"])

    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    items = [{"event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": resident, "device_id": "tab-21",
              "operator": "op1", "device_time": at, "biometrics": ["foto", "sidik_jari"]}
             for resident in (ten, sixteen)]
    answer = await recording.post("/batches", headers=field, json={"device_id": "tab-21", "events": items})
    assert [r["hasil"] for r in answer.json()["hasil"]] == ["ditolak", "diterima"], answer.text
    reason = answer.json()["hasil"][0]["alasan"]
    assert add_years(births[1], 16).isoformat() in reason and "16" in reason and not _english(reason)
    await eventually(lambda: recording.get(f"/residents/{sixteen}/status", headers=field),
                     lambda s: s.json()["stage"] == "rekam")
    assert (await recording.get(f"/residents/{ten}/status", headers=field)).json()["stage"] == "belum_rekam"


# -- item 13: a SIAK status that would move a resident backwards is answered as not applied ------------

async def test_a_siak_status_that_would_go_backwards_is_answered_diabaikan(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    [first, second] = await enrolled(kafka_producer, 2)
    ids = [first.payload.resident_id, second.payload.resident_id]
    await in_roster(mongo_db, ids)
    earlier = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    now = dt.datetime.now(dt.UTC).isoformat()
    prr = await recording.post("/siak/status", headers=admin, json={"updates": [
        {"resident_id": ids[0], "status": "PRR", "status_at": earlier},
        {"resident_id": ids[1], "status": "PRR", "status_at": earlier},
        {"resident_id": ids[1], "status": "SFE", "status_at": now}]})
    assert [r["hasil"] for r in prr.json()["hasil"]] == ["diterima", "diterima", "diabaikan"], prr.text
    assert prr.json()["diterima"] == 2
    await eventually(lambda: recording.get(f"/residents/{ids[0]}/status", headers=admin),
                     lambda s: s.json()["stage"] == "prr")
    later = await recording.post("/siak/status", headers=admin, json={"updates": [
        {"resident_id": ids[0], "status": "DUPLICATE_RECORD", "status_at": now}]})
    [row] = later.json()["hasil"]
    assert row["hasil"] == "diabaikan" and "PRR" in row["alasan"] and "mundur" in row["alasan"], later.text
    assert later.json()["diterima"] == 0
    csv_text = f"NIK;STATUS;TANGGAL\n{first.payload.nik};SFE;{dt.date.today().isoformat()}\n"
    imported = await recording.post("/siak/import", headers=admin, files={"file": ("siak.csv", csv_text.encode())})
    [line] = imported.json()["hasil"]
    assert (line["baris"], line["hasil"]) == (2, "diabaikan") and "PRR" in line["alasan"], imported.text
    status = await recording.get(f"/residents/{ids[0]}/status", headers=admin)
    assert status.json()["stage"] == "prr"


# -- item 8: a capture made while the visit was open counts even when uploaded after closing ------------

async def test_a_capture_made_during_a_visit_and_uploaded_after_closing_is_taken(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    office = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}
    field = {"X-API-Key": await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)}
    events = await enrolled(kafka_producer, 2, desa="17.02.23.2004")
    late, before = [e.payload.resident_id for e in events]
    await in_roster(mongo_db, [late, before])
    visit = visit_body([late, before], place="17.02.23.2004")
    assert (await recording.post("/visits", json=visit, headers=office)).status_code == 201
    assert (await recording.post(f"/visits/{visit['visit_id']}/buka", headers=office)).status_code == 200
    during = dt.datetime.now(dt.UTC).isoformat()
    closed = await recording.post(f"/visits/{visit['visit_id']}/tutup", headers=office)
    assert sorted(closed.json()["no_shows"]) == sorted([late, before])

    def item(resident: str, at: str, **extra: Any) -> dict[str, Any]:
        return {"event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": resident, "device_id": "tab-8",
                "operator": "op1", "device_time": at, "biometrics": ["foto"], **extra}

    long_before = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).isoformat()
    answer = await recording.post("/batches", headers=field, json={"device_id": "tab-8", "events": [
        item(late, during, visit_id=visit["visit_id"]), item(before, long_before, visit_id=visit["visit_id"])]})
    assert [r["hasil"] for r in answer.json()["hasil"]] == ["diterima", "ditolak"], answer.text
    reason = answer.json()["hasil"][1]["alasan"]
    assert "tanpa visit_id" in reason and not _english(reason)
    again = await recording.post("/batches", headers=field, json={"device_id": "tab-8", "events": [
        item(before, long_before)]})
    assert again.json()["hasil"][0]["hasil"] == "diterima", again.text
    read = await recording.get(f"/visits/{visit['visit_id']}", headers=office)
    assert read.json()["no_shows"] == [before], read.text
    await eventually(lambda: recording.get(f"/residents/{late}/status", headers=field),
                     lambda s: s.json()["stage"] == "rekam")


# -- item 4: a walk-in waits at the kecamatan office and its capture counts once the resident is enrolled --

async def test_a_walk_in_is_listed_for_its_kecamatan_office_and_recorded_once_enrolled(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    office = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}
    other = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=OTHER_KEC)}
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    field = {"X-API-Key": await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=KEC)}
    newcomer = enrolled_event(random.Random(), kecamatan=KEC, desa=DESA)
    p = newcomer.payload
    item = {"event_id": str(uuid.uuid4()), "kind": "captured", "device_id": "tab-4", "operator": "op1",
            "device_time": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)).isoformat(),
            "biometrics": ["foto", "sidik_jari"], "walk_in": {"nik": p.nik, "name": p.name, "desa_code": DESA}}
    answer = await recording.post("/batches", headers=field, json={"device_id": "tab-4", "events": [item]})
    [kept] = answer.json()["hasil"]
    assert kept["hasil"] == "walk_in" and "kantor kecamatan" in kept["alasan"], answer.text

    listed = await recording.get("/walk-ins", params={"kecamatan_code": KEC}, headers=office)
    assert listed.status_code == 200, listed.text
    mine = [w for w in listed.json()["walk_in"] if w["event_id"] == item["event_id"]]
    assert [(w["nik"], w["name"], w["desa_code"]) for w in mine] == [(p.nik, p.name, DESA)]
    assert (await recording.get("/walk-ins", params={"kecamatan_code": KEC}, headers=other)).status_code == 403
    reads = await recording.get("/audit/pembacaan", params={"resident_id": p.resident_id}, headers=admin)
    assert [r["tindakan"] for r in reads.json()["pembacaan"]] == ["baca_walk_in"], reads.text

    await (await kafka_producer.send(RESIDENT.name, newcomer.model_dump_json().encode(),
                                     key=p.resident_id.encode()))
    await eventually(lambda: recording.get(f"/residents/{p.resident_id}/status", headers=office),
                     lambda s: s.status_code == 200 and s.json()["stage"] == "rekam")
    await eventually(lambda: mongo_db["recording_walk_ins"].find_one({"_id": item["event_id"]}),  # closed after
                     lambda doc: doc["status"] != WAITING)                                # its capture went out
    after = await recording.get("/walk-ins", params={"kecamatan_code": KEC}, headers=office)
    assert item["event_id"] not in {w["event_id"] for w in after.json()["walk_in"]}
