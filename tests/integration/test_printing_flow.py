"""Printing and the blangko ledger against the real broker: bad input, a worker killed mid-job,
reprint and hand-over, and every ledger event delivered twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.inventory.domain import COUNTS
from shared.contracts import Role
from shared.contracts.stock import (
    BlankConsumed,
    BlankSpoiled,
    ConsumedPayload,
    CountCorrected,
    CountPayload,
    ReservationPayload,
    ReservationRequested,
    ReturnPayload,
    SpoiledPayload,
    SpoiledReturned,
    TransferPayload,
    TransferReceived,
    TransferSent,
)
from shared.topics import RESIDENT
from tests.integration.helpers import create_office_key, enrolled_event, eventually, wait_caught_up
from tests.integration.printing_helpers import (
    SYSTEM,
    print_request,
    receipt,
    send_print_request,
    send_stock,
    skip_print_requests_left_unconsumed,
    station_process,
    write_stations,
)
from tests.support.plugin import SESSION_ID

pytestmark = pytest.mark.infra
PREFIX = f"f{SESSION_ID[:6]}"
PUSAT, PUT = f"{PREFIX}-pusat", f"{PREFIX}-put"
LOGS = Path(__file__).resolve().parents[2] / "test-artifacts" / "logs"


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="module")
def services(start_service: Any, infra_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
             spool: Path) -> Iterator[dict[str, Any]]:
    env = write_stations(tmp_path_factory.mktemp("stations") / "stations.csv", PREFIX)
    skip_print_requests_left_unconsumed(infra_env["EKTP_KAFKA_BOOTSTRAP"])
    running: dict[str, Any] = {"inventory": start_service("inventory", **env),
                               "printing": start_service("printing", **env, EKTP_PRINTING_SWEEP_SECONDS="1",
                                                         EKTP_PRINTING_RESERVATION_RESEND_SECONDS="5")}
    station_env = {**infra_env, **env, "EKTP_PRINTING_SPOOL_DIR": str(spool)}
    running["station_pusat"] = station_process(PUSAT, station_env, LOGS / f"station-{SESSION_ID}-{PUSAT}.log").start()
    running["station_env"] = station_env
    yield running
    running["station_pusat"].stop()
    for name in ("printing", "inventory"):
        running[name].stop()


@pytest.fixture
async def http(services: dict[str, Any], mongo_db: Any) -> Any:
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    async with httpx.AsyncClient(base_url=services["printing"].url, timeout=30, headers={"X-API-Key": key}) as printing, \
            httpx.AsyncClient(base_url=services["inventory"].url, timeout=30, headers={"X-API-Key": key}) as inventory:
        yield printing, inventory


async def location(inventory: httpx.AsyncClient, location_id: str) -> dict[str, Any]:
    answer = await inventory.get(f"/locations/{location_id}")
    answer.raise_for_status()
    return dict(answer.json())


async def job_of(mongo_db: Any, resident_id: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await mongo_db["print_jobs"].find_one({"resident_id": resident_id})
    return doc


async def test_bad_input_gets_a_clear_4xx_and_leaves_the_ledger_unchanged(http: Any, mongo_db: Any) -> None:
    printing, inventory = http
    assert (await inventory.post("/receipts", json={"location_id": "gudang", "quantity": 5,
                                                   "document_no": "BA/PROV/2024/01"})).status_code == 201
    ledger = mongo_db["blangko_locations"]
    before = {doc["_id"]: doc async for doc in ledger.find({})}

    empty = await inventory.post("/spoilage", json={"location_id": PUT, "quantity": 1, "reason": "blangko_rusak"})
    assert empty.status_code == 409 and "hanya 0" in empty.json()["detail"]
    too_many = await inventory.post("/transfers", json={"from_location": "gudang", "to_location": PUSAT,
                                                       "quantity": 10_000})
    assert too_many.status_code == 409 and "tidak bisa mengirim 10000" in too_many.json()["detail"]
    no_reason = await inventory.post("/counts", json={"location_id": "gudang", "counted": 3, "approved_by": "Kabid"})
    assert no_reason.status_code == 422 and any(e["field"] == "reason" for e in no_reason.json()["errors"])
    unknown = await inventory.post("/receipts", json={"location_id": "tidak-ada", "quantity": 1, "document_no": "BA/1"})
    assert unknown.status_code == 404 and "tidak dikenal" in unknown.json()["detail"]
    over_return = await inventory.post("/returns", json={"location_id": "gudang", "quantity": 1,
                                                         "berita_acara_no": "BA/RET/1"})
    assert over_return.status_code == 409
    never_printed = await printing.post("/reprints", json={"resident_id": "r" + uuid.uuid4().hex, "reason": "hilang"})
    assert never_printed.status_code == 409 and "belum pernah dicetak" in never_printed.json()["detail"]

    after = {doc["_id"]: doc async for doc in ledger.find({})}
    assert after == before
    check = (await inventory.get("/ledger/check")).json()
    assert check["seimbang"], check["masalah"]


async def test_transfer_reserve_print_reprint_and_school_hand_over(http: Any, mongo_db: Any, kafka_producer: Any,
                                                                  spool: Path) -> None:
    printing, inventory = http
    await inventory.post("/receipts", json={"location_id": "gudang", "quantity": 10, "document_no": "BA/PROV/2"})
    sent = await inventory.post("/transfers", json={"from_location": "gudang", "to_location": PUSAT, "quantity": 3})
    assert sent.status_code == 201, sent.text
    transfer_id = next(t for t, v in (await mongo_db["blangko_locations"].find_one({"_id": "gudang"}))
                       ["transfers_sent"].items() if v["to"] == PUSAT)
    in_transit = (await inventory.get("/ledger/check")).json()
    assert in_transit["dalam_perjalanan"] >= 3 and in_transit["seimbang"]
    arrived = await inventory.post(f"/transfers/{transfer_id}/receive")
    assert arrived.status_code == 201 and arrived.json()["lokasi"]["ada"] == 3
    again = await inventory.post(f"/transfers/{transfer_id}/receive")
    assert again.status_code == 409

    enrolled = [enrolled_event(random.Random(), kecamatan="17.02.09", desa="17.02.09.1012", school="10700123")
                for _ in range(2)]
    for event in enrolled:  # students of school 10700123: printing learns their school from the resident topic
        await kafka_producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(),
                                           key=event.payload.resident_id.encode())
    students = [print_request(wajib=dt.date(2024, 3, 1), resident=event.payload.resident_id) for event in enrolled]
    for request in students:
        await send_print_request(kafka_producer, request)
    ids = [r.payload.resident_id for r in students]

    async def statuses() -> list[str | None]:
        return [(await job_of(mongo_db, rid) or {}).get("status") for rid in ids]

    await eventually(statuses, lambda s: s == ["dicetak", "dicetak"], timeout=60)
    jobs = [await job_of(mongo_db, rid) for rid in ids]
    assert all(job is not None and (spool / PUSAT / f"{job['_id']}-1.pdf").exists() for job in jobs)
    pdf = (spool / PUSAT / f"{jobs[0]['_id']}-1.pdf").read_bytes()  # type: ignore[index]
    assert pdf.startswith(b"%PDF-1.4") and b"SPESIMEN" in pdf
    stock = await eventually(lambda: location(inventory, PUSAT), lambda v: v["terpakai"] == 2)
    assert (stock["ada"], stock["dipesan"], stock["terpakai"]) == (1, 0, 2)

    await eventually(lambda: mongo_db["print_resident_schools"].count_documents({"_id": {"$in": ids}}),
                     lambda known: known == 2)
    delivery = await printing.post("/school-deliveries", json={"school_npsn": "10700123",
                                                               "job_ids": [j["_id"] for j in jobs]})  # type: ignore[index]
    assert delivery.status_code == 201, delivery.text
    delivery_id = delivery.json()["delivery_id"]
    await eventually(statuses, lambda s: s == ["dikirim_ke_sekolah"] * 2)
    early = await printing.post(f"/jobs/{jobs[0]['_id']}/handover")  # type: ignore[index]
    assert early.status_code == 409 and "tanda terima sekolah" in early.json()["detail"]
    # The school's receipt is recorded by the kecamatan office, not by the office that sent the cards.
    kecamatan = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan="17.02.09")}
    signed = await printing.post(f"/school-deliveries/{delivery_id}/acknowledge", json={"received_by": "Kepala Sekolah"},
                                 headers=kecamatan)
    assert signed.status_code == 201, signed.text
    await eventually(statuses, lambda s: s == ["diterima_sekolah"] * 2)
    for job in jobs:
        assert (await printing.post(f"/jobs/{job['_id']}/handover")).status_code == 201  # type: ignore[index]
    await eventually(statuses, lambda s: s == ["diserahkan"] * 2)

    lost = await printing.post("/reprints", json={"resident_id": ids[0], "reason": "hilang"})
    assert lost.status_code == 201, lost.text
    busy = await printing.post("/reprints", json={"resident_id": ids[0], "reason": "rusak"})
    assert busy.status_code == 409 and "masih dalam antrean" in busy.json()["detail"]
    reprint = await eventually(lambda: printing.get(f"/jobs/{lost.json()['job_id']}"),
                               lambda r: r.status_code == 200 and r.json()["status"] == "dicetak")
    assert reprint.json()["kelas_prioritas"] == "cetak_ulang"
    stock = await eventually(lambda: location(inventory, PUSAT), lambda v: v["terpakai"] == 3)
    assert (stock["ada"], stock["dipesan"]) == (0, 0)
    assert (await inventory.get("/ledger/check")).json()["seimbang"]


async def test_station_worker_killed_mid_job_prints_the_card_exactly_once(
        services: dict[str, Any], http: Any, mongo_db: Any, kafka_producer: Any, spool: Path) -> None:
    printing, inventory = http
    worker = station_process(PUT, services["station_env"], LOGS / f"station-{SESSION_ID}-{PUT}.log")
    worker.env["EKTP_PRINTING_PRINT_SECONDS"] = "6"
    worker.start()
    try:
        await inventory.post("/receipts", json={"location_id": PUT, "quantity": 1, "document_no": "BA/PROV/3"})
        request = print_request(kecamatan="17.02.07", desa="17.02.07.2001", wajib=dt.date(2024, 5, 1))
        await send_print_request(kafka_producer, request)
        job = await eventually(lambda: job_of(mongo_db, request.payload.resident_id),
                               lambda j: j is not None and j["status"] == "siap_cetak", timeout=60)
        partial = spool / PUT / f"{job['_id']}-1.pdf.partial"
        await eventually(lambda: _exists(partial), bool, timeout=30)
        worker.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        worker.proc.wait()  # type: ignore[union-attr]
        assert not (spool / PUT / f"{job['_id']}-1.pdf").exists()
        assert (await job_of(mongo_db, request.payload.resident_id))["status"] == "siap_cetak"  # type: ignore[index]

        worker.env["EKTP_PRINTING_PRINT_SECONDS"] = "0"
        worker.start()
        await eventually(lambda: job_of(mongo_db, request.payload.resident_id),
                         lambda j: j is not None and j["status"] == "dicetak", timeout=60)
    finally:
        worker.stop()
    printed = sorted(p.name for p in (spool / PUT).iterdir())
    assert printed == [f"{job['_id']}-1.pdf"]
    stock = await eventually(lambda: location(inventory, PUT), lambda v: v["terpakai"] == 1)
    assert (stock["ada"], stock["dipesan"], stock["terpakai"], stock["rusak"]) == (0, 0, 1, 0)


async def _exists(path: Path) -> bool:
    return await asyncio.to_thread(path.exists)


def ledger_script(prefix: str) -> list[tuple[Any, str]]:
    """A day of one location pair: receipt, transfer out and in, two reservations, a print, a spoiled
    print, damaged blanks, a count finding one missing, and a return (each with a fresh event id)."""
    now = dt.datetime.now(dt.UTC)
    base: dict[str, Any] = {"occurred_at": now, "recorded_at": now, "actor": SYSTEM}
    home, station = f"{prefix}-gudang", f"{prefix}-stasiun"

    def ev(cls: Any, payload: Any) -> Any:
        return cls(event_id=uuid.uuid4(), **base, payload=payload)

    transfer = TransferPayload(transfer_id=f"{prefix}-t1", from_location=home, to_location=station, quantity=6)
    reservations = [ReservationPayload(location_id=station, reservation_id=f"{prefix}-j{i}.1.1", job_id=f"{prefix}-j{i}",
                                       attempt=1) for i in range(3)]
    return [
        (receipt(home, 20), home),
        (ev(TransferSent, transfer), home),
        (ev(TransferReceived, transfer), home),
        *[(ev(ReservationRequested, r), station) for r in reservations],
        (ev(BlankConsumed, ConsumedPayload(**reservations[0].model_dump())), station),
        (ev(BlankSpoiled, SpoiledPayload(location_id=station, quantity=1, reason="laminasi_terkelupas",
                                         reservation_id=reservations[1].reservation_id)), station),
        (ev(BlankSpoiled, SpoiledPayload(location_id=home, quantity=2, reason="blangko_rusak")), home),
        (ev(CountCorrected, CountPayload(location_id=home, counted=11, reason="stock opname bulanan",
                                         approved_by="Kabid Pelayanan")), home),
        (ev(SpoiledReturned, ReturnPayload(location_id=home, quantity=2, berita_acara_no="BA/RET/7",
                                           handed_to="Disdukcapil Provinsi")), home),
        (ev(BlankConsumed, ConsumedPayload(**reservations[2].model_dump())), station),
    ]


def balances(docs: list[dict[str, Any]], prefix: str) -> dict[str, dict[str, Any]]:
    return {doc["_id"].removeprefix(prefix): {name: doc.get(name, 0) for name in COUNTS}
            for doc in docs if doc["_id"].startswith(prefix)}


async def test_every_ledger_event_delivered_twice_leaves_the_ledger_identical(
        services: dict[str, Any], mongo_db: Any, kafka_producer: Any, stack: Any) -> None:
    once, twice = f"once{uuid.uuid4().hex[:6]}", f"twice{uuid.uuid4().hex[:6]}"
    scripts = {once: ledger_script(once), twice: ledger_script(twice)}
    copies = {once: 1, twice: 2}
    # The station's events follow the transfer's arrival, as they do when printing reacts to stock.
    for phase in (slice(0, 3), slice(3, None)):
        for prefix, script in scripts.items():
            for event, key in script[phase]:
                for _ in range(copies[prefix]):
                    await send_stock(kafka_producer, event, key)
        for prefix in scripts:
            await eventually(lambda p=prefix: mongo_db["blangko_locations"].find_one({"_id": f"{p}-stasiun"}),
                             lambda doc: doc is not None and doc.get("transferred_in") == 6)
    for event, key in scripts[twice]:  # and once more, long after: a replay
        await send_stock(kafka_producer, event, key)
    from shared.topics import STOCK, ConsumerGroup, group_id
    await wait_caught_up(f"127.0.0.1:{stack.ports.kafka}", group_id(ConsumerGroup.INVENTORY_LEDGER), STOCK.name)
    docs = [doc async for doc in mongo_db["blangko_locations"].find({})]
    single, double = balances(docs, once), balances(docs, twice)
    assert single == double
    assert single["-stasiun"] == {"received": 0, "transferred_in": 6, "transferred_out": 0, "on_hand": 3,
                                  "reserved": 0, "consumed": 2, "spoiled": 1, "spoiled_lost": 0, "returned": 0}
    assert single["-gudang"] == {"received": 20, "transferred_in": 0, "transferred_out": 6, "on_hand": 11,
                                 "reserved": 0, "consumed": 0, "spoiled": 1, "spoiled_lost": 1, "returned": 2}


async def test_a_spoiled_print_books_the_blank_as_spoiled_and_queues_the_job_again(
        http: Any, mongo_db: Any, kafka_producer: Any) -> None:
    from shared.contracts.printing import PrintSpoiled
    from shared.contracts.printing import SpoiledPayload as PrintSpoiledPayload
    from shared.topics import PRINT

    printing, inventory = http
    start = await location(inventory, PUT)
    await inventory.post("/receipts", json={"location_id": PUT, "quantity": 2, "document_no": "BA/PROV/4"})
    request = print_request(kecamatan="17.02.07", desa="17.02.07.2007", wajib=dt.date(2023, 1, 1))
    await send_print_request(kafka_producer, request)
    job = await eventually(lambda: job_of(mongo_db, request.payload.resident_id),
                           lambda j: j is not None and j["status"] == "siap_cetak", timeout=60)
    now = dt.datetime.now(dt.UTC)
    spoiled = PrintSpoiled(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, actor=SYSTEM,
                           payload=PrintSpoiledPayload(job_id=job["_id"], station_id=PUT, attempt=1,
                                                       reservation_id=job["reservation_id"], reason="laminasi_terkelupas"))
    for _ in range(2):  # delivered twice: one spoiled blank
        await kafka_producer.send_and_wait(PRINT.name, spoiled.model_dump_json().encode(), key=PUT.encode())
    again = await eventually(lambda: job_of(mongo_db, request.payload.resident_id),
                             lambda j: j["attempt"] == 2 and j["status"] == "siap_cetak", timeout=60)
    assert again["reservation_id"] != job["reservation_id"]
    stock = await eventually(lambda: location(inventory, PUT), lambda v: v["rusak"] == start["rusak"] + 1)
    assert (stock["ada"], stock["dipesan"]) == (start["ada"], start["dipesan"] + 1)
    assert (await inventory.get("/ledger/check")).json()["seimbang"]


async def test_usulan_is_sized_from_backlog_and_tracks_requested_against_received(http: Any) -> None:
    printing, inventory = http
    suggestion = (await inventory.get("/replenishment/suggestion")).json()
    assert suggestion["jumlah_usulan"] == max(0, suggestion["antrean_cetak"]
                                              + round(suggestion["pemakaian_per_hari"] * suggestion["hari_cadangan"] + 0.4999)
                                              - suggestion["stok_ada_dan_dalam_perjalanan"]
                                              - suggestion["usulan_belum_diterima"])
    sent = await inventory.post("/replenishment", json={"letter_no": "470/112/DKPS/2024", "quantity": 5000})
    assert sent.status_code == 201, sent.text
    usulan = sent.json()["usulan"]
    await eventually(lambda: inventory.get("/replenishment/suggestion"),
                     lambda answer: answer.json()["usulan_belum_diterima"] >= 5000)  # once inventory applied its event

    async def row() -> dict[str, Any] | None:
        return next((r for r in (await inventory.get("/replenishment")).json() if r["usulan"] == usulan), None)

    assert (await eventually(row, lambda r: r is not None))["diminta"] == 5000
    unknown = await inventory.post("/receipts", json={"quantity": 10, "request_id": "usulan-tidak-ada", "document_no": "BA/9"})
    assert unknown.status_code == 404
    part = await inventory.post("/receipts", json={"quantity": 1200, "request_id": usulan, "document_no": "BA/PROV/5"})
    assert part.status_code == 201
    now = await eventually(row, lambda r: r["diterima"] == 1200)
    assert now["kurang"] == 3800
    views = {v["lokasi"]: v for v in (await inventory.get("/locations")).json()}
    assert set(views) == {"gudang", PUSAT, PUT} and views["gudang"]["ada"] >= 1200


async def test_days_of_stock_and_low_stock_on_the_api_and_as_metrics(http: Any) -> None:
    printing, inventory = http
    views = {v["lokasi"]: v for v in (await inventory.get("/locations")).json()}
    station = views[PUSAT]
    assert station["terpakai"] >= 1  # cards printed earlier in this module, all today
    per_day = station["terpakai"] / 14
    assert station["pemakaian_per_hari"] == round(per_day, 2)
    assert station["hari_stok"] == round(station["ada"] / per_day, 1)
    low = [v["lokasi"] for v in (await inventory.get("/alerts/low-stock")).json()]
    assert (PUSAT in low) == (station["hari_stok"] < 7) == station["stok_menipis"]

    def sample(text: str, name: str, location: str) -> float | None:
        match = re.search(rf'^{name}{{location="{location}"}} (\S+)$', text, re.MULTILINE)
        return float(match.group(1)) if match else None

    metrics = await eventually(lambda: inventory.get("/metrics"),
                               lambda r: sample(r.text, "ektp_blangko_days_of_stock", PUSAT) == station["hari_stok"]
                               and sample(r.text, "ektp_blangko_on_hand", PUSAT) == station["ada"], timeout=30)
    assert sample(metrics.text, "ektp_blangko_low_stock", PUSAT) == (1.0 if station["stok_menipis"] else 0.0)
    assert "ektp_blangko_ledger_balanced 1.0" in metrics.text
    depth = (await printing.get("/metrics")).text
    assert re.search(rf'ektp_print_queue_depth{{station="{PUSAT}",status="menunggu_blangko"}} \d', depth)
