"""Subscriptions of the coverage service: parse each message, call one projection use case."""

from __future__ import annotations

from typing import Any, cast

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import TypeAdapter

from services.coverage.handlers import Outcome, project_event
from services.coverage.store import CoverageStore
from shared.broker import event_bytes, subscribe
from shared.contracts import RECORDING_EVENTS, RESIDENT_EVENTS
from shared.metrics import ConsumerMetrics
from shared.mongo import position_key
from shared.topics import RECORDING, RESIDENT


def register_consumers(
    broker: KafkaBroker, *, store: CoverageStore, metrics: ConsumerMetrics, group: str
) -> None:
    """Attach the projector's subscribers to the broker."""

    async def project(message: KafkaMessage, adapter: TypeAdapter[Any]) -> None:
        record = cast(ConsumerRecord, message.raw_message)
        event = adapter.validate_json(event_bytes(message))
        outcome = await project_event(
            event, source=position_key(record.topic, record.partition), position=record.offset, store=store,
        )
        counter = metrics.applied if outcome == Outcome.APPLIED else metrics.duplicates
        counter.labels(metrics.service, event.event_type).inc()

    @subscribe(broker, RESIDENT, group=group)
    async def on_resident_event(message: KafkaMessage) -> None:
        await project(message, RESIDENT_EVENTS)

    @subscribe(broker, RECORDING, group=f"{group}-recording")
    async def on_recording_event(message: KafkaMessage) -> None:
        await project(message, RECORDING_EVENTS)
