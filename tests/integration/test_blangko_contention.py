"""Stock 1 and 50 concurrent print jobs, at 25 stations at once (100 in `make test-faults`): exactly
one card printed per station, 49 jobs waiting, stock 0, and the ledger balanced. Real broker, real
FerretDB, the printing and inventory services as processes, and the station worker's code printing
the cards."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from services.inventory.domain import Balance, check_regency
from services.printing.printers import SpoolPdfPrinter
from services.printing.station import StationWorker
from services.printing.store import PrintingStore
from shared.contracts import PRINT_EVENTS
from shared.contracts.envelope import Envelope
from shared.contracts.printing import JobDispatched
from shared.topics import PRINT, RECORDING, Topic
from tests.integration.helpers import eventually
from tests.integration.printing_helpers import print_request, receipt, send_stock, write_stations
from tests.support.plugin import SESSION_ID

pytestmark = [pytest.mark.infra, pytest.mark.heavy]
PREFIX = f"c{SESSION_ID[:6]}"
TRIALS, JOBS = (100 if os.environ.get("EKTP_FAULTS") == "long" else 25), 50


class ProducerPublisher:
    """EventPublisher over a plain aiokafka producer (the test's stand-in for a station's broker)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None:
        await self.producer.send_and_wait(topic.name, event.model_dump_json().encode(), key=key.encode())


def kecamatan(i: int) -> str:
    return f"99.{i // 100:02d}.{i % 100:02d}"


async def run_stations(bootstrap: str, db: Any, stations: list[str], spool: Path, stop: asyncio.Event) -> None:
    """Every station's worker code, fed from the print topic in this process."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    consumer = AIOKafkaConsumer(PRINT.name, bootstrap_servers=bootstrap, group_id=f"{PREFIX}-stations",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    store = PrintingStore(db)
    workers = {s: StationWorker(s, store=store, printer=SpoolPdfPrinter(spool / s), publisher=ProducerPublisher(producer))
               for s in stations}
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    event = PRINT_EVENTS.validate_json(record.value or b"")
                    if isinstance(event, JobDispatched) and event.payload.station_id in workers:
                        await workers[event.payload.station_id].handle(event)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


@pytest.mark.timeout(900)
async def test_stock_one_and_fifty_concurrent_jobs_prints_exactly_one_at_each_station(
        start_service: Any, stack: Any, kafka_producer: Any, tmp_path: Path) -> None:
    layout = tmp_path / "stations.csv"
    write_stations(layout, PREFIX)
    rows = layout.read_text().splitlines()[:2]  # header and the fallback
    stations = [f"{PREFIX}-t{i:03d}" for i in range(TRIALS)]
    rows += [f"{s},Stasiun uji {i},{kecamatan(i)},tidak" for i, s in enumerate(stations)]
    layout.write_text("\n".join(rows) + "\n")
    env = {"EKTP_STATIONS_CSV": str(layout)}
    inventory = start_service("inventory", **env)
    printing = start_service("printing", **env)
    bootstrap = f"127.0.0.1:{stack.ports.kafka}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://127.0.0.1:{stack.ports.mongo}/", tz_aware=True)
    db = client[f"ektp_test_{SESSION_ID}"]
    stop = asyncio.Event()
    workers = asyncio.create_task(run_stations(bootstrap, db, stations, tmp_path / "spool", stop))
    began = time.monotonic()
    try:
        for station in stations:
            await send_stock(kafka_producer, receipt(station, 1), station)
        requests = [print_request(kecamatan=kecamatan(i), desa=f"{kecamatan(i)}.2001")
                    for i in range(TRIALS) for _ in range(JOBS)]
        sends = [await kafka_producer.send(RECORDING.name, r.model_dump_json().encode(),
                                           key=r.payload.resident_id.encode()) for r in requests]
        await asyncio.gather(*sends)

        async def per_station() -> dict[str, dict[str, int]]:
            counts: dict[str, dict[str, int]] = {s: {} for s in stations}
            pipeline = [{"$match": {"station_id": {"$in": stations}}},
                        {"$group": {"_id": {"s": "$station_id", "st": "$status"}, "n": {"$sum": 1}}}]
            async for row in await db["print_jobs"].aggregate(pipeline):
                counts[row["_id"]["s"]][row["_id"]["st"]] = row["n"]
            return counts

        settled = await eventually(per_station, lambda c: all(v == {"dicetak": 1, "menunggu_blangko": JOBS - 1}
                                                              for v in c.values()), timeout=600, interval=2.0)
        ledgers = {doc["_id"]: doc async for doc in db["blangko_locations"].find({"_id": {"$in": stations}})}
        await eventually(lambda: _consumed(db, stations), lambda n: n == TRIALS, timeout=120, interval=1.0)
        ledgers = {doc["_id"]: doc async for doc in db["blangko_locations"].find({"_id": {"$in": stations}})}

        async def stations_told_no_stock() -> dict[str, Any]:  # printing's stock consumer, another group
            return {doc["_id"]: doc.get("waiting_for_stock") async for doc in db["print_stations"].find(
                {"_id": {"$in": stations}})}

        waiting = await eventually(stations_told_no_stock, lambda found: all(v is True for v in found.values())
                                   and len(found) == len(stations), timeout=60, interval=1.0)
    finally:
        stop.set()
        await workers
        printing.stop()
        inventory.stop()
    elapsed = time.monotonic() - began
    printed = sorted(p.parent.name for p in (tmp_path / "spool").rglob("*.pdf"))
    assert printed == stations  # one card file per station, none twice
    for station in stations:
        balance = Balance.from_doc(station, ledgers[station])
        assert (balance.on_hand, balance.reserved, balance.consumed, balance.received) == (0, 0, 1, 1), station
        assert waiting[station] is True
    assert settled == {s: {"dicetak": 1, "menunggu_blangko": JOBS - 1} for s in stations}
    assert check_regency(Balance.from_doc(s, ledgers[s]) for s in stations).balanced
    print(f"\n{TRIALS} trials x {JOBS} jobs: settled in {elapsed:.1f} s")
    await client.close()


async def _consumed(db: Any, stations: list[str]) -> int:
    return sum([int(doc.get("consumed", 0)) async for doc in db["blangko_locations"].find({"_id": {"$in": stations}})])
