"""python -m services.coverage.rebuild: replay every topic from the start into fresh collections, then swap.

    python -m services.coverage.rebuild            # rebuild and swap in
    python -m services.coverage.rebuild --no-swap  # rebuild only (to compare with the live projection)

The new projection gets its own collection prefix and consumer group. The replay folds every event
up to the end offsets read at the start in memory (`services.coverage.staged_store`), writes each
document of the new collections once, commits those offsets under the new group, and is swapped
in: the running coverage service notices within a few seconds, reads the new collections and
continues consuming with the new group from where the rebuild stopped. The old collections stay
until dropped with --drop-old.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import logging
import sys
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from services.coverage.config import CoverageSettings
from services.coverage.consumers import parse_batch
from services.coverage.projector import Projector
from services.coverage.staged_store import StagedCoverageStore
from services.coverage.store import CoverageStore, Meta
from shared.broker import kafka_client_options
from shared.dead_letter import DeadLetterPolicy
from shared.logs import configure_logging
from shared.metrics import ConsumerMetrics
from shared.mongo import make_client
from shared.serve import collect_less_often
from shared.topics import ALL

log = logging.getLogger("ektp.coverage.rebuild")
# A replay reads far more than the live projector's batch of 500: fewer, larger batches cost less
# Python per event (docs/benchmarks.md "Rebuild").
REBUILD_BATCH_RECORDS = 10_000


class _NoDeadLetters(DeadLetterPolicy):
    """A replay parks nothing again: the live projector already dead-lettered what could not be read."""

    async def dead_letter_record(self, record: Any, poison: Any) -> None:
        self.metrics.dead_letters.labels(self.service, record.topic, poison.reason).inc()


async def rebuild(settings: CoverageSettings, *, swap: bool, drop_old: bool, progress: bool = True) -> dict[str, Any]:
    """Project every topic from offset 0 into a fresh prefix; returns what was done."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:4]
    prefix = f"{settings.collection_prefix}_r{stamp}"
    group = f"{settings.consumer_group}-r{stamp}"
    client = make_client(settings.infra, app_name="coverage-rebuild")
    db = client[settings.infra.mongo_database]
    store = StagedCoverageStore(db, prefix)
    began = time.monotonic()
    report = await _replay(settings, store, group=group, progress=progress)
    await store.ensure_indexes()  # after the documents: each is inserted without index upkeep
    seconds = time.monotonic() - began
    applied = report.applied
    result: dict[str, Any] = {"prefix": prefix, "group": group, "messages": applied, "seconds": round(seconds, 2),
                              "messages_per_second": round(applied / seconds, 1) if seconds else None,
                              "replay_seconds": round(report.replay_seconds, 2),
                              "write_seconds": round(report.write_seconds, 2)}
    if swap:
        meta = Meta(db, settings.collection_prefix)
        old = await meta.swap(prefix=prefix, group=group, now=dt.datetime.now(dt.UTC))
        result["replaced"] = old["prefix"] if old else settings.collection_prefix
        if drop_old:
            await asyncio.sleep(settings.swap_check_seconds * 3)
            await CoverageStore(db, result["replaced"]).drop()
    await client.close()
    return result


async def _replay(settings: CoverageSettings, store: StagedCoverageStore, *, group: str, progress: bool
                  ) -> _Progress:
    """Apply every record up to the end offsets read at the start, write the projection, then commit the
    offsets under `group` (from where the swapped-in projection goes on)."""
    from prometheus_client import CollectorRegistry

    dead_letters = _NoDeadLetters(service="coverage-rebuild",
                                  metrics=ConsumerMetrics(CollectorRegistry(), "coverage-rebuild"))
    consumer = AIOKafkaConsumer(
        group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
        max_poll_records=REBUILD_BATCH_RECORDS, **kafka_client_options(settings.infra),
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic.name, p) for topic in ALL for p in range(topic.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp: end for tp, end in ends.items() if end > 0}
        report = _Progress(sum(ends.values()), enabled=progress)
        projector = Projector(store)
        while remaining:
            report.applied += await _replay_batch(consumer, projector, dead_letters, remaining)
            report.maybe_print()
            # The projection held so far (millions of objects by the end) stays out of every later
            # collection instead of being scanned again at each one.
            gc.freeze()
        report.replayed()
        await store.flush(progress=progress)
        report.written()
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()
    return report


async def _replay_batch(consumer: AIOKafkaConsumer, projector: Projector, dead_letters: DeadLetterPolicy,
                        remaining: dict[TopicPartition, int]) -> int:
    """Fetch and apply one batch; partitions read to their end offset leave `remaining`."""
    fetched = await consumer.getmany(timeout_ms=500, max_records=REBUILD_BATCH_RECORDS)
    records = [r for tp, rs in fetched.items() for r in rs if tp in remaining and r.offset < remaining[tp]]
    if records:
        await projector.apply(await parse_batch(records, dead_letters))
    for tp, rs in fetched.items():
        if rs and rs[-1].offset + 1 >= remaining.get(tp, 0):
            remaining.pop(tp, None)
    for tp in list(remaining):
        if await consumer.position(tp) >= remaining[tp]:
            remaining.pop(tp)
    return len(records)


class _Progress:
    """Prints the replay's progress every two seconds."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.applied = 0
        self.began = time.monotonic()
        self.replay_seconds = self.write_seconds = 0.0
        self.last = 0.0

    def replayed(self) -> None:
        self.replay_seconds = time.monotonic() - self.began

    def written(self) -> None:
        self.write_seconds = time.monotonic() - self.began - self.replay_seconds

    def maybe_print(self) -> None:
        if not self.enabled or time.monotonic() - self.last <= 2:
            return
        self.last = time.monotonic()
        rate = self.applied / max(self.last - self.began, 1e-6)
        print(f"  dibangun ulang {self.applied:,}/{self.total:,} pesan ({rate:,.0f}/detik)", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.coverage.rebuild", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-swap", action="store_true", help="build the new collections but keep serving the old")
    parser.add_argument("--drop-old", action="store_true", help="drop the replaced collections after the swap")
    args = parser.parse_args(argv)
    settings = CoverageSettings()
    configure_logging(settings.infra.log_level)
    collect_less_often()
    print("Membangun ulang proyeksi cakupan dari awal semua topik...", file=sys.stderr)
    result = asyncio.run(rebuild(settings, swap=not args.no_swap, drop_old=args.drop_old))
    swapped = "" if args.no_swap else f"; dipakai sekarang (menggantikan {result['replaced']})"
    print(f"Selesai: {result['messages']:,} pesan dalam {result['seconds']} detik "
          f"({result['messages_per_second']}/detik) ke {result['prefix']}{swapped}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
