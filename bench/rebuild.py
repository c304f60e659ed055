"""Rebuilding the coverage projections from the topics, against a plain drain plus plain bulk writes.

    python -m bench.rebuild [--scale 1.0] [--pairs 3]

Before timing, the synthetic Rejang Lebong (211,077 wajib KTP and 7,000 students at scale 1) is
put on fresh topics as the events of their journeys: enrolled; for the recorded, captured, SFE
and PRR; for a third of those a print job queued, printed and handed over. Then each pair runs:

- baseline: a plain aiokafka consumer drains the same topics with `getmany` (the same batch
  size) and writes the same documents with plain PyMongo `bulk_write(ordered=False)`: one
  resident document per event (upsert by id) and the area counters of the batch as `$inc`
  upserts, in chunks of 50 like the system (the local FerretDB limit), committing per batch;
- system: `services.coverage.rebuild` into fresh collections (parse, validate, fold views,
  apply-once guards, counters), without the swap.

Pairs alternate baseline and system after a warm-up run of each. Results: min, median and max of
both sides, the median of the per-pair ratios (baseline seconds / system seconds, so 1.0 means
as fast as the baseline), events per second, written to bench/results/rebuild.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.corpus import journey_events

REPO = Path(__file__).resolve().parents[1]
CHUNK = 50


async def produce(env: dict[str, str], messages: list[tuple[str, bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"], acks="all", enable_idempotence=True,
                                linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for n, (topic, key, value) in enumerate(messages):
            await producer.send(topic, value, key=key)
            if n % 50_000 == 0 and n:
                print(f"  produced {n:,}/{len(messages):,}", flush=True)
        await producer.flush()
    finally:
        await producer.stop()


async def baseline(env: dict[str, str], run: str) -> dict[str, Any]:
    """Plain drain with getmany and plain bulk writes of the same documents."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from pymongo import AsyncMongoClient, ReplaceOne, UpdateOne

    from services.coverage.consumers import BATCH_RECORDS
    from shared.topics import ALL

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["EKTP_MONGO_URL"])
    db = client[env["EKTP_MONGO_DATABASE"]]
    residents, areas = db[f"plain_{run}_residents"], db[f"plain_{run}_areas"]
    consumer = AIOKafkaConsumer(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"], group_id=f"plain-{run}",
                                enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=BATCH_RECORDS)
    await consumer.start()
    began = time.monotonic()
    drained = 0
    try:
        partitions = [TopicPartition(t.name, p) for t in ALL for p in range(t.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp: end for tp, end in ends.items() if end}
        while remaining:
            fetched = await consumer.getmany(timeout_ms=500, max_records=BATCH_RECORDS)
            docs: list[Any] = []
            counters: dict[str, Counter[str]] = {}
            for tp, records in fetched.items():
                for record in records:
                    event = json.loads(record.value)
                    payload = event["payload"]
                    rid = payload.get("resident_id") or payload.get("job_id")
                    docs.append(ReplaceOne({"_id": rid}, {"last": event["event_type"], "payload": payload}, upsert=True))
                    area = payload.get("kecamatan_code")
                    if area:
                        counters.setdefault(f"kec:{area}", Counter())[event["event_type"].replace(".", "_")] += 1
                drained += len(records)
                if records and records[-1].offset + 1 >= remaining.get(tp, 0):
                    remaining.pop(tp, None)
            for start in range(0, len(docs), CHUNK):
                await residents.bulk_write(docs[start:start + CHUNK], ordered=False)
            ops = [UpdateOne({"_id": a}, {"$inc": dict(c)}, upsert=True) for a, c in counters.items()]
            for start in range(0, len(ops), CHUNK):
                await areas.bulk_write(ops[start:start + CHUNK], ordered=False)
            if fetched:
                await consumer.commit()
    finally:
        await consumer.stop()
        await client.close()
    return {"seconds": time.monotonic() - began, "messages": drained}


async def system(env: dict[str, str]) -> dict[str, Any]:
    from services.coverage.config import CoverageSettings
    from services.coverage.rebuild import rebuild

    began = time.monotonic()
    result = await rebuild(CoverageSettings(), swap=False, drop_old=False, progress=False)
    return {"seconds": time.monotonic() - began, "messages": result["messages"], "prefix": result["prefix"]}


def _summary(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2), "max": round(max(values), 2)}


async def main(scale: float, pairs: int, env: dict[str, str], out_name: str) -> dict[str, Any]:
    from pymongo import AsyncMongoClient

    from services.coverage.store import CoverageStore

    messages = journey_events(scale, dt.date(2026, 1, 1))
    residents = sum(1 for topic, _, _ in messages if topic.endswith("resident.events"))
    print(f"corpus: {residents:,} residents, {len(messages):,} events; producing ...", flush=True)
    await produce(env, messages)
    print("warm-up ...", flush=True)
    await baseline(env, "warmup")
    await system(env)
    base_runs: list[float] = []
    system_runs: list[float] = []
    ratios: list[float] = []
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    for pair in range(pairs):
        b = await baseline(env, f"p{pair}")
        s = await system(env)
        assert b["messages"] == s["messages"] == len(messages), (b, s, len(messages))
        base_runs.append(b["seconds"])
        system_runs.append(s["seconds"])
        ratios.append(b["seconds"] / s["seconds"])
        print(f"pair {pair + 1}: baseline {b['seconds']:.1f} s, system {s['seconds']:.1f} s, "
              f"ratio {ratios[-1]:.2f}", flush=True)
        last_prefix = s["prefix"]
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["EKTP_MONGO_URL"])
    kab = await CoverageStore(client[env["EKTP_MONGO_DATABASE"]], last_prefix).area("kab:17.02")
    await client.close()
    result = {
        "scenario": "coverage rebuild from offset 0", "scale": scale, "residents": residents, "events": len(messages),
        "pairs": pairs, "baseline_seconds": _summary(base_runs), "system_seconds": _summary(system_runs),
        "ratio_median": round(statistics.median(ratios), 3), "ratios": [round(r, 3) for r in ratios],
        "system_events_per_second_median": round(len(messages) / statistics.median(system_runs), 1),
        "baseline_events_per_second_median": round(len(messages) / statistics.median(base_runs), 1),
        "harness_cpu_seconds": round(cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime
                                     - cpu_before.ru_stime, 1),
        "harness_peak_rss_mb": round(cpu_after.ru_maxrss / 1024, 1),
        "rebuilt_terdaftar": kab.get("terdaftar"), "rebuilt_direkam": kab.get("direkam"),
        "machine_cores": os.cpu_count(), "at": dt.datetime.now(dt.UTC).isoformat(),
    }
    out = REPO / "bench/results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{out_name}.json").write_text(json.dumps(result, indent=2))
    (out / f"{out_name}.md").write_text(
        "| residents | events | pairs | baseline s (min/med/max) | rebuild s (min/med/max) | events/s rebuild | "
        "ratio (median) |\n|---|---|---|---|---|---|---|\n"
        f"| {residents:,} | {len(messages):,} | {pairs} | {result['baseline_seconds']['min']} / "
        f"{result['baseline_seconds']['median']} / {result['baseline_seconds']['max']} | "
        f"{result['system_seconds']['min']} / {result['system_seconds']['median']} / {result['system_seconds']['max']} | "
        f"{result['system_events_per_second_median']:,} | {result['ratio_median']} |\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from bench.school_round import prepare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 211,077 wajib KTP and 7,000 students")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--profile", default="bench", help="local infrastructure profile (the smoke test uses 'test')")
    parser.add_argument("--out", default="rebuild", help="name of the result files in bench/results/")
    args = parser.parse_args()
    asyncio.run(main(args.scale, args.pairs, prepare(args.profile), args.out))
