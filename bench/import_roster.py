"""The `import` scenario: the synthetic roster through the public import API until every read model is exact.

System side: intake, recording and coverage run on fresh topics and a fresh database; the roster is
uploaded as the office does it (a population file and a Dapodik file per kecamatan, like `make demo`)
and timed from the first upload until
- the roster (intake) holds every resident,
- recording's copy of the roster knows every resident,
- coverage counts every resident as `terdaftar` in the regency.
Each moment is reported.

Baseline, in the same run against the same database and broker: the same residents as documents
written with plain `insert_many` (chunks of 1,000) into a fresh collection, side by side with a
plain producer (acks=all, idempotent) sending the same number of resident events to a fresh topic.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from bench.live import KABUPATEN, live_system
from deploy.demo.play import applied_count

INSERT_CHUNK = 1_000
POLL_SECONDS = 0.5
ROWS_TARGET_PER_SECOND = 700.0
RATIO_TARGET = 0.25
READS = 20
READ_PATHS = ("/coverage", "/coverage/areas", "/dasbor")
READ_TARGET_MS = 300.0


def upload_files(population: Any) -> list[tuple[str, bytes, int]]:
    """(path, file, rows) per kecamatan: adults as a population file, students as a Dapodik file."""
    from deploy.demo.play import roster_file, roster_uploads

    return [(path, roster_file(group), len(group)) for path, group in roster_uploads(population.people)]


async def _terdaftar(db: Any) -> int:
    doc = await db["coverage_areas"].find_one({"_id": KABUPATEN}, {"terdaftar": 1})
    return int((doc or {}).get("terdaftar", 0))


async def system_import(env: dict[str, str], population: Any, *, log: Callable[[str], None] = print,
                        timeout: float = 7_200) -> dict[str, Any]:
    """Upload the roster and time until roster, recording's copy and coverage are exact."""
    total = len(population.people)
    uploads = upload_files(population)
    async with live_system(env, services=("intake", "recording", "coverage")) as system:
        exact: dict[str, float] = {}
        async with httpx.AsyncClient(base_url=system.intake_url, timeout=600,
                                     headers={"X-API-Key": system.key}) as intake, \
                httpx.AsyncClient(base_url=system.urls["recording"], timeout=60) as recording:
            began = time.perf_counter()
            jobs = []
            for path, content, _rows in uploads:
                answer = await intake.post(path, files={"file": ("data.csv", content, "text/csv")})
                answer.raise_for_status()
                jobs.append(answer.json()["job_id"])
            uploaded = time.perf_counter() - began
            deadline = began + timeout
            last_note = 0.0
            while len(exact) < 3:
                if time.perf_counter() > deadline:
                    raise AssertionError(f"import: not exact within {timeout} s: {exact}")
                if "roster" not in exact:
                    views = [(await intake.get(f"/imports/{job}")).json() for job in jobs]
                    failed = [v for v in views if v["status"] in ("gagal", "terputus")]
                    if failed:
                        raise AssertionError(f"import stopped: {failed[0]['message']}")
                    processed = sum(v["processed"] for v in views)
                    if all(v["status"] == "selesai" for v in views):
                        exact["roster"] = time.perf_counter() - began
                if "recording" not in exact and await applied_count(recording, "resident.enrolled") >= total:
                    exact["recording"] = time.perf_counter() - began
                if "coverage" not in exact and await _terdaftar(system.db) >= total:
                    exact["coverage"] = time.perf_counter() - began
                if time.perf_counter() - last_note > 15:
                    last_note = time.perf_counter()
                    log(f"[import]   {time.perf_counter() - began:6.0f} s: roster {processed:,}/{total:,}, "
                        f"exact so far {', '.join(exact) or '-'}")
                await asyncio.sleep(POLL_SECONDS)
            seconds = max(exact.values())
        reads = await read_latencies(system.coverage_url, system.key)
        counts = {"roster": await system.db["intake_roster"].count_documents({}),
                  "recording": await system.db["recording_residents"].count_documents({}),
                  "coverage_terdaftar": await _terdaftar(system.db)}
    wrong = {name: n for name, n in counts.items() if n != total}
    if wrong:
        raise AssertionError(f"import: read models not exact ({total:,} residents): {wrong}")
    return {"items": total, "seconds": seconds, "uploaded_seconds": round(uploaded, 2),
            "exact_after_seconds": {k: round(v, 1) for k, v in exact.items()}, "files": len(uploads),
            "reads_ms": reads}


async def read_latencies(coverage_url: str, key: str, *, times: int = READS) -> dict[str, dict[str, float]]:
    """p50 and p95 of the pages people open most, on the loaded regency (one request at a time)."""
    from bench.live import percentile

    result = {}
    async with httpx.AsyncClient(base_url=coverage_url, timeout=120, headers={"X-API-Key": key}) as client:
        for path in READ_PATHS:
            took = []
            for _ in range(times):
                began = time.perf_counter()
                (await client.get(path)).raise_for_status()
                took.append((time.perf_counter() - began) * 1000)
            result[path] = {"p50": round(percentile(took, 50), 1), "p95": round(percentile(took, 95), 1)}
    return result


def _documents(population: Any) -> list[dict[str, Any]]:
    return [{"_id": uuid.uuid4().hex, "nik": p.nik, "name": p.name, "sex": p.sex,
             "birth_date": p.birth_date.isoformat(), "marital_status": p.marital_status,
             "kecamatan_code": p.kecamatan_code, "desa_code": p.desa_code, "school_npsn": p.school_npsn,
             "disabilitas": p.disabilitas, "status": "aktif", "version": 1} for p in population.people]


async def baseline_import(env: dict[str, str], population: Any) -> dict[str, Any]:
    """The same residents with plain insert_many and a plain producer, side by side."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from pymongo import AsyncMongoClient

    docs = _documents(population)
    events = [json.dumps({"event_type": "resident.enrolled", "payload": doc}).encode() for doc in docs]
    run = uuid.uuid4().hex[:6]
    topic = f"{env.get('EKTP_TOPIC_PREFIX', '')}bench-import-{run}"
    admin = AIOKafkaAdminClient(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"])
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 6, 1)])
    finally:
        await admin.close()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["EKTP_MONGO_URL"])
    collection = mongo[env["EKTP_MONGO_DATABASE"]][f"bench_import_{run}"]
    producer = AIOKafkaProducer(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"], acks="all",
                                enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        began = time.perf_counter()

        async def write() -> None:
            for start in range(0, len(docs), INSERT_CHUNK):
                await collection.insert_many(docs[start:start + INSERT_CHUNK], ordered=False)

        async def send() -> None:
            sent = [await producer.send(topic, value, key=doc["_id"].encode()) for doc, value in zip(docs, events, strict=True)]
            await asyncio.gather(*sent)

        await asyncio.gather(write(), send())
        seconds = time.perf_counter() - began
        written = await collection.count_documents({})
    finally:
        await producer.stop()
        await collection.drop()
        await mongo.close()
    if written != len(docs):
        raise AssertionError(f"baseline wrote {written} of {len(docs)}")
    return {"items": len(docs), "seconds": seconds}


async def import_scenario(env: dict[str, str], *, scale: float, pairs: int = 1,
                          log: Callable[[str], None] = print) -> dict[str, Any]:
    """`pairs` alternating (baseline, system) runs at `scale` of the regency; medians and ratio."""
    from deploy.demo.population import build
    from shared.clock import WIB

    population = build(scale=scale, today=dt.datetime.now(WIB).date())
    total = len(population.people)
    log(f"[import] {total:,} residents ({len(population.adults):,} wajib KTP, "
        f"{total - len(population.adults):,} students), {pairs} pair(s)")
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "system": []}
    for pair in range(pairs):
        order = ("baseline", "system") if pair % 2 == 0 else ("system", "baseline")
        for side in order:
            outcome = await (baseline_import(env, population) if side == "baseline"
                             else system_import(env, population, log=log))
            runs[side].append(outcome)
            log(f"[import] pair {pair + 1}/{pairs} {side}: {outcome['seconds']:.1f} s "
                f"({total / outcome['seconds']:,.0f} rows/s) {outcome.get('exact_after_seconds', '')}")
    base = statistics.median(r["seconds"] for r in runs["baseline"])
    system = statistics.median(r["seconds"] for r in runs["system"])
    ratios = [b["seconds"] / s["seconds"] for b, s in zip(runs["baseline"], runs["system"], strict=True)]
    rows_per_second = total / system
    return {
        "scenario": "import", "items": total, "pairs": pairs, "scale": scale,
        "baseline_seconds_median": round(base, 2), "system_seconds_median": round(system, 2),
        "ratio_median": round(statistics.median(ratios), 3), "ratios": [round(r, 3) for r in ratios],
        "rows_per_second": round(rows_per_second, 1), "target_rows_per_second": ROWS_TARGET_PER_SECOND,
        "target_ratio": RATIO_TARGET,
        "meets_target": rows_per_second >= ROWS_TARGET_PER_SECOND and statistics.median(ratios) >= RATIO_TARGET,
        "exact_after_seconds": runs["system"][-1]["exact_after_seconds"],
        "reads_ms": runs["system"][-1]["reads_ms"], "target_read_p95_ms": READ_TARGET_MS,
        "notes": f"{runs['system'][-1]['files']} files (population and Dapodik per kecamatan)",
    }
