"""The rebuild scenario's two sides (run in pairs by bench/harness.py via `python -m bench`).

The corpus (bench/corpus.py) is put on fresh topics with `produce` before timing. Then:

- baseline: a plain aiokafka consumer drains the same topics with `getmany` (the rebuild's batch
  size, `REBUILD_BATCH_RECORDS`), keeps the last payload of each resident (or job) and per-kecamatan
  counts of each event type in dictionaries, and inserts those documents once at the end with plain
  `insert_many` (chunks of 1,000), as the rebuild writes its projection once;
- system: `services.coverage.rebuild` into fresh collections (parse, validate, fold views,
  apply-once guards, counters, member lists, all in memory, then each document inserted once),
  without the swap.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHUNK = 1_000


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
    """Plain drain with getmany, the documents folded in dictionaries, then plain inserts of each once."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata
    from pymongo import AsyncMongoClient

    from services.coverage.rebuild import REBUILD_BATCH_RECORDS
    from shared.topics import ALL

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["EKTP_MONGO_URL"])
    db = client[env["EKTP_MONGO_DATABASE"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"], group_id=f"plain-{run}",
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_poll_records=REBUILD_BATCH_RECORDS)
    await consumer.start()
    began = time.monotonic()
    drained = 0
    residents: dict[str, dict[str, Any]] = {}
    counters: dict[str, Counter[str]] = {}
    try:
        partitions = [TopicPartition(t.name, p) for t in ALL for p in range(t.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp: end for tp, end in ends.items() if end}
        while remaining:
            fetched = await consumer.getmany(timeout_ms=500, max_records=REBUILD_BATCH_RECORDS)
            for tp, records in fetched.items():
                for record in records:
                    event = json.loads(record.value)
                    payload = event["payload"]
                    rid = payload.get("resident_id") or payload.get("job_id")
                    residents[rid] = {"_id": rid, "last": event["event_type"], "payload": payload}
                    area = payload.get("kecamatan_code")
                    if area:
                        counters.setdefault(f"kec:{area}", Counter())[event["event_type"].replace(".", "_")] += 1
                drained += len(records)
                if records and records[-1].offset + 1 >= remaining.get(tp, 0):
                    remaining.pop(tp, None)
        for collection, docs in ((db[f"plain_{run}_residents"], list(residents.values())),
                                 (db[f"plain_{run}_areas"], [{"_id": a, **c} for a, c in counters.items()])):
            for start in range(0, len(docs), CHUNK):
                await collection.insert_many(docs[start:start + CHUNK], ordered=False)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()
        await client.close()
    return {"seconds": time.monotonic() - began, "messages": drained}


async def system(env: dict[str, str]) -> dict[str, Any]:
    from services.coverage.config import CoverageSettings
    from services.coverage.rebuild import rebuild

    began = time.monotonic()
    result = await rebuild(CoverageSettings(), swap=False, drop_old=False, progress=False)
    return {"seconds": time.monotonic() - began, "messages": result["messages"], "prefix": result["prefix"],
            "replay_seconds": result["replay_seconds"], "write_seconds": result["write_seconds"]}
