"""Subscriptions of the intake service: its own resident topic keeps the roster complete.

The HTTP path updates the roster right after Kafka confirms an event; this consumer applies
every event again (apply-once), so a crash between the two leaves nothing missing.
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.intake.store import Roster
from shared.broker import event_bytes, subscribe
from shared.contracts import RESIDENT_EVENTS
from shared.metrics import ConsumerMetrics
from shared.topics import RESIDENT, ConsumerGroup


def register_consumers(broker: KafkaBroker, *, roster: Roster, metrics: ConsumerMetrics) -> None:
    """Attach the roster subscriber to the broker."""

    @subscribe(broker, RESIDENT, group=ConsumerGroup.INTAKE_ROSTER)
    async def on_resident_event(message: KafkaMessage) -> None:
        event = RESIDENT_EVENTS.validate_json(event_bytes(message))
        applied = await roster.apply(event)
        counter = metrics.applied if applied else metrics.duplicates
        counter.labels(metrics.service, event.event_type).inc()
