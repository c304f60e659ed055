"""The projector's subscription: every topic into the active projection, read and applied side by side.

The batch subscriber only hands the records it reads to an applier task, which applies what has
arrived (up to BATCH_RECORDS at a time, in the order read) and then commits exactly the offsets it
applied. Kafka keeps being read while a batch is written: aiokafka fetches a partition again only
once its fetched records are taken, so with the subscriber waiting on each write an event sat
behind the batch in hand, the next one and its own. A record handed over is committed only after
it is applied; a crash or a stop redelivers the rest, and the projector finds what it already
applied. A batch's commit is answered while the next batch is applied (commits stay in order).

Which collections are fed, and with which consumer group, comes from `coverage_meta`; when a
rebuild swaps in a new projection, the running service stops this subscriber and starts one
with the new group, which continues from where the rebuild stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry, Histogram

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
# Records read and not yet applied; beyond this the subscriber waits before reading more.
MAX_WAITING = 4 * BATCH_RECORDS
CLOSE_SECONDS = 30.0


async def parse_batch(records: Sequence[ConsumerRecord], dead_letters: DeadLetterPolicy) -> list[Positioned]:
    """Parse every record; one that can never be applied goes to its dead-letter topic, the rest stay."""
    parsed: list[Positioned] = []
    for record in records:
        event = await parse_record(record, ADAPTERS[record.topic].validate_json, dead_letters)
        if event is not None:
            parsed.append(Positioned(event, position_key(record.topic, record.partition), record.offset))
    return parsed


class Applier:
    """Applies the records the subscriber hands over, in the order read, and commits what it applied."""

    def __init__(self, projector: Projector, *, metrics: ConsumerMetrics, dead_letters: DeadLetterPolicy,
                 batch_seconds: Histogram, after_batch: Callable[[int], None] | None = None) -> None:
        self.projector = projector
        self.metrics = metrics
        self.dead_letters = dead_letters
        self.batch_seconds = batch_seconds
        self.after_batch = after_batch
        self.waiting: list[ConsumerRecord[Any, Any]] = []
        self.arrived = asyncio.Event()
        self.room = asyncio.Event()
        self.room.set()
        self.closing = asyncio.Event()
        self.consumer: Any = None
        self.task: asyncio.Task[None] | None = None

    async def hand_over(self, message: KafkaMessage) -> None:
        """The subscriber's handler: queue the records read (waiting while MAX_WAITING are queued)."""
        while len(self.waiting) >= MAX_WAITING and not self.closing.is_set():
            self.room.clear()
            await self.room.wait()
        if self.closing.is_set():
            return  # not committed: read again by whoever consumes these partitions next
        self.consumer = message.consumer
        self.waiting.extend(message.raw_message)  # type: ignore[arg-type]
        self.arrived.set()
        if self.task is None:
            self.task = asyncio.create_task(self._run(), name="coverage-projector")

    async def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Take nothing more; the batch in hand is finished and committed (a retry in progress stops)."""
        self.closing.set()
        self.arrived.set()
        self.room.set()
        if self.task is None:
            return
        done, _ = await asyncio.wait({self.task}, timeout=timeout)
        if not done:
            log.warning("projector batch still running after %.0f s at stop; it is read again next start", timeout)
            self.task.cancel()

    async def _run(self) -> None:
        committing: asyncio.Task[None] | None = None
        try:
            while True:
                await self.arrived.wait()
                if self.closing.is_set():
                    return
                records = self.waiting[:BATCH_RECORDS]
                del self.waiting[:BATCH_RECORDS]
                if not self.waiting:
                    self.arrived.clear()
                self.room.set()
                if not await self._apply_until_done(records):
                    return
                # The commit goes out now and is answered while the next batch is applied; commits stay
                # in order (each waits for the one before), and the last is awaited before stopping.
                if committing is not None:
                    await committing
                committing = asyncio.create_task(self._commit(records))
                await asyncio.sleep(0)
        finally:
            if committing is not None:
                await committing

    async def _apply_until_done(self, records: list[ConsumerRecord[Any, Any]]) -> bool:
        """Apply (or park) the records; anything else is retried, as later records must wait for them."""
        attempt = 0
        while True:
            try:
                started = time.perf_counter()
                await self.dead_letters.run(lambda: self._apply(records), records, stopping=self.closing)
                self.batch_seconds.observe(time.perf_counter() - started)
                return True
            except Exception:
                if self.closing.is_set():
                    return False
                attempt += 1
                log.exception("projector batch failed, retry %d", attempt)
                try:
                    await asyncio.wait_for(self.closing.wait(), timeout=self.dead_letters.delay(attempt))
                except TimeoutError:
                    pass

    async def _apply(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        batch = await parse_batch(records, self.dead_letters)
        result = await self.projector.apply(batch)
        for (event_type, outcome), n in result.outcomes.items():
            self.metrics.record(event_type, outcome, n)

    async def _commit(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Commit the offsets after `records` on the partitions still assigned; an offset not committed
        only means those events are read again and found applied."""
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
        assigned = self.consumer.assignment()
        owned = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        try:
            if owned:
                await self.consumer.commit(owned)
        except Exception as exc:  # noqa: BLE001 - a rebalance, a stopped consumer, Kafka away: all read again
            log.warning("offsets not committed (%s); those events are read again and found applied",
                        type(exc).__name__)
        if self.after_batch is not None:
            self.after_batch(len(records))


class ProjectionFeed:
    """The subscriber of the active projection and its applier, replaceable while the service runs."""

    def __init__(self, broker: KafkaBroker, *, metrics: ConsumerMetrics, dead_letters: DeadLetterPolicy,
                 registry: CollectorRegistry, after_batch: Callable[[int], None] | None = None) -> None:
        self.broker = broker
        self.metrics = metrics
        self.dead_letters = dead_letters
        self.after_batch = after_batch
        self.batch_seconds = Histogram(
            "ektp_projection_batch_seconds", "Seconds to apply one batch of events to the coverage projection",
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5), registry=registry)
        self.subscriber: Any = None
        self.applier: Applier | None = None
        self.group: str | None = None
        self.store: CoverageStore | None = None

    def attach(self, store: CoverageStore, group: str, *, persistent: bool = True) -> Any:
        """Register the subscriber feeding `store` with consumer group `group` (started with the broker)."""
        applier = Applier(Projector(store), metrics=self.metrics, dead_letters=self.dead_letters,
                          batch_seconds=self.batch_seconds, after_batch=self.after_batch)
        subscriber = self.broker.subscriber(
            *(topic.name for topic in ALL),
            group_id=group, auto_offset_reset="earliest", ack_policy=AckPolicy.MANUAL,
            batch=True, max_records=BATCH_RECORDS, batch_timeout_ms=BATCH_WAIT_MS, fetch_max_wait_ms=BATCH_WAIT_MS,
            persistent=persistent, decoder=undecoded,
        )
        subscriber(applier.hand_over)
        self.subscriber, self.applier, self.group, self.store = subscriber, applier, group, store
        return subscriber

    async def close(self) -> None:
        """Finish and commit the batch in hand, then stop reading (before the broker stops)."""
        if self.applier is not None:
            await self.applier.close()
        if self.subscriber is not None:
            await self.subscriber.stop()

    async def replace(self, store: CoverageStore, group: str) -> None:
        """Stop feeding the current projection and feed `store` from `group`'s committed offsets."""
        await self.close()
        subscriber = self.attach(store, group, persistent=False)
        await subscriber.start()
        log.info("projector now feeds %s with group %s", store.prefix, group)
