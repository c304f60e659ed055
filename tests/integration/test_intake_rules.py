"""Intake rules against the real broker and FerretDB: one NIK one resident, corrections, leaving,
cohorts, review flags, roles and the audit trail."""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.intake.store import AUDIT
from shared.contracts import Role
from tests.integration.helpers import coverage_of, create_office_key, eventually, running, synthetic_resident

pytestmark = pytest.mark.infra
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake", "coverage")


@pytest.fixture
async def clients(services: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=services["intake"].url) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url) as coverage:
        yield intake, coverage


def _years_ago(years: int, days: int = 0) -> dt.date:
    day = TODAY - dt.timedelta(days=days)
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


async def test_same_nik_twice_is_one_resident(clients: Any, mongo_db: Any) -> None:
    intake, _ = clients
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.17")
    resident = synthetic_resident(random.Random(), kecamatan="17.02.17", desa="17.02.17.1001")
    first = await intake.post("/residents", json=resident, headers={"X-API-Key": key})
    assert first.status_code == 201
    again = await intake.post("/residents", json={**resident, "name": "Nama Lain"}, headers={"X-API-Key": key})
    assert again.status_code == 409
    assert again.json()["detail"]["resident_id"] == first.json()["resident_id"]


async def test_same_person_under_two_niks_is_flagged_not_merged(clients: Any, mongo_db: Any) -> None:
    intake, _ = clients
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    rng = random.Random()
    one = synthetic_resident(rng, kecamatan="17.02.18", desa="17.02.18.1001", birth=dt.date(2007, 3, 3))
    two = {**one, "nik": one["nik"][:12] + f"{(int(one['nik'][12:]) % 9998) + 1:04d}",
           "name": "  " + one["name"].upper() + " "}
    assert (await intake.post("/residents", json=one, headers={"X-API-Key": key})).status_code == 201
    answer = await intake.post("/residents", json=two, headers={"X-API-Key": key})
    assert answer.status_code == 201
    first_id = (await intake.post("/residents", json=one, headers={"X-API-Key": key})).json()["detail"]["resident_id"]
    assert answer.json()["perlu_tinjauan"] == [first_id]
    reviews = (await intake.get("/reviews", headers={"X-API-Key": key})).json()
    assert any(r["resident_id"] == answer.json()["resident_id"] and first_id in r["possible_duplicates"]
               for r in reviews)


async def test_correction_moves_the_resident_and_cannot_change_the_nik(clients: Any, mongo_db: Any) -> None:
    intake, coverage = clients
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.19")
    headers = {"X-API-Key": key}
    resident = synthetic_resident(random.Random(), kecamatan="17.02.19", desa="17.02.19.1001")
    before = await coverage_of(coverage, "17.02.19")
    created = (await intake.post("/residents", json=resident, headers=headers)).json()
    rid = created["resident_id"]
    moved = await intake.put(f"/residents/{rid}", headers=headers,
                             json={**resident, "desa_code": "17.02.19.1002", "reason": "salah desa"})
    assert moved.status_code == 200, moved.text
    detail = (await intake.get(f"/residents/{rid}", headers=headers)).json()
    assert detail["desa_code"] == "17.02.19.1002"
    other_nik = resident["nik"][:12] + ("0002" if resident["nik"][12:] != "0002" else "0003")
    refused = await intake.put(f"/residents/{rid}", headers=headers,
                               json={**resident, "nik": other_nik, "reason": "ganti NIK"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "nik"
    after = await eventually(lambda: coverage_of(coverage, "17.02.19"),
                             lambda row: row["terdaftar"] == before["terdaftar"] + 1)
    assert after["wajib_ktp"] == before["wajib_ktp"] + 1


async def test_leaving_removes_the_resident_from_the_counts(clients: Any, mongo_db: Any) -> None:
    intake, coverage = clients
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.20")
    headers = {"X-API-Key": key}
    before = await coverage_of(coverage, "17.02.20")
    resident = synthetic_resident(random.Random(), kecamatan="17.02.20", desa="17.02.20.2001")
    rid = (await intake.post("/residents", json=resident, headers=headers)).json()["resident_id"]
    await eventually(lambda: coverage_of(coverage, "17.02.20"),
                     lambda row: row["terdaftar"] == before["terdaftar"] + 1)
    future = await intake.post(f"/residents/{rid}/keluar", headers=headers,
                               json={"reason": "pindah", "effective_date": (TODAY + dt.timedelta(days=5)).isoformat()})
    assert future.status_code == 422
    left = await intake.post(f"/residents/{rid}/keluar", headers=headers,
                             json={"reason": "pindah", "effective_date": TODAY.isoformat()})
    assert left.status_code == 200
    await eventually(lambda: coverage_of(coverage, "17.02.20"),
                     lambda row: row["terdaftar"] == before["terdaftar"])
    again = await intake.post(f"/residents/{rid}/keluar", headers=headers,
                              json={"reason": "meninggal", "effective_date": TODAY.isoformat()})
    assert again.status_code == 404


async def test_sixteen_year_old_is_registered_early_and_appears_in_the_cohort(
    clients: Any, mongo_db: Any
) -> None:
    intake, coverage = clients
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.21")
    headers = {"X-API-Key": key}
    birth = _years_ago(17, days=-60)
    resident = synthetic_resident(random.Random(), kecamatan="17.02.21", desa="17.02.21.2001", birth=birth)
    before = await coverage_of(coverage, "17.02.21")
    created = (await intake.post("/residents", json=resident, headers=headers)).json()
    expected_from = birth.replace(year=birth.year + 17) if not (birth.month == 2 and birth.day == 29) else None
    if expected_from:
        assert created["wajib_ktp_from"] == expected_from.isoformat()
    after = await eventually(lambda: coverage_of(coverage, "17.02.21"),
                             lambda row: row["terdaftar"] == before["terdaftar"] + 1)
    assert after["wajib_ktp"] == before["wajib_ktp"]
    election = TODAY + dt.timedelta(days=90)
    later = await eventually(
        lambda: coverage_of(coverage, "17.02.21", tanggal=election.isoformat()),
        lambda row: row["terdaftar"] == before["terdaftar"] + 1)
    assert later["wajib_ktp"] >= before["wajib_ktp"] + 1
    audits_before = await mongo_db[AUDIT].count_documents({"action": "baca_kohort"})
    cohort = await intake.get("/cohort", headers=headers,
                              params={"tanggal": election.isoformat(), "kecamatan_code": "17.02.21"})
    assert cohort.status_code == 200
    assert created["resident_id"] in [r["resident_id"] for r in cohort.json()["baru_wajib_ktp"]]
    assert await mongo_db[AUDIT].count_documents({"action": "baca_kohort"}) == audits_before + 1
    other = await intake.get("/cohort", headers=headers,
                             params={"tanggal": election.isoformat(), "kecamatan_code": "17.02.06"})
    assert other.status_code == 403


async def test_nik_from_another_regency_is_accepted_and_flagged(clients: Any, mongo_db: Any) -> None:
    intake, _ = clients
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    resident = synthetic_resident(random.Random(), kecamatan="17.02.22", desa="17.02.22.2001")
    resident["nik"] = "317101" + resident["nik"][6:]
    answer = await intake.post("/residents", json=resident, headers={"X-API-Key": key})
    assert answer.status_code == 201 and answer.json()["nik_from_other_regency"] is True


async def test_roles_that_may_not_write_get_403(clients: Any, mongo_db: Any) -> None:
    intake, _ = clients
    resident = synthetic_resident(random.Random(), kecamatan="17.02.23", desa="17.02.23.2001")
    for role in (Role.FIELD_TEAM, Role.PRINT_STATION):
        key = await create_office_key(mongo_db, role=role, kecamatan="17.02.23")
        assert (await intake.post("/residents", json=resident, headers={"X-API-Key": key})).status_code == 403


def test_office_keys_are_created_and_revoked_with_the_cli(services: dict[str, Any], infra_env: dict[str, str]) -> None:
    env = {**infra_env}
    office = f"kec-uji-{random.randrange(10**6)}"
    created = subprocess.run(
        [sys.executable, "-m", "shared.offices", "office", "create", "--id", office, "--name", "Uji",
         "--role", "kecamatan_office", "--kecamatan", "17.02.24"],
        env={**os.environ, **env}, capture_output=True, text=True, check=True)
    key = created.stdout.strip().splitlines()[-1]
    resident = synthetic_resident(random.Random(), kecamatan="17.02.24", desa="17.02.24.2001")
    url = f"{services['intake'].url}/residents"
    assert httpx.post(url, json=resident, headers={"X-API-Key": key}).status_code == 201
    subprocess.run([sys.executable, "-m", "shared.offices", "office", "revoke", "--id", office],
                   env={**os.environ, **env}, capture_output=True, text=True, check=True)
    other = synthetic_resident(random.Random(), kecamatan="17.02.24", desa="17.02.24.2001")
    assert httpx.post(url, json=other, headers={"X-API-Key": key}).status_code == 401
    listing = subprocess.run([sys.executable, "-m", "shared.offices", "office", "list"],
                             env={**os.environ, **env}, capture_output=True, text=True, check=True)
    assert office in listing.stdout and key not in listing.stdout


def test_a_deployment_registers_the_web_apps_key_from_its_secret_file(
    services: dict[str, Any], infra_env: dict[str, str], tmp_path: Path
) -> None:
    """compose's web-key job: the key in secrets/web-service-key becomes the web app's on-behalf key."""
    env = {**os.environ, **infra_env}
    office = f"kec-uji-{random.randrange(10**6)}"
    subprocess.run([sys.executable, "-m", "shared.offices", "office", "create", "--id", office, "--name", "Uji",
                    "--role", "kecamatan_office", "--kecamatan", "17.02.24"], env=env, capture_output=True, check=True)
    key_file = tmp_path / "web-service-key"
    key_file.write_text("ektp_" + secrets.token_urlsafe(32) + "\n")
    web_id = f"web-uji-{random.randrange(10**6)}"
    registered = subprocess.run([sys.executable, "-m", "shared.offices", "office", "web-key", "--id", web_id,
                                 "--key-file", str(key_file)], env=env, capture_output=True, text=True, check=True)
    assert key_file.read_text().strip() not in registered.stdout
    url = f"{services['intake'].url}/residents"
    resident = synthetic_resident(random.Random(), kecamatan="17.02.24", desa="17.02.24.2001")
    key = key_file.read_text().strip()
    assert httpx.post(url, json=resident, headers={"X-API-Key": key}).status_code in (401, 403)
    acting = {"X-API-Key": key, "X-Atas-Nama-Kantor": office, "X-Petugas": "siti"}
    assert httpx.post(url, json=resident, headers=acting).status_code == 201
    key_file.write_text("pendek")
    refused = subprocess.run([sys.executable, "-m", "shared.offices", "office", "web-key", "--id", web_id,
                              "--key-file", str(key_file)], env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "minimal" in refused.stderr
