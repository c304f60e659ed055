"""Subscriptions of the recording service: the roster, visits and recording events keep its state."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter

from services.recording.handlers import (
    RecordingDeps,
    apply_outreach_event,
    apply_recording_event,
    apply_resident_event,
)
from shared.broker import event_bytes, subscribe
from shared.contracts import OUTREACH_EVENTS, RECORDING_EVENTS, RESIDENT_EVENTS
from shared.metrics import ConsumerMetrics
from shared.topics import OUTREACH, RECORDING, RESIDENT

GROUP = "recording-state"


def register_consumers(
    broker: KafkaBroker, *, deps: RecordingDeps, metrics: ConsumerMetrics, stale: Counter
) -> None:
    """Attach recording's subscribers to the broker."""

    def count(event_type: str, outcome: object) -> None:
        metrics.record(event_type, outcome)
        if outcome == "stale":
            stale.labels(event_type).inc()

    @subscribe(broker, RESIDENT, group=f"{GROUP}-resident")
    async def on_resident_event(message: KafkaMessage) -> None:
        event = RESIDENT_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_resident_event(event, store=deps.store))

    @subscribe(broker, OUTREACH, group=f"{GROUP}-outreach")
    async def on_outreach_event(message: KafkaMessage) -> None:
        event = OUTREACH_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_outreach_event(event, store=deps.store))

    @subscribe(broker, RECORDING, group=f"{GROUP}-recording")
    async def on_recording_event(message: KafkaMessage) -> None:
        event = RECORDING_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_recording_event(event, deps=deps))
