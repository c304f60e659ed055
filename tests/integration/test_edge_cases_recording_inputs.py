"""Edge cases of recording's inputs found trying the system as a new user would (issue 21): a SIAK
file with a stray quote, events too large for the consumers, and visits at another kecamatan's
place. The recording service is started once for the module."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.clock import WIB
from shared.contracts import Role
from shared.topics import RESIDENT
from tests.integration.helpers import create_office_key, enrolled_event, eventually

pytestmark = pytest.mark.infra
KEC, DESA = "17.02.23", "17.02.23.2001"
OTHER_KEC, OTHER_DESA = "17.02.24", "17.02.24.2001"


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    running = {"recording": start_service("recording")}
    yield running
    for service in running.values():
        service.stop()


@pytest.fixture
async def recording(services: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=services["recording"].url, timeout=60) as client:
        yield client


async def enrolled(kafka_producer: Any, n: int, *, kecamatan: str = KEC, desa: str = DESA) -> list[Any]:
    """n residents put on the roster topic (not yet waited for)."""
    rng = random.Random()
    events = [enrolled_event(rng, kecamatan=kecamatan, desa=desa) for _ in range(n)]
    sent = [await kafka_producer.send(RESIDENT.name, e.model_dump_json().encode(), key=e.payload.resident_id.encode())
            for e in events]
    for delivery in sent:
        await delivery
    return events


async def in_roster(mongo_db: Any, ids: list[str]) -> None:
    """Wait until recording keeps every one of these residents in its roster."""
    async def count() -> int:
        return await mongo_db["recording_residents"].count_documents({"_id": {"$in": ids}, "in_roster": True})

    await eventually(count, lambda n: n == len(ids))


def _english(text: str) -> bool:
    return any(word in text for word in ("String should", "should match", "List should", "Input should",
                                         "Value error", "at most"))


# -- item 1: a SIAK file with a stray quote, day-first dates, extra cells ------------------------------

async def test_a_siak_file_with_an_unclosed_quote_answers_every_data_line(
    recording: httpx.AsyncClient, mongo_db: Any, kafka_producer: Any
) -> None:
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    events = await enrolled(kafka_producer, 5)
    niks = [e.payload.nik for e in events]
    ids = [e.payload.resident_id for e in events]
    await in_roster(mongo_db, ids)
    today = dt.date.today()
    csv_text = ("NIK;STATUS;TANGGAL\n"
                f"{niks[0]};SFE;{today.isoformat()}\n"
                f'{niks[1]};"PRR;{today:%d/%m/%Y}\n'
                f"{niks[2]};PRR;{today:%d/%m/%Y}\n"
                f"{niks[3]};SFE;{today.isoformat()};catatan\n"
                f"{niks[4]};SFE;31/02/2024\n")
    answer = await recording.post("/siak/import", headers=admin, files={"file": ("siak.csv", csv_text.encode())})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["hasil"]
    assert [(r["baris"], r["hasil"]) for r in rows] == [
        (2, "diterima"), (3, "ditolak"), (4, "diterima"), (5, "ditolak"), (6, "ditolak")]
    assert answer.json()["diterima"] == 2
    quote, extra, date = rows[1]["alasan"], rows[3]["alasan"], rows[4]["alasan"]
    assert "kutip" in quote and "sel" in extra and "TANGGAL" in date
    assert not any(_english(r["alasan"] or "") for r in rows) and "status_at" not in answer.text
    assert not any(nik in answer.text for nik in niks)
    status = await eventually(lambda: recording.get(f"/residents/{ids[2]}/status", headers=admin),
                              lambda r: r.json()["stage"] == "prr")
    assert dt.datetime.fromisoformat(status.json()["since"]) == dt.datetime.combine(today, dt.time(), WIB)
