"""Edge cases of intake's imports and registrations (issue 21): a file full of bad rows, dates
around midnight WIB, implausible ages and the school names of a Dapodik file. The services are
started once for the module; intake keeps few row errors and stops early, so the files stay small."""

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
from tests.integration.helpers import create_office_key

pytestmark = pytest.mark.infra
HEADER = "NISN;NIK;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;Desa/Kelurahan"
KEC = "17.02.22"
ERRORS_KEPT, STOP_AFTER = 100, 2_000


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    running = {"intake": start_service("intake", EKTP_INTAKE_IMPORT_ERRORS_KEPT=str(ERRORS_KEPT),
                                      EKTP_INTAKE_IMPORT_STOP_AFTER_REFUSED=str(STOP_AFTER))}
    yield running
    for service in running.values():
        service.stop()


@pytest.fixture
async def intake(services: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=services["intake"].url, timeout=60) as client:
        yield client


def _row(rng: random.Random, *, birth: dt.date, date_text: str | None = None, sex: str = "L",
         npsn: str = "10700123", school: str = "SMA Negeri Sintetis", serial: int | None = None) -> str:
    kec = load_areas().kecamatan[KEC]
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
