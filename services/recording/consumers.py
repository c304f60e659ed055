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
from shared.areas import load_areas
from shared.broker import event_bytes, subscribe
from shared.contracts import OUTREACH_EVENTS, RECORDING_EVENTS, RESIDENT_EVENTS
from shared.contracts.recording import RecordingCaptured, RecordingFailed
from shared.metrics import ConsumerMetrics
from shared.topics import OUTREACH, RECORDING, RESIDENT

GROUP = "recording-state"
OTHER_KECAMATAN = "lainnya"


def kecamatan_label(code: str) -> str:
    """A metric label from the bounded set of the regency's kecamatan codes."""
    return code if code in load_areas().kecamatan else OTHER_KECAMATAN


def register_consumers(
    broker: KafkaBroker, *, deps: RecordingDeps, metrics: ConsumerMetrics, stale: Counter, recordings: Counter
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
        outcome = await apply_recording_event(event, deps=deps)
        count(event.event_type, outcome)
        if outcome == "applied" and isinstance(event, RecordingCaptured | RecordingFailed):
            result = "direkam" if isinstance(event, RecordingCaptured) else "gagal"
            recordings.labels(kecamatan_label(event.payload.kecamatan_code), result).inc()
