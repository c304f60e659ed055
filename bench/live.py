"""The running system end to end: latency at a steady rate, and a burst, against a plain pipe.

Both scenarios start the real intake and coverage services (processes, as `make run` does) on
topics and a database of their own, so the corpus of the other scenarios is not in their way.

- latency: an open-loop driver sends resident.enrolled events at a steady rate, each at its
  scheduled time whether or not earlier sends came back, through the system's publisher (as the
  intake publishes; `--latency-via http` posts registrations to the running intake instead). An
  event is visible when the coverage read model includes it: the projector writes the resident
  documents first and then the area counters with the last offset applied per partition, so a
  resident whose event sits at offset o of partition p is visible once the regency's counter
  document shows p at o or later. One primary-key read of that document every POLL_SECONDS gives
  every event's visibility; the events' partitions and offsets are read from the topic afterwards.
  The baseline is a plain aiokafka producer sending events of the same size at the same schedule
  to a consumer draining with `getmany` and committing after every batch: latency is receipt minus
  scheduled send time.
- burst: BURST_EVENTS registrations as fast as the intake takes them (CLERKS clients at once), over
  every kecamatan and desa, each clerk on a kept-alive connection of its own (bench/clerk_client.py:
  httpx's own CPU a request would be taken from the system measured). The clock starts at the last
  201; coverage is exact when the regency, every kecamatan and every desa count what was accepted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.clerk_client import ClerkConnection

REPO = Path(__file__).resolve().parents[1]
KABUPATEN = "kab:17.02"
POLL_SECONDS = 0.005
BURST_EVENTS = 10_000
CLERKS = 32
LATENCY_TARGET_MS = 30.0
BURST_TARGET_SECONDS = 5.0
BURST_TARGET_ACCEPTED_PER_SECOND = 500.0


@dataclass
class LiveSystem:
    """Intake and coverage running on a namespace of their own, with an admin key."""

    env: dict[str, str]
    intake_url: str
    coverage_url: str
    key: str
    db: Any
    prefix: str
    urls: dict[str, str]

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(latencies: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in latencies]
    return {"count": len(ms), "p50": round(percentile(ms, 50), 1), "p99": round(percentile(ms, 99), 1),
            "max": round(max(ms), 1)}


@asynccontextmanager
async def live_system(env: dict[str, str], *, services: tuple[str, ...] = ("intake", "coverage"),
                      ) -> AsyncIterator[LiveSystem]:
    """Start `services` (intake and coverage at least) on fresh topics and a fresh database; stop them
    afterwards and delete the database and the topics (a full-scale import leaves gigabytes)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from pymongo import AsyncMongoClient

    from deploy.local.process import free_port
    from shared.contracts import Role
    from shared.topics import all_topic_configs
    from tests.integration.helpers import create_office_key
    from tests.support.processes import ServiceProcess

    run = uuid.uuid4().hex[:6]
    old_prefix = env.get("EKTP_TOPIC_PREFIX", "")
    prefix = f"{old_prefix}live{run}."
    admin = AIOKafkaAdminClient(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"])
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + name.removeprefix(old_prefix), partitions, 1, topic_configs=config)
                                   for name, partitions, config in all_topic_configs()])
    finally:
        await admin.close()
    live_env = {**env, "EKTP_TOPIC_PREFIX": prefix, "EKTP_MONGO_DATABASE": f"{env['EKTP_MONGO_DATABASE']}_live{run}",
                "EKTP_RATE_LIMIT_WRITES_PER_MINUTE": "6000000", "EKTP_RATE_LIMIT_BURST": "100000"}
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["EKTP_MONGO_URL"])
    db = mongo[live_env["EKTP_MONGO_DATABASE"]]
    started: dict[str, Any] = {}
    try:
        for name in services:
            port = free_port()
            started[name] = ServiceProcess(name, port, {**live_env, f"EKTP_{name.upper()}_PORT": str(port)},
                                            REPO / f"bench/results/logs/{name}-live{run}.log").start()
        key = await create_office_key(db, role=Role.DINAS_ADMIN)
        yield LiveSystem(live_env, started["intake"].url, started["coverage"].url, key, db, prefix,
                         {name: service.url for name, service in started.items()})
    finally:
        for service in started.values():
            service.stop()
        try:
            await mongo.drop_database(live_env["EKTP_MONGO_DATABASE"])
        finally:
            await mongo.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"])
        await admin.start()
        try:
            await admin.delete_topics([prefix + name.removeprefix(old_prefix) for name, _, _ in all_topic_configs()])
        finally:
            await admin.close()


def resident_body(rng: random.Random, desa: Any) -> dict[str, Any]:
    """A synthetic wajib KTP resident of `desa` (a made-up NIK of its kecamatan)."""
    from tests.integration.helpers import synthetic_resident

    return synthetic_resident(rng, kecamatan=desa.kecamatan_code, desa=desa.code)


async def _positions(system: LiveSystem) -> dict[str, int]:
    doc = await system.db["coverage_areas"].find_one({"_id": KABUPATEN}, {"positions": 1})
    return dict((doc or {}).get("positions") or {})


async def _offsets(system: LiveSystem, resident_ids: set[str]) -> dict[str, tuple[str, int]]:
    """Where each resident's enrolment sits: (position key of its partition, offset)."""
    from aiokafka import TopicPartition

    from shared.mongo import position_key
    from shared.topics import RESIDENT
    from tests.faults.system import read_records

    topic = system.topic("resident.events")
    found: dict[str, tuple[str, int]] = {}
    tps = [TopicPartition(topic, partition) for partition in range(RESIDENT.partitions)]
    records = await read_records(system.env["EKTP_KAFKA_BOOTSTRAP"], tps)
    for partition in range(RESIDENT.partitions):
        for record in records[f"{topic}[{partition}]"]:
            rid = json.loads(record.value)["payload"]["resident_id"]
            if rid in resident_ids:
                found[rid] = (position_key(topic, partition), record.offset)
    return found


def enrolled_events(count: int, seed: int) -> list[Any]:
    """`count` resident.enrolled events of residents never seen before, spread over every desa."""
    from bench.corpus import journey_models
    from shared.topics import RESIDENT

    rng = random.Random(seed)
    templates = [event for topic, _, event in journey_models(0.002) if topic == RESIDENT.name]
    events = []
    for i in range(count):
        template = templates[i % len(templates)]
        rid = uuid.UUID(int=rng.getrandbits(128)).hex
        events.append(template.model_copy(update={
            "event_id": uuid.UUID(int=rng.getrandbits(128)),
            "payload": template.payload.model_copy(update={"resident_id": rid})}))
    return events


async def system_latency(system: LiveSystem, *, rate: float, seconds: float, seed: int,
                         via: str = "publish") -> dict[str, Any]:
    """Events at `rate`, open loop; each one's latency from its scheduled send to visible in coverage.

    via="publish": the system's publisher (shared.publishing.KafkaEventPublisher, as the intake
    publishes) sends resident.enrolled events, the same work as the plain pipe's producer.
    via="http": registrations are posted to the running intake (validation, roster checks and
    writes, then the same publish).
    """
    from prometheus_client import CollectorRegistry

    from shared.broker import PublishedEvents
    from shared.publishing import KafkaEventPublisher
    from shared.settings import InfraSettings
    from shared.topics import RESIDENT

    count = int(rate * seconds)
    answers: list[tuple[float, int, str | None]] = []
    seen: list[tuple[float, dict[str, int]]] = []
    expected: dict[str, tuple[str, int]] = {}
    sending = True

    def all_visible() -> bool:
        if not expected or not seen:
            return False
        latest = seen[-1][1]
        return all(latest.get(source, -1) >= offset for source, offset in expected.values())

    async def watch() -> None:
        last: dict[str, int] = {}
        while sending or not all_visible():
            positions = await _positions(system)
            now = time.monotonic()
            if positions != last:
                seen.append((now, positions))
                last = positions
            await asyncio.sleep(POLL_SECONDS)

    async def open_loop(send: Any, items: list[Any]) -> None:
        start = time.monotonic() + 0.2
        tasks = []
        for i, item in enumerate(items):
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            tasks.append(asyncio.create_task(send(scheduled, item)))
        await asyncio.gather(*tasks)

    watcher = asyncio.create_task(watch())
    if via == "http":
        from shared.areas import load_areas

        villages = sorted(load_areas().villages.values(), key=lambda v: v.code)
        rng = random.Random(seed)
        bodies = [resident_body(rng, villages[i % len(villages)]) for i in range(count)]
        async with httpx.AsyncClient(base_url=system.intake_url, timeout=60,
                                     limits=httpx.Limits(max_connections=256, max_keepalive_connections=256)) as client:
            async def post(scheduled: float, body: dict[str, Any]) -> None:
                answer = await client.post("/residents", json=body, headers={"X-API-Key": system.key})
                rid = answer.json().get("resident_id") if answer.status_code == 201 else None
                answers.append((scheduled, answer.status_code, rid))

            await open_loop(post, bodies)
    else:
        events = enrolled_events(count, seed)
        topic = dataclasses.replace(RESIDENT, name=system.topic("resident.events"))
        registry = CollectorRegistry()
        publisher = KafkaEventPublisher(InfraSettings(kafka_bootstrap=system.env["EKTP_KAFKA_BOOTSTRAP"]),
                                        service="bench", counted=PublishedEvents(registry, "bench"))
        await publisher.start()
        try:
            async def publish(scheduled: float, event: Any) -> None:
                await publisher.publish(event, topic=topic, key=event.payload.resident_id)
                answers.append((scheduled, 201, event.payload.resident_id))

            await open_loop(publish, events)
        finally:
            await publisher.stop()
    accepted = {rid: scheduled for scheduled, status, rid in answers if status == 201 and rid}
    expected.update(await _offsets(system, set(accepted)))
    sending = False
    await asyncio.wait_for(watcher, timeout=300)
    latencies = []
    for rid, scheduled in accepted.items():
        source, offset = expected[rid]
        visible = next(at for at, positions in seen if positions.get(source, -1) >= offset)
        latencies.append(visible - scheduled)
    refused = Counter(status for _, status, _ in answers if status != 201)
    return {**summary_ms(latencies), "refused": dict(refused), "latencies": latencies}


async def baseline_latency(env: dict[str, str], *, rate: float, seconds: float, seed: int) -> dict[str, Any]:
    """The plain pipe: aiokafka producer at the same schedule, aiokafka consumer with getmany."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from bench.scenarios import create_topic
    from services.coverage.consumers import BATCH_RECORDS, BATCH_WAIT_MS

    bootstrap = env["EKTP_KAFKA_BOOTSTRAP"]
    topic = f"{env['EKTP_TOPIC_PREFIX']}bench.pipe{uuid.uuid4().hex[:6]}"
    await create_topic(bootstrap, topic)
    events = enrolled_events(int(rate * seconds), seed)
    count = len(events)
    values = [event.model_dump_json().encode() for event in events]
    keys = [event.payload.resident_id.encode() for event in events]
    index_of = {key: i for i, key in enumerate(keys)}
    scheduled: dict[int, float] = {}
    received: dict[int, float] = {}
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"plain-pipe-{uuid.uuid4().hex[:6]}",
                                enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=BATCH_RECORDS)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, client_id="bench-pipe")
    await consumer.start()
    await producer.start()

    async def drain() -> None:
        while len(received) < count:
            fetched = await consumer.getmany(timeout_ms=BATCH_WAIT_MS, max_records=BATCH_RECORDS)
            now = time.monotonic()
            for records in fetched.values():
                for record in records:
                    received[index_of[record.key]] = now
            if fetched:
                await consumer.commit()

    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        draining = asyncio.create_task(drain())
        start = time.monotonic() + 0.2
        sends = []
        for i, value in enumerate(values):
            at = start + i / rate
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            scheduled[i] = at
            sends.append(asyncio.create_task(producer.send_and_wait(topic, value, key=keys[i])))
        await asyncio.gather(*sends)
        await asyncio.wait_for(draining, timeout=120)
    finally:
        await producer.stop()
        await consumer.stop()
    latencies = [received[i] - scheduled[i] for i in range(count)]
    return {**summary_ms(latencies), "refused": {}, "latencies": latencies}


async def latency_scenario(env: dict[str, str], *, rate: float = 100.0, seconds: float = 20.0, pairs: int = 3,
                           via: str = "publish", log: Any = print) -> dict[str, Any]:
    """Warm-up, then `pairs` interleaved (baseline, system) runs; p99 difference per pair."""
    async with live_system(env) as system:
        log(f"[latency] warm-up ({rate:.0f} events/s)")
        await baseline_latency(env, rate=rate, seconds=min(seconds, 3), seed=0)
        await system_latency(system, rate=rate, seconds=min(seconds, 3), seed=0, via=via)
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "system": []}
        for pair in range(pairs):
            order = ("baseline", "system") if pair % 2 == 0 else ("system", "baseline")
            for side in order:
                seed = 1000 * (pair + 1) + (side == "system")
                outcome = await (baseline_latency(env, rate=rate, seconds=seconds, seed=seed) if side == "baseline"
                                 else system_latency(system, rate=rate, seconds=seconds, seed=seed, via=via))
                runs[side].append(outcome)
            b, s = runs["baseline"][-1], runs["system"][-1]
            log(f"[latency] pair {pair + 1}/{pairs}: p99 baseline {b['p99']} ms, system {s['p99']} ms "
                f"(p50 {b['p50']} / {s['p50']} ms; refused {s['refused']})")
    differences = [s["p99"] - b["p99"] for b, s in zip(runs["baseline"], runs["system"], strict=True)]
    result = {"scenario": "latency", "via": via, "rate_per_second": rate, "seconds_per_run": seconds, "pairs": pairs,
              "poll_ms": POLL_SECONDS * 1000, "p99_difference_ms_median": round(statistics.median(differences), 1),
              "p99_differences_ms": [round(d, 1) for d in differences], "target_ms": LATENCY_TARGET_MS,
              "meets_target": statistics.median(differences) <= LATENCY_TARGET_MS}
    for side in ("baseline", "system"):
        result[side] = {"runs": [{k: v for k, v in run.items() if k != "latencies"} for run in runs[side]],
                        "p99_median": statistics.median(run["p99"] for run in runs[side]),
                        "p50_median": statistics.median(run["p50"] for run in runs[side])}
    return result


async def burst_scenario(env: dict[str, str], *, events: int = BURST_EVENTS, log: Any = print) -> dict[str, Any]:
    """`events` registrations at once; seconds from the last one accepted until coverage is exact."""
    from shared.areas import load_areas

    villages = sorted(load_areas().villages.values(), key=lambda v: v.code)
    rng = random.Random(10_000)
    work = [(villages[i % len(villages)], resident_body(rng, villages[i % len(villages)])) for i in range(events)]
    async with live_system(env) as system:
        expected: Counter[str] = Counter()
        last_accepted = 0.0
        refused: Counter[int] = Counter()
        queue = list(reversed(work))

        async def clerk() -> None:
            nonlocal last_accepted
            async with ClerkConnection(system.intake_url) as connection:
                while queue:
                    desa, body = queue.pop()
                    status, _ = await asyncio.wait_for(
                        connection.post_json("/residents", body, {"X-API-Key": system.key}), 60)
                    if status == 201:
                        last_accepted = time.monotonic()
                        expected.update([KABUPATEN, f"kec:{desa.kecamatan_code}", f"desa:{desa.code}"])
                    else:
                        refused[status] += 1

        log(f"[burst] {events:,} registrations from {CLERKS} clerks at once")
        began = time.monotonic()
        await asyncio.gather(*(clerk() for _ in range(CLERKS)))
        accepting = last_accepted - began

        async def mismatches() -> int:
            counted = {doc["_id"]: int(doc.get("terdaftar", 0))
                       async for doc in system.db["coverage_areas"].find({}, {"terdaftar": 1})}
            return sum(1 for area, n in expected.items() if counted.get(area, 0) != n)

        deadline = time.monotonic() + 300
        wrong = await mismatches()
        while wrong and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            wrong = await mismatches()
        exact_after = time.monotonic() - last_accepted
    result = {"scenario": "burst", "events": events, "accepted": expected[KABUPATEN], "refused": dict(refused),
              "clerks": CLERKS, "areas_checked": len(expected), "areas_wrong_at_end": wrong,
              "accepting_seconds": round(accepting, 2),
              "accepted_per_second": round(expected[KABUPATEN] / accepting, 1) if accepting else None,
              "seconds_until_exact_after_last_accepted": round(exact_after, 2), "target_seconds": BURST_TARGET_SECONDS,
              "target_accepted_per_second": BURST_TARGET_ACCEPTED_PER_SECOND,
              "meets_target": wrong == 0 and exact_after <= BURST_TARGET_SECONDS
              and expected[KABUPATEN] >= BURST_TARGET_ACCEPTED_PER_SECOND * accepting}
    log(f"[burst] accepted {result['accepted']:,} in {accepting:.1f} s; coverage exact "
        f"{exact_after:.2f} s after the last ({result['areas_checked']} areas)")
    return result
