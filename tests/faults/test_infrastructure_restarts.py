"""The Kafka broker, then FerretDB, restarted while residents are being registered.

These run on a stack of their own (fresh ports and data in a temporary folder), so restarting it
disturbs no other test. Every 201 the intake answered must be on the resident topic; every other
answer is a clear 503; the consumers wait with backoff while a part is away and catch up after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.components import Ports
from deploy.local.process import free_port
from deploy.local.stack import Stack
from shared.contracts import Role
from shared.settings import SERVICE_PORTS
from tests.faults.system import CONSUMERS, FaultSystem, mongo, read_topics, running_system
from tests.integration.helpers import create_office_key, synthetic_resident
from tests.support.plugin import report

pytestmark = [pytest.mark.infra, pytest.mark.heavy,
              pytest.mark.timeout(2400 if os.environ.get("EKTP_FAULTS") == "long" else 600)]
LONG = os.environ.get("EKTP_FAULTS") == "long"
OUTAGE_SECONDS = 20.0 if LONG else 8.0
CLERKS = 6
RESUME_WITHIN_SECONDS = 60.0
REFUSALS: Counter[str] = Counter()  # the start of each 503's message, so a failure says which part refused


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("restart-stack")
    stack = Stack("faults", data, Ports(free_port(), free_port(), free_port(), free_port()),
                  {name: free_port() for name in SERVICE_PORTS})
    stack.up(with_prometheus=False)
    yield stack
    stack.down()


@pytest.fixture(scope="module")
def system(own_stack: Stack, start_service: Any, infra_env: dict[str, str]) -> Iterator[FaultSystem]:
    on_own = {**infra_env, "EKTP_KAFKA_BOOTSTRAP": f"127.0.0.1:{own_stack.ports.kafka}",
              "EKTP_MONGO_URL": f"mongodb://127.0.0.1:{own_stack.ports.mongo}/"}
    with running_system(start_service, infra_env, "restart", env=on_own) as running:
        yield running


class Resumed:
    """Set once a registration is accepted after the part came back."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.back: float | None = None

    def part_is_back(self) -> float:
        self.back = time.monotonic()
        return self.back

    def accepted(self, at: float) -> None:
        if self.back is not None and at > self.back:
            self.event.set()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _log_lines(system: FaultSystem) -> dict[str, int]:
    return {name: service.log_path.read_bytes().count(b"\n") for name, service in system.services.items()}


async def _office_key(system: FaultSystem) -> str:
    client = mongo(system.env)
    try:
        return await create_office_key(client[system.env["EKTP_MONGO_DATABASE"]], role=Role.DINAS_ADMIN)
    finally:
        await client.close()


async def _register_until(stop: asyncio.Event, url: str, key: str, seed: int,
                          slowest: list[float], resumed: Resumed) -> list[tuple[int, str | None, float]]:
    """One clerk registering residents one after another until told to stop: (status, resident id, when answered)."""
    rng = random.Random(seed)
    answers: list[tuple[int, str | None, float]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        while not stop.is_set():
            resident = synthetic_resident(rng, kecamatan="17.02.06", desa="17.02.06.2001")
            began = time.monotonic()
            try:
                answer = await client.post("/residents", json=resident, headers={"X-API-Key": key})
                slowest.append(time.monotonic() - began)
            except httpx.HTTPError:
                answers.append((0, None, time.monotonic()))
                await asyncio.sleep(0.5)
                continue
            body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
            answers.append((answer.status_code, body.get("resident_id") if answer.status_code == 201 else None,
                            time.monotonic()))
            if answer.status_code == 201:
                resumed.accepted(time.monotonic())
            if answer.status_code == 503:
                assert answer.headers.get("Retry-After"), answer.headers
                REFUSALS[str(body.get("detail", ""))[:40]] += 1
                await asyncio.sleep(0.5)
    return answers


async def _outage(system: FaultSystem, part: Any, *, seconds: float, clerk_seeds: range) -> dict[str, Any]:
    """Registrations flow, `part` goes away for `seconds` and comes back; what the services did meanwhile."""
    key = await _office_key(system)
    stop = asyncio.Event()
    waits: list[float] = []
    resumed = Resumed()
    clerks = [asyncio.create_task(_register_until(stop, system.services["intake"].url, key, seed, waits, resumed))
              for seed in clerk_seeds]
    await asyncio.sleep(4)
    await asyncio.to_thread(part.stop)
    # Measured from when the part is down: answers completed while it was stopping are not "away".
    pids = {name: service.proc.pid for name, service in system.services.items() if service.proc}
    cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    lines_before = _log_lines(system)
    began = time.monotonic()
    await asyncio.sleep(seconds)
    away = time.monotonic() - began
    cpu = {name: round((_cpu_seconds(pid) - cpu_before[name]) / away * 100, 1) for name, pid in pids.items()}
    lines = {name: n - lines_before[name] for name, n in _log_lines(system).items()}
    await asyncio.to_thread(part.start)
    back = resumed.part_is_back()
    # Clerks go on until registrations are accepted again (at most a minute), then a few seconds more.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(resumed.event.wait(), RESUME_WITHIN_SECONDS)
    await asyncio.sleep(4)
    stop.set()
    answers = [answer for clerk in clerks for answer in await clerk]
    lag = await system.quiet(timeout=240)
    return {"answers": answers, "cpu_percent": cpu, "log_lines": lines, "away": away, "lag": lag, "back": back,
            "caught_up_after": time.monotonic() - back, "longest_answer": max(waits, default=0.0)}


async def _durable(system: FaultSystem, accepted: set[str]) -> tuple[set[str], int, dict[str, Any]]:
    """Accepted residents missing from the topic; residents on the topic; roster and coverage counts."""
    records = await read_topics(system.bootstrap, system.prefix)
    on_topic = {json.loads(r.value)["payload"]["resident_id"] for where, items in records.items()
                if ".resident.events" in where for r in items}
    client = mongo(system.env)
    try:
        db = client[system.env["EKTP_MONGO_DATABASE"]]
        roster = await db["intake_roster"].count_documents({})
        area = await db["coverage_faults_areas"].find_one({"_id": "kec:17.02.06"}) or {}
    finally:
        await client.close()
    return accepted - on_topic, len(on_topic), {"roster": roster, "terdaftar": area.get("terdaftar", 0)}


def _report(what: str, outcome: dict[str, Any], missing: set[str], on_topic: int, counts: dict[str, Any]) -> None:
    statuses = Counter(status for status, _, _ in outcome["answers"])
    report(f"\n  {what} away {outcome['away']:.0f} s while {CLERKS} clerks registered: answers {dict(statuses)}; "
          f"201 not on the topic: {len(missing)}; residents on the topic {on_topic}, roster {counts['roster']}, "
          f"terdaftar {counts['terdaftar']}; longest answer {outcome['longest_answer']:.1f} s; "
          f"caught up {outcome['caught_up_after']:.0f} s after the restart")
    report(f"  while away, CPU % per service: {outcome['cpu_percent']}; log lines: {outcome['log_lines']}")


def _assert_recovered(outcome: dict[str, Any], missing: set[str], on_topic: int, counts: dict[str, Any]) -> None:
    statuses = Counter(status for status, _, _ in outcome["answers"])
    accepted_after_back = sum(1 for status, _, at in outcome["answers"] if status == 201 and at > outcome["back"])
    # The outage was felt: answers refused with 503, or held until the part was back.
    assert statuses[503] > 0 or outcome["longest_answer"] > outcome["away"] / 2, outcome["longest_answer"]
    assert not missing, f"{len(missing)} residents answered 201 are not on the topic"
    assert set(statuses) <= {201, 503}, statuses
    # Registrations resume once the part is back: no client left refusing every write.
    assert accepted_after_back > 0, (statuses, REFUSALS)
    assert not any(outcome["lag"].values()), outcome["lag"]
    assert counts["roster"] == on_topic and counts["terdaftar"] == on_topic
    # Waiting, not spinning: no service burns more than a fifth of a core or floods its log.
    assert max(outcome["cpu_percent"].values()) < 20, outcome["cpu_percent"]
    assert max(outcome["log_lines"].values()) < 30 * outcome["away"], outcome["log_lines"]


async def test_broker_restart_under_load_confirms_only_durable_events_and_consumers_catch_up(
        system: FaultSystem, own_stack: Stack) -> None:
    assert set(system.services) == set(CONSUMERS)
    outcome = await _outage(system, own_stack.kafka, seconds=OUTAGE_SECONDS, clerk_seeds=range(CLERKS))
    accepted = {rid for status, rid, _ in outcome["answers"] if status == 201 and rid}
    missing, on_topic, counts = await _durable(system, accepted)
    _report("Kafka", outcome, missing, on_topic, counts)
    _assert_recovered(outcome, missing, on_topic, counts)


async def test_ferretdb_restart_under_load_confirms_only_durable_events_and_consumers_catch_up(
        system: FaultSystem, own_stack: Stack) -> None:
    outcome = await _outage(system, own_stack.ferretdb, seconds=OUTAGE_SECONDS,
                            clerk_seeds=range(100, 100 + CLERKS))
    accepted = {rid for status, rid, _ in outcome["answers"] if status == 201 and rid}
    missing, on_topic, counts = await _durable(system, accepted)
    _report("FerretDB", outcome, missing, on_topic, counts)
    _assert_recovered(outcome, missing, on_topic, counts)
