"""The print queue's order through the real broker: the default policy, then another one from settings.

The session's print requests share one recording topic and one printing consumer group: requests other tests
left unconsumed reach this test's printing service and go to its fallback station. The queue under test
belongs to a station of its own, serving a kecamatan no other test uses.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from shared.contracts.recording import PrintRequested
from tests.integration.helpers import create_office_key, eventually
from tests.integration.printing_helpers import print_request, send_print_request
from tests.support.plugin import SESSION_ID

pytestmark = pytest.mark.infra
PREFIX = f"o{SESSION_ID[:6]}"
STATION = f"{PREFIX}-antrean"
KECAMATAN = "98.00.01"  # fictional, this test's own (the station contention test uses 99.*)
DESA = f"{KECAMATAN}.2001"
TARGET = dt.date(2029, 2, 14)


def write_stations(path: Path) -> dict[str, str]:
    """A fallback for everyone else's requests, and the station under test serving only KECAMATAN."""
    path.write_text("station_id,nama,kecamatan_codes,cadangan\n"
                    f"{PREFIX}-pusat,Stasiun uji pusat,17.02.09,ya\n"
                    f"{STATION},Stasiun uji antrean,{KECAMATAN},tidak\n")
    return {"EKTP_STATIONS_CSV": str(path)}


def ours(**fields: Any) -> PrintRequested:
    return print_request(kecamatan=KECAMATAN, desa=DESA, **fields)


async def queue_order(printing: httpx.AsyncClient) -> list[str]:
    answer = await printing.get(f"/stations/{STATION}/queue")
    answer.raise_for_status()
    return [job["resident_id"] for job in answer.json()]


async def test_default_policy_orders_a_mixed_queue_and_a_configured_policy_changes_it(
        start_service: Any, tmp_path: Any, mongo_db: Any, kafka_producer: Any) -> None:
    env = write_stations(tmp_path / "stations.csv")
    inventory = start_service("inventory", **env)
    printing = start_service("printing", **env)
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    headers = {"X-API-Key": key}
    mixed = {
        "ganti_hilang": ours(reason="hilang", wajib=dt.date(1990, 1, 1)),
        "pertama_setelah_target": ours(wajib=TARGET + dt.timedelta(days=30)),
        "lansia_ganti": ours(reason="rusak", wajib=dt.date(1975, 1, 1), lansia=True),
        "pemilih_a": ours(wajib=dt.date(2025, 6, 1)),
        "disabilitas_ganti": ours(reason="perubahan_data", wajib=dt.date(2000, 1, 1), disabilitas=True),
        "pemilih_b": ours(wajib=TARGET),
        "lansia_pertama": ours(wajib=dt.date(1960, 1, 1), lansia=True),
    }
    for name, request in list(mixed.items()):  # one at a time: arrival order is the tie-break within a class
        request = mixed[name] = request.model_copy(update={"occurred_at": dt.datetime.now(dt.UTC)})
        await send_print_request(kafka_producer, request)
        await eventually(lambda r=request: mongo_db["print_jobs"].find_one({"resident_id": r.payload.resident_id}),
                         lambda doc: doc is not None)
    name_of = {r.payload.resident_id: name for name, r in mixed.items()}
    try:
        async with httpx.AsyncClient(base_url=printing.url, headers=headers) as client:
            order = [name_of[rid] for rid in await eventually(lambda: queue_order(client), lambda q: len(q) == 7)]
        assert order == ["pemilih_a", "pemilih_b", "lansia_pertama", "lansia_ganti", "disabilitas_ganti",
                         "pertama_setelah_target", "ganti_hilang"]
        printing.stop()
        printing = start_service("printing", **env,
                                 EKTP_PRINTING_PRIORITY_ORDER="cetak_ulang,lansia_disabilitas,pertama_lainnya,pemilih_pemula")
        async with httpx.AsyncClient(base_url=printing.url, headers=headers) as client, \
                httpx.AsyncClient(base_url=inventory.url, headers=headers) as stock:
            order = [name_of[rid] for rid in await queue_order(client)]
            assert order == ["ganti_hilang", "lansia_ganti", "disabilitas_ganti", "pertama_setelah_target",
                             "pemilih_a", "pemilih_b", "lansia_pertama"]
            async def station() -> dict[str, Any]:
                return next(s for s in (await client.get("/stations")).json() if s["stasiun"] == STATION)

            state = await eventually(station, lambda s: s["menunggu_kiriman_stok"], timeout=20)
            assert state["menunggu_blangko"] == 7 and state["siap_cetak"] == 0
            # One blank arrives: it goes to the head of the queue under the configured policy.
            answer = await stock.post("/receipts", json={"location_id": STATION, "quantity": 1, "document_no": f"BA/{PREFIX}/1"})
            assert answer.status_code == 201, answer.text
            first = mixed["ganti_hilang"].payload.resident_id
            job = await eventually(lambda: mongo_db["print_jobs"].find_one({"resident_id": first}),
                                   lambda doc: doc["status"] == "siap_cetak", timeout=30)
            assert job["priority_class"] == "cetak_ulang"
            waiting = [j async for j in mongo_db["print_jobs"].find({"station_id": STATION,
                                                                     "status": "menunggu_blangko"})]
            assert len(waiting) == 6
    finally:
        printing.stop()
        inventory.stop()
