"""The services' publisher on the real broker: its own idempotent producer, key and headers, counted once."""

from __future__ import annotations

import dataclasses
import random
import uuid
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError
from prometheus_client import CollectorRegistry

from shared.broker import PublishedEvents
from shared.contracts import RESIDENT_EVENTS
from shared.publishing import KafkaEventPublisher
from shared.settings import InfraSettings
from shared.topics import RESIDENT
from tests.faults.system import read_records
from tests.integration.helpers import enrolled_event

pytestmark = pytest.mark.infra


async def test_events_go_on_the_publishers_producer_with_key_and_headers_and_are_counted(stack: Any) -> None:
    bootstrap = f"127.0.0.1:{stack.ports.kafka}"
    topic = dataclasses.replace(RESIDENT, name=f"{RESIDENT.name}.publish-{uuid.uuid4().hex[:8]}")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic.name, 3, 1)])
    finally:
        await admin.close()
    registry = CollectorRegistry()
    publisher = KafkaEventPublisher(InfraSettings(kafka_bootstrap=bootstrap), service="publish-test",
                                    counted=PublishedEvents(registry, "publish-test"))
    rng = random.Random(5)
    events = [enrolled_event(rng) for _ in range(4)]
    # Not started: a clear Kafka error (answered 503 by the services), nothing sent.
    with pytest.raises(KafkaConnectionError):
        await publisher.publish(events[0], topic=topic, key=events[0].payload.resident_id)
    await publisher.start()
    try:
        for event in events:
            await publisher.publish(event, topic=topic, key=event.payload.resident_id)
    finally:
        await publisher.stop()
    with pytest.raises(KafkaConnectionError):
        await publisher.publish(events[0], topic=topic, key=events[0].payload.resident_id)

    found = await read_records(bootstrap, [TopicPartition(topic.name, p) for p in range(3)])
    records = [record for partition in found.values() for record in partition]
    assert len(records) == len(events)
    by_id = {str(event.event_id): event for event in events}
    for record in records:
        headers = {name: value.decode() for name, value in record.headers}
        event = by_id.pop(headers["event_id"])
        assert record.key == event.payload.resident_id.encode()
        assert headers == {"content-type": "application/json", "event_type": "resident.enrolled",
                           "schema_version": "1", "event_id": str(event.event_id)}
        assert RESIDENT_EVENTS.validate_json(record.value) == event
    assert by_id == {}
    sent = registry.get_sample_value("ektp_events_published_total",
                                     {"service": "publish-test", "topic": topic.name, "outcome": "sent"})
    assert sent == len(events)
