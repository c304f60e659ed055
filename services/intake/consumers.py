"""Subscriptions of the intake service: its own resident topic keeps the roster complete.

The HTTP path updates the roster right after Kafka confirms an event; this consumer applies
every event again (apply-once), so a crash between the two leaves nothing missing. An event this
process is still writing is waited for, and then skipped without a read (`Roster.writing`). A batch is
read and written in bulk (one read and one write per round, see shared/batching.py).
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.intake.store import Roster
from shared.batching import apply_in_rounds
from shared.broker import subscribe_batch
from shared.contracts import RESIDENT_EVENTS, ResidentEvent
from shared.dead_letter import DeadLetterPolicy
from shared.metrics import ConsumerMetrics
from shared.topics import RESIDENT, ConsumerGroup


def register_consumers(broker: KafkaBroker, *, roster: Roster, metrics: ConsumerMetrics,
                       dead_letters: DeadLetterPolicy) -> None:
    """Attach the roster subscriber to the broker."""

    def count(event: ResidentEvent, applied: bool) -> None:
        counter = metrics.applied if applied else metrics.duplicates
        counter.labels(metrics.service, event.event_type).inc()

    async def apply_round(events: list[ResidentEvent]) -> None:
        await roster.after_writes_here(events)
        for event, applied in zip(events, await roster.apply_many(events), strict=True):
            count(event, applied)

    async def apply_one(event: ResidentEvent) -> None:
        await roster.after_writes_here([event])
        count(event, await roster.apply(event))

    @subscribe_batch(broker, RESIDENT, group=ConsumerGroup.INTAKE_ROSTER)
    async def on_resident_events(message: KafkaMessage) -> None:
        await apply_in_rounds(message.raw_message, parse=RESIDENT_EVENTS.validate_json,  # type: ignore[arg-type]
                              key_of=lambda e: e.payload.resident_id, apply_round=apply_round, handle=apply_one,
                              dead_letters=dead_letters)
