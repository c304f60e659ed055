"""At-least-once delivery into the coverage projection, against the real broker and FerretDB."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from services.coverage.consumers import ProjectionFeed
from services.coverage.projector import Positioned, Projector
from services.coverage.store import CoverageStore
from shared.broker import make_broker
from shared.contracts import RESIDENT_EVENTS
from shared.dead_letter import DeadLetterPolicy
from shared.metrics import ConsumerMetrics
from shared.mongo import position_key
from shared.settings import InfraSettings
from shared.topics import ALL, RESIDENT
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
    write (version guard), and the counters are summed again from what the database holds."""
    rng = random.Random(41)
    prefix = f"twin{rng.randrange(10**6)}"
    first, second = Projector(CoverageStore(mongo_db, prefix)), Projector(CoverageStore(mongo_db, prefix))
    source = position_key(RESIDENT.name, 0)
    events = [enrolled_event(rng, kecamatan="17.02.03", desa="17.02.03.2001") for _ in range(3)]
    other = position_key(RESIDENT.name, 1)
    await first.apply([Positioned(events[0], source, 0)])
    await second.apply([Positioned(events[1], other, 0)])
    batch = [Positioned(events[2], source, 1)]
    await first.apply(batch)  # its remembered kecamatan document is stale: refused, read again, summed again
    await first.apply(batch)  # delivered again: counted once
    area = await CoverageStore(mongo_db, prefix).area("kec:17.02.03")
    assert area["terdaftar"] == 3
    assert area["positions"] == {source: 1, other: 0}


class _HeldCounters(CoverageStore):
    """A store whose counter writes wait until the test lets them through."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def write_counters(self, changes: Any) -> None:
        self.waiting.set()
        await self.gate.wait()
        await super().write_counters(changes)


async def _committed(bootstrap: str, group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp: (await consumer.committed(tp)) or 0 for tp in partitions}
    finally:
        await consumer.stop()


async def _group_at_topic_ends(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """Commit `group` at the ends of every topic, so the test's own events are all it reads; the ends."""
    partitions = [TopicPartition(topic.name, p) for topic in ALL for p in range(topic.partitions)]
    starter = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await starter.start()
    try:
        starter.assign(partitions)
        ends = await starter.end_offsets(partitions)
        await starter.commit(dict(ends))
    finally:
        await starter.stop()
    return dict(ends)


def _feed(bootstrap: str, store: CoverageStore, group: str) -> tuple[Any, ProjectionFeed]:
    """A broker (for dead letters) and the coverage feed into `store`; `_start` starts both."""
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, "feedtest")
    dead_letters = DeadLetterPolicy(service="feedtest", metrics=metrics)
    broker = make_broker(InfraSettings(kafka_bootstrap=bootstrap), service="feedtest", registry=registry,
                         middlewares=[dead_letters])
    dead_letters.bind(broker.publish)
    feed = ProjectionFeed(InfraSettings(kafka_bootstrap=bootstrap), metrics=metrics, dead_letters=dead_letters,
                          registry=registry)
    feed.attach(store, group)
    return broker, feed


async def _start(broker: Any, feed: ProjectionFeed) -> None:
    await broker.start()
    await feed.start()


def _sender(producer: Any) -> Any:
    async def send(chosen: list[Any]) -> None:
        for event in chosen:
            await producer.send_and_wait(RESIDENT.name, event.model_dump_json().encode(),
                                         key=event.payload.resident_id.encode())
    return send


async def test_the_feed_reads_on_while_a_batch_is_written_and_commits_only_what_it_applied(
    kafka_producer: Any, stack: Any, infra_env: dict[str, str], mongo_db: Any,
) -> None:
    """While the applier is held inside a batch's writes, the subscriber keeps reading: later records
    queue up, and no offset moves until the batch is applied. Let through, every event is counted once
    and the committed offsets are the ends of the topics."""
    bootstrap = _bootstrap(stack)
    rng = random.Random()
    prefix = f"feed{rng.randrange(10**6)}"
    group = f"coverage-feed-{prefix}"
    ends = await _group_at_topic_ends(bootstrap, group)
    store = _HeldCounters(mongo_db, prefix)
    broker, feed = _feed(bootstrap, store, group)
    events = [enrolled_event(rng, kecamatan="17.02.05", desa="17.02.05.2001") for _ in range(12)]
    send = _sender(kafka_producer)
    partitions = list(ends)

    await _start(broker, feed)
    try:
        await send(events[:1])
        await asyncio.wait_for(store.waiting.wait(), timeout=60)
        await send(events[1:])
        applier = feed.applier
        assert applier is not None
        await eventually(lambda: asyncio.sleep(0, len(applier.waiting)), lambda n: n == len(events) - 1)
        assert await _committed(bootstrap, group, partitions) == ends
        assert await store.areas.find_one({"_id": "desa:17.02.05.2001"}) is None

        store.gate.set()
        after = await eventually(lambda: _committed(bootstrap, group, partitions),
                                 lambda offsets: sum(offsets.values()) == sum(ends.values()) + len(events))
    finally:
        await feed.close()
        await broker.stop()
    ends_now = await _committed(bootstrap, group, partitions)
    assert after == ends_now
    desa = await store.area("desa:17.02.05.2001")
    assert desa["terdaftar"] == len(events)
    stored = [doc["_id"] async for doc in store.residents.find({}, {"_id": 1})]
    assert sorted(stored) == sorted(event.payload.resident_id for event in events)


async def test_a_feed_stopped_with_records_waiting_commits_the_batch_in_hand_and_the_next_start_applies_the_rest(
    kafka_producer: Any, stack: Any, mongo_db: Any,
) -> None:
    """Stopped while a batch is being written and later records wait, the feed finishes and commits
    that batch only; the next feed on the group applies the waiting records, and nothing twice."""
    bootstrap = _bootstrap(stack)
    rng = random.Random()
    prefix = f"feedstop{rng.randrange(10**6)}"
    group = f"coverage-feed-{prefix}"
    ends = await _group_at_topic_ends(bootstrap, group)
    partitions = list(ends)
    held = _HeldCounters(mongo_db, prefix)
    broker, feed = _feed(bootstrap, held, group)
    events = [enrolled_event(rng, kecamatan="17.02.07", desa="17.02.07.2001") for _ in range(8)]
    send = _sender(kafka_producer)
    first = await kafka_producer.send_and_wait(RESIDENT.name, events[0].model_dump_json().encode(),
                                               key=events[0].payload.resident_id.encode())
    await _start(broker, feed)
    try:
        await asyncio.wait_for(held.waiting.wait(), timeout=60)
        await send(events[1:])
        applier = feed.applier
        assert applier is not None
        await eventually(lambda: asyncio.sleep(0, len(applier.waiting)), lambda n: n == len(events) - 1)
        held.gate.set()
        await feed.close()
    finally:
        await broker.stop()
    first_tp = TopicPartition(first.topic, first.partition)
    assert await _committed(bootstrap, group, partitions) == {**ends, first_tp: first.offset + 1}
    assert (await held.area("desa:17.02.07.2001"))["terdaftar"] == 1

    store = CoverageStore(mongo_db, prefix)
    broker, feed = _feed(bootstrap, store, group)
    await _start(broker, feed)
    try:
        await eventually(lambda: _committed(bootstrap, group, partitions),
                         lambda offsets: sum(offsets.values()) == sum(ends.values()) + len(events))
    finally:
        await feed.close()
        await broker.stop()
    assert (await store.area("desa:17.02.07.2001"))["terdaftar"] == len(events)
    for event in events:
        doc = await store.residents.find_one({"_id": event.payload.resident_id})
        assert doc is not None and doc["events"] == [str(event.event_id)]
