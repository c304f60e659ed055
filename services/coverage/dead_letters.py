"""python -m services.coverage.dead_letters: the messages coverage parked, and their replay after a fix.

    python -m services.coverage.dead_letters list                 # what coverage parked, oldest first
    python -m services.coverage.dead_letters list --semua-layanan # what every service parked
    python -m services.coverage.dead_letters show REF             # one parked message in detail
    python -m services.coverage.dead_letters replay REF           # apply one to the coverage projection
    python -m services.coverage.dead_letters replay --semua       # apply every one not replayed yet

REF is the parked message's place on its dead-letter topic, `<topic>.dlq:<partition>:<offset>`, as
`list` prints it. Nothing personal is shown: no NIK, name or birth date, only where the message came
from, its event type and id, why it was parked and when.

A replay reads the message again with today's code and applies it to the projection the service
reads (`coverage_meta`), as its own source (`replay_source`): its counters are guarded by that
source, so a replay cut short is finished by the next one and nothing counts twice. Each replay is
recorded (`coverage_dead_letter_replays`); a message replayed once is not applied again, and an event
the projection already holds (the same event id) is found there and not counted again.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.coverage.config import CoverageSettings
from services.coverage.projector import ADAPTERS, Positioned, Projector
from services.coverage.store import CoverageStore, Meta, ReplayLog
from shared.broker import kafka_client_options
from shared.clock import WIB, Clock, system_clock
from shared.contracts import MAX_EVENT_BYTES
from shared.dead_letter import TransientError, classify
from shared.logs import configure_logging
from shared.mongo import make_client, position_key
from shared.settings import InfraSettings
from shared.topics import ALL

SERVICE = "coverage"
READ_WAIT_MS = 500
REPLAY_ATTEMPTS = 5
_EVENT_TYPE = re.compile(r"^[a-z_]{1,30}\.[a-z_]{1,40}$")
_EVENT_ID = re.compile(r"^[0-9a-fA-F-]{1,64}$")


class UnknownReference(LookupError):
    """No parked message has this reference; the message says what to do."""


@dataclass(frozen=True)
class Parked:
    """A parked message as people see it (no personal data), with the raw record for a replay."""

    ref: str
    topic: str
    partition: int
    offset: int
    service: str
    reason: str
    detail: str
    parked_at: dt.datetime
    event_type: str
    event_id: str
    record: Any


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {key: value.decode("utf-8", "replace") for key, value in (record.headers or ())}


def _identity(raw: bytes | None) -> tuple[str, str]:
    """The event type and id of a message, if it says them plainly; nothing else of it is read out."""
    if not raw or len(raw) > MAX_EVENT_BYTES:
        return "-", "-"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return "-", "-"
    if not isinstance(data, dict):
        return "-", "-"
    event_type, event_id = data.get("event_type"), data.get("event_id")
    return (event_type if isinstance(event_type, str) and _EVENT_TYPE.match(event_type) else "-",
            event_id if isinstance(event_id, str) and _EVENT_ID.match(event_id) else "-")


def _number(text: str | None) -> int:
    """A header's number, or -1 when it is missing or not a number."""
    return int(text) if text and text.isdigit() else -1


def describe(record: ConsumerRecord[Any, Any]) -> Parked:
    """A dead-letter record as people see it."""
    headers = _headers(record)
    event_type, event_id = _identity(record.value)
    return Parked(
        ref=f"{record.topic}:{record.partition}:{record.offset}",
        topic=headers.get("x-dlq-source-topic", record.topic.removesuffix(".dlq")),
        partition=_number(headers.get("x-dlq-source-partition")), offset=_number(headers.get("x-dlq-source-offset")),
        service=headers.get("x-dlq-service", "-"), reason=headers.get("x-dlq-reason", "-"),
        detail=headers.get("x-dlq-detail", ""),
        parked_at=dt.datetime.fromtimestamp(record.timestamp / 1000, tz=WIB),
        event_type=event_type, event_id=event_id, record=record)


def replay_source(parked: Parked) -> str:
    """The projection source a replayed message is applied as: its own, so replays in any order each
    count once (a topic partition's source needs its records in order)."""
    topic, partition, offset = parked.ref.rsplit(":", 2)
    return f"replay_{position_key(topic, int(partition))}_{offset}"


async def read_parked(infra: InfraSettings, *, service: str | None = SERVICE) -> list[Parked]:
    """Every message on the dead-letter topics (those `service` parked, or all when None), oldest first."""
    consumer = AIOKafkaConsumer(**kafka_client_options(infra), enable_auto_commit=False, group_id=None,
                                client_id="ektp-dead-letters")
    await consumer.start()
    try:
        existing = await consumer.topics()
        # A dead-letter topic has one partition (shared.topics.all_topic_configs).
        partitions = [TopicPartition(topic.dead_letter, 0) for topic in ALL if topic.dead_letter in existing]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        while await _short_of(consumer, ends):
            for batch in (await consumer.getmany(timeout_ms=READ_WAIT_MS)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    parked = [describe(record) for record in records]
    return sorted((p for p in parked if service is None or p.service == service), key=lambda p: p.parked_at)


async def _short_of(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """Whether the consumer has yet to read some partition up to its end offset."""
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


@dataclass(frozen=True)
class Replayed:
    """What a replay did: `applied` is True when the projection changed."""

    parked: Parked
    applied: bool
    said: str
    failed: bool = False


def _outcome(outcomes: Sequence[str]) -> tuple[bool, str]:
    if "applied" in outcomes:
        return True, "diterapkan ke proyeksi cakupan"
    if "resumed" in outcomes:
        return False, ("sudah diterapkan oleh putar ulang sebelumnya; angka yang belum masuk dilengkapi, "
                       "tidak ada yang dihitung dua kali")
    if "duplicate" in outcomes:
        return False, "event ini sudah ada di proyeksi (id yang sama); tidak dihitung lagi"
    if "unknown_job" in outcomes:
        return False, "pekerjaan cetaknya tidak dikenal cakupan; tidak dihitung"
    return False, "event ini tidak mengubah angka cakupan"


class Replayer:
    """Applies parked messages to one projection, each once."""

    def __init__(self, projector: Projector, log: ReplayLog, *, clock: Clock = system_clock) -> None:
        self.projector = projector
        self.log = log
        self.clock = clock

    async def replay(self, parked: Parked) -> Replayed:
        earlier = await self.log.replayed(parked.ref)
        if earlier is not None:
            return Replayed(parked, False, f"sudah diputar ulang {_wib(earlier)}; tidak diterapkan lagi")
        adapter = ADAPTERS.get(parked.topic)
        if adapter is None:
            return Replayed(parked, False, f"topik {parked.topic} tidak dibaca cakupan", failed=True)
        try:
            event = adapter.validate_json(parked.record.value or b"")
        except Exception as exc:  # noqa: BLE001 - classified and reported, nothing applied
            poison = classify(exc)
            reason = poison.reason if poison else type(exc).__name__
            return Replayed(parked, False, f"masih tidak bisa dibaca ({reason}); perbaiki pengirimnya", failed=True)
        try:
            outcomes = await self._apply(Positioned(event, replay_source(parked), 0))
        except Exception as exc:  # noqa: BLE001 - reported; the replay can be tried again after a fix
            return Replayed(parked, False, f"gagal lagi ({type(exc).__name__}); lihat log, perbaiki, "
                                           "lalu putar ulang lagi", failed=True)
        applied, said = _outcome(outcomes)
        await self.log.record(parked.ref, event_id=parked.event_id, applied=applied, now=self.clock())
        return Replayed(parked, applied, said)

    async def _apply(self, item: Positioned) -> list[str]:
        """Apply one event; a write that raced the running projector is tried again."""
        for attempt in range(1, REPLAY_ATTEMPTS + 1):
            try:
                result = await self.projector.apply([item])
                return [outcome for (_, outcome), n in result.outcomes.items() if n]
            except TransientError:
                if attempt == REPLAY_ATTEMPTS:
                    raise
                await asyncio.sleep(0.2 * attempt)
        return []


def choose(parked: Sequence[Parked], ref: str | None) -> list[Parked]:
    """The parked message `ref` names, or all of them when `ref` is None."""
    if ref is None:
        return list(parked)
    chosen = [p for p in parked if p.ref == ref]
    if not chosen:
        raise UnknownReference(f"Tidak ada pesan terparkir {ref} dari layanan coverage; lihat daftar dengan "
                               "'python -m services.coverage.dead_letters list' (pesan layanan lain: "
                               "tambahkan --semua-layanan pada list dan show).")
    return chosen


def _wib(moment: dt.datetime) -> str:
    return f"{moment.astimezone(WIB):%Y-%m-%d %H:%M:%S} WIB"


def line(parked: Parked, replayed_at: dt.datetime | None = None) -> str:
    """One parked message in a list."""
    state = f"diputar ulang {_wib(replayed_at)}" if replayed_at else "menunggu"
    return (f"{parked.ref:<34} {parked.topic}[{parked.partition}]@{parked.offset:<8} {parked.event_type:<26} "
            f"{parked.event_id:<36} {parked.reason:<20} {_wib(parked.parked_at)}  {state}")


def details(parked: Parked, replayed_at: dt.datetime | None = None) -> str:
    """One parked message in detail (still nothing personal)."""
    rows = [("referensi", parked.ref), ("topik asal", parked.topic), ("partisi", str(parked.partition)),
            ("offset", str(parked.offset)), ("layanan", parked.service), ("jenis event", parked.event_type),
            ("id event", parked.event_id), ("alasan", parked.reason), ("keterangan", parked.detail or "-"),
            ("diparkir", _wib(parked.parked_at)),
            ("diputar ulang", _wib(replayed_at) if replayed_at else "belum")]
    return "\n".join(f"{name:<14} {value}" for name, value in rows)


async def _run(args: argparse.Namespace) -> int:
    settings = CoverageSettings()
    service = None if getattr(args, "semua_layanan", False) else SERVICE
    parked = await read_parked(settings.infra, service=service)
    client = make_client(settings.infra, app_name="coverage-dead-letters")
    db = client[settings.infra.mongo_database]
    log = ReplayLog(db)
    try:
        if args.command == "list":
            replays = await log.all_replayed()
            for item in parked:
                print(line(item, replays.get(item.ref)))
            print(f"{len(parked)} pesan terparkir.", file=sys.stderr)
            return 0
        chosen = choose(parked, None if getattr(args, "semua", False) else args.ref)
        if args.command == "show":
            print(details(chosen[0], await log.replayed(chosen[0].ref)))
            return 0
        prefix, _ = await Meta(db, settings.collection_prefix).active(settings.collection_prefix,
                                                                      settings.consumer_group)
        return await _replay_all(Replayer(Projector(CoverageStore(db, prefix)), log), chosen)
    except UnknownReference as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        await client.close()


async def _replay_all(replayer: Replayer, chosen: Sequence[Parked]) -> int:
    failed = 0
    for parked in chosen:
        done = await replayer.replay(parked)
        failed += done.failed
        print(f"{parked.ref}: {done.said}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.coverage.dead_letters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list parked messages (no personal data)")
    listing.add_argument("--semua-layanan", action="store_true", help="what every service parked, not only coverage")
    show = sub.add_parser("show", help="one parked message in detail")
    show.add_argument("ref", help="<topic>.dlq:<partition>:<offset>, as list prints it")
    show.add_argument("--semua-layanan", action="store_true", help="also what other services parked")
    replay = sub.add_parser("replay", help="apply parked messages to the coverage projection, each once")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("ref", nargs="?", help="<topic>.dlq:<partition>:<offset>, as list prints it")
    which.add_argument("--semua", action="store_true", help="every message coverage parked")
    args = parser.parse_args(argv)
    configure_logging(InfraSettings().log_level)
    return asyncio.run(_run(args))


if __name__ == "__main__":
    raise SystemExit(main())
