"""Edge cases of intake's imports and registrations (issue 21): a file full of bad rows, implausible
ages and the school names of a Dapodik file (dates around midnight WIB are use-case tests: the
running service has no clock setting). Intake, recording and coverage are started once for the
module; intake keeps few row errors and stops early, so the files stay small."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared.areas import load_areas
from shared.contracts import RECORDING_EVENTS, Role
from shared.topics import RECORDING
from tests.integration.helpers import coverage_of, create_office_key, eventually, running, synthetic_resident

pytestmark = pytest.mark.infra
HEADER = "NISN;NIK;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;Desa/Kelurahan"
KEC = "17.02.22"
ERRORS_KEPT, STOP_AFTER = 100, 2_000


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake", "recording", "coverage", own={"intake": {
        "EKTP_INTAKE_IMPORT_ERRORS_KEPT": str(ERRORS_KEPT),
        "EKTP_INTAKE_IMPORT_STOP_AFTER_REFUSED": str(STOP_AFTER)}})


def _row(rng: random.Random, *, birth: dt.date, date_text: str | None = None, sex: str = "L",
         npsn: str = "10700123", school: str = "SMA Negeri Sintetis", serial: int | None = None,
         kecamatan: str = KEC) -> str:
    kec = load_areas().kecamatan[kecamatan]
    day = birth.day + (40 if sex == "P" else 0)
    serial = serial or rng.randint(1, 9999)
    nik = f"{kec.nik_digits}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
    return ";".join([f"00{rng.randint(10**7, 10**8 - 1)}", nik, f"Siswa Sintetis {rng.randint(1, 10**6)}",
                     "Laki-laki" if sex == "L" else "Perempuan", "Curup",
                     date_text or birth.strftime("%d/%m/%Y"), npsn, school, kec.name, kec.villages[0].name])


def _file(rows: list[str]) -> bytes:
    return ("\ufeff" + "\r\n".join([HEADER, *rows]) + "\r\n").encode()


def _bad_rows(rng: random.Random, count: int) -> list[str]:
    """Rows refused for two reasons: a date not in the calendar, and an empty name."""
    rows = []
    for i in range(count):
        row = _row(rng, birth=dt.date(2008, 2, 1), date_text="31/02/2008", serial=i + 1)
        if i % 3 == 0:
            cells = row.split(";")
            cells[2] = ""
            row = ";".join(cells)
        rows.append(row)
    return rows


async def _finished(intake: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = (await intake.get(url, headers=headers, params=params)).json()
        if job["status"] != "berjalan":
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"import still running: {job}")


# -- item 7: a file of many bad rows ------------------------------------------------------------------

async def test_a_file_of_many_bad_rows_keeps_the_first_errors_counts_every_reason_and_pages(
    intake: httpx.AsyncClient, mongo_db: Any
) -> None:
    headers = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}
    rng = random.Random()
    good = [_row(rng, birth=dt.date(2008, 3, 1) + dt.timedelta(days=i)) for i in range(5)]
    content = _file(good + _bad_rows(rng, 1_500))
    answer = await intake.post("/imports/dapodik", headers=headers, files={"file": ("banyak.csv", content)})
    assert answer.status_code == 202, answer.text
    assert len(answer.content) < 100_000
    job = await _finished(intake, answer.json()["status_url"], headers)
    summary = job["ringkasan"]
    assert (summary["baris_dibaca"], summary["diterima"], summary["ditolak"]) == (1_505, 5, 1_500)
    assert summary["kesalahan"] == 2_000 and summary["kesalahan_disimpan"] == ERRORS_KEPT
    reasons = {(r["kolom"], r["alasan"]): r["jumlah"] for r in summary["per_alasan"]}
    assert reasons[("Tanggal Lahir", "tanggal lahir tidak ada di kalender (mis. 31/02)")] == 1_500
    assert reasons[("Nama Peserta Didik", "nama kosong")] == 500
    assert job["status"] == "selesai" and job["imported"] == 5
    first = await _finished(intake, answer.json()["status_url"], headers, per_halaman=40)
    assert (len(first["errors"]), first["halaman"], first["ada_halaman_berikutnya"]) == (40, 1, True)
    last = await _finished(intake, answer.json()["status_url"], headers, per_halaman=40, halaman=3)
    assert (len(last["errors"]), last["ada_halaman_berikutnya"]) == (ERRORS_KEPT - 80, False)
    lines = [e["line"] for e in first["errors"]] + [e["line"] for e in last["errors"]]
    assert lines == sorted(lines) and lines[0] == 7


async def test_parsing_stops_past_the_threshold_of_refused_rows_and_says_so(
    intake: httpx.AsyncClient, mongo_db: Any
) -> None:
    headers = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}
    rng = random.Random()
    good = [_row(rng, birth=dt.date(2008, 3, 1) + dt.timedelta(days=i)) for i in range(3)]
    content = _file(good + _bad_rows(rng, 5_200))
    answer = await intake.post("/imports/dapodik", headers=headers, files={"file": ("rusak.csv", content)})
    assert answer.status_code == 202, answer.text
    assert len(answer.content) < 100_000
    job = await _finished(intake, answer.json()["status_url"], headers)
    summary = job["ringkasan"]
    assert summary["ditolak"] == STOP_AFTER and summary["baris_dibaca"] == STOP_AFTER + 3
    assert summary["berhenti_di_baris"] == STOP_AFTER + 5  # header, 3 good rows, then the first row not read
    assert job["status"] == "gagal" and job["imported"] == 0
    assert f"{STOP_AFTER:,}".replace(",", ".") in job["message"] and "perbaiki" in job["message"].lower()
    assert len(job["errors"]) <= 100


# -- item 12: an implausible age ----------------------------------------------------------------------

async def _home_visit_ids(coverage: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    answer = await coverage.get("/planner/home-visits", params={"kecamatan": AGE_KEC, "per_halaman": 500},
                                headers=headers)
    assert answer.status_code == 200, answer.text
    return {row["resident_id"] for row in answer.json()["penduduk"]}


async def _print_requests(bootstrap: str, resident_ids: set[str]) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(RECORDING.name, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    found: dict[str, Any] = {}

    async def scan() -> dict[str, Any]:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                event = RECORDING_EVENTS.validate_json(record.value)
                if event.event_type == "recording.print_requested" and event.payload.resident_id in resident_ids:
                    found[event.payload.resident_id] = event.payload
        return found

    try:
        return await eventually(scan, lambda f: len(f) == len(resident_ids))
    finally:
        await consumer.stop()


AGE_KEC, AGE_DESA = "17.02.23", load_areas().kecamatan["17.02.23"].villages[0].code


async def test_an_implausible_age_is_flagged_for_review_and_drives_no_lansia_priority_until_reviewed(
    intake: httpx.AsyncClient, recording: httpx.AsyncClient, coverage: httpx.AsyncClient, mongo_db: Any,
    stack: Any,
) -> None:
    office = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=AGE_KEC)}
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    rng = random.Random()
    typo = {**synthetic_resident(rng, kecamatan=AGE_KEC, desa=AGE_DESA, birth=dt.date(1907, 8, 17)),
            "school_npsn": "10700123"}
    student_of_66 = {**synthetic_resident(rng, kecamatan=AGE_KEC, desa=AGE_DESA, birth=dt.date(1960, 1, 5)),
                     "school_npsn": "10700123"}
    elder = synthetic_resident(rng, kecamatan=AGE_KEC, desa=AGE_DESA, birth=dt.date(1950, 3, 1))
    before = await coverage_of(coverage, AGE_KEC)
    answers = [await intake.post("/residents", json=r, headers=office) for r in (typo, student_of_66, elder)]
    assert [a.status_code for a in answers] == [201, 201, 201], answers[0].text
    typo_id, student_id, elder_id = (a.json()["resident_id"] for a in answers)
    message = answers[0].json()["tinjauan_umur"]
    assert "119 tahun" in message and "tahun lahir" in message and "2007" in message
    assert "siswa" in answers[1].json()["tinjauan_umur"] and answers[2].json()["tinjauan_umur"] is None
    reviews = {r["resident_id"]: r for r in (await intake.get("/reviews", headers=office)).json()}
    assert reviews[typo_id]["alasan_umur"] == message and elder_id not in reviews
    await eventually(lambda: coverage_of(coverage, AGE_KEC), lambda r: r["terdaftar"] >= before["terdaftar"] + 3)
    listed = await eventually(lambda: _home_visit_ids(coverage, admin), lambda ids: elder_id in ids)
    assert typo_id not in listed and student_id not in listed
    reviewed = await intake.put(f"/residents/{typo_id}", headers=office,
                                json={**typo, "reason": "umur diperiksa pada kartu keluarga",
                                      "umur_sudah_diperiksa": True})
    assert reviewed.status_code == 200 and reviewed.json()["tinjauan_umur"] is None, reviewed.text
    assert typo_id not in {r["resident_id"] for r in (await intake.get("/reviews", headers=office)).json()}
    await eventually(lambda: _home_visit_ids(coverage, admin), lambda ids: typo_id in ids)
    now = dt.datetime.now(dt.UTC).isoformat()
    updates = [{"resident_id": r, "status": "PRR", "status_at": now} for r in (student_id, elder_id)]
    await eventually(lambda: recording.post("/siak/status", json={"updates": updates}, headers=admin),
                     lambda a: a.status_code == 200 and a.json()["diterima"] + a.json().get("diabaikan", 0) == 2)
    requests = await _print_requests(f"127.0.0.1:{stack.ports.kafka}", {student_id, elder_id})
    assert (requests[student_id].lansia, requests[elder_id].lansia) == (False, True)


# -- item 15: school names from Dapodik ---------------------------------------------------------------

async def test_the_school_name_of_a_dapodik_file_reaches_coverage_json_csv_dashboard_and_planner(
    intake: httpx.AsyncClient, coverage: httpx.AsyncClient, mongo_db: Any
) -> None:
    kec = "17.02.24"
    headers = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    rng = random.Random()
    npsn, name = f"109{rng.randrange(10**5):05d}", f"SMA Negeri Sintetis {rng.randrange(1000)} Rejang Lebong"
    rows = [_row(rng, birth=dt.date(2008, 4, 1) + dt.timedelta(days=i), npsn=npsn, school=f" {name} ", kecamatan=kec)
            for i in range(3)]
    answer = await intake.post("/imports/dapodik", headers=headers, files={"file": ("sekolah.csv", _file(rows))})
    job = await _finished(intake, answer.json()["status_url"], headers)
    assert job["imported"] == 3, job
    shown = f"{name} (NPSN {npsn})"

    async def school_rows() -> list[dict[str, Any]]:
        table = await coverage.get("/coverage/areas", params={"tingkat": "sekolah", "kecamatan": kec})
        return [row for row in table.json()["baris"] if row["kode"] == npsn]

    [row] = await eventually(school_rows, lambda found: len(found) == 1 and found[0]["terdaftar"] == 3)
    assert row["nama"] == shown
    csv_text = (await coverage.get("/coverage/areas", params={"tingkat": "sekolah", "kecamatan": kec,
                                                             "format": "csv"})).text
    assert shown in csv_text
    assert shown in (await coverage.get(f"/dasbor/kecamatan/{kec}")).text
    plan = (await coverage.get("/planner/visits", params={"minimal": 1})).json()
    assert shown in [place["nama"] for place in plan["peringkat"] if place["kode"] == npsn]
    students = (await coverage.get("/unrecorded", params={"sekolah": npsn}, headers=headers)).json()["penduduk"]
    assert [(s["sekolah"], s["sekolah_nama"]) for s in students] == [(npsn, name)] * 3


async def test_two_rows_of_one_file_naming_one_person_under_two_niks_are_both_flagged(
        intake: httpx.AsyncClient, mongo_db: Any) -> None:
    """The same name, birth date and desa under two NIKs in one upload: each is a possible duplicate of the
    other, although both are written in the same bulk."""
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    rng = random.Random()
    birth = dt.date(2008, 5, 1 + rng.randrange(27))
    first, second = (_row(rng, birth=birth, serial=serial) for serial in rng.sample(range(1, 9999), 2))
    name = f"Siswa Kembar Data {rng.randint(1, 10**6)}"
    first, second = (";".join([*row.split(";")[:2], name, *row.split(";")[3:]]) for row in (first, second))
    answer = await intake.post("/imports/dapodik", files={"file": ("dapodik.csv", _file([first, second]))},
                               headers=admin)
    assert answer.status_code == 202, answer.text
    job = await _finished(intake, answer.json()["status_url"], admin)
    assert (job["status"], job["imported"], job["flagged_for_review"]) == ("selesai", 2, 2), job
    from shared.pseudonym import resident_pseudonym
    from shared.settings import InfraSettings

    key = InfraSettings().pseudonym_key.get_secret_value()
    one, other = (resident_pseudonym(row.split(";")[1], key=key) for row in (first, second))
    reviews = {r["resident_id"]: r for r in (await intake.get("/reviews", headers=admin)).json()}
    assert reviews[one]["possible_duplicates"] == [other], reviews.get(one)
    assert reviews[other]["possible_duplicates"] == [one], reviews.get(other)
