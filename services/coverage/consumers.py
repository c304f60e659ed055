"""The projector's subscription: one batch subscriber over every topic, into the active projection.

Which collections are fed, and with which consumer group, comes from `coverage_meta`; when a
rebuild swaps in a new projection, the running service stops this subscriber and starts one
with the new group, which continues from where the rebuild stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.coverage.projector import ADAPTERS, Positioned, Projector
from services.coverage.store import CoverageStore
from shared.batching import parse_record
from shared.broker import undecoded
from shared.dead_letter import DeadLetterPolicy
from shared.metrics import ConsumerMetrics
from shared.mongo import position_key
from shared.topics import ALL

log = logging.getLogger("ektp.coverage.consumers")
BATCH_RECORDS = 500
# Also the broker's longest wait on a fetch: with aiokafka's default (500 ms) a fetch asking only for
# partitions already read to the end held back the others for half a second (measured in the drain benchmark).
BATCH_WAIT_MS = 100


async def parse_batch(records: Sequence[ConsumerRecord], dead_letters: DeadLetterPolicy) -> list[Positioned]:
    """Parse every record; one that can never be applied goes to its dead-letter topic, the rest stay."""
    parsed: list[Positioned] = []
    for record in records:
        event = await parse_record(record, ADAPTERS[record.topic].validate_json, dead_letters)
        if event is not None:
            parsed.append(Positioned(event, position_key(record.topic, record.partition), record.offset))
    return parsed


class ProjectionFeed:
    """The batch subscriber of the active projection, replaceable while the service runs."""

    def __init__(self, broker: KafkaBroker, *, metrics: ConsumerMetrics, dead_letters: DeadLetterPolicy) -> None:
        self.broker = broker
        self.metrics = metrics
        self.dead_letters = dead_letters
        self.subscriber: Any = None
        self.group: str | None = None
        self.store: CoverageStore | None = None

    def attach(self, store: CoverageStore, group: str, *, persistent: bool = True) -> Any:
        """Register the subscriber feeding `store` with consumer group `group` (started with the broker)."""
        projector = Projector(store)
        subscriber = self.broker.subscriber(
            *(topic.name for topic in ALL),
            group_id=group, auto_offset_reset="earliest", ack_policy=AckPolicy.NACK_ON_ERROR,
            batch=True, max_records=BATCH_RECORDS, batch_timeout_ms=BATCH_WAIT_MS, fetch_max_wait_ms=BATCH_WAIT_MS,
            persistent=persistent, decoder=undecoded,
        )

        @subscriber
        async def project(message: KafkaMessage) -> None:
            records: tuple[ConsumerRecord, ...] = message.raw_message  # type: ignore[assignment]
            batch = await parse_batch(records, self.dead_letters)
            result = await projector.apply(batch)
            for (event_type, outcome), n in result.outcomes.items():
                self.metrics.record(event_type, outcome, n)

        self.subscriber, self.group, self.store = subscriber, group, store
        return subscriber

    async def replace(self, store: CoverageStore, group: str) -> None:
        """Stop feeding the current projection and feed `store` from `group`'s committed offsets."""
        old = self.subscriber
        if old is not None:
            await old.stop()
        subscriber = self.attach(store, group, persistent=False)
        await subscriber.start()
        log.info("projector now feeds %s with group %s", store.prefix, group)
