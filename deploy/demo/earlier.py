"""Each demo's database and topics are its own; a new demo deletes those of the demos before it.

At the regency's size a demo leaves 1 to 2.5 GB in FerretDB and about a million events in Kafka,
so demos run one after another would fill the disk. `make run` data (`ektp`, unprefixed topics)
is never touched. The demos' databases are named in a file of the run folder as each starts (the
local FerretDB takes a minute to list its databases once it holds a few large ones); their topics
are found by name.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from shared.broker import kafka_client_options
from shared.settings import InfraSettings

DEMO_DATABASE = re.compile(r"ektp_demo_\d{14}")
DEMO_TOPIC = re.compile(r"demo\d{14}\..+")


def earlier(names: list[str], pattern: re.Pattern[str], current: str) -> list[str]:
    """The names of earlier demos' parts: matching the demo pattern and not of the running demo."""
    return sorted(name for name in names if pattern.fullmatch(name) and not name.startswith(current))


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def forget_earlier_demos(infra: InfraSettings, *, database: str, topic_prefix: str,
                               record: Path) -> tuple[int, int]:
    """Drop the databases named in `record` and delete the topics of earlier demos, then name only this
    demo's database there; returns how many databases and topics went."""
    named = (await asyncio.to_thread(_read, record)).split()
    databases = earlier(named, DEMO_DATABASE, database)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url.get_secret_value())
    try:
        for name in databases:
            await client.drop_database(name)
    finally:
        await client.close()
    await asyncio.to_thread(record.write_text, database + "\n")
    admin = AIOKafkaAdminClient(**kafka_client_options(infra), request_timeout_ms=30_000)
    await admin.start()
    try:
        topics = earlier(await admin.list_topics(), DEMO_TOPIC, topic_prefix)
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
    return len(databases), len(topics)
