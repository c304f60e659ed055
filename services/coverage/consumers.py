"""The projector's feed: every topic into the active projection, read and applied side by side.

The feed owns a plain aiokafka consumer (public API only: getmany, assignment, commit of given
offsets). Its reader only hands the records it reads to an applier task, which applies what has
arrived (up to MAX_WAITING at a time, in the order read) and then commits exactly the offsets it
applied. Kafka keeps being read while a batch is written: aiokafka fetches a partition again only
once its fetched records are taken, so with the subscriber waiting on each write an event sat
behind the batch in hand, the next one and its own. A record handed over is committed only after
it is applied; a crash or a stop redelivers the rest, and the projector finds what it already
applied. A batch's commit is answered while the next batch is applied (commits stay in order).

When an event of a batch cannot be applied (poison or a handler error), the batch's halves are
applied apart, down to that event, which alone goes to its dead-letter topic; the others are
applied, once (what a failed attempt wrote is found applied). `python -m services.coverage.dead_letters`
lists what was parked and replays it after a fix.

Which collections are fed, and with which consumer group, comes from `coverage_meta`; when a
rebuild swaps in a new projection, the running service stops this feed's consumer and starts one
with the new group, which continues from where the rebuild stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Histogram

from services.coverage.projector import ADAPTERS, Positioned, Projector
from services.coverage.store import CoverageStore
from shared.batching import parse_record
from shared.broker import RETRY_BACKOFF_MS, kafka_client_options
from shared.dead_letter import DeadLetterPolicy
from shared.kafka_backoff import install_metadata_backoff
from shared.metrics import ConsumerMetrics
from shared.mongo import position_key
from shared.settings import InfraSettings
from shared.topics import ALL

log = logging.getLogger("ektp.coverage.consumers")
BATCH_RECORDS = 500
# Also the consumer's longest wait on a fetch: with aiokafka's default (500 ms) a fetch asking only for
# partitions already read to the end held back the others for half a second (measured in the drain benchmark).
BATCH_WAIT_MS = 100
# Records read and not yet applied; beyond this the subscriber waits before reading more. Also the largest
# batch: a backlog (an import of every kecamatan at once) names most areas in every batch, and each batch
# reads and rewrites each area it names, so the larger the batch, the fewer times the regency's area
# documents are rewritten (batches of 2,000 left coverage exact 167 s after the roster at full scale).
MAX_WAITING = 10_000
CLOSE_SECONDS = 30.0
READ_RETRY_SECONDS = 1.0


async def parse_batch(records: Sequence[ConsumerRecord], dead_letters: DeadLetterPolicy) -> list[Positioned]:
    """Parse every record; one that can never be applied goes to its dead-letter topic, the rest stay."""
    parsed: list[Positioned] = []
    for record in records:
        event = await parse_record(record, ADAPTERS[record.topic].validate_json, dead_letters)
        if event is not None:
            parsed.append(Positioned(event, position_key(record.topic, record.partition), record.offset, record))
    return parsed


def _record_of(item: Positioned) -> Any:
    return item.record


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
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None

    async def hand_over(self, records: Sequence[ConsumerRecord[Any, Any]], consumer: AIOKafkaConsumer) -> None:
        """Queue the records `consumer` read (waiting while MAX_WAITING are queued)."""
        while len(self.waiting) >= MAX_WAITING and not self.closing.is_set():
            self.room.clear()
            await self.room.wait()
        if self.closing.is_set():
            return  # not committed: read again by whoever consumes these partitions next
        self.consumer = consumer
        self.waiting.extend(records)
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
                # Everything read so far is one batch: a backlog (an import) is applied in batches of up
                # to MAX_WAITING, so each area counter is written once for many residents.
                records = self.waiting[:MAX_WAITING]
                del self.waiting[:MAX_WAITING]
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
        """Apply the records, parking any that can never be applied (alone: the others are applied);
        a transient failure is retried, as later records must wait for these."""
        attempt = 0
        batch: list[Positioned] | None = None
        while True:
            try:
                started = time.perf_counter()
                if batch is None:
                    batch = await parse_batch(records, self.dead_letters)
                await self.dead_letters.run_isolating(self._apply, batch, record_of=_record_of,
                                                      stopping=self.closing)
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

    async def _apply(self, batch: Sequence[Positioned]) -> None:
        result = await self.projector.apply(batch)
        for (event_type, outcome), n in result.outcomes.items():
            self.metrics.record(event_type, outcome, n)

    async def _commit(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Commit the offsets after `records` on the partitions still assigned; an offset not committed
        only means those events are read again and found applied."""
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
        consumer = self.consumer
        assert consumer is not None, "records are handed over with their consumer"
        try:
            assigned = consumer.assignment()
            owned = {tp: offset for tp, offset in offsets.items() if tp in assigned}
            if owned:
                await consumer.commit(owned)
        except Exception as exc:  # noqa: BLE001 - a rebalance, a stopped consumer, Kafka away: all read again
            log.warning("offsets not committed (%s); those events are read again and found applied",
                        type(exc).__name__)
        if self.after_batch is not None:
            self.after_batch(len(records))


class ProjectionFeed:
    """The consumer of the active projection and its applier, replaceable while the service runs."""

    def __init__(self, infra: InfraSettings, *, metrics: ConsumerMetrics, dead_letters: DeadLetterPolicy,
                 registry: CollectorRegistry, after_batch: Callable[[int], None] | None = None) -> None:
        self.infra = infra
        self.metrics = metrics
        self.dead_letters = dead_letters
        self.after_batch = after_batch
        self.batch_seconds = Histogram(
            "ektp_projection_batch_seconds", "Seconds to apply one batch of events to the coverage projection",
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5), registry=registry)
        self.consumer: AIOKafkaConsumer | None = None
        self.reader: asyncio.Task[None] | None = None
        self.applier: Applier | None = None
        self.group: str | None = None
        self.store: CoverageStore | None = None

    def attach(self, store: CoverageStore, group: str) -> None:
        """Feed `store` from consumer group `group` once started."""
        self.applier = Applier(Projector(store), metrics=self.metrics, dead_letters=self.dead_letters,
                               batch_seconds=self.batch_seconds, after_batch=self.after_batch)
        self.group, self.store = group, store

    async def start(self) -> None:
        """Join the group and read every topic from the committed offsets (the earliest for a new group)."""
        assert self.applier is not None and self.group is not None, "attach a store first"
        install_metadata_backoff()
        consumer = AIOKafkaConsumer(
            *(topic.name for topic in ALL), **kafka_client_options(self.infra), group_id=self.group,
            client_id="ektp-coverage", enable_auto_commit=False, auto_offset_reset="earliest",
            max_poll_records=BATCH_RECORDS, fetch_max_wait_ms=BATCH_WAIT_MS, retry_backoff_ms=RETRY_BACKOFF_MS)
        await consumer.start()
        self.consumer = consumer
        self.reader = asyncio.create_task(self._read(consumer, self.applier), name="coverage-feed-reader")

    async def _read(self, consumer: AIOKafkaConsumer, applier: Applier) -> None:
        while not applier.closing.is_set():
            try:
                fetched = await consumer.getmany(timeout_ms=BATCH_WAIT_MS, max_records=BATCH_RECORDS)
            except KafkaError as exc:  # Kafka away: the consumer reconnects; nothing was taken
                log.warning("coverage feed could not read (%s); trying again", type(exc).__name__)
                await asyncio.sleep(READ_RETRY_SECONDS)
                continue
            records = [record for partition in fetched.values() for record in partition]
            if records:
                await applier.hand_over(records, consumer)

    async def close(self) -> None:
        """Finish and commit the batch in hand, then stop reading and leave the group."""
        if self.applier is not None:
            await self.applier.close()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
            self.reader = None
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None

    async def replace(self, store: CoverageStore, group: str) -> None:
        """Stop feeding the current projection and feed `store` from `group`'s committed offsets."""
        await self.close()
        self.attach(store, group)
        await self.start()
        log.info("projector now feeds %s with group %s", store.prefix, group)

    async def measure_lag(self) -> None:
        """Set ektp_consumer_lag for the partitions this feed reads."""
        if self.consumer is not None and self.group is not None:
            await self.metrics.measure_lag(self.consumer, self.group)
