"""Edge cases of intake and recording found trying the system as a new user would (issue 21):
a device id repeated in one batch, visit dates outside a sensible window, NIKs typed with
separators, a deceased resident registered again, and a 409 that names a resident of another
kecamatan. Each service is started once for the module."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from shared.topics import RESIDENT
from tests.integration.helpers import create_office_key, enrolled_event, eventually, running, synthetic_resident

pytestmark = pytest.mark.infra
REC_KEC, REC_DESA = "17.02.09", "17.02.09.1012"
KEC_A, DESA_A = "17.02.17", "17.02.17.1001"
KEC_B, DESA_B = "17.02.18", "17.02.18.1001"


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake", "recording")


def _english(text: str) -> bool:
    return any(word in text for word in ("String should", "should match", "pattern", "Input should", "Value error"))


# -- item 2: a device event id repeated in one batch ------------------------------------------------

def _capture(resident_id: str, event_id: str) -> dict[str, Any]:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    return {"event_id": event_id, "kind": "captured", "resident_id": resident_id, "device_id": "tab-21",
            "operator": "op1", "device_time": at.isoformat(), "biometrics": ["foto", "sidik_jari", "iris"]}


async def test_an_event_id_repeated_in_one_batch_is_answered_once_as_taken(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    key = await create_office_key(mongo_db, role=Role.FIELD_TEAM, kecamatan=REC_KEC)
    event = enrolled_event(random.Random(), kecamatan=REC_KEC, desa=REC_DESA)
    resident_id = event.payload.resident_id
    await kafka_producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(), key=resident_id.encode())
    await eventually(lambda: recording.get(f"/residents/{resident_id}/status", headers={"X-API-Key": key}),
                     lambda r: r.status_code == 200 and r.json()["in_roster"])
    event_id = str(uuid.uuid4())
    captured = _capture(resident_id, event_id)
    failed = {**captured, "kind": "failed", "biometrics": [], "reason": "sidik jari tidak terbaca"}
    answer = await recording.post("/batches", headers={"X-API-Key": key},
                                  json={"device_id": "tab-21", "events": [captured, dict(captured), failed]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["hasil"] for r in body["hasil"]] == ["diterima", "duplikat", "ditolak"]
    assert all(r["event_id"] == event_id for r in body["hasil"])
    assert "event_id" in body["hasil"][2]["alasan"] and not _english(body["hasil"][2]["alasan"])
    assert body["ringkasan"] == {"diterima": 1, "duplikat": 1, "walk_in": 0, "ditolak": 1}
    status = await eventually(lambda: recording.get(f"/residents/{resident_id}/status", headers={"X-API-Key": key}),
                              lambda r: r.json()["stage"] != "belum_rekam")
    assert status.json()["stage"] == "rekam"


# -- item 11: visit dates outside a sensible window --------------------------------------------------

@pytest.mark.parametrize("date", ["9999-12-31", "2019-06-01"])
async def test_a_visit_date_far_in_the_past_or_future_is_refused_naming_the_field(
    recording: httpx.AsyncClient, mongo_db: Any, date: str
) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=REC_KEC)
    visit = {"visit_id": f"v21-{uuid.uuid4().hex[:10]}", "date": date, "kind": "desa", "place_code": REC_DESA,
             "kecamatan_code": REC_KEC, "team": "tim-21"}
    answer = await recording.post("/visits", json=visit, headers={"X-API-Key": key})
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [e["field"] for e in errors] == ["date"]
    assert "tanggal kunjungan" in errors[0]["reason"] and not _english(errors[0]["reason"])
    fine = await recording.post("/visits", headers={"X-API-Key": key},
                                json={**visit, "date": (dt.date.today() + dt.timedelta(days=30)).isoformat()})
    assert fine.status_code == 201, fine.text


# -- item 13: a NIK typed with separators -------------------------------------------------------------

def _typed(nik: str, sep: str) -> str:
    return sep.join((nik[:4], nik[4:8], nik[8:12], nik[12:]))


async def test_a_nik_typed_with_dots_spaces_or_dashes_is_read_as_its_sixteen_digits(
    intake: httpx.AsyncClient, mongo_db: Any
) -> None:
    headers = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC_A)}
    resident = synthetic_resident(random.Random(), kecamatan=KEC_A, desa=DESA_A)
    nik = resident["nik"]
    first = await intake.post("/residents", json={**resident, "nik": _typed(nik, ".")}, headers=headers)
    assert first.status_code == 201, first.text
    resident_id = first.json()["resident_id"]
    stored = await intake.get(f"/residents/{resident_id}", headers=headers)
    assert stored.json()["nik"] == nik
    again = await intake.post("/residents", json={**resident, "nik": _typed(nik, " ")}, headers=headers)
    assert again.status_code == 409 and again.json()["detail"]["resident_id"] == resident_id
    corrected = await intake.put(f"/residents/{resident_id}", headers=headers,
                                 json={**resident, "nik": _typed(nik, "-"), "phone": "0812", "reason": "nomor HP"})
    assert corrected.status_code == 200, corrected.text


@pytest.mark.parametrize("typed", ["1702.0645.0707.000A", "1702/0645/0707/0001", "17020645070700011", "NIK"])
async def test_any_other_malformed_nik_is_explained_in_indonesian_naming_the_field(
    intake: httpx.AsyncClient, mongo_db: Any, typed: str
) -> None:
    headers = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC_A)}
    resident = synthetic_resident(random.Random(), kecamatan=KEC_A, desa=DESA_A)
    for answer in (await intake.post("/residents", json={**resident, "nik": typed}, headers=headers),
                   await intake.put(f"/residents/r{'0' * 32}", headers=headers,
                                    json={**resident, "nik": typed, "reason": "salah ketik"})):
        assert answer.status_code == 422, answer.text
        errors = answer.json()["errors"]
        assert [e["field"] for e in errors] == ["nik"]
        assert "NIK" in errors[0]["reason"] and not _english(errors[0]["reason"])


# -- item 14: a deceased resident is not registered again -------------------------------------------

async def test_a_deceased_resident_cannot_be_registered_again_by_any_office(
    intake: httpx.AsyncClient, mongo_db: Any
) -> None:
    own = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC_A)}
    other = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC_B)}
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    resident = synthetic_resident(random.Random(), kecamatan=KEC_A, desa=DESA_A)
    resident_id = (await intake.post("/residents", json=resident, headers=own)).json()["resident_id"]
    left = await intake.post(f"/residents/{resident_id}/keluar", headers=own,
                             json={"reason": "meninggal", "effective_date": dt.date.today().isoformat()})
    assert left.status_code == 200, left.text
    moved = {**resident, "kecamatan_code": KEC_B, "desa_code": DESA_B}
    for body, headers in ((resident, own), (moved, other), (resident, admin)):
        again = await intake.post("/residents", json=body, headers=headers)
        assert again.status_code == 409, again.text
        assert "meninggal" in again.json()["detail"]["message"]
    assert (await intake.get(f"/residents/{resident_id}", headers=own)).json()["status"] == "meninggal"


async def test_a_resident_who_moved_out_may_be_registered_again(intake: httpx.AsyncClient, mongo_db: Any) -> None:
    own = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC_A)}
    resident = synthetic_resident(random.Random(), kecamatan=KEC_A, desa=DESA_A)
    resident_id = (await intake.post("/residents", json=resident, headers=own)).json()["resident_id"]
    await intake.post(f"/residents/{resident_id}/keluar", headers=own,
                      json={"reason": "pindah", "effective_date": dt.date.today().isoformat()})
    back = await intake.post("/residents", json=resident, headers=own)
    assert back.status_code == 201, back.text


# -- item 19: a 409 names the resident only inside the caller's kecamatan ---------------------------

async def test_a_409_names_the_existing_resident_only_to_its_own_kecamatan_or_the_dinas(
    intake: httpx.AsyncClient, mongo_db: Any
) -> None:
    own = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC_A)}
    other = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC_B)}
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    resident = synthetic_resident(random.Random(), kecamatan=KEC_A, desa=DESA_A)
    resident_id = (await intake.post("/residents", json=resident, headers=own)).json()["resident_id"]
    elsewhere = await intake.post("/residents", headers=other,
                                  json={**resident, "kecamatan_code": KEC_B, "desa_code": DESA_B})
    assert elsewhere.status_code == 409, elsewhere.text
    detail = elsewhere.json()["detail"]
    assert "resident_id" not in detail and "sudah terdaftar" in detail["message"]
    assert resident_id not in elsewhere.text
    for headers in (own, admin):
        again = await intake.post("/residents", json=resident, headers=headers)
        assert again.status_code == 409 and again.json()["detail"]["resident_id"] == resident_id
