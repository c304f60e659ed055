"""Coverage projections on the real FerretDB and Kafka: duplicates, arrival order, rebuild and swap."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.coverage.projector import Positioned, Projector
from services.coverage.store import CoverageStore, Meta, decode_delta
from shared.mongo import position_key
from shared.topics import ALL, OUTREACH, PRINT, RECORDING, RESIDENT, STOCK, by_name
from tests.integration.helpers import eventually, isolated_env, topic_in, wait_caught_up
from tests.support.journeys import journeys
from tests.support.processes import REPO

pytestmark = pytest.mark.infra


def _partitioned(events: list[tuple[str, str, Any]]) -> tuple[dict[str, list[Positioned]], list[Positioned]]:
    """Messages as Kafka would hold them: per topic partition (by key), with offsets; and all in publish order."""
    partitions: dict[str, list[Positioned]] = {}
    published: list[Positioned] = []
    for topic, key, event in events:
        source = position_key(topic, hash(key) % by_name(topic).partitions)
        queue = partitions.setdefault(source, [])
        queue.append(Positioned(event, source, len(queue)))
        published.append(queue[-1])
    return partitions, published


def _interleave(rng: random.Random, partitions: dict[str, list[Positioned]],
                stock_order: list[Positioned]) -> list[Positioned]:
    """Any arrival order across partitions; each partition's own order kept (as a consumer sees it).

    Blangko events keep the order the ledger applied them in: a stock-opname correction sets the
    count, so its effect depends on which transfers arrived before it, in the ledger as here.
    """
    stock = _source_prefix(STOCK.name)
    lanes = {source: items for source, items in partitions.items() if not source.startswith(stock)}
    lanes["stock"] = stock_order
    cursors = {source: 0 for source in lanes}
    stream: list[Positioned] = []
    while cursors:
        source = rng.choice(sorted(cursors))
        stream.append(lanes[source][cursors[source]])
        cursors[source] += 1
        if cursors[source] == len(lanes[source]):
            del cursors[source]
    return stream


def _source_prefix(topic: str) -> str:
    return position_key(topic, 0)[:-1]


async def test_duplicate_and_out_of_order_delivery_leave_the_projection_identical(mongo_db: Any) -> None:
    rng = random.Random(61)
    events = journeys(rng, 120, tag="ooo")
    # A producer retry: some events published a second time (a new offset, the same event id).
    republished = [rng.choice(events) for _ in range(25)]
    partitions, published = _partitioned(events + republished)
    once = CoverageStore(mongo_db, f"once{uuid.uuid4().hex[:6]}")
    messy = CoverageStore(mongo_db, f"messy{uuid.uuid4().hex[:6]}")

    # Reference: topics one after the other, every batch applied exactly once.
    stock_order = [item for item in published if item.source.startswith(_source_prefix(STOCK.name))]
    in_order = [item for topic in (RESIDENT, OUTREACH, RECORDING, PRINT) for source, items in
                sorted(partitions.items()) if source.startswith(_source_prefix(topic.name)) for item in items]
    in_order += stock_order
    for start in range(0, len(in_order), 100):
        await Projector(once).apply(in_order[start:start + 100])

    # Messy: partitions interleaved at random, batches of random size, every batch delivered twice
    # (as after a crash before the commit) and one in ten three to five times.
    stream = _interleave(rng, partitions, stock_order)
    deliveries = 0
    position = 0
    while position < len(stream):
        size = rng.randint(1, 40)
        batch = stream[position:position + size]
        times = rng.randint(3, 5) if rng.random() < 0.1 else 2
        for _ in range(times):
            await Projector(messy).apply(batch)
            deliveries += len(batch)
        position += size
    print(f"\n  {len(stream)} messages, {deliveries} deliveries; reference applied each once")

    expected, got = await once.snapshot(), await messy.snapshot()
    assert got["residents"] == expected["residents"]
    assert got["areas"] == expected["areas"]
    kab = expected["areas"]["kab:17.02"]
    assert kab["terdaftar"] == sum(1 for _, _, e in events if e.event_type == "resident.enrolled") - sum(
        1 for _, _, e in events if e.event_type == "resident.left")
    curup = expected["areas"]["lokasi:dinas-curup"]
    consumed = sum(1 for _, _, e in events if e.event_type == "stock.consumed")
    spoiled = 2
    assert curup["terpakai"] == consumed and "dipesan" not in curup
    assert curup["stok"] == 120 - consumed - spoiled
    assert expected["areas"]["lokasi:gudang"]["stok"] == 170


class _Killed(Exception):
    """The projector process died here."""


class _DiesWritingCounters(CoverageStore):
    """A store whose process dies once, after the resident writes and after some of the area writes."""

    def __init__(self, db: Any, prefix: str, written: int) -> None:
        super().__init__(db, prefix)
        self.written = written

    async def write_counters(self, changes: Any) -> None:
        await super().write_counters(changes[:self.written])
        raise _Killed


def _next_batch(rng: random.Random, lanes: dict[str, list[Positioned]], committed: dict[str, int],
                size: int) -> tuple[list[Positioned], dict[str, int]]:
    """Up to `size` messages from the committed positions on, the lanes interleaved anew each time."""
    cursors = {lane: at for lane, at in committed.items() if at < len(lanes[lane])}
    batch: list[Positioned] = []
    while cursors and len(batch) < size:
        lane = rng.choice(sorted(cursors))
        batch.append(lanes[lane][cursors[lane]])
        cursors[lane] += 1
        if cursors[lane] == len(lanes[lane]):
            del cursors[lane]
    return batch, {**committed, **cursors, **{lane: len(lanes[lane]) for lane in committed if lane not in cursors}}


async def test_a_projector_killed_between_its_writes_resumes_from_other_batches_exactly_once(mongo_db: Any) -> None:
    """Killed after writing the residents and part of the counters, the projector starts again from
    the committed offsets; the redelivered batch has other boundaries and another interleaving of the
    partitions, so a resident's run of events may come back split, or joined to later events."""
    rng = random.Random(64)
    events = journeys(rng, 120, tag="kill")
    partitions, published = _partitioned(events)
    once = CoverageStore(mongo_db, f"once{uuid.uuid4().hex[:6]}")
    prefix = f"killed{uuid.uuid4().hex[:6]}"
    stock_order = [item for item in published if item.source.startswith(_source_prefix(STOCK.name))]
    in_order = [item for items in partitions.values() for item in items if item not in stock_order] + stock_order
    for start in range(0, len(in_order), 100):
        await Projector(once).apply(in_order[start:start + 100])

    stock = _source_prefix(STOCK.name)
    lanes = {source: items for source, items in partitions.items() if not source.startswith(stock)}
    lanes["stock"] = stock_order
    committed = dict.fromkeys(lanes, 0)
    kills = resumed = 0
    while any(committed[lane] < len(lanes[lane]) for lane in lanes):
        batch, after = _next_batch(rng, lanes, committed, rng.randint(2, 60))
        if rng.random() < 0.4:
            store: CoverageStore = _DiesWritingCounters(mongo_db, prefix, written=rng.randint(0, 3))
        else:
            store = CoverageStore(mongo_db, prefix)
        try:
            result = await Projector(store).apply(batch)
        except _Killed:
            kills += 1
            continue
        resumed += sum(n for (_, outcome), n in result.outcomes.items() if outcome == "resumed")
        committed = after
    print(f"\n  {len(in_order)} messages, {kills} kills between the writes, {resumed} counter changes resumed")
    assert kills >= 5 and resumed >= 20

    expected, got = await once.snapshot(), await CoverageStore(mongo_db, prefix).snapshot()
    assert got["residents"] == expected["residents"]
    assert got["areas"] == expected["areas"]


async def test_a_school_a_student_moved_away_from_is_no_longer_listed(mongo_db: Any) -> None:
    import datetime as dt

    from services.coverage.queries import coverage_table
    from tests.support.events import make, moment

    store = CoverageStore(mongo_db, f"moved{uuid.uuid4().hex[:6]}")
    person = {"resident_id": "r-moved-1", "birth_date": dt.date(2008, 3, 1), "wajib_ktp_from": dt.date(2025, 3, 1),
              "nik": "1702060103080001", "sex": "P"}
    source = position_key(RESIDENT.name, 0)
    await Projector(store).apply([Positioned(make("resident.enrolled", at=moment(1), school_npsn="10799001", **person),
                                             source, 0)])
    await Projector(store).apply([Positioned(make("resident.updated", at=moment(2), school_npsn="10799002", **person),
                                             source, 1)])
    left_behind = await store.area("sekolah:10799001")
    assert left_behind and not left_behind.get("terdaftar")  # the document stays, its counters at zero
    table = await coverage_table(store, level="sekolah", parent=None, day=dt.date(2026, 1, 5))
    assert [row["kode"] for row in table["baris"]] == ["10799002"]


@pytest.fixture
async def mongo_client(stack: Any) -> Any:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://127.0.0.1:{stack.ports.mongo}/", tz_aware=True)
    yield client
    await client.close()


@pytest.fixture(scope="module")
def coverage(start_service: Any, infra_env: dict[str, str]) -> Iterator[Any]:
    # Own topics and database: these journeys carry blangko events that no inventory of another
    # module may apply to its ledger.
    service = start_service("coverage", **isolated_env(infra_env, "rebuild"), EKTP_COVERAGE_SWAP_CHECK_SECONDS="1")
    yield service
    service.stop()


def _rebuild(service: Any, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "services.coverage.rebuild", *args], cwd=REPO,
                          env={**os.environ, **service.env}, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    match = re.search(r"ke (\S+?)[;.]", done.stdout)
    assert match, done.stdout
    return match.group(1)


async def _caught_up(stack: Any, service: Any) -> None:
    for topic in ALL:
        await wait_caught_up(f"127.0.0.1:{stack.ports.kafka}", service.env["EKTP_COVERAGE_CONSUMER_GROUP"],
                             topic_in(service.env, topic.name), timeout=600, partitions=topic.partitions)


async def _kept_apart(store: CoverageStore) -> dict[str, Any]:
    """What a projection keeps beside its counters and views: every place's members, school names,
    visits, job owners, ledger events and stock locations."""
    places = [doc["_id"] async for doc in store.members.places.find({}, {"_id": 1})]
    assert places
    return {
        "members": {key: sorted(await store.members.of([key])) for key in places},
        "schools": {doc["_id"]: doc.get("name") async for doc in store.schools.find({})},
        "visits": {doc["_id"]: doc async for doc in store.visits.find({})},
        "jobs": {doc["_id"]: doc["resident_id"] async for doc in store.jobs.find({})},
        "stock_events": {doc["_id"]: decode_delta(doc["d"]) async for doc in store.stock_events.find({})},
        "locations": sorted([doc["_id"] async for doc in store.locations.find({})]),
        "stock": sorted(await store.stock_locations(), key=lambda location: location.location_id),
    }


async def test_rebuild_equals_live_and_is_swapped_in(
    coverage: Any, kafka_producer: Any, stack: Any, mongo_client: Any
) -> None:
    mongo_db = mongo_client[coverage.env["EKTP_MONGO_DATABASE"]]
    rng = random.Random(62)
    for topic, key, event in journeys(rng, 150, tag=f"rb{uuid.uuid4().hex[:4]}"):
        await kafka_producer.send(topic_in(coverage.env, topic), event.model_dump_json().encode(), key=key.encode())
    await kafka_producer.flush()
    await _caught_up(stack, coverage)
    live = CoverageStore(mongo_db, coverage.env["EKTP_COVERAGE_COLLECTION_PREFIX"])

    rebuilt = CoverageStore(mongo_db, _rebuild(coverage, "--no-swap"))
    assert await rebuilt.snapshot() == await live.snapshot()
    assert await _kept_apart(rebuilt) == await _kept_apart(live)

    async with httpx.AsyncClient(base_url=coverage.url, timeout=60) as client:
        before = (await client.get("/coverage")).json()
        swapped_to = _rebuild(coverage)
        meta = Meta(mongo_db, coverage.env["EKTP_COVERAGE_COLLECTION_PREFIX"])
        assert (await meta.active("", ""))[0] == swapped_to
        await asyncio.sleep(3)
        assert (await client.get("/coverage")).json() == before
        # The swapped-in projection keeps consuming: a new resident shows up in it.
        extra = journeys(random.Random(63), 1, tag=f"after{uuid.uuid4().hex[:4]}")
        for topic, key, event in extra:
            await kafka_producer.send(topic_in(coverage.env, topic), event.model_dump_json().encode(), key=key.encode())
        await kafka_producer.flush()
        await eventually(lambda: client.get("/coverage"),
                         lambda r: r.json()["kabupaten"]["terdaftar"] == before["kabupaten"]["terdaftar"] + 1,
                         timeout=120)
    resident = next(e for _, _, e in extra if e.event_type == "resident.enrolled").payload.resident_id
    assert await CoverageStore(mongo_db, swapped_to).residents.find_one({"_id": resident}) is not None
    assert await live.residents.find_one({"_id": resident}) is None
