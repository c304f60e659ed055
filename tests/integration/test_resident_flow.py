"""The thinnest flow end to end: HTTP intake -> Kafka -> coverage projection -> coverage API."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from tests.integration.helpers import coverage_of, create_office_key, eventually, running, synthetic_resident

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake", "coverage")


async def test_posted_resident_is_counted_in_its_kecamatan(services: dict[str, Any], mongo_db: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.07")
    rng = random.Random()
    async with httpx.AsyncClient(base_url=services["intake"].url) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url) as coverage:
        before = await coverage_of(coverage, "17.02.07")
        answer = await intake.post(
            "/residents", json=synthetic_resident(rng, kecamatan="17.02.07", desa="17.02.07.2001"),
            headers={"X-API-Key": key},
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["status"] == "diterima" and body["resident_id"].startswith("r")
        after = await eventually(
            lambda: coverage_of(coverage, "17.02.07"),
            lambda row: row["terdaftar"] == before["terdaftar"] + 1,
        )
        assert after["wajib_ktp"] == before["wajib_ktp"] + 1


async def test_repeated_request_with_same_idempotency_key_has_one_effect(
    services: dict[str, Any], mongo_db: Any
) -> None:
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    resident = synthetic_resident(random.Random(), kecamatan="17.02.08", desa="17.02.08.2001")
    headers = {"X-API-Key": key, "Idempotency-Key": "formulir-uji-001"}
    async with httpx.AsyncClient(base_url=services["intake"].url) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url) as coverage:
        before = await coverage_of(coverage, "17.02.08")
        first = await intake.post("/residents", json=resident, headers=headers)
        second = await intake.post("/residents", json=resident, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second.headers.get("Idempotent-Replay") == "true"
        reused = await intake.post("/residents", json={**resident, "name": "Lain"}, headers=headers)
        assert reused.status_code == 409
        await eventually(lambda: coverage_of(coverage, "17.02.08"),
                         lambda row: row["terdaftar"] == before["terdaftar"] + 1)
        marker = synthetic_resident(random.Random(), kecamatan="17.02.08", desa="17.02.08.2001")
        assert (await intake.post("/residents", json=marker, headers={"X-API-Key": key})).status_code == 201
        final = await eventually(lambda: coverage_of(coverage, "17.02.08"),
                                 lambda row: row["terdaftar"] >= before["terdaftar"] + 2)
        assert final["terdaftar"] == before["terdaftar"] + 2


async def test_bad_input_gets_a_clear_error_and_nothing_is_published(
    services: dict[str, Any], mongo_db: Any
) -> None:
    own = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.06")
    rng = random.Random()
    async with httpx.AsyncClient(base_url=services["intake"].url) as intake:
        assert (await intake.post("/residents", json=synthetic_resident(rng))).status_code == 401
        other = synthetic_resident(rng, kecamatan="17.02.09", desa="17.02.09.1012")
        assert (await intake.post("/residents", json=other, headers={"X-API-Key": own})).status_code == 403
        wrong_sex = {**synthetic_resident(rng), "sex": "L", "nik": "1702064507070001",
                     "birth_date": "2007-07-05"}
        answer = await intake.post("/residents", json=wrong_sex, headers={"X-API-Key": own})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "sex"
        bad_desa = {**synthetic_resident(rng), "desa_code": "17.02.07.2001"}
        answer = await intake.post("/residents", json=bad_desa, headers={"X-API-Key": own})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "desa_code"
        short = {**synthetic_resident(rng), "nik": "12345"}
        answer = await intake.post("/residents", json=short, headers={"X-API-Key": own})
        assert answer.status_code == 422
        assert "12345" not in answer.text
        huge = {**synthetic_resident(rng), "name": "x" * 200_000}
        answer = await intake.post("/residents", json=huge, headers={"X-API-Key": own})
        assert answer.status_code == 413


async def test_openapi_and_health(services: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=services["intake"].url) as intake:
        spec = (await intake.get("/openapi.json")).json()
        assert "/residents" in spec["paths"]
        health = (await intake.get("/health")).json()
        assert health["checks"] == {"kafka": "ok", "mongo": "ok"}
        assert (await intake.get("/health/ready")).json()["checks"] == {"kafka": "ok", "mongo": "ok"}
        assert (await intake.get("/health/live")).json() == {"service": "intake", "status": "ok"}
