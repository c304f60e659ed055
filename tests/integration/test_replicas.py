"""Two intake replicas and two coverage projectors side by side on the real broker and database.

An import runs on the replica that took the upload while the other replica restarts (it is not
marked interrupted); a crashed replica's import is reported interrupted once its lease runs out and
resumes on the other; an office's write budget is one for both replicas; both projectors share one
consumer group and the figures on either equal what the roster holds, exactly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient, monitoring

from services.intake.ports import ORPHANED_MESSAGE
from services.intake.store import IMPORTS, ROSTER
from shared.auth import OfficeDirectory
from shared.contracts import Role
from shared.http import SharedTokenBuckets
from tests.integration.helpers import (
    create_office_key,
    eventually,
    isolated_env,
    synthetic_resident,
)
from tests.integration.test_dapodik_import import dapodik_csv, wait_job
from tests.support.plugin import report

pytestmark = pytest.mark.infra
LEASE_SECONDS = 5
BURST, PER_MINUTE = 40, 6
IMPORTED, CRASHED, REGISTERED = "17.02.09", "17.02.10", "17.02.06"


@pytest.fixture(scope="module")
def isolated(infra_env: dict[str, str]) -> dict[str, str]:
    return isolated_env(infra_env, "rep")


@pytest.fixture(scope="module")
def replicas(start_service: Any, isolated: dict[str, str]) -> Iterator[dict[str, Any]]:
    common = {**isolated, "EKTP_INTAKE_IMPORT_LEASE_SECONDS": str(LEASE_SECONDS),
              "EKTP_RATE_LIMIT_BURST": str(BURST), "EKTP_RATE_LIMIT_WRITES_PER_MINUTE": str(PER_MINUTE),
              # One projection and one consumer group for both projectors, as with `--scale coverage=2`.
              "EKTP_COVERAGE_CONSUMER_GROUP": f"coverage-rep-{uuid.uuid4().hex[:6]}",
              "EKTP_COVERAGE_COLLECTION_PREFIX": "coverage"}
    began = time.monotonic()
    names = ("intake1", "intake2", "coverage1", "coverage2")
    # The second of each logs as production does: one JSON object per line.
    own = {"intake2": {"EKTP_LOG_FORMAT": "json"}, "coverage2": {"EKTP_LOG_FORMAT": "json"}}
    with ThreadPoolExecutor(len(names)) as pool:  # side by side, as an orchestrator starts replicas
        started = dict(zip(names, pool.map(
            lambda name: start_service(name.rstrip("12"), **common, **own.get(name, {})), names), strict=True))
    report(f"replicas: two intake and two coverage processes up in {time.monotonic() - began:.1f} s")
    yield started
    for service in started.values():
        service.stop()


@pytest.fixture
async def db(infra_env: dict[str, str], isolated: dict[str, str]) -> Any:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra_env["EKTP_MONGO_URL"], tz_aware=True)
    yield client[isolated["EKTP_MONGO_DATABASE"]]
    await client.close()


async def _upload(client: httpx.AsyncClient, headers: dict[str, str], content: bytes) -> dict[str, Any]:
    answer = await client.post("/imports/dapodik", headers=headers, files={"file": ("dapodik.csv", content)})
    assert answer.status_code in (200, 202), answer.text
    return dict(answer.json())


def _total(metrics: str, name: str, **labels: str) -> float:
    return sum(sample.value for family in text_string_to_metric_families(metrics)
               if family.name == name for sample in family.samples
               if sample.name == f"{name}_total" and labels.items() <= sample.labels.items())


async def test_imports_registrations_and_coverage_with_two_replicas_each(replicas: dict[str, Any], db: Any) -> None:
    began = time.monotonic()
    admin = {"X-API-Key": await create_office_key(db, role=Role.DINAS_ADMIN)}
    clerk = {"X-API-Key": await create_office_key(db, role=Role.KECAMATAN_OFFICE, kecamatan=REGISTERED)}
    rng = random.Random()
    crash_content, crash_valid = dapodik_csv(1_000, seed=rng.randrange(10**6), kecamatan=[CRASHED])
    urls = {name: service.url for name, service in replicas.items()}
    async with httpx.AsyncClient(base_url=urls["intake1"], timeout=60) as one, \
            httpx.AsyncClient(base_url=urls["intake2"], timeout=60) as two:
        # An import on intake1 while intake2 restarts: intake2's start leaves it alone. The file must outlast
        # intake2's start (4 to 10 s on a busy machine): a file imported before intake2 was back is imported
        # again twice as long.
        rows, imported_before = 4_000, 0
        for _ in range(3):
            content, valid = dapodik_csv(rows, seed=rng.randrange(10**6), kecamatan=[IMPORTED])
            replicas["intake2"].stop()
            job = await _upload(one, admin, content)
            restart = time.monotonic()
            replicas["intake2"].start()
            restart = time.monotonic() - restart
            during = (await two.get(job["status_url"], headers=admin)).json()
            if during["status"] == "berjalan":
                break
            earlier, _ = await wait_job(one, job["status_url"], admin, timeout=120)
            imported_before, rows = imported_before + earlier["imported"], rows * 2
        assert during["status"] == "berjalan", f"the import ended before intake2 was back ({restart:.1f} s): {during}"

        # Registrations through both replicas, as the clerk's two requests land behind a load balancer.
        people = [synthetic_resident(rng, kecamatan=REGISTERED, desa=f"{REGISTERED}.2001") for _ in range(16)]
        people = list({p["nik"]: p for p in people}.values())
        for i, person in enumerate(people):
            answer = await (one, two)[i % 2].post("/residents", json=person,
                                                  headers={**clerk, "Idempotency-Key": f"rep-{uuid.uuid4().hex}"})
            assert answer.status_code == 201, answer.text

        done, _ = await wait_job(one, job["status_url"], admin, timeout=120)
        assert (done["status"], done["processed"]) == ("selesai", valid), done
        # A file imported again twice as long may name a student of the earlier one: registered already.
        assert done["imported"] + done["already_registered"] == valid, done
        assert imported_before or not done["already_registered"], done
        assert done["message"] is None

        # intake1 crashes in the middle of an import: once the lease runs out intake2 says it was cut off,
        # and the same file uploaded again resumes there, registering nobody twice.
        crashed = await _upload(one, admin, crash_content)
        await eventually(lambda: one.get(crashed["status_url"], headers=admin),
                         lambda r: r.json()["processed"] > 0, timeout=30)
        replicas["intake1"].stop(sig=signal.SIGKILL)
        killed_at = time.monotonic()
        cut_off = await eventually(lambda: two.get(crashed["status_url"], headers=admin),
                                   lambda r: r.json()["status"] != "berjalan", timeout=LEASE_SECONDS * 4)
        noticed = time.monotonic() - killed_at
        assert (cut_off.json()["status"], cut_off.json()["message"]) == ("terputus", ORPHANED_MESSAGE)
        assert noticed >= LEASE_SECONDS - 1.5, f"interrupted after {noticed:.1f} s, before its lease ran out"
        # The read says so at once; intake2's sweep (every quarter lease) records it in the job too.
        await eventually(lambda: db[IMPORTS].find_one({"_id": crashed["job_id"]}),
                         lambda doc: doc["status"] == "terputus", timeout=LEASE_SECONDS)
        resumed = await _upload(two, admin, crash_content)
        assert resumed["status"] == "berjalan"
        finished, _ = await wait_job(two, crashed["status_url"], admin, timeout=120)
        assert finished["status"] == "selesai"
        assert finished["imported"] + finished["already_registered"] == crash_valid, finished
        replicas["intake1"].start()

    # Either projector answers the same figures, equal to the roster's.
    roster = {kec: await db[ROSTER].count_documents({"kecamatan_code": kec}) for kec in (IMPORTED, CRASHED, REGISTERED)}
    assert roster == {IMPORTED: imported_before + done["imported"], CRASHED: crash_valid, REGISTERED: len(people)}, roster

    async def figures(url: str) -> dict[str, int]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            body = (await client.get("/coverage")).json()
        return {row["kode"]: row["terdaftar"] for row in body["kecamatan"] if row["kode"] in roster}

    await eventually(lambda: figures(urls["coverage1"]), lambda f: f == roster, timeout=120, interval=0.5)
    await asyncio.sleep(2)  # nothing counted twice arrives late
    assert await figures(urls["coverage1"]) == await figures(urls["coverage2"]) == roster
    applied, conflicts = [], 0.0
    for name in ("coverage1", "coverage2"):
        async with httpx.AsyncClient(base_url=urls[name], timeout=30) as client:
            metrics = (await client.get("/metrics")).text
        applied.append(_total(metrics, "ektp_events_applied"))
        conflicts += _total(metrics, "ektp_consumer_retries", reason="ConcurrentUpdate")
    assert all(n > 0 for n in applied), f"both projectors take part: {applied}"
    report(f"replicas: import across a restart of the other intake ({restart:.1f} s), a crash noticed after "
           f"{noticed:.1f} s (lease {LEASE_SECONDS} s); projectors applied {applied[0]:.0f} + {applied[1]:.0f} "
           f"events (a batch retried after a counter conflict counts once, where it finished), {conflicts:.0f} "
           f"batch retries after conflicts; {time.monotonic() - began:.1f} s")


async def test_an_office_has_one_write_budget_across_both_intake_replicas(replicas: dict[str, Any], db: Any) -> None:
    headers = {"X-API-Key": await create_office_key(db, role=Role.DINAS_ADMIN)}
    async with httpx.AsyncClient(base_url=replicas["intake1"].url, timeout=30) as one, \
            httpx.AsyncClient(base_url=replicas["intake2"].url, timeout=30) as two:
        answers = [await (one, two)[i % 2].post("/residents", json={}, headers=headers) for i in range(BURST)]
        assert 429 not in {a.status_code for a in answers}
        refused = [await client.post("/residents", json={}, headers=headers) for client in (one, two)]
    assert [a.status_code for a in refused] == [429, 429], "per process, each replica would allow the burst again"
    assert all(1 <= int(a.headers["Retry-After"]) <= 60 // PER_MINUTE for a in refused)


async def test_concurrent_writers_take_exactly_the_burst_from_a_shared_bucket(db: Any) -> None:
    collection = db[f"rate_probe_{uuid.uuid4().hex[:6]}"]
    replicas = [SharedTokenBuckets(collection, per_minute=1, burst=50) for _ in range(4)]
    started = time.time()
    waits = await asyncio.gather(*[replicas[i % 4].draw("kantor") for i in range(200)])
    elapsed = time.time() - started
    assert sum(1 for w in waits if w == 0) == 50
    # The draw that created the bucket and each refused draw read the clock between `started` and now, in
    # either order, so the next token is free 60 s after the first, give or take the draws' duration.
    refusals = [w for w in waits if w > 0]
    assert refusals and all(abs(w - 60) <= elapsed + 0.001 for w in refusals), (
        "refusals say when the next token is free", elapsed, min(refusals), max(refusals))


class CollectionCommands(monitoring.CommandListener):
    """Counts the commands sent to one collection."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.sent = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get(event.command_name) == self.collection:
            self.sent += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_draws_at_once_in_one_replica_are_taken_together_and_still_exactly(
        infra_env: dict[str, str], isolated: dict[str, str]) -> None:
    name = f"rate_probe_{uuid.uuid4().hex[:6]}"
    listener = CollectionCommands(name)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra_env["EKTP_MONGO_URL"], event_listeners=[listener])
    try:
        bucket = SharedTokenBuckets(client[isolated["EKTP_MONGO_DATABASE"]][name], per_minute=1, burst=50)
        rounds = [await asyncio.gather(*[bucket.draw("kantor") for _ in range(20)]) for _ in range(3)]
        assert [sum(1 for w in waits if w == 0) for waits in rounds] == [20, 20, 10]
        assert all(w == 0 for w in rounds[2][:10]) and all(55 <= w <= 60 for w in rounds[2][10:]), rounds[2]
        assert listener.sent <= 8, f"{listener.sent} commands for 60 draws: draws at once are not taken together"
        many = await asyncio.gather(*[bucket.draw("kantor-lain") for _ in range(120)])
        assert sum(1 for w in many if w == 0) == 50 and all(w > 0 for w in many[50:]), "more draws than the burst"
    finally:
        await client.close()


async def test_office_lookups_at_once_are_read_together_and_a_revoked_key_is_refused_at_once(
        infra_env: dict[str, str], isolated: dict[str, str]) -> None:
    name = f"offices_probe_{uuid.uuid4().hex[:6]}"
    listener = CollectionCommands(name)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra_env["EKTP_MONGO_URL"], event_listeners=[listener])
    try:
        directory = OfficeDirectory(client[isolated["EKTP_MONGO_DATABASE"]][name])
        now = dt.datetime.now(dt.UTC)
        keys = {office: await directory.create(office_id=office, name=office, role=Role.KECAMATAN_OFFICE,
                                               kecamatan_code="17.02.06", now=now) for office in ("kec-a", "kec-b")}
        listener.sent = 0
        found = await asyncio.gather(*[directory.authenticate(keys[("kec-a", "kec-b")[i % 2]]) for i in range(60)],
                                     directory.authenticate("ektp_not-a-key"))
        assert [o.office_id if o else None for o in found] == [("kec-a", "kec-b")[i % 2] for i in range(60)] + [None]
        assert listener.sent <= 3, f"{listener.sent} reads for 61 lookups at once: not read together"
        assert await directory.revoke("kec-b", now=now)
        after = await asyncio.gather(*[directory.authenticate(keys[office]) for office in ("kec-a", "kec-b") * 5])
        assert [o.office_id if o else None for o in after] == ["kec-a", None] * 5
    finally:
        await client.close()


def test_replicas_started_with_json_logs_write_one_json_object_per_line(replicas: dict[str, Any]) -> None:
    for name, service in (("intake", replicas["intake2"]), ("coverage", replicas["coverage2"])):
        lines = [line for line in service.log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        records = [json.loads(line) for line in lines]  # fails on any line that is not one JSON object
        assert all({"time", "level", "logger", "message"} <= set(r) and r.get("service") == name for r in records)
        loggers = {r["logger"] for r in records}
        assert {"ektp.serve", "uvicorn.access"} <= loggers, loggers
