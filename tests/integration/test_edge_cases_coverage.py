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
