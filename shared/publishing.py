"""Publishing events to Kafka: the one place an event becomes bytes, a key and headers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from faststream.kafka import KafkaBroker

from shared.contracts.envelope import Envelope
from shared.topics import Topic


class EventPublisher(Protocol):
    """Sends an event and returns once the broker has it durably (acks=all)."""

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None: ...


def event_headers(event: Envelope) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "event_type": str(getattr(event, "event_type", "")),
        "schema_version": str(getattr(event, "schema_version", "")),
        "event_id": str(event.event_id),
    }


class KafkaEventPublisher:
    """EventPublisher over a FastStream broker whose producer is idempotent with acks=all."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None:
        await self.broker.publish(
            event.model_dump_json().encode(),
            topic=topic.name,
            key=key.encode(),
            headers=event_headers(event),
        )


@dataclass(frozen=True)
class DerivedIds:
    """Ids of events that follow from another event: the same on every redelivery of the source,
    so publishing them again after a crash is harmless. One namespace per service."""

    namespace: uuid.UUID

    def __call__(self, source: object, kind: str) -> uuid.UUID:
        return uuid.uuid5(self.namespace, f"{source}:{kind}")
