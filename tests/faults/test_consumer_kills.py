"""Consumers killed with SIGKILL while events flow, then a full replay from offset 0.

Short form in `make test` (each consumer killed once); `make test-faults` kills at least 20 times
over a larger workload (EKTP_FAULTS=long).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.faults.system import (
    CONSUMERS,
    GROUP_TOPICS,
    PARTITIONS,
    FaultSystem,
    group_lag,
    mongo,
    read_models,
    reference_projection,
    running_system,
)
from tests.faults.workload import STATION_STOCK, Workload, journeys, publish
from tests.support.plugin import report

pytestmark = [pytest.mark.infra, pytest.mark.heavy,
              pytest.mark.timeout(2400 if os.environ.get("EKTP_FAULTS") == "long" else 600)]
LONG = os.environ.get("EKTP_FAULTS") == "long"
RESIDENTS = 3000 if LONG else 500
KILLS = 25 if LONG else len(CONSUMERS)
WAVE_RATE = 2000.0
# The consuming roles of each service.
ROLES = {
    "intake": ["intake-roster"],
    "recording": ["recording-state-resident", "recording-state-recording"],
    "printing": ["printing-queue-requests", "printing-queue"],
    "inventory": ["inventory-ledger-print"],
    "coverage": ["coverage-projector"],
}


@pytest.fixture(scope="module")
def system(start_service: Any, infra_env: dict[str, str]) -> Iterator[FaultSystem]:
    with running_system(start_service, infra_env, "kills") as running:
        yield running


def verdict(work: Workload, models: dict[str, Any], reference: dict[str, Any]) -> dict[str, int]:
    """Lost and duplicated effects per read model, against the workload and the exactly-once reference."""
    recording, roster, jobs = models["recording"], models["roster"], models["jobs"]
    lost_events = dup_events = wrong_stage = 0
    for rid in work.residents:
        applied = recording.get(rid, {}).get("events", [])
        lost_events += len(work.event_ids_of(rid) - set(applied))
        dup_events += len(applied) - len(set(applied))
        wrong_stage += recording.get(rid, {}).get("stage") != work.stage[rid]
    jobs_per_resident: dict[str, int] = {}
    for job in jobs.values():
        jobs_per_resident[job["resident"]] = jobs_per_resident.get(job["resident"], 0) + 1
    live, ref = models["coverage"], reference
    return {
        "roster lost": sum(1 for rid in work.residents if rid not in roster),
        "roster wrong status": sum(1 for rid in work.residents if rid in roster
                                   and (roster[rid]["status"] == "aktif") == (rid in work.left)),
        "recording events lost": lost_events,
        "recording events applied twice": dup_events,
        "recording wrong stage": wrong_stage,
        "print jobs lost": sum(1 for rid in work.prr if rid not in jobs_per_resident),
        "print jobs duplicated": sum(n - 1 for n in jobs_per_resident.values())
        + sum(n for rid, n in jobs_per_resident.items() if rid not in work.prr),
        "backlog off by": abs(sum(models["backlog"].values()) - len(jobs)),
        "blangko reserved off by": abs(sum(loc.get("reserved", 0) for loc in models["blangko"].values())
                                       - sum(1 for job in jobs.values() if job["reservation"])),
        "blangko reservations missing": sum(
            max(0, min(stock, sum(1 for job in jobs.values() if job["station"] == station))
                - models["blangko"].get(station, {}).get("reserved", 0))
            for station, stock in STATION_STOCK.items()),
        "blangko not adding up": sum(1 for loc in models["blangko"].values()
                                     if loc.get("on_hand", 0) + loc.get("reserved", 0) != loc.get("received", 0)
                                     or loc.get("on_hand", 0) < 0),
        "coverage residents lost": len(set(ref["residents"]) - set(live["residents"])),
        "coverage residents extra": len(set(live["residents"]) - set(ref["residents"])),
        "coverage residents differing": sum(1 for rid, view in ref["residents"].items()
                                            if rid in live["residents"] and live["residents"][rid] != view),
        "coverage counters differing": sum(1 for area in set(ref["areas"]) | set(live["areas"])
                                           if ref["areas"].get(area) != live["areas"].get(area)),
    }


async def _service_lag(system: FaultSystem, name: str) -> int:
    total = 0
    for role in ROLES[name]:
        topics = [system.prefix + t for t in GROUP_TOPICS[role]]
        total += await group_lag(system.bootstrap, system.prefix + role, topics)
    return total


async def test_consumers_killed_mid_batch_lose_nothing_and_apply_nothing_twice(system: FaultSystem) -> None:
    work = journeys(RESIDENTS, tag="kill")
    rng = random.Random(20)
    victims = [CONSUMERS[i % len(CONSUMERS)] for i in range(KILLS)]
    rng.shuffle(victims)
    producer = AIOKafkaProducer(bootstrap_servers=system.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    in_flight_at_kill: list[int] = []
    published = {"messages": 0, "seconds": 0.0}
    try:
        # A wave of events before each kill, so the victim has a batch in hand when it dies; the
        # other services go on consuming while it restarts.
        wave = -(-len(work.events) // KILLS)
        for n, victim in enumerate(victims):
            chunk = Workload(events=work.events[n * wave:(n + 1) * wave])
            sent = await publish(producer, system.prefix, chunk, rate=WAVE_RATE)
            published["messages"] += sent["messages"]
            published["seconds"] += sent["seconds"]
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            lag = 0
            for _ in range(25):
                lag = await _service_lag(system, victim)
                if lag:
                    break
                await asyncio.sleep(0.1)
            in_flight_at_kill.append(lag)
            await asyncio.to_thread(system.kill, victim)
            await asyncio.to_thread(system.start, victim)
    finally:
        await producer.stop()
    lag = await system.quiet()

    client = mongo(system.env)
    try:
        db = client[system.env["EKTP_MONGO_DATABASE"]]
        models = await read_models(db)
        reference = await reference_projection(db, system.bootstrap, system.prefix, "coverage_reference")
    finally:
        await client.close()
    figures = verdict(work, models, reference)
    report(f"\n  namespace {system.prefix} (database {system.env['EKTP_MONGO_DATABASE']})")
    report(f"  {published['messages']} events published in {published['seconds']:.0f} s, "
          f"{len(work.residents)} residents, {len(work.prr)} PRR")
    report(f"  {sum(system.kills.values())} SIGKILLs: {dict(sorted(system.kills.items()))}; "
          f"uncommitted messages at each kill: {in_flight_at_kill}")
    report(f"  lag after recovery: {sum(lag.values())}; " + ", ".join(f"{k} = {v}" for k, v in figures.items()))
    assert sum(system.kills.values()) >= KILLS
    assert sum(1 for n in in_flight_at_kill if n) >= 0.6 * len(in_flight_at_kill), in_flight_at_kill
    assert not any(lag.values()), lag
    assert figures == dict.fromkeys(figures, 0)
    assert models["coverage"] == reference


async def _rewind(system: FaultSystem) -> int:
    """Commit offset 0 on every partition for every consuming role (the services are stopped)."""
    replayed = 0
    for role, topics in GROUP_TOPICS.items():
        consumer = AIOKafkaConsumer(bootstrap_servers=system.bootstrap, group_id=system.prefix + role,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(system.prefix + t, p) for t in topics for p in range(PARTITIONS[t])]
            consumer.assign(tps)
            replayed += sum((await consumer.end_offsets(tps)).values())
            await consumer.commit(dict.fromkeys(tps, 0))
        finally:
            await consumer.stop()
    return replayed


async def test_full_replay_from_offset_zero_leaves_every_read_model_unchanged(system: FaultSystem) -> None:
    client = mongo(system.env)
    try:
        db = client[system.env["EKTP_MONGO_DATABASE"]]
        await system.quiet()
        before = await read_models(db)
        await asyncio.to_thread(system.stop)
        replayed = await _rewind(system)
        await asyncio.to_thread(system.start)
        lag = await system.quiet()
        after = await read_models(db)
    finally:
        await client.close()
    changed = {name: sum(1 for key in set(before[name]) | set(after[name])
                         if before[name].get(key) != after[name].get(key)) for name in before}
    report(f"\n  replayed {replayed} messages across {len(GROUP_TOPICS)} consuming roles; "
          f"lag after: {sum(lag.values())}; entries changed per read model: {changed}")
    assert replayed > 0
    assert not any(lag.values()), lag
    assert after == before
