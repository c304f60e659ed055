"""A poison corpus on every topic: each message parked once per consuming service, the partition goes on."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from shared.contracts import MAX_EVENT_BYTES
from tests.faults.system import FaultSystem, mongo, read_records, running_system
from tests.integration.helpers import eventually
from tests.support.events import make, moment
from tests.support.plugin import report

pytestmark = [pytest.mark.infra, pytest.mark.heavy]

# The services that consume each topic (each dead-letters a poison message it reads).
CONSUMED_BY = {
    "resident.events": {"intake", "recording", "coverage"},
    "outreach.events": {"recording", "coverage"},
    "recording.events": {"recording", "printing", "coverage"},
    "print.events": {"printing", "inventory", "coverage"},
    "stock.events": {"printing", "inventory", "coverage"},
}
RESIDENT = "r-poison-0001"
PERSONAL_FIELD = "1702064507070009 lahir 2007-07-05"
PLACE = {"resident_id": RESIDENT, "kecamatan_code": "17.02.06", "desa_code": "17.02.06.2001"}


def _valid(topic: str) -> tuple[str, Any]:
    """A valid event of the topic, and its key: the sentinel that must still be applied after the poison."""
    if topic == "resident.events":
        return RESIDENT, make("resident.enrolled", at=moment(1), nik="1702064507070001", name="Sentinel Racun",
                              sex="P", birth_date="2007-07-05", school_npsn=None, wajib_ktp_from="2024-07-05",
                              **PLACE)
    if topic == "recording.events":
        return RESIDENT, make("recording.captured", at=moment(2), **PLACE)
    if topic == "outreach.events":
        return "visit-poison", make("visit.scheduled", at=moment(1), visit_id="visit-poison",
                                    kecamatan_code="17.02.06", place_code="17.02.06.2001", targets=[])
    if topic == "print.events":
        return "dinas-curup", make("print.job_queued", at=moment(3), job_id="job-poison", station_id="dinas-curup",
                                   **PLACE)
    return "dinas-curup", make("stock.received", at=moment(1), location_id="dinas-curup", quantity=7,
                               request_id=None, document_no="BA/RACUN/1")


def _edited(good: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    data = json.loads(good)
    change(data)
    return json.dumps(data).encode()


def poison_corpus(good: bytes) -> dict[str, bytes]:
    """At least twelve kinds of message no consumer can apply, made from one valid event."""
    first_field = next(iter(json.loads(good)["payload"]))
    corpus = {
        "not JSON": b"ini bukan JSON sama sekali",
        "truncated": good[: len(good) // 2],
        "not UTF-8": b"\xff\xfe\x00\x81 rusak",
        "empty": b"",
        "JSON null": b"null",
        "JSON array": b"[1, 2, 3]",
        "wrong types": _edited(good, lambda d: d["payload"].__setitem__(first_field, [1, 2])),
        "missing payload": _edited(good, lambda d: d.pop("payload")),
        "missing event_id": _edited(good, lambda d: d.pop("event_id")),
        "event_id not a UUID": _edited(good, lambda d: d.__setitem__("event_id", "bukan-uuid")),
        "unknown event_type": _edited(good, lambda d: d.__setitem__("event_type", "resident.teleported")),
        "unknown schema_version": _edited(good, lambda d: d.__setitem__("schema_version", 99)),
        "impossible date": _edited(good, lambda d: d.__setitem__("occurred_at", "2024-13-45T99:00:00+07:00")),
        "NaN": good.replace(b'"schema_version": 1', b'"schema_version": NaN').replace(
            b'"schema_version":1', b'"schema_version":NaN'),
        "deeply nested": b'{"event_type": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        "oversized": _edited(good, lambda d: d.__setitem__("padding", "x" * (MAX_EVENT_BYTES + 1))),
        # A NIK and a birth date where a field name should be: the error names the field, the header must not.
        "personal data as field": _edited(good, lambda d: d["payload"].__setitem__(PERSONAL_FIELD, "Siti")),
    }
    assert b"NaN" in corpus["NaN"]
    return corpus


@pytest.fixture(scope="module")
def system(start_service: Any, infra_env: dict[str, str]) -> Iterator[FaultSystem]:
    with running_system(start_service, infra_env, "poison") as running:
        yield running


async def _dead_letters(system: FaultSystem) -> list[Any]:
    tps = [TopicPartition(f"{system.prefix}{topic}.dlq", 0) for topic in CONSUMED_BY]
    return [record for records in (await read_records(system.bootstrap, tps)).values() for record in records]


async def test_every_poison_class_is_dead_lettered_once_per_consumer_and_the_partition_goes_on(
        system: FaultSystem) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=system.bootstrap, acks="all", enable_idempotence=True,
                                max_request_size=4 * MAX_EVENT_BYTES)
    await producer.start()
    sent: dict[tuple[str, int, int], str] = {}
    try:
        for topic in CONSUMED_BY:
            key, sentinel = _valid(topic)
            corpus = poison_corpus(sentinel.model_dump_json().encode())
            for kind, value in corpus.items():
                meta = await producer.send_and_wait(system.prefix + topic, value, key=key.encode())
                sent[(meta.topic, meta.partition, meta.offset)] = kind
            await producer.send_and_wait(system.prefix + topic, sentinel.model_dump_json().encode(), key=key.encode())
    finally:
        await producer.stop()
    expected = sum(len(CONSUMED_BY[t.removeprefix(system.prefix)]) for t, _, _ in sent)

    async def parked() -> list[Any]:
        return await _dead_letters(system)

    records = await eventually(parked, lambda r: len(r) >= expected, timeout=180)
    lag = await system.caught_up(timeout=120)
    await asyncio.sleep(3)
    records = await _dead_letters(system)

    copies: Counter[tuple[str, int, int, str]] = Counter()
    reasons: dict[str, set[str]] = {}
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        source = (headers["x-dlq-source-topic"], int(headers["x-dlq-source-partition"]),
                  int(headers["x-dlq-source-offset"]))
        assert source in sent, f"a valid message was dead-lettered: {headers}"
        assert headers["x-dlq-reason"], headers
        assert "1702064507070009" not in headers["x-dlq-detail"] and "2007-07-05" not in headers["x-dlq-detail"]
        copies[(*source, headers["x-dlq-service"])] += 1
        reasons.setdefault(sent[source], set()).add(headers["x-dlq-reason"])
    missing = [(source, service) for source in sent for service in CONSUMED_BY[source[0].removeprefix(system.prefix)]
               if copies[(*source, service)] == 0]
    twice = {key: n for key, n in copies.items() if n > 1}
    report(f"\n  {len(set(sent.values()))} poison classes x {len(CONSUMED_BY)} topics = {len(sent)} messages; "
          f"{len(records)} dead letters for {expected} (message, consuming service) pairs; "
          f"missing {len(missing)}, parked twice {len(twice)}; lag after: {sum(lag.values())}")
    for kind in sorted(reasons):
        report(f"    {kind:<24} -> {', '.join(sorted(reasons[kind]))}")
    assert len(set(sent.values())) >= 12
    assert not missing, missing[:10]
    assert not twice, twice
    assert not any(lag.values()), lag

    # Each partition went on: the valid event sent after the poison was applied by every consumer.
    client = mongo(system.env)
    try:
        db = client[system.env["EKTP_MONGO_DATABASE"]]
        roster = await db["intake_roster"].find_one({"_id": RESIDENT})
        recording = await db["recording_residents"].find_one({"_id": RESIDENT})
        visit = await db["recording_visits"].find_one({"_id": "visit-poison"})
        job = await db["print_jobs"].find_one({"_id": "job-poison"})
        blangko = await db["blangko_locations"].find_one({"_id": "dinas-curup"})
        view = await db["coverage_faults_residents"].find_one({"_id": RESIDENT})
    finally:
        await client.close()
    assert roster is not None and recording is not None and recording["stage"] == "rekam"
    assert visit is not None and job is not None and view is not None
    assert blangko is not None and blangko["received"] == 7
