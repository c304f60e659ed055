"""The scenarios, each a raw baseline and the system's own path doing the same work.

- publish: the events the intake and recording publish, through the services' publisher
  (`shared.publishing.KafkaEventPublisher`: pydantic serialisation, headers, its own idempotent
  aiokafka producer with acks=all) against a plain aiokafka producer sending the same bytes with
  the same keys and producer settings; both keep the same number of sends in flight and wait for
  every acknowledgement.
- drain: the coverage service's own feed (`services.coverage.consumers.ProjectionFeed`: its own
  aiokafka consumer's reader handing records to the applier, pydantic parsing, the Projector
  folding views and summing counters, an explicit commit after each batch) over an in-memory
  store instead of the database, against a plain aiokafka consumer draining the same topics with
  `getmany`; both commit after every batch of at most BATCH_RECORDS records.
- rebuild: `services.coverage.rebuild` into fresh collections against a plain drain plus plain
  PyMongo `bulk_write(ordered=False)` of one document per event and the area counters per batch
  (bench/rebuild.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

from bench.harness import Run

IN_FLIGHT = 256


async def create_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


def publish_scenario(env: dict[str, str], models: list[tuple[str, str, Any]]) -> tuple[Run, Run]:
    """Baseline and system runs publishing `models` to a topic of their own."""
    from aiokafka import AIOKafkaProducer
    from prometheus_client import CollectorRegistry

    from shared.broker import PublishedEvents
    from shared.publishing import KafkaEventPublisher, event_headers
    from shared.settings import InfraSettings
    from shared.topics import RESIDENT

    bootstrap = env["EKTP_KAFKA_BOOTSTRAP"]
    topic = dataclasses.replace(RESIDENT, name=f"{env['EKTP_TOPIC_PREFIX']}bench.publish")
    payloads = [(key.encode(), event.model_dump_json().encode(), event_headers(event)) for _, key, event in models]

    async def windowed(sends: list[Any]) -> None:
        for start in range(0, len(sends), IN_FLIGHT):
            await asyncio.gather(*(send() for send in sends[start:start + IN_FLIGHT]))

    async def baseline() -> dict[str, Any]:
        await _ensure_topic(bootstrap, topic.name)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                    request_timeout_ms=15_000, client_id="bench-plain")
        await producer.start()
        try:
            def send(key: bytes, value: bytes, headers: dict[str, str]) -> Any:
                return lambda: producer.send_and_wait(
                    topic.name, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])

            await windowed([send(*p) for p in payloads])
        finally:
            await producer.stop()
        return {"items": len(payloads)}

    async def system() -> dict[str, Any]:
        await _ensure_topic(bootstrap, topic.name)
        registry = CollectorRegistry()
        publisher = KafkaEventPublisher(InfraSettings(), service="bench", counted=PublishedEvents(registry, "bench"))
        await publisher.start()
        try:
            def send(key: str, event: Any) -> Any:
                return lambda: publisher.publish(event, topic=topic, key=key)

            await windowed([send(key, event) for _, key, event in models])
        finally:
            await publisher.stop()
        return {"items": len(models)}

    return baseline, system


_created: set[str] = set()


async def _ensure_topic(bootstrap: str, name: str) -> None:
    if name not in _created:
        await create_topic(bootstrap, name)
        _created.add(name)


def drain_scenario(env: dict[str, str], total: int) -> tuple[Run, Run]:
    """Baseline and system runs draining every corpus topic from offset 0 with a fresh group."""
    from aiokafka import AIOKafkaConsumer
    from prometheus_client import CollectorRegistry

    from services.coverage.consumers import BATCH_RECORDS, BATCH_WAIT_MS, ProjectionFeed
    from services.coverage.staged_store import MemoryProjection
    from shared.broker import make_broker
    from shared.dead_letter import DeadLetterPolicy
    from shared.metrics import ConsumerMetrics
    from shared.settings import InfraSettings
    from shared.topics import ALL

    bootstrap = env["EKTP_KAFKA_BOOTSTRAP"]
    topics = [t.name for t in ALL]

    async def baseline() -> dict[str, Any]:
        consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=f"plain-drain-{uuid.uuid4().hex[:8]}",
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    max_poll_records=BATCH_RECORDS, fetch_max_wait_ms=BATCH_WAIT_MS)
        await consumer.start()
        drained = 0
        try:
            while drained < total:
                fetched = await consumer.getmany(timeout_ms=BATCH_WAIT_MS, max_records=BATCH_RECORDS)
                if fetched:
                    drained += sum(len(records) for records in fetched.values())
                    await consumer.commit()
        finally:
            await consumer.stop()
        return {"items": drained}

    async def system() -> dict[str, Any]:
        registry = CollectorRegistry()
        metrics = ConsumerMetrics(registry, "bench")
        dead_letters = DeadLetterPolicy(service="bench", metrics=metrics)
        broker = make_broker(InfraSettings(), service="bench", registry=registry, middlewares=[dead_letters])
        dead_letters.bind(broker.publish)
        store = MemoryProjection()
        done = asyncio.Event()
        seen = 0

        def count(records: int) -> None:
            nonlocal seen
            seen += records
            if seen >= total:
                done.set()

        feed = ProjectionFeed(InfraSettings(), metrics=metrics, dead_letters=dead_letters, registry=registry,
                              after_batch=count)
        feed.attach(store, f"system-drain-{uuid.uuid4().hex[:8]}")  # type: ignore[arg-type]
        await broker.start()
        await feed.start()
        try:
            await done.wait()
        finally:
            await feed.close()
            await broker.stop()
        applied = sum(int(sample.value) for family in registry.collect() if family.name == "ektp_events_applied"
                      for sample in family.samples if sample.name.endswith("_total"))
        return {"items": seen, "applied": applied,
                "terdaftar": int(store.counter_document("kab:17.02").get("terdaftar", 0))}

    return baseline, system
