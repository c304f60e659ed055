"""At-least-once delivery into the coverage projection, against the real broker and FerretDB."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from services.coverage.projector import Positioned, Projector
from services.coverage.store import CoverageStore
from shared.contracts import RESIDENT_EVENTS
from shared.mongo import position_key
from shared.topics import RESIDENT
from tests.integration.helpers import coverage_of, enrolled_event, eventually, wait_caught_up

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def coverage(start_service: Any) -> Iterator[Any]:
    service = start_service("coverage")
    yield service
    service.stop()


def _bootstrap(stack: Any) -> str:
    return f"127.0.0.1:{stack.ports.kafka}"


async def test_same_event_delivered_twice_counts_once(
    coverage: Any, kafka_producer: Any, stack: Any, infra_env: dict[str, str]
) -> None:
    event = enrolled_event(random.Random(), kecamatan="17.02.10", desa="17.02.10.2001")
    raw = event.model_dump_json().encode()
    key = event.payload.resident_id.encode()
    async with httpx.AsyncClient(base_url=coverage.url) as client:
        await wait_caught_up(_bootstrap(stack), coverage.env["EKTP_COVERAGE_CONSUMER_GROUP"], RESIDENT.name)
        before = await coverage_of(client, "17.02.10")
        await kafka_producer.send_and_wait(RESIDENT.name, raw, key=key)
        await kafka_producer.send_and_wait(RESIDENT.name, raw, key=key)
        await wait_caught_up(_bootstrap(stack), coverage.env["EKTP_COVERAGE_CONSUMER_GROUP"], RESIDENT.name)
        after = await coverage_of(client, "17.02.10")
    assert after["terdaftar"] == before["terdaftar"] + 1


async def test_malformed_message_goes_to_dead_letter_and_the_next_is_processed(
    coverage: Any, kafka_producer: Any, stack: Any
) -> None:
    event = enrolled_event(random.Random(), kecamatan="17.02.11", desa="17.02.11.2001")
    key = event.payload.resident_id.encode()
    bad = await kafka_producer.send_and_wait(RESIDENT.name, b'{"event_type": "resident.enrolled", ', key=key)
    async with httpx.AsyncClient(base_url=coverage.url) as client:
        before = await coverage_of(client, "17.02.11")
        await kafka_producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(), key=key)
        await eventually(lambda: coverage_of(client, "17.02.11"),
                         lambda row: row["terdaftar"] == before["terdaftar"] + 1)
    consumer = AIOKafkaConsumer(RESIDENT.dead_letter, bootstrap_servers=_bootstrap(stack),
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        found = None
        async def scan() -> Any:
            nonlocal found
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers}
                    if (headers.get("x-dlq-source-partition"), headers.get("x-dlq-source-offset"),
                            headers.get("x-dlq-service")) == (str(bad.partition), str(bad.offset), "coverage"):
                        found = headers
            return found
        headers = await eventually(scan, lambda h: h is not None)
    finally:
        await consumer.stop()
    assert headers["x-dlq-reason"] == "not_json"
    assert headers["x-dlq-service"] == "coverage"


class _CrashBeforeCounters(CoverageStore):
    """A store whose process 'dies' right after the resident writes, before the counters."""

    async def write_counters(self, changes: Any) -> None:
        raise SystemExit("simulated crash")


async def test_consumer_stopped_between_write_and_commit_neither_loses_nor_double_counts(
    coverage: Any, kafka_producer: Any, stack: Any, infra_env: dict[str, str], mongo_db: Any,
    start_service: Any,
) -> None:
    rng = random.Random()
    events = [enrolled_event(rng, kecamatan="17.02.16", desa="17.02.16.1001") for _ in range(3)]
    for event in events:
        await kafka_producer.send_and_wait(
            RESIDENT.name, event.model_dump_json().encode(), key=event.payload.resident_id.encode()
        )
    prefix = f"crash{rng.randrange(10**6)}"
    group = f"coverage-crash-{prefix}"
    store = CoverageStore(mongo_db, prefix)
    consumer = AIOKafkaConsumer(RESIDENT.name, bootstrap_servers=_bootstrap(stack), group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    wanted = {str(e.event_id) for e in events}
    batch: list[Positioned] = []
    try:
        while wanted - {str(p.event.event_id) for p in batch}:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    try:
                        event = RESIDENT_EVENTS.validate_json(record.value)
                    except ValueError:
                        continue
                    batch.append(Positioned(event, position_key(record.topic, record.partition), record.offset))
    finally:
        await consumer.stop()  # no commit: the group restarts from the beginning
    with pytest.raises(SystemExit):
        await Projector(_CrashBeforeCounters(mongo_db, prefix)).apply(batch)

    half_done = await store.residents.find_one({"_id": events[-1].payload.resident_id})
    assert half_done is not None and half_done["events"] == [str(events[-1].event_id)]
    assert await store.areas.find_one({"_id": "kec:17.02.16"}) is None

    restarted = start_service(
        "coverage", EKTP_COVERAGE_CONSUMER_GROUP=group, EKTP_COVERAGE_COLLECTION_PREFIX=prefix
    )
    await wait_caught_up(_bootstrap(stack), group, RESIDENT.name)
    await wait_caught_up(_bootstrap(stack), coverage.env["EKTP_COVERAGE_CONSUMER_GROUP"], RESIDENT.name)
    async with httpx.AsyncClient(base_url=restarted.url) as recovered, \
            httpx.AsyncClient(base_url=coverage.url) as live:
        assert (await recovered.get("/coverage")).json() == (await live.get("/coverage")).json()
    for event in events:
        doc = await store.residents.find_one({"_id": event.payload.resident_id})
        assert doc["events"] == [str(event.event_id)]
    restarted.stop()


async def test_two_projectors_on_one_projection_never_count_on_a_stale_area_document(mongo_db: Any) -> None:
    """Each store remembers the area documents it wrote; another writer in between fails its next
    write (version guard), and the batch applied again counts from what the database holds."""
    from services.coverage.store import ConcurrentUpdate

    rng = random.Random(41)
    prefix = f"twin{rng.randrange(10**6)}"
    first, second = Projector(CoverageStore(mongo_db, prefix)), Projector(CoverageStore(mongo_db, prefix))
    source = position_key(RESIDENT.name, 0)
    events = [enrolled_event(rng, kecamatan="17.02.03", desa="17.02.03.2001") for _ in range(3)]
    other = position_key(RESIDENT.name, 1)
    await first.apply([Positioned(events[0], source, 0)])
    await second.apply([Positioned(events[1], other, 0)])
    batch = [Positioned(events[2], source, 1)]
    with pytest.raises(ConcurrentUpdate):
        await first.apply(batch)
    await first.apply(batch)
    area = await CoverageStore(mongo_db, prefix).area("kec:17.02.03")
    assert area["terdaftar"] == 3
    assert area["positions"] == {source: 1, other: 0}
