"""A 900-student school round uploaded as one burst: how long until coverage is exact?

    python -m bench.school_round [--students 900]

Seeds the students into the roster (resident.enrolled on Kafka), starts the real recording and
coverage services against the bench profile's Kafka and FerretDB, then uploads the day in one
burst: 900 captures in one offline batch, then SFE and PRR for everyone from SIAK (each PRR
makes recording publish a print request): about 3,600 events on the recording topic. The
clock stops when the coverage API shows every student recorded and print-ready.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
KEC, DESA, NPSN = "17.02.09", "17.02.09.1012", "10700999"


async def wait_for(probe: Any, done: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if done(value):
            return value
        await asyncio.sleep(0.1)
    raise SystemExit(f"{what} not reached within {timeout:.0f} s (last: {value})")


def prepare(profile: str) -> dict[str, str]:
    """Start (or reuse) Kafka and FerretDB; fresh topics (a run prefix) and a fresh database."""
    run_id = uuid.uuid4().hex[:8]
    os.environ["EKTP_TOPIC_PREFIX"] = f"bench{run_id}."
    from deploy.local.stack import Stack

    stack = Stack.load(profile)
    stack.up(with_prometheus=False)
    env = {**stack.environment(), "EKTP_MONGO_DATABASE": f"ektp_bench_{run_id}",
           "EKTP_TOPIC_PREFIX": os.environ["EKTP_TOPIC_PREFIX"], "EKTP_LOG_LEVEL": "WARNING", "RUN_ID": run_id}
    os.environ.update(env)
    return env


async def main(students: int, env: dict[str, str], out_name: str = "school_round") -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer
    from pymongo import AsyncMongoClient

    from deploy.local.process import free_port
    from shared.contracts import Role
    from tests.integration.helpers import create_office_key, enrolled_event
    from tests.support.processes import ServiceProcess

    run_id = env["RUN_ID"]

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["EKTP_MONGO_URL"])
    db = mongo[env["EKTP_MONGO_DATABASE"]]
    logs = REPO / "bench/results/logs"
    services = {}
    for name in ("recording", "coverage"):
        port = free_port()
        services[name] = ServiceProcess(name, port, {**env, f"EKTP_{name.upper()}_PORT": str(port)},
                                        logs / f"{name}-{run_id}.log").start()
    try:
        field = await create_office_key(db, role=Role.FIELD_TEAM, kecamatan=KEC)
        admin = await create_office_key(db, role=Role.DINAS_ADMIN)
        producer = AIOKafkaProducer(bootstrap_servers=env["EKTP_KAFKA_BOOTSTRAP"], acks="all", enable_idempotence=True)
        await producer.start()
        from shared.topics import RESIDENT

        rng = random.Random(900)
        ids = []
        for _ in range(students):
            event = enrolled_event(rng, kecamatan=KEC, desa=DESA, school=NPSN)
            await producer.send(RESIDENT.name, event.model_dump_json().encode(), key=event.payload.resident_id.encode())
            ids.append(event.payload.resident_id)
        await producer.flush()
        await producer.stop()
        async with httpx.AsyncClient(base_url=services["coverage"].url) as coverage, \
                httpx.AsyncClient(base_url=services["recording"].url, timeout=300) as recording:
            async def kabupaten() -> dict[str, Any]:
                return dict((await coverage.get("/coverage")).json()["kabupaten"])

            print(f"seeding {students} students into the roster ...", flush=True)
            await wait_for(kabupaten, lambda k: k["terdaftar"] == students, timeout=600, what="roster in coverage")
            last = ids[-1]
            await wait_for(lambda: recording.get(f"/residents/{last}/status", headers={"X-API-Key": field}),
                           lambda r: r.status_code == 200, timeout=600, what="roster in recording")
            await wait_for(lambda: db["recording_residents"].count_documents({"in_roster": True}),
                           lambda n: n == students, timeout=600, what="roster in recording")
            now = dt.datetime.now(dt.UTC)
            captures = [{"event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": r, "device_id": "tab-01",
                         "operator": "op", "device_time": (now - dt.timedelta(hours=2)).isoformat(),
                         "biometrics": ["foto", "sidik_jari", "iris", "tanda_tangan"]} for r in ids]
            statuses = [{"resident_id": r, "status": s, "status_at": (now - dt.timedelta(minutes=m)).isoformat()}
                        for r in ids for s, m in (("SFE", 60), ("PRR", 30))]
            print(f"burst: {len(captures)} captures + {len(statuses)} SIAK statuses (+{students} print requests)")
            began = time.monotonic()
            answer = (await recording.post("/batches", json={"device_id": "tab-01", "events": captures},
                                           headers={"X-API-Key": field})).json()
            siak = (await recording.post("/siak/status", json={"updates": statuses},
                                         headers={"X-API-Key": admin})).json()
            accepted_at = time.monotonic()
            # SFE repeats the stage the capture already set: answered diabaikan, not applied again.
            assert answer["ringkasan"]["diterima"] == students
            assert siak["diterima"] + siak.get("diabaikan", 0) == 2 * students and siak["diterima"] >= students
            final = await wait_for(kabupaten, lambda k: k["direkam"] == students and k["prr"] == students,
                                   timeout=900, what="coverage exact")
            exact_at = time.monotonic()
    finally:
        for service in services.values():
            service.stop()
        await mongo.close()
    result = {
        "scenario": "school round burst", "students": students, "events": 4 * students,
        "upload_seconds": round(accepted_at - began, 2),
        "seconds_until_coverage_exact_after_last_accepted": round(exact_at - accepted_at, 2),
        "events_per_second_end_to_end": round(4 * students / (exact_at - began), 1),
        "coverage": final, "machine_cores": os.cpu_count(), "at": dt.datetime.now(dt.UTC).isoformat(),
    }
    out = REPO / "bench/results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{out_name}.json").write_text(json.dumps(result, indent=2))
    (out / f"{out_name}.md").write_text(
        "| students | events | upload s | s until coverage exact | events/s end to end |\n|---|---|---|---|---|\n"
        f"| {students} | {4 * students} | {result['upload_seconds']} | "
        f"{result['seconds_until_coverage_exact_after_last_accepted']} | {result['events_per_second_end_to_end']} |\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=900)
    parser.add_argument("--profile", default="bench", help="local infrastructure profile (the smoke test uses 'test')")
    parser.add_argument("--out", default="school_round", help="name of the result files in bench/results/")
    args = parser.parse_args()
    asyncio.run(main(args.students, prepare(args.profile), args.out))
