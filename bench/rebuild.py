"""The rebuild scenario's two sides (run in pairs by bench/harness.py via `python -m bench`).

The corpus (bench/corpus.py) is put on fresh topics with `produce` before timing. Then:

- baseline: a plain aiokafka consumer drains the same topics with `getmany` (the rebuild's batch
  size, `REBUILD_BATCH_RECORDS`) and writes the same documents with plain PyMongo
  `bulk_write(ordered=False)`: one resident document per event (upsert by id) and the area
  counters of the batch as `$inc` upserts, in chunks of 50 like the system (the local FerretDB
  limit), committing per batch;
- system: `services.coverage.rebuild` into fresh collections (parse, validate, fold views,
  apply-once guards, counters), without the swap.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

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

    from services.coverage.rebuild import REBUILD_BATCH_RECORDS
    from shared.topics import ALL

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["EKTP_MONGO_URL"])
    db = client[env["EKTP_MONGO_DATABASE"]]
    residents, areas = db[f"plain_{run}_residents"], db[f"plain_{run}_areas"]
    consumer = AIOKafkaConsumer(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"], group_id=f"plain-{run}",
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_poll_records=REBUILD_BATCH_RECORDS)
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
            fetched = await consumer.getmany(timeout_ms=500, max_records=REBUILD_BATCH_RECORDS)
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
