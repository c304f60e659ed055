"""The articles' situation seeded through the services' APIs; the coverage API and dashboard show it.

At EKTP_SCENARIO_SCALE=1 (make test-scale) this is the full regency: 211,077 wajib KTP, 13,000 of
them not recorded, 7,000 students turning 17 within a year, 1,200 blangko in the warehouse. The
default suite runs the same population at 1/50 so it stays within a few minutes on two cores.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.demo.population import BLANGKO_IN_STOCK, DONE_KECAMATAN, Population, build
from shared.clock import WIB
from shared.contracts import Role
from tests.integration.helpers import create_office_key, eventually, isolated_env, running
from tests.support.processes import REPO

pytestmark = [pytest.mark.infra, pytest.mark.heavy]
SCALE = float(os.environ.get("EKTP_SCENARIO_SCALE", "0.02"))
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def own(infra_env: dict[str, str]) -> dict[str, str]:
    """Topics and a database of this module alone: the regency's figures must not mix with other tests'."""
    return isolated_env(infra_env, "articles")


@pytest.fixture(scope="module")
def services(start_service: Any, own: dict[str, str]) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake", "recording", "inventory", "coverage", common=own)


@pytest.fixture(scope="module")
def population() -> Population:
    return build(scale=SCALE, today=dt.datetime.now(WIB).date())


async def _import_all(client: httpx.AsyncClient, key: str, people: list[Any]) -> dict[str, str]:
    """Upload the roster as the offices do (a population and a Dapodik file per kecamatan) and wait for every
    import job; returns NIK -> resident id."""
    from deploy.demo.play import roster_file, roster_uploads
    from shared.pseudonym import resident_pseudonym
    from shared.settings import InfraSettings

    jobs = []
    for path, group in roster_uploads(people):
        answer = await client.post(path, files={"file": ("data.csv", roster_file(group), "text/csv")},
                                   headers={"X-API-Key": key})
        assert answer.status_code == 202 and answer.json()["valid_rows"] == len(group), answer.text
        jobs.append(answer.json()["job_id"])

    async def views() -> list[dict[str, Any]]:
        return [(await client.get(f"/imports/{job}", headers={"X-API-Key": key})).json() for job in jobs]

    done = await eventually(views, lambda vs: all(v["status"] != "berjalan" for v in vs), timeout=1800)
    assert all(v["status"] == "selesai" for v in done), [v["message"] for v in done]
    assert sum(v["imported"] for v in done) == len(people)
    pseudonym_key = InfraSettings().pseudonym_key.get_secret_value()
    return {p.nik: resident_pseudonym(p.nik, key=pseudonym_key) for p in people}


@pytest.fixture(scope="module")
async def seeded(services: dict[str, Any], population: Population, infra_env: dict[str, str],
                 own: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra_env["EKTP_MONGO_URL"], tz_aware=True)
    mongo_db = client[own["EKTP_MONGO_DATABASE"]]
    admin = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    async with httpx.AsyncClient(base_url=services["intake"].url, timeout=60) as intake, \
            httpx.AsyncClient(base_url=services["recording"].url, timeout=300) as recording, \
            httpx.AsyncClient(base_url=services["inventory"].url, timeout=60) as inventory:
        ids = await _import_all(intake, admin, population.people)
        recorded = [ids[p.nik] for p in population.adults if p.recorded]
        last = recorded[-1]

        async def recording_knows_everyone() -> int:
            return await mongo_db["recording_residents"].count_documents({"in_roster": True})

        await eventually(recording_knows_everyone, lambda n: n == len(population.people), timeout=600)
        assert (await recording.get(f"/residents/{last}/status", headers={"X-API-Key": admin})).status_code == 200
        now = dt.datetime.now(dt.UTC)
        for start in range(0, len(recorded), 5000):
            captures = [{"event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": r, "device_id": "tab-01",
                         "operator": "petugas", "device_time": (now - dt.timedelta(hours=2)).isoformat(),
                         "biometrics": ["foto", "sidik_jari", "iris", "tanda_tangan"]}
                        for r in recorded[start:start + 5000]]
            answer = await recording.post("/batches", json={"device_id": "tab-01", "events": captures},
                                          headers={"X-API-Key": admin})
            assert answer.status_code == 200 and answer.json()["ringkasan"]["diterima"] == len(captures), answer.text
        receipt = await inventory.post("/receipts", json={"quantity": BLANGKO_IN_STOCK, "document_no": "BAST/01/2024"},
                                       headers={"X-API-Key": admin})
        assert receipt.status_code == 201, receipt.text
    yield {"admin": admin, "ids": ids}
    await client.close()


async def _caught_up(coverage: httpx.AsyncClient, population: Population) -> dict[str, Any]:
    expected = population.expected()

    async def kabupaten() -> dict[str, Any]:
        return dict((await coverage.get("/coverage")).json()["kabupaten"])

    await eventually(kabupaten, lambda k: k["terdaftar"] == len(population.people)
                     and k["direkam"] == expected["direkam"], timeout=900)
    await eventually(lambda: coverage.get("/stock"), lambda r: r.json()["stok_total"] == BLANGKO_IN_STOCK, timeout=120)
    return await kabupaten()


async def test_coverage_api_shows_the_articles_numbers(
    services: dict[str, Any], seeded: dict[str, Any], population: Population
) -> None:
    expected = population.expected()
    today = population.today
    async with httpx.AsyncClient(base_url=services["coverage"].url, timeout=120) as coverage:
        kab = await _caught_up(coverage, population)
        assert kab["wajib_ktp"] == expected["wajib_ktp"]
        assert kab["wajib_ktp"] - kab["direkam"] == expected["belum_rekam_wajib"]
        table = (await coverage.get("/coverage/areas", params={
            "akan_wajib_sampai": today.replace(year=today.year + 1).isoformat()})).json()
        assert table["kabupaten"]["akan_wajib_ktp"] == expected["akan_wajib_ktp"]
        assert table["kabupaten"]["cakupan_rekam"] == {
            "jumlah": expected["direkam"], "dari": expected["wajib_ktp"],
            "persen": round(100 * expected["direkam"] / expected["wajib_ktp"], 1)}
        per_kec = population.per_kecamatan()
        for row in table["baris"]:
            assert row["wajib_ktp"] == per_kec[row["kode"]]["wajib_ktp"], row["nama"]
            assert row["direkam"] == per_kec[row["kode"]]["direkam"], row["nama"]
        assert all(row["wajib_ktp"] == row["direkam"] for row in table["baris"] if row["kode"] in DONE_KECAMATAN)
        assert sum(r["wajib_ktp"] for r in table["baris"]) == kab["wajib_ktp"]
        stock = (await coverage.get("/stock")).json()
        assert {r["lokasi"]: r["stok"] for r in stock["baris"]}["gudang"] == BLANGKO_IN_STOCK
        csv_text = (await coverage.get("/coverage/areas", params={"format": "csv"})).text
        assert csv_text.count("\n") == 16 and "cakupan_rekam_persen" in csv_text.splitlines()[0]
        plan = (await coverage.get("/planner/visits", params={"minggu": 4})).json()
        assert len(plan["kunjungan"]) == 12
        # Villages of the three finished kecamatan need no visit; their schools still do (students turning 17).
        assert all(v["kecamatan"] not in DONE_KECAMATAN for v in plan["kunjungan"] if v["jenis"] == ["desa"])
        assert plan["peringkat"][0]["belum_rekam"] >= plan["peringkat"][-1]["belum_rekam"]
        assert all(v["jumlah_penduduk"] <= 50 for v in plan["kunjungan"])


def _shown(html: str, number: int) -> bool:
    """A number as the dashboard writes it (Indonesian thousands separator)."""
    return f"{number:,}".replace(",", ".") in re.sub(r"<[^>]+>", " ", html)


async def test_dashboard_shows_the_numbers_and_renders_in_chromium(
    services: dict[str, Any], seeded: dict[str, Any], population: Population
) -> None:
    expected = population.expected()
    async with httpx.AsyncClient(base_url=services["coverage"].url, timeout=120) as coverage:
        await _caught_up(coverage, population)
        html = (await coverage.get("/dasbor")).text
        assert "Cakupan KTP-el Kabupaten Rejang Lebong" in html and "http" not in html.split("<body>")[0].lower()
        assert not re.search(r"""(src|href)=["']https?://""", html), "the dashboard must not load anything online"
        for figure in (expected["wajib_ktp"], expected["direkam"], expected["belum_rekam_wajib"],
                       expected["akan_wajib_ktp"], BLANGKO_IN_STOCK):
            assert _shown(html, figure), figure
        # A kecamatan's tile counts the same people as its percentage: wajib KTP not yet recorded.
        curup = population.per_kecamatan()["17.02.09"]
        assert f"{curup['belum_rekam']:,}".replace(",", ".") + " wajib KTP" in re.sub(r"<[^>]+>", " ", html)
        detail = (await coverage.get("/dasbor/kecamatan/17.02.09")).text
        assert "Kecamatan Curup" in detail and _shown(detail, population.per_kecamatan()["17.02.09"]["wajib_ktp"])

    shot = await asyncio.to_thread(_screenshot, f"{services['coverage'].url}/dasbor")
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _screenshot(url: str) -> Path:
    """Render `url` in Debian's headless Chromium (installed on first use) into test-artifacts/dasbor.png."""
    from deploy.local.components import ensure_debian_package

    chromium = ensure_debian_package("chromium", "chromium", part="chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dasbor.png"
    shot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             f"--user-data-dir={profile}", "--window-size=1400,1800", f"--screenshot={shot}", url],
            capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists(), done.stderr[-2000:]
    return shot


async def test_unrecorded_list_only_for_own_kecamatan_and_dinas_and_every_read_audited(
    services: dict[str, Any], seeded: dict[str, Any], population: Population, infra_env: dict[str, str],
    own: dict[str, str],
) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra_env["EKTP_MONGO_URL"], tz_aware=True)
    db = client[own["EKTP_MONGO_DATABASE"]]
    target = next(p for p in population.adults if not p.recorded)
    desa = target.desa_code
    own = await create_office_key(db, role=Role.KECAMATAN_OFFICE, kecamatan=target.kecamatan_code, office_id="kec-own")
    other_kec = next(c for c in population.per_kecamatan() if c != target.kecamatan_code)
    other = await create_office_key(db, role=Role.KECAMATAN_OFFICE, kecamatan=other_kec, office_id="kec-other")
    expected = sorted(p.nik for p in population.adults if p.desa_code == desa and not p.recorded)
    students = sorted(p.nik for p in population.people if p.desa_code == desa and p.school_npsn)
    audit = db["coverage_audit_log"]
    async with httpx.AsyncClient(base_url=services["coverage"].url, timeout=60) as coverage:
        await _caught_up(coverage, population)
        before = await audit.count_documents({"office_id": "kec-own"})
        answer = await coverage.get("/unrecorded", params={"desa": desa}, headers={"X-API-Key": own})
        assert answer.status_code == 200, answer.text
        assert sorted(r["nik"] for r in answer.json()["penduduk"]) == sorted(expected + students)
        assert await audit.count_documents({"office_id": "kec-own"}) == before + 1
        assert (await coverage.get("/unrecorded", params={"desa": desa}, headers={"X-API-Key": other})).status_code == 403
        assert (await coverage.get("/unrecorded", params={"desa": desa})).status_code == 401
        assert await audit.count_documents({"office_id": "kec-other"}) == 0
        csv_answer = await coverage.get("/unrecorded", params={"desa": desa, "format": "csv"},
                                        headers={"X-API-Key": seeded["admin"]})
        assert csv_answer.status_code == 200 and target.nik in csv_answer.text
        assert (await coverage.get("/unrecorded", params={"desa": "17.02.99.2001"},
                                   headers={"X-API-Key": own})).status_code == 404
    await client.close()
