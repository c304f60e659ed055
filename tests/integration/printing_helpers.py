"""Helpers for printing and blangko tests: a station list of their own, print requests, a station worker process."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from shared.contracts import Actor, Role
from shared.contracts.recording import PrintRequested, PrintRequestedPayload
from shared.contracts.stock import ReceivedPayload, StockReceived
from shared.topics import RECORDING, STOCK
from tests.support.processes import ServiceProcess

SYSTEM = Actor(office_id="uji", role=Role.SYSTEM, operator="uji")


def write_stations(path: Path, prefix: str, *, extra: int = 0) -> dict[str, str]:
    """A station list: `<prefix>-pusat` (fallback) and `<prefix>-put` (17.02.07), plus `extra` numbered stations.

    Numbered stations serve no kecamatan; tests address them directly by location.
    """
    rows = ["station_id,nama,kecamatan_codes,cadangan",
            f"{prefix}-pusat,Stasiun uji pusat,17.02.09,ya",
            f"{prefix}-put,Stasiun uji Padang Ulak Tanding,17.02.07,tidak"]
    rows += [f"{prefix}-s{i:03d},Stasiun uji {i},,tidak" for i in range(extra)]
    path.write_text("\n".join(rows) + "\n")
    return {"EKTP_STATIONS_CSV": str(path)}


def resident_id() -> str:
    return "r" + uuid.uuid4().hex


def print_request(*, kecamatan: str = "17.02.09", desa: str = "17.02.09.1012", wajib: dt.date | None = None,
                  lansia: bool = False, disabilitas: bool = False, resident: str | None = None,
                  reason: str = "pertama") -> PrintRequested:
    now = dt.datetime.now(dt.UTC)
    return PrintRequested(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, actor=SYSTEM,
                          payload=PrintRequestedPayload(resident_id=resident or resident_id(), kecamatan_code=kecamatan,
                                                        desa_code=desa, reason=reason, wajib_ktp_from=wajib,
                                                        lansia=lansia, disabilitas=disabilitas))


async def send_print_request(producer: Any, event: PrintRequested) -> None:
    await producer.send_and_wait(RECORDING.name, event.model_dump_json().encode(),
                                 key=event.payload.resident_id.encode())


def receipt(location: str, quantity: int) -> StockReceived:
    now = dt.datetime.now(dt.UTC)
    return StockReceived(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, actor=SYSTEM,
                         payload=ReceivedPayload(location_id=location, quantity=quantity, document_no="BA/UJI/1"))


async def send_stock(producer: Any, event: Any, location: str) -> None:
    await producer.send_and_wait(STOCK.name, event.model_dump_json().encode(), key=location.encode())


def skip_print_requests_left_unconsumed(bootstrap: str) -> None:
    """Move printing's request group to the end of the session's recording topic before a module starts printing:
    print requests other modules of the session sent while no printing process ran (residents recorded in their
    tests) are not this module's cards, and would wait at its stations for its blangko."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiokafka import AIOKafkaConsumer, TopicPartition

    from shared.topics import ConsumerGroup, group_id

    async def skip() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                    group_id=group_id(f"{ConsumerGroup.PRINTING_QUEUE}-requests"))
        await consumer.start()
        try:
            partitions = [TopicPartition(RECORDING.name, p) for p in range(RECORDING.partitions)]
            consumer.assign(partitions)
            await consumer.commit(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()

    with ThreadPoolExecutor(1) as pool:  # the caller may be inside the test's running event loop
        pool.submit(asyncio.run, skip()).result()


def station_process(station: str, env: dict[str, str], log_path: Path) -> ServiceProcess:
    """`python -m services.printing.station --station <id>`, ready once it says so."""
    return ServiceProcess("printing.station", 0, dict(env), log_path, args=("--station", station),
                          ready_text="siap mencetak")
