"""Printing tried as a clerk in a hurry would: a double click on "cetak ulang", on the running service."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.printing.domain import JobStatus, PrintJob
from services.printing.store import job_document
from shared.clock import WIB
from shared.contracts import Role
from shared.contracts.printing import PrintReason, PriorityClass
from tests.integration.helpers import create_office_key, eventually

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def printing(start_service: Any) -> Iterator[Any]:
    service = start_service("printing")
    yield service
    service.stop()


async def test_two_reprint_requests_at_once_queue_one_card(printing: Any, mongo_db: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    resident = "r" + uuid.uuid4().hex
    handed_over = PrintJob(job_id="job-" + uuid.uuid4().hex[:24], station_id="dinas-curup", resident_id=resident,
                           kecamatan_code="17.02.09", desa_code="17.02.09.1012", reason=PrintReason.PERTAMA,
                           priority_class=PriorityClass.PEMILIH_PEMULA, status=JobStatus.DISERAHKAN,
                           queued_at=dt.datetime(2025, 3, 1, 9, tzinfo=WIB))
    await mongo_db["print_jobs"].insert_one(job_document(handed_over))
    body = {"resident_id": resident, "reason": "hilang"}
    async with httpx.AsyncClient(base_url=printing.url, timeout=30) as client:
        answers = await asyncio.gather(*(
            client.post("/reprints", json=body, headers={"X-API-Key": key, "Idempotency-Key": f"klik-{n}"})
            for n in range(2)))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert "sudah diminta" in refused.json()["detail"] or "masih dalam antrean" in refused.json()["detail"]
        queued = next(a for a in answers if a.status_code == 201).json()["job_id"]

        async def jobs() -> list[str]:
            return sorted([doc["_id"] async for doc in mongo_db["print_jobs"].find({"resident_id": resident})])

        await eventually(jobs, lambda found: queued in found)
        await asyncio.sleep(1.0)  # a second card, had one been queued, arrives with the first
        assert await jobs() == sorted([handed_over.job_id, queued])
