"""A failing event among valid ones: only it is parked, and the dead-letter command lists and replays it.

Against the real broker and FerretDB: the coverage feed applies a batch of events of three topics
into a projection of its own, with a store that fails on one resident (a bug in the handler). The
command `python -m services.coverage.dead_letters` then runs as operators run it, on today's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import subprocess
import sys
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from services.coverage import dead_letters
from services.coverage.consumers import ProjectionFeed
from services.coverage.dead_letters import Replayer, choose, read_parked
from services.coverage.projector import Projector
from services.coverage.store import CoverageStore, ReplayLog
from shared.broker import make_broker
from shared.dead_letter import DeadLetterPolicy
from shared.metrics import ConsumerMetrics
from shared.settings import InfraSettings
from shared.topics import ALL, OUTREACH, RECORDING, RESIDENT
from tests.integration.helpers import enrolled_event, eventually
from tests.support import events as make_events
from tests.support.processes import REPO

pytestmark = pytest.mark.infra
KECAMATAN, DESA = "17.02.22", "17.02.22.2003"


class _BuggyForOne(CoverageStore):
    """A store whose resident write fails whenever it carries one resident, and whose visit write fails
    whenever it carries one visit (handler bugs; a visit is written after the residents of its batch)."""

    def __init__(self, db: Any, prefix: str, bad: str) -> None:
        super().__init__(db, prefix)
        self.bad = bad

    async def write_residents(self, docs: list[tuple[dict[str, Any], int]]) -> None:
        if any(doc["_id"] == self.bad for doc, _ in docs):
            raise ValueError("simulated handler bug")
        await super().write_residents(docs)

    async def save_visits(self, visits: dict[str, dict[str, Any]]) -> None:
        if self.bad in visits:
            raise ValueError("simulated handler bug")
        await super().save_visits(visits)


async def _ends_committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """Commit `group` at the ends of every topic, so the test's own events are all it reads."""
    partitions = [TopicPartition(topic.name, p) for topic in ALL for p in range(topic.partitions)]
    starter = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await starter.start()
    try:
        starter.assign(partitions)
        ends = await starter.end_offsets(partitions)
        await starter.commit(dict(ends))
    finally:
        await starter.stop()
    return dict(ends)


async def _committed_total(bootstrap: str, group: str, partitions: list[TopicPartition]) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum([(await consumer.committed(tp)) or 0 for tp in partitions])
    finally:
        await consumer.stop()


def _command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.coverage.dead_letters", *args], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False)


def _main(*args: str) -> tuple[int, str]:
    """The command's main in this process (what `python -m` runs, without its seconds of imports)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = dead_letters.main(list(args))
    return code, out.getvalue()


async def _in_process(*args: str) -> tuple[int, str]:
    return await asyncio.to_thread(_main, *args)


async def _apply_with_one_failing(mongo_db: Any, bootstrap: str, batch: list[tuple[str, Any, bytes]],
                                  bad: str, prefix: str) -> None:
    """Send the batch, then let a coverage feed (parking as coverage) apply it until all is committed."""
    group = f"coverage-dlq-{prefix}"
    ends = await _ends_committed(bootstrap, group)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for topic, event, key in batch:
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=key)
    finally:
        await producer.stop()
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, "coverage")
    dead_letters = DeadLetterPolicy(service="coverage", metrics=metrics, first_delay=0.05)
    broker = make_broker(InfraSettings(kafka_bootstrap=bootstrap), service="coverage", registry=registry,
                         middlewares=[dead_letters])
    dead_letters.bind(broker.publish)
    feed = ProjectionFeed(InfraSettings(kafka_bootstrap=bootstrap), metrics=metrics, dead_letters=dead_letters,
                          registry=registry)
    feed.attach(_BuggyForOne(mongo_db, prefix, bad), group)
    await broker.start()
    await feed.start()
    try:
        await eventually(lambda: _committed_total(bootstrap, group, list(ends)),
                         lambda total: total == sum(ends.values()) + len(batch), timeout=60)
    finally:
        await feed.close()
        await broker.stop()


async def test_a_failing_event_is_parked_alone_the_rest_applied_and_the_command_lists_and_replays_it_once(
    stack: Any, infra_env: dict[str, str], mongo_db: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    bootstrap = f"127.0.0.1:{stack.ports.kafka}"
    rng = random.Random()
    prefix = f"dlq{rng.randrange(10**6)}"
    residents = [enrolled_event(rng, kecamatan=KECAMATAN, desa=DESA) for _ in range(7)]
    bad = residents[3]
    visit = make_events.make("visit.scheduled", visit_id=f"v-{uuid.uuid4().hex[:8]}", place_code=DESA,
                             kecamatan_code=KECAMATAN, kind="desa")
    captured = make_events.make("recording.captured", resident_id=residents[0].payload.resident_id,
                                kecamatan_code=KECAMATAN, desa_code=DESA)
    batch = [(RESIDENT.name, e, e.payload.resident_id.encode()) for e in residents[:5]]
    batch += [(OUTREACH.name, visit, visit.payload.visit_id.encode()),
              (RECORDING.name, captured, captured.payload.resident_id.encode())]
    batch += [(RESIDENT.name, e, e.payload.resident_id.encode()) for e in residents[5:]]
    await _apply_with_one_failing(mongo_db, bootstrap, batch, bad.payload.resident_id, prefix)

    store = CoverageStore(mongo_db, prefix)
    desa = await store.area(f"desa:{DESA}")
    assert (desa["terdaftar"], desa["direkam"]) == (len(residents) - 1, 1)
    assert await store.visits.find_one({"_id": visit.payload.visit_id}) is not None
    ours = {str(e.event_id) for _, e, _ in batch}
    parked = [p for p in await read_parked(InfraSettings()) if p.event_id in ours]
    assert [(p.event_id, p.reason) for p in parked] == [(str(bad.event_id), "handler_error")]

    env = {**infra_env, "EKTP_COVERAGE_COLLECTION_PREFIX": prefix}
    monkeypatch.setenv("EKTP_COVERAGE_COLLECTION_PREFIX", prefix)
    listed = _command(env, "list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    row = next(line for line in listed.stdout.splitlines() if str(bad.event_id) in line)
    assert "resident.enrolled" in row and "handler_error" in row and "menunggu" in row
    assert f"{RESIDENT.name}[{parked[0].partition}]@{parked[0].offset}" in row
    code, shown = await _in_process("show", parked[0].ref)
    assert code == 0 and str(bad.event_id) in shown and "handler_error" in shown
    for output in (listed.stdout + listed.stderr, shown):
        assert bad.payload.nik not in output and bad.payload.name not in output
        assert bad.payload.birth_date.isoformat() not in output

    code, first = await _in_process("replay", parked[0].ref)
    assert (code, first.strip()) == (0, f"{parked[0].ref}: diterapkan ke proyeksi cakupan")
    code, second = await _in_process("replay", parked[0].ref)
    assert code == 0 and "sudah diputar ulang" in second, second
    assert (await store.area(f"desa:{DESA}"))["terdaftar"] == len(residents)

    # Even with the record of replays lost, the projection holds the event once.
    await ReplayLog(mongo_db).collection.delete_one({"_id": parked[0].ref})
    again = await Replayer(Projector(store), ReplayLog(mongo_db)).replay(choose(parked, parked[0].ref)[0])
    assert not again.applied and not again.failed
    assert (await store.area(f"desa:{DESA}"))["terdaftar"] == len(residents)


async def test_events_written_by_a_failed_attempt_are_counted_once_when_the_failing_one_is_isolated(
    stack: Any, mongo_db: Any,
) -> None:
    """The visit fails after the residents of its batch were written: applying the halves again finds
    them written and finishes their counters, once; the visit alone is parked."""
    bootstrap = f"127.0.0.1:{stack.ports.kafka}"
    rng = random.Random()
    prefix = f"dlqhalf{rng.randrange(10**6)}"
    residents = [enrolled_event(rng, kecamatan=KECAMATAN, desa=DESA) for _ in range(6)]
    visit_id = f"v-{uuid.uuid4().hex[:8]}"
    visit = make_events.make("visit.scheduled", visit_id=visit_id, place_code=DESA, kecamatan_code=KECAMATAN,
                             kind="desa")
    batch = [(RESIDENT.name, e, e.payload.resident_id.encode()) for e in residents]
    batch.insert(4, (OUTREACH.name, visit, visit_id.encode()))
    await _apply_with_one_failing(mongo_db, bootstrap, batch, visit_id, prefix)

    store = CoverageStore(mongo_db, prefix)
    assert (await store.area(f"desa:{DESA}"))["terdaftar"] == len(residents)
    assert await store.visits.find_one({"_id": visit_id}) is None
    ours = {str(e.event_id) for _, e, _ in batch}
    parked = [p for p in await read_parked(InfraSettings()) if p.event_id in ours]
    assert [(p.event_type, p.event_id) for p in parked] == [("visit.scheduled", str(visit.event_id))]
