"""Printing tried as a clerk in a hurry would, on the running service: a double click on "cetak ulang",
a card handed over twice or after it was reported lost, school deliveries to the wrong school or signed
by the station that sent them, and the question "where is this resident's card"."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.printing.domain import JobStatus, PrintJob
from services.printing.store import job_document
from shared.clock import WIB
from shared.contracts import Role
from shared.contracts.printing import PrintReason, PriorityClass
from shared.topics import RESIDENT
from tests.integration.helpers import create_office_key, enrolled_event, eventually
from tests.support.events import make

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def printing(start_service: Any) -> Iterator[Any]:
    service = start_service("printing")
    yield service
    service.stop()


async def test_two_reprint_requests_at_once_queue_one_card(printing: Any, mongo_db: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    resident = "r" + uuid.uuid4().hex
    handed_over = PrintJob(job_id="job-" + uuid.uuid4().hex[:24], station_id="dinas-curup", resident_id=resident,
                           kecamatan_code="17.02.09", desa_code="17.02.09.1012", reason=PrintReason.PERTAMA,
                           priority_class=PriorityClass.PEMILIH_PEMULA, status=JobStatus.DISERAHKAN,
                           queued_at=dt.datetime(2025, 3, 1, 9, tzinfo=WIB))
    await mongo_db["print_jobs"].insert_one(job_document(handed_over))
    body = {"resident_id": resident, "reason": "hilang"}
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        answers = await asyncio.gather(*(
            client.post("/reprints", json=body, headers={"X-API-Key": key, "Idempotency-Key": f"klik-{n}"})
            for n in range(2)))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert "sudah diminta" in refused.json()["detail"] or "masih dalam antrean" in refused.json()["detail"]
        queued = next(a for a in answers if a.status_code == 201).json()["job_id"]

        async def jobs() -> list[str]:
            return sorted([doc["_id"] async for doc in mongo_db["print_jobs"].find({"resident_id": resident})])

        await eventually(jobs, lambda found: queued in found)
        await asyncio.sleep(1.0)  # a second card, had one been queued, arrives with the first
        assert await jobs() == sorted([handed_over.job_id, queued])


KECAMATAN = "17.02.09"


def printed_card(resident: str, station: str, status: JobStatus = JobStatus.DICETAK) -> PrintJob:
    """A printed card of `resident` at `station` as the store keeps it."""
    at = dt.datetime(2025, 3, 1, 9, tzinfo=WIB)
    return PrintJob(job_id="job-" + uuid.uuid4().hex[:24], station_id=station, resident_id=resident,
                    kecamatan_code=KECAMATAN, desa_code=f"{KECAMATAN}.1012", reason=PrintReason.PERTAMA,
                    priority_class=PriorityClass.PEMILIH_PEMULA, status=status, queued_at=at, printed_at=at,
                    attempt=1, reservation_id="res-uji")


async def student_of(school: str, kafka_producer: Any, mongo_db: Any) -> str:
    """A student of `school` enrolled on the resident topic, once printing has taken note of the school."""
    event = enrolled_event(random.Random(), kecamatan=KECAMATAN, desa=f"{KECAMATAN}.1012", school=school)
    resident = event.payload.resident_id
    await kafka_producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(), key=resident.encode())
    await eventually(lambda: mongo_db["print_resident_schools"].find_one({"_id": resident}),
                     lambda found: found is not None and found.get("school_npsn") == school, timeout=60)
    return resident


async def stored(mongo_db: Any, *jobs: PrintJob) -> None:
    await mongo_db["print_jobs"].insert_many([{**job_document(job), "printed_at": job.printed_at} for job in jobs])


def post(client: httpx.AsyncClient, path: str, key: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json=body, headers={"X-API-Key": key, "Idempotency-Key": uuid.uuid4().hex})


async def test_two_school_deliveries_whose_keys_share_twelve_leading_hex_digits_are_two_deliveries(
        printing: Any, mongo_db: Any, kafka_producer: Any) -> None:
    station = f"uji-{uuid.uuid4().hex[:8]}"
    key = await create_office_key(mongo_db, role=Role.PRINT_STATION, office_id=station)
    school = f"{random.randint(10_000_000, 99_999_999)}"
    cards = [printed_card(await student_of(school, kafka_producer, mongo_db), station) for _ in range(2)]
    await stored(mongo_db, *cards)
    same_millisecond = ["0192f3a4-b5c6-7d8e-9f00-00000000000" + str(n) for n in (1, 2)]  # UUIDv7, one ms
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        answers = [await client.post("/school-deliveries", json={"school_npsn": school, "job_ids": [card.job_id]},
                                     headers={"X-API-Key": key, "Idempotency-Key": idem})
                   for card, idem in zip(cards, same_millisecond, strict=True)]
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    deliveries = [a.json()["delivery_id"] for a in answers]
    assert deliveries[0] != deliveries[1]

    async def sent() -> dict[str, Any]:
        return {doc["_id"]: (doc["status"], doc.get("delivery_id"))
                async for doc in mongo_db["print_jobs"].find({"_id": {"$in": [c.job_id for c in cards]}})}

    expected = {card.job_id: ("dikirim_ke_sekolah", delivery) for card, delivery in zip(cards, deliveries, strict=True)}
    await eventually(sent, lambda found: found == expected, timeout=30)


async def test_a_card_is_handed_over_once_and_a_reprint_voids_the_card_it_replaces(
        printing: Any, mongo_db: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    once, lost = printed_card("r" + uuid.uuid4().hex, "dinas-curup"), printed_card("r" + uuid.uuid4().hex, "dinas-curup")
    await stored(mongo_db, once, lost)
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        first = await post(client, f"/jobs/{once.job_id}/handover", key)
        assert first.status_code == 201, first.text
        again = await post(client, f"/jobs/{once.job_id}/handover", key)
        assert again.status_code == 409, again.text
        assert "sudah diserahkan" in again.json()["detail"]
        reprint = await post(client, "/reprints", key, {"resident_id": lost.resident_id, "reason": "hilang"})
        assert reprint.status_code == 201, reprint.text
        replaced = await post(client, f"/jobs/{lost.job_id}/handover", key)
        assert replaced.status_code == 409, replaced.text
        assert "tidak berlaku lagi" in replaced.json()["detail"]
        assert reprint.json()["job_id"] in replaced.json()["detail"]


async def test_cards_go_only_to_their_students_school_and_the_sending_station_cannot_sign_for_it(
        printing: Any, mongo_db: Any, kafka_producer: Any) -> None:
    station = f"uji-{uuid.uuid4().hex[:8]}"
    station_key = await create_office_key(mongo_db, role=Role.PRINT_STATION, office_id=station)
    kecamatan_key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    school, other_school = (f"{random.randint(10_000_000, 99_999_999)}" for _ in range(2))
    card = printed_card(await student_of(school, kafka_producer, mongo_db), station)
    await stored(mongo_db, card)
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        wrong = await post(client, "/school-deliveries", station_key,
                           {"school_npsn": other_school, "job_ids": [card.job_id]})
        assert wrong.status_code == 409, wrong.text
        assert f"bukan milik siswa sekolah NPSN {other_school}" in wrong.json()["detail"]
        sent = await post(client, "/school-deliveries", station_key, {"school_npsn": school, "job_ids": [card.job_id]})
        assert sent.status_code == 201, sent.text
        delivery = sent.json()["delivery_id"]
        await eventually(lambda: mongo_db["print_school_deliveries"].find_one({"_id": delivery}),
                         lambda found: found is not None, timeout=30)
        own = await post(client, f"/school-deliveries/{delivery}/acknowledge", station_key,
                         {"received_by": "Kepala Sekolah"})
        assert own.status_code == 403, own.text
        assert "Tanda terima sekolah" in own.json()["detail"]
        signed = await post(client, f"/school-deliveries/{delivery}/acknowledge", kecamatan_key,
                            {"received_by": "Kepala Sekolah"})
        assert signed.status_code == 201, signed.text


async def test_a_clerk_sees_where_a_residents_card_is_and_the_read_is_audited(printing: Any, mongo_db: Any) -> None:
    office = f"kec-uji-{uuid.uuid4().hex[:8]}"
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN, office_id=office)
    elsewhere = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.07")
    card = printed_card("r" + uuid.uuid4().hex, "dinas-curup")
    await stored(mongo_db, card)
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        assert (await post(client, f"/jobs/{card.job_id}/handover", key)).status_code == 201
        await eventually(lambda: mongo_db["print_jobs"].find_one({"_id": card.job_id}),
                         lambda found: found["status"] == "diserahkan", timeout=30)
        reprint = await post(client, "/reprints", key, {"resident_id": card.resident_id, "reason": "rusak"})
        assert reprint.status_code == 201, reprint.text
        await eventually(lambda: mongo_db["print_jobs"].find_one({"_id": reprint.json()["job_id"]}),
                         lambda found: found is not None, timeout=30)  # printing applied its own event
        path = f"/residents/{card.resident_id}/cards"
        answer = await client.get(path, headers={"X-API-Key": key})
        assert answer.status_code == 200, answer.text
        refused = await client.get(path, headers={"X-API-Key": elsewhere})
        unknown = await client.get(f"/residents/r{uuid.uuid4().hex}/cards", headers={"X-API-Key": key})
        dinas = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
        who_read = await client.get("/audit/pembacaan", params={"resident_id": card.resident_id},
                                    headers={"X-API-Key": dinas})
        not_for_offices = await client.get("/audit/pembacaan", params={"resident_id": card.resident_id},
                                           headers={"X-API-Key": key})
    body = answer.json()
    assert body["kartu_berlaku"] is None  # the replacement waits for its blank
    newest, first = body["kartu"]
    assert (newest["job_id"], newest["alasan"], first["job_id"]) == (reprint.json()["job_id"], "rusak", card.job_id)
    assert (first["berlaku"], first["diserahkan_melalui"], first["diganti_oleh"]) == (False, "langsung",
                                                                                       newest["job_id"])
    assert first["posisi"].startswith("Dicetak pada 01-03-2025 di stasiun dinas-curup, diserahkan langsung")
    assert refused.status_code == 403 and unknown.status_code == 404
    # Whose data was read is on record: the dinas asks who read this resident; an office may not ask.
    assert who_read.status_code == 200, who_read.text
    assert [(r["kantor"], r["tindakan"], r["cakupan"], r["jumlah_penduduk"]) for r in who_read.json()["pembacaan"]] == [
        (office, "baca_riwayat_kartu", KECAMATAN, 1)]
    assert not_for_offices.status_code == 403 and "dinas" in not_for_offices.json()["detail"]


async def test_one_idempotency_key_in_two_offices_is_two_requests_and_in_one_office_binds_its_first_body(
        printing: Any, mongo_db: Any) -> None:
    """Two offices that happen to use the same key each get their reprint and their own event; one office
    reusing a key for another resident is told so (409) instead of getting the first resident's job."""
    first_office = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    second_office = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    cards = [printed_card("r" + uuid.uuid4().hex, "dinas-curup", JobStatus.DISERAHKAN) for _ in range(3)]
    for card in cards:
        await stored(mongo_db, card)
    shared_key = "kunci-" + uuid.uuid4().hex[:8]

    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        def reprint(office: str, card: PrintJob) -> Any:
            return client.post("/reprints", json={"resident_id": card.resident_id, "reason": "hilang"},
                               headers={"X-API-Key": office, "Idempotency-Key": shared_key})

        first, second = await reprint(first_office, cards[0]), await reprint(second_office, cards[1])
        reused = await reprint(first_office, cards[2])
        again = await reprint(first_office, cards[0])
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json()["job_id"] != second.json()["job_id"]
    assert reused.status_code == 409 and "sudah dipakai untuk data lain" in reused.json()["detail"], reused.text
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replay") == "true"

    async def queued() -> dict[str, list[str]]:
        return {card.resident_id: [doc["_id"] async for doc in mongo_db["print_jobs"].find(
            {"resident_id": card.resident_id, "reason": "hilang"})] for card in cards}

    found = await eventually(queued, lambda jobs: all(jobs[c.resident_id] for c in cards[:2]), timeout=30)
    await asyncio.sleep(1.0)  # a reprint for the third resident, had one been queued, arrives with the others
    found = await queued()
    assert found == {cards[0].resident_id: [first.json()["job_id"]], cards[1].resident_id: [second.json()["job_id"]],
                     cards[2].resident_id: []}


async def resident_left(kafka_producer: Any, mongo_db: Any, resident: str, reason: str) -> None:
    """resident.left on the resident topic, once printing has taken note of it."""
    event = make("resident.left", resident_id=resident, kecamatan_code=KECAMATAN, desa_code=f"{KECAMATAN}.1012",
                 reason=reason, effective_date=dt.date(2026, 12, 1))
    await kafka_producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(), key=resident.encode())
    await eventually(lambda: mongo_db["print_resident_schools"].find_one({"_id": resident}),
                     lambda found: found is not None and found.get("left_reason") == reason, timeout=60)


async def test_a_deceased_residents_waiting_card_leaves_the_queue_and_nothing_is_reprinted_or_handed_over(
        printing: Any, mongo_db: Any, kafka_producer: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    resident = "r" + uuid.uuid4().hex
    printed = printed_card(resident, "dinas-curup")
    waiting = dataclasses.replace(printed_card(resident, "dinas-curup", JobStatus.MENUNGGU_BLANGKO),
                                  printed_at=None, reservation_id=None)
    await stored(mongo_db, printed, waiting)
    await resident_left(kafka_producer, mongo_db, resident, "meninggal")
    await eventually(lambda: mongo_db["print_jobs"].find_one({"_id": waiting.job_id}),  # cancelled after the note
                     lambda found: found["status"] == "dibatalkan", timeout=60)
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        job = await client.get(f"/jobs/{waiting.job_id}", headers={"X-API-Key": key})
        queue = await client.get("/stations/dinas-curup/queue", headers={"X-API-Key": key})
        handover = await post(client, f"/jobs/{printed.job_id}/handover", key)
        reprint = await post(client, "/reprints", key, {"resident_id": resident, "reason": "hilang"})
    assert job.status_code == 200 and job.json()["status"] == "dibatalkan", job.text
    assert waiting.job_id not in {row["job_id"] for row in queue.json()}, queue.text
    for refused in (handover, reprint):
        assert refused.status_code == 409, refused.text
        assert "penduduk sudah tercatat meninggal" in refused.json()["detail"]


async def test_a_resident_who_moved_out_collects_a_printed_card_but_gets_no_reprint(
        printing: Any, mongo_db: Any, kafka_producer: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    card = printed_card("r" + uuid.uuid4().hex, "dinas-curup")
    await stored(mongo_db, card)
    await resident_left(kafka_producer, mongo_db, card.resident_id, "pindah")
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        reprint = await post(client, "/reprints", key, {"resident_id": card.resident_id, "reason": "hilang"})
        handover = await post(client, f"/jobs/{card.job_id}/handover", key)
    assert reprint.status_code == 409 and "pindah keluar kabupaten" in reprint.json()["detail"], reprint.text
    assert handover.status_code == 201, handover.text


async def test_the_cards_of_a_resident_who_moved_kecamatan_are_read_by_the_new_kecamatans_office(
        printing: Any, mongo_db: Any, kafka_producer: Any) -> None:
    new_office = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.07")
    old_office = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    card = printed_card("r" + uuid.uuid4().hex, "dinas-curup")
    await stored(mongo_db, card)
    moved = make("resident.updated", resident_id=card.resident_id, kecamatan_code="17.02.07",
                 desa_code="17.02.07.2001", school_npsn=None, reason="pindah alamat")
    await kafka_producer.send_and_wait(RESIDENT.name, moved.model_dump_json().encode(), key=card.resident_id.encode())
    await eventually(lambda: mongo_db["print_resident_schools"].find_one({"_id": card.resident_id}),
                     lambda found: found is not None and found.get("kecamatan_code") == "17.02.07", timeout=60)
    path = f"/residents/{card.resident_id}/cards"
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        new = await client.get(path, headers={"X-API-Key": new_office})
        old = await client.get(path, headers={"X-API-Key": old_office})
        reprint = await post(client, "/reprints", new_office, {"resident_id": card.resident_id, "reason": "rusak"})
    assert new.status_code == 200 and [c["job_id"] for c in new.json()["kartu"]] == [card.job_id], new.text
    assert old.status_code == 403, old.text
    assert reprint.status_code == 201, reprint.text
