"""The five services as real processes in a namespace of their own, and what they hold afterwards.

A namespace is a topic prefix and a database (tests.integration.helpers.isolated_env): consumer
groups are named under the prefix too, so a fault test's offsets, replays and kills touch nothing
of another test.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from services.coverage.projector import ADAPTERS, Positioned, Projector
from services.coverage.store import CoverageStore
from shared.mongo import position_key
from shared.topics import ALL, PREFIX, ConsumerGroup
from tests.integration.helpers import isolated_env
from tests.support.processes import ServiceProcess

CONSUMERS = ("intake", "recording", "printing", "inventory", "coverage")
COVERAGE_PREFIX = "coverage_faults"
# Every consuming role and the topics (without prefix) it reads.
GROUP_TOPICS: dict[str, tuple[str, ...]] = {
    ConsumerGroup.INTAKE_ROSTER: ("resident.events",),
    "recording-state-resident": ("resident.events",),
    "recording-state-outreach": ("outreach.events",),
    "recording-state-recording": ("recording.events",),
    f"{ConsumerGroup.PRINTING_QUEUE}-requests": ("recording.events",),
    ConsumerGroup.PRINTING_QUEUE: ("print.events",),
    f"{ConsumerGroup.PRINTING_QUEUE}-stock": ("stock.events",),
    ConsumerGroup.INVENTORY_LEDGER: ("stock.events",),
    f"{ConsumerGroup.INVENTORY_LEDGER}-print": ("print.events",),
    ConsumerGroup.COVERAGE_PROJECTOR: tuple(t.name.removeprefix(PREFIX) for t in ALL),
}
PARTITIONS = {t.name.removeprefix(PREFIX): t.partitions for t in ALL}


def partitions_of(topic: str) -> int:
    """Partitions of a topic named under any prefix (`<prefix>resident.events`)."""
    return PARTITIONS[".".join(topic.rsplit(".", 2)[-2:])]


@dataclass
class FaultSystem:
    """Services of one namespace; `env` holds its prefix, database and the infrastructure's addresses."""

    env: dict[str, str]
    start_service: Any
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)

    @property
    def prefix(self) -> str:
        return self.env["EKTP_TOPIC_PREFIX"]

    @property
    def bootstrap(self) -> str:
        return self.env["EKTP_KAFKA_BOOTSTRAP"]

    def service_env(self, name: str) -> dict[str, str]:
        """The namespace's variables (start_service adds the infrastructure's and a free port)."""
        own = {k: self.env[k] for k in ("EKTP_TOPIC_PREFIX", "EKTP_MONGO_DATABASE", "EKTP_KAFKA_BOOTSTRAP",
                                        "EKTP_MONGO_URL")}
        if name == "coverage":
            own.update(EKTP_COVERAGE_CONSUMER_GROUP=self.prefix + ConsumerGroup.COVERAGE_PROJECTOR,
                       EKTP_COVERAGE_COLLECTION_PREFIX=COVERAGE_PREFIX)
        return own

    def start(self, *names: str) -> None:
        for name in names or CONSUMERS:
            if name in self.services:
                self.services[name].start(timeout=120)
            else:
                self.services[name] = self.start_service(name, **self.service_env(name))

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook runs, nothing is committed or flushed on the way out."""
        self.services[name].stop(sig=signal.SIGKILL)
        self.kills[name] += 1

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()

    async def lag(self) -> dict[str, int]:
        """Messages not yet committed, per consuming role."""
        return {group: await group_lag(self.bootstrap, self.prefix + group,
                                       [self.prefix + t for t in topics])
                for group, topics in GROUP_TOPICS.items()}

    async def caught_up(self, *, timeout: float = 240.0) -> dict[str, int]:
        """Wait until every role has committed every partition to its end; the lag left (all zeros)."""
        deadline = time.monotonic() + timeout
        lag = await self.lag()
        while any(lag.values()) and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            lag = await self.lag()
        return lag

    async def quiet(self, *, settle: float = 6.0, timeout: float = 300.0) -> dict[str, int]:
        """Caught up and staying so for `settle` seconds (reactions to the last events are in too)."""
        deadline = time.monotonic() + timeout
        while True:
            lag = await self.caught_up(timeout=max(1.0, deadline - time.monotonic()))
            ends = await topic_ends(self.bootstrap, [self.prefix + t for t in PARTITIONS])
            await asyncio.sleep(settle)
            if not any(lag.values()) and ends == await topic_ends(self.bootstrap, [self.prefix + t for t in PARTITIONS]) \
                    and not any((await self.lag()).values()):
                return lag
            if time.monotonic() > deadline:
                return await self.lag()


async def topic_ends(bootstrap: str, topics: list[str]) -> dict[Any, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions_of(t))]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def group_lag(bootstrap: str, group: str, topics: list[str], **options: Any) -> int:
    """Messages of `topics` the group has not committed; `options` connect like the services (SASL, TLS)."""
    consumer = AIOKafkaConsumer(**{"bootstrap_servers": bootstrap, **options}, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions_of(t))]
        ends = await consumer.end_offsets(tps)
        total = 0
        for tp in tps:
            total += max(0, ends[tp] - ((await consumer.committed(tp)) or 0))
        return total
    finally:
        await consumer.stop()


async def read_records(bootstrap: str, tps: list[TopicPartition], **options: Any) -> dict[str, list[Any]]:
    """Every record of the given partitions, in offset order (key 'topic[p]'); `options` as for group_lag."""
    consumer = AIOKafkaConsumer(**{"bootstrap_servers": bootstrap, **options}, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: dict[str, list[Any]] = {f"{tp.topic}[{tp.partition}]": [] for tp in tps}

        async def behind() -> bool:
            for tp in tps:
                if await consumer.position(tp) < ends[tp]:
                    return True
            return False

        while await behind():
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=5000)).items():
                out[f"{tp.topic}[{tp.partition}]"].extend(r for r in records if r.offset < ends[tp])
        return out
    finally:
        await consumer.stop()


async def read_topics(bootstrap: str, prefix: str) -> dict[str, list[Any]]:
    """Every record of the namespace's topics, per partition in offset order (key 'topic[p]')."""
    return await read_records(bootstrap, [TopicPartition(prefix + t, p) for t, n in PARTITIONS.items()
                                          for p in range(n)])


async def reference_projection(db: Any, bootstrap: str, prefix: str, name: str) -> dict[str, Any]:
    """The coverage projection the topics' contents give when each record is applied exactly once."""
    store = CoverageStore(db, name)
    records = await read_topics(bootstrap, prefix)
    order = ("resident.events", "outreach.events", "recording.events", "print.events", "stock.events")
    batch: list[Positioned] = []
    for topic in order:
        for where, items in sorted(records.items()):
            if not where.startswith(prefix + topic):
                continue
            for record in items:
                # Named as this process names the topics: the projector tells stock apart by name.
                event = ADAPTERS[PREFIX + topic].validate_json(record.value)
                batch.append(Positioned(event, position_key(PREFIX + topic, record.partition), record.offset))
    for start in range(0, len(batch), 200):
        await Projector(store).apply(batch[start:start + 200])
    return await store.snapshot()


async def read_models(db: Any) -> dict[str, Any]:
    """What every service holds, without bookkeeping (versions, clocks): equal means the same effects."""
    coverage = await CoverageStore(db, COVERAGE_PREFIX).snapshot()
    recording = {doc["_id"]: {"stage": doc.get("stage"), "since": doc.get("since"),
                              "in_roster": doc.get("in_roster"), "desa": doc.get("desa_code"),
                              "events": sorted(doc.get("applied_events", []))}
                 async for doc in db["recording_residents"].find({})}
    roster = {doc["_id"]: {"status": doc.get("status"), "desa": doc.get("desa_code")}
              async for doc in db["intake_roster"].find({})}
    jobs = {doc["_id"]: {"resident": doc.get("resident_id"), "station": doc.get("station_id"),
                         "status": doc.get("status"), "reservation": doc.get("reservation_id")}
            async for doc in db["print_jobs"].find({})}
    bookkeeping = {"applied_events", "positions", "version", "refusals"}
    blangko = {doc["_id"]: {k: v for k, v in doc.items() if k not in bookkeeping}
               async for doc in db["blangko_locations"].find({})}
    backlog = {doc["_id"]: int(doc.get("waiting", 0)) async for doc in db["blangko_backlog"].find({})}
    return {"coverage": coverage, "recording": recording, "roster": roster, "jobs": jobs, "backlog": backlog,
            "blangko": blangko}


@contextmanager
def running_system(start_service: Any, infra_env: dict[str, str], name: str,
                   env: dict[str, str] | None = None) -> Iterator[FaultSystem]:
    """The five services in a fresh namespace `name` (on `env`'s infrastructure, the test stack by default)."""
    base = env or infra_env
    running = FaultSystem({**base, **isolated_env(base, name)}, start_service)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def mongo(env: dict[str, str]) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(env["EKTP_MONGO_URL"], tz_aware=True)
