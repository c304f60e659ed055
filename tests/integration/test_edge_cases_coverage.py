"""Coverage's downloads tried as a clerk and an attacker would, on the running services."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from tests.integration.helpers import create_office_key, eventually, synthetic_resident

pytestmark = pytest.mark.infra
KECAMATAN, DESA = "17.02.20", "17.02.20.2001"
FORMULA = '=HYPERLINK("http://contoh.invalid/x","klik")'


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    running = {"intake": start_service("intake"), "coverage": start_service("coverage")}
    yield running
    for service in running.values():
        service.stop()


async def test_a_name_that_looks_like_a_formula_is_text_in_the_csv_and_the_nik_keeps_its_digits(
    services: dict[str, Any], mongo_db: Any,
) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    resident = {**synthetic_resident(random.Random(), kecamatan=KECAMATAN, desa=DESA), "name": FORMULA}
    async with httpx.AsyncClient(base_url=services["intake"].url, headers={"X-API-Key": key}) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url, headers={"X-API-Key": key}) as coverage:
        assert (await intake.post("/residents", json=resident)).status_code == 201

        async def listed() -> list[dict[str, str]]:
            answer = await coverage.get("/unrecorded", params={"desa": DESA, "format": "csv"})
            assert answer.status_code == 200, answer.text
            return list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff")), delimiter=";"))

        rows = await eventually(listed, lambda rows: any(FORMULA in row.get("nama", "") for row in rows))
    row = next(row for row in rows if FORMULA in row["nama"])
    assert row["nama"] == "'" + FORMULA
    assert row["nik"] == f'="{resident["nik"]}"'
    assert not [cell for r in rows for name, cell in r.items() if name != "nik" and cell[:1] in ("=", "+", "@")]


async def test_a_list_of_people_longer_than_a_page_says_so_and_the_next_page_has_the_rest(
    services: dict[str, Any], mongo_db: Any,
) -> None:
    desa = "17.02.20.2002"
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    rng = random.Random()
    residents = [synthetic_resident(rng, kecamatan=KECAMATAN, desa=desa) for _ in range(3)]
    async with httpx.AsyncClient(base_url=services["intake"].url, headers={"X-API-Key": key}) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url, headers={"X-API-Key": key}) as coverage:
        for resident in residents:
            assert (await intake.post("/residents", json=resident)).status_code == 201

        async def page(number: int, **extra: str) -> httpx.Response:
            return await coverage.get("/unrecorded", params={"desa": desa, "per_halaman": 2, "halaman": number,
                                                             **extra})

        first = await eventually(lambda: page(1), lambda a: a.status_code == 200 and a.json()["jumlah"] == 2
                                 and a.json()["ada_halaman_berikutnya"])
        second = (await page(2)).json()
        as_csv = await page(1, format="csv")
    assert second["jumlah"] == 1 and not second["ada_halaman_berikutnya"]
    assert "halaman 2" in first.json()["catatan"]
    niks = {p["nik"] for p in first.json()["penduduk"] + second["penduduk"]}
    assert niks == {r["nik"] for r in residents}
    assert as_csv.headers["X-Halaman-Berikutnya"] == "2"
