"""Edge cases of intake found by a new user's tryout (issue 21): the same NIK registered at the same
moment (a double click, many clerks, an import racing a clerk), an unclosed quote in a Dapodik file,
a re-upload bringing back a resident who left, and an occurred_at in the future. Intake alone is
started once for the module."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.areas import load_areas
from shared.contracts import Role
from tests.integration.helpers import create_office_key, running

pytestmark = pytest.mark.infra
HEADER = "NISN;NIK;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;Desa/Kelurahan"
KEC = "17.02.22"


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake")


@pytest.fixture
async def headers(mongo_db: Any) -> dict[str, str]:
    return {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}


def _resident(rng: random.Random, *, name: str | None = None) -> dict[str, Any]:
    """A synthetic resident of KEC (the NIK is made up) that a Dapodik row can also name."""
    kec = load_areas().kecamatan[KEC]
    birth = dt.date(2008, rng.randint(1, 12), rng.randint(1, 28))
    sex = rng.choice(["L", "P"])
    day = birth.day + (40 if sex == "P" else 0)
    nik = f"{kec.nik_digits}{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
    return {"nik": nik, "name": name or f"Siswa Sintetis {rng.randint(1, 10**6)}", "sex": sex,
            "birth_date": birth.isoformat(), "marital_status": "belum_kawin",
            "kecamatan_code": KEC, "desa_code": kec.villages[0].code}


def _row(resident: dict[str, Any], *, name: str | None = None) -> str:
    kec = load_areas().kecamatan[KEC]
    birth = dt.date.fromisoformat(resident["birth_date"])
    return ";".join(["0012345678", resident["nik"], name or resident["name"],
                     "Laki-laki" if resident["sex"] == "L" else "Perempuan", "Curup", birth.strftime("%d/%m/%Y"),
                     "10700123", "SMA Negeri Sintetis", kec.name, kec.villages[0].name])


def _file(rows: list[str]) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode()


async def _import(intake: httpx.AsyncClient, headers: dict[str, str], content: bytes) -> dict[str, Any]:
    answer = await intake.post("/imports/dapodik", headers=headers, files={"file": ("siswa.csv", content)})
    assert answer.status_code == 202, answer.text
    return await _finished(intake, headers, answer.json()["status_url"])


async def _finished(intake: httpx.AsyncClient, headers: dict[str, str], url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = (await intake.get(url, headers=headers)).json()
        if job["status"] != "berjalan":
            return dict(job)
        await asyncio.sleep(0.2)
    raise AssertionError(f"import still running: {job}")


# -- defect 7: the same NIK registered at the same moment ------------------------------------------------

async def test_a_double_click_registers_the_resident_once_and_answers_409_to_the_second(
    intake: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    rng = random.Random()
    for _ in range(5):
        body = _resident(rng)
        answers = await asyncio.gather(*(intake.post("/residents", headers=headers, json=body) for _ in range(2)))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]


async def test_many_clerks_registering_one_nik_get_one_201_and_the_stored_name_is_the_accepted_one(
    intake: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = _resident(random.Random())
    bodies = [{**body, "name": "Siswa Sintetis A" if i % 2 else "Siswa Sintetis B"} for i in range(20)]
    answers = await asyncio.gather(*(intake.post("/residents", headers=headers, json=b) for b in bodies))
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 1 and codes.count(409) == 19, codes
    winner = next(b for b, a in zip(bodies, answers, strict=True) if a.status_code == 201)
    stored = await intake.get(f"/residents/{answers[codes.index(201)].json()['resident_id']}", headers=headers)
    assert stored.json()["name"] == winner["name"]
    refused = next(a for a in answers if a.status_code == 409)
    assert "terdaftar" in refused.text


async def test_an_import_racing_clerks_registers_each_nik_once(
    intake: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    rng = random.Random()
    residents = [_resident(rng) for _ in range(150)]
    gate = asyncio.Semaphore(25)

    async def register(body: dict[str, Any]) -> httpx.Response:
        async with gate:
            return await intake.post("/residents", headers=headers, json=body)

    started = await intake.post("/imports/dapodik", headers=headers,
                                files={"file": ("siswa.csv", _file([_row(r) for r in residents]))})
    assert started.status_code == 202, started.text
    answers = await asyncio.gather(*(register(r) for r in residents))
    job = await _finished(intake, headers, started.json()["status_url"])
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers if a.status_code >= 500]
    created = sum(1 for a in answers if a.status_code == 201)
    assert job["imported"] + created == len(residents), (job["imported"], created)
    assert job["imported"] + job["already_registered"] == len(residents)


# -- defect 3: an unclosed quote in a Dapodik file -------------------------------------------------------

async def test_an_unclosed_quote_refuses_its_line_and_the_following_lines_are_read_on_their_own(
    intake: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    rng = random.Random()
    residents = [_resident(rng) for _ in range(3)]
    rows = [_row(residents[0]), _row(residents[1], name='"Oki Sintetis'), _row(residents[2])]
    job = await _import(intake, headers, _file(rows))
    assert job["ringkasan"]["baris_dibaca"] == 3, job
    assert job["imported"] == 2 and job["ringkasan"]["ditolak"] == 1, job
    assert [e["line"] for e in job["errors"]] == [3]
    assert 'tanda kutip (") yang tidak ditutup' in job["errors"][0]["reason"]


# -- defect 14: a re-upload does not bring back a resident who left --------------------------------------

@pytest.mark.parametrize("reason", ["pindah", "meninggal"])
async def test_a_reupload_does_not_register_again_a_resident_who_left(
    intake: httpx.AsyncClient, headers: dict[str, str], reason: str
) -> None:
    rng = random.Random()
    resident, other = _resident(rng), _resident(rng)
    first = await intake.post("/residents", headers=headers, json=resident)
    assert first.status_code == 201, first.text
    resident_id = first.json()["resident_id"]
    left = await intake.post(f"/residents/{resident_id}/keluar", headers=headers,
                             json={"reason": reason, "effective_date": dt.date.today().isoformat()})
    assert left.status_code == 200, left.text
    job = await _import(intake, headers, _file([_row(other), _row(resident)]))
    assert job["imported"] == 1, job
    assert [e["line"] for e in job["errors"]] == [3]
    assert "keluar" in job["errors"][0]["reason"] and "dinas" in job["errors"][0]["reason"].lower()
    stored = (await intake.get(f"/residents/{resident_id}", headers=headers)).json()
    assert stored["status"] == reason and stored["left_on"] is not None


# -- defect 5: occurred_at in the future -----------------------------------------------------------------

async def test_an_occurred_at_in_the_future_is_refused_for_registration_and_correction(
    intake: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    rng = random.Random()
    future = "2030-01-01T00:00:00+07:00"
    refused = await intake.post("/residents", headers=headers, json={**_resident(rng), "occurred_at": future})
    assert refused.status_code == 422 and "occurred_at" in refused.text, refused.text
    resident = _resident(rng)
    created = await intake.post("/residents", headers=headers, json=resident)
    assert created.status_code == 201, created.text
    url = f"/residents/{created.json()['resident_id']}"
    correction = {**resident, "name": "Siswa Sintetis Koreksi", "reason": "salah ketik nama", "occurred_at": future}
    answer = await intake.put(url, headers=headers, json=correction)
    assert answer.status_code == 422 and "occurred_at" in answer.text and "masa depan" in answer.text, answer.text
    skewed = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)).isoformat()
    accepted = await intake.put(url, headers=headers, json={**correction, "occurred_at": skewed})
    assert accepted.status_code == 200, accepted.text
