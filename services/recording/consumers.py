"""Subscriptions of the recording service: the roster, visits and recording events keep its state.

Roster and recording events come in batches applied in each resident's order: a round holds one
event of each resident and is written in bulk (shared/batching.py); visits one at a time.
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter

from services.recording.handlers import (
    RecordingDeps,
    apply_outreach_event,
    apply_recording_event,
    apply_recording_events,
    apply_resident_event,
    apply_resident_events,
    apply_waiting_walk_ins,
    apply_waiting_walk_ins_of,
)
from shared.areas import load_areas
from shared.batching import apply_in_rounds
from shared.broker import event_bytes, subscribe, subscribe_batch
from shared.contracts import OUTREACH_EVENTS, RECORDING_EVENTS, RESIDENT_EVENTS, RecordingEvent, ResidentEvent
from shared.contracts.recording import RecordingCaptured, RecordingFailed
from shared.dead_letter import DeadLetterPolicy
from shared.metrics import ConsumerMetrics
from shared.topics import OUTREACH, RECORDING, RESIDENT

GROUP = "recording-state"
OTHER_KECAMATAN = "lainnya"


def kecamatan_label(code: str) -> str:
    """A metric label from the bounded set of the regency's kecamatan codes."""
    return code if code in load_areas().kecamatan else OTHER_KECAMATAN


# Residents taken at once by the copy of the roster when it is behind (an import): each batch adds one
# part to every desa and school it names (shared/place_members.py), and an import of every kecamatan at
# once names most of them in every batch, so fewer, larger batches keep the place documents short.
ROSTER_BATCH_RECORDS = 2_000


def register_consumers(
    broker: KafkaBroker, *, deps: RecordingDeps, metrics: ConsumerMetrics, dead_letters: DeadLetterPolicy,
    stale: Counter, recordings: Counter,
) -> None:
    """Attach recording's subscribers to the broker."""

    def count(event_type: str, outcome: object) -> None:
        metrics.record(event_type, outcome)
        if outcome == "stale":
            stale.labels(event_type).inc()

    async def apply_resident_round(events: list[ResidentEvent]) -> None:
        for event, applied in zip(events, await apply_resident_events(events, store=deps.store), strict=True):
            count(event.event_type, applied)
        await apply_waiting_walk_ins_of(events, deps=deps)

    async def apply_resident(event: ResidentEvent) -> None:
        count(event.event_type, await apply_resident_event(event, store=deps.store))
        await apply_waiting_walk_ins(event, deps=deps)

    @subscribe_batch(broker, RESIDENT, group=f"{GROUP}-resident", records=ROSTER_BATCH_RECORDS)
    async def on_resident_events(message: KafkaMessage) -> None:
        await apply_in_rounds(message.raw_message, parse=RESIDENT_EVENTS.validate_json,  # type: ignore[arg-type]
                              key_of=lambda e: e.payload.resident_id, apply_round=apply_resident_round,
                              handle=apply_resident, dead_letters=dead_letters)

    @subscribe(broker, OUTREACH, group=f"{GROUP}-outreach")
    async def on_outreach_event(message: KafkaMessage) -> None:
        event = OUTREACH_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_outreach_event(event, store=deps.store))

    def count_recording(event: RecordingEvent, outcome: str) -> None:
        count(event.event_type, outcome)
        if outcome == "applied" and isinstance(event, RecordingCaptured | RecordingFailed):
            result = "direkam" if isinstance(event, RecordingCaptured) else "gagal"
            recordings.labels(kecamatan_label(event.payload.kecamatan_code), result).inc()

    async def apply_recording_round(events: list[RecordingEvent]) -> None:
        for event, outcome in zip(events, await apply_recording_events(events, deps=deps), strict=True):
            count_recording(event, outcome)

    async def apply_recording(event: RecordingEvent) -> None:
        count_recording(event, await apply_recording_event(event, deps=deps))

    @subscribe_batch(broker, RECORDING, group=f"{GROUP}-recording")
    async def on_recording_events(message: KafkaMessage) -> None:
        await apply_in_rounds(message.raw_message, parse=RECORDING_EVENTS.validate_json,  # type: ignore[arg-type]
                              key_of=lambda e: e.payload.resident_id, apply_round=apply_recording_round,
                              handle=apply_recording, dead_letters=dead_letters)
