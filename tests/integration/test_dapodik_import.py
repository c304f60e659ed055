"""Dapodik CSV imports against the real broker: messy files, per-row errors, progress, re-upload."""

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
from tests.integration.helpers import coverage_of, create_office_key, eventually, running

pytestmark = pytest.mark.infra
HEADER = "NISN;NIK;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;Desa/Kelurahan"


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake", "coverage")


def dapodik_csv(rows: int, *, seed: int, kecamatan: list[str], bad_every: int = 0) -> tuple[bytes, int]:
    """A Dapodik-like export: BOM, semicolons, dd/mm/yyyy, stray spaces, names for places."""
    rng = random.Random(seed)
    areas = load_areas()
    lines = [HEADER]
    bad = 0
    used: set[str] = set()
    for i in range(rows):
        kec = areas.kecamatan[rng.choice(kecamatan)]
        desa = rng.choice(kec.villages)
        birth = dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange(700))
        sex = rng.choice("LP")
        day = birth.day + (40 if sex == "P" else 0)
        while True:
            nik = f"{kec.nik_digits}{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
            if nik not in used:
                used.add(nik)
                break
        date_text = birth.strftime("%d/%m/%Y")
        if bad_every and i % bad_every == 0:
            bad += 1
            date_text = "31/02/2008"
        lines.append(";".join([
            f"00{rng.randint(10**7, 10**8 - 1)}", f" {nik} ", f"Siswa Sintetis {seed}-{i}",
            "Laki-laki" if sex == "L" else "Perempuan", "Curup", date_text, "10700123",
            " SMA Negeri Sintetis ", kec.name, desa.name,
        ]))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode(), rows - bad


async def wait_job(client: httpx.AsyncClient, url: str, headers: dict[str, str], timeout: float = 900) -> Any:
    seen_progress = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = (await client.get(url, headers=headers)).json()
        seen_progress.add(job["progress_percent"])
        if job["status"] != "berjalan":
            return job, seen_progress
        await asyncio.sleep(0.3)
    raise AssertionError(f"import still running after {timeout} s: {job}")


@pytest.fixture
def intake_alone(start_service: Any) -> Iterator[Any]:
    """Only the intake service, so the measurement is of the import, not of the projectors."""
    service = start_service("intake")
    yield service
    service.stop()


@pytest.mark.heavy
async def test_ten_thousand_rows_in_one_upload_with_progress_and_row_errors(intake_alone: Any, mongo_db: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    headers = {"X-API-Key": key}
    content, valid = dapodik_csv(10_000, seed=random.randrange(10**6), kecamatan=["17.02.09", "17.02.10"],
                                 bad_every=500)
    async with httpx.AsyncClient(base_url=intake_alone.url, timeout=60) as intake:
        began = time.monotonic()
        answer = await intake.post("/imports/dapodik", headers=headers,
                                   files={"file": ("dapodik.csv", content, "text/csv")})
        assert answer.status_code == 202, answer.text
        job, progress = await wait_job(intake, answer.json()["status_url"], headers)
        took = time.monotonic() - began
        print(f"\n10,000-row Dapodik import: {took:.1f} s ({10_000 / took:.0f} rows/s)")
        assert job["status"] == "selesai", job
        assert job["total_rows"] == 10_000 and job["valid_rows"] == valid
        assert job["imported"] == valid and job["processed"] == valid
        assert len(job["errors"]) == 10_000 - valid
        assert all(e["line"] >= 2 and e["column"] == "Tanggal Lahir" for e in job["errors"])
        assert len(progress) > 2, progress
        again = await intake.post("/imports/dapodik", headers=headers,
                                  files={"file": ("lagi.csv", content, "text/csv")})
        assert again.status_code == 200 and again.json()["job_id"] == job["job_id"]
        assert again.json()["imported"] == valid


async def test_reupload_adds_nothing_and_coverage_counts_the_students(
    services: dict[str, Any], mongo_db: Any
) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.11")
    headers = {"X-API-Key": key}
    content, valid = dapodik_csv(60, seed=random.randrange(10**6), kecamatan=["17.02.11"])
    async with httpx.AsyncClient(base_url=services["intake"].url, timeout=60) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url) as coverage:
        before = await coverage_of(coverage, "17.02.11")
        first = await intake.post("/imports/dapodik", headers=headers, files={"file": ("a.csv", content)})
        job, _ = await wait_job(intake, first.json()["status_url"], headers)
        assert job["imported"] == valid == 60
        other_office = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
        second = await intake.post("/imports/dapodik", headers={"X-API-Key": other_office},
                                   files={"file": ("a.csv", content)})
        job2, _ = await wait_job(intake, second.json()["status_url"], {"X-API-Key": other_office})
        assert job2["imported"] == 0 and job2["already_registered"] == 60
        after = await eventually(lambda: coverage_of(coverage, "17.02.11"),
                                 lambda row: row["terdaftar"] >= before["terdaftar"] + 60, timeout=90)
        await asyncio.sleep(2)
        assert (await coverage_of(coverage, "17.02.11"))["terdaftar"] == after["terdaftar"] == before["terdaftar"] + 60


async def test_rows_of_another_kecamatan_are_refused_for_a_kecamatan_office(
    services: dict[str, Any], mongo_db: Any
) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.16")
    content, _ = dapodik_csv(10, seed=random.randrange(10**6), kecamatan=["17.02.17"])
    async with httpx.AsyncClient(base_url=services["intake"].url, timeout=60) as intake:
        answer = await intake.post("/imports/dapodik", headers={"X-API-Key": key}, files={"file": ("x.csv", content)})
        job, _ = await wait_job(intake, answer.json()["status_url"], {"X-API-Key": key})
    assert job["imported"] == 0 and len(job["errors"]) == 10
    assert "kecamatan" in job["errors"][0]["reason"]


async def test_bad_files_get_a_clear_4xx(services: dict[str, Any], mongo_db: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=services["intake"].url, timeout=60) as intake:
        missing = await intake.post("/imports/dapodik", headers=headers,
                                    files={"file": ("m.csv", b"NISN;Nama\n123;Budi\n")})
        assert missing.status_code == 422
        assert "NIK" in missing.json()["missing_columns"]
        assert {"field": "NIK", "reason": "kolom wajib ini tidak ada di baris judul file"} in missing.json()["errors"]
        latin1 = (HEADER + "\n1;1702064507070001;Siti Ma\xefmunah;P;Curup;05/07/2007;10700123;SMA;Kota Padang;Derati\n")
        wrong = await intake.post("/imports/dapodik", headers=headers,
                                  files={"file": ("l.csv", latin1.encode("latin-1"))})
        assert wrong.status_code == 422 and "UTF-8" in wrong.json()["detail"] and wrong.json()["errors"][0]["field"] == "file"
        huge = await intake.post("/imports/dapodik", headers=headers,
                                 files={"file": ("h.csv", b"x" * (9 * 1024 * 1024))})
        assert huge.status_code == 413
