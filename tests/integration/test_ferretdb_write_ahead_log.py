"""The local FerretDB's updates let SQLite restart its write-ahead log (docs/adr/0014).

Before the build closed an update's read before its write, every commit found a reader in the log
and the log never restarted: 20,000 guarded replaces left 331 MB of it. SQLite checkpoints and
restarts the log at about 1,000 pages (4 MB); what the updates below write without a restart is
several times that.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient, InsertOne, ReplaceOne

pytestmark = pytest.mark.infra

DOCUMENTS = 1_000
ROUNDS = 4
LOG_LIMIT = 12 * 1024 * 1024


def _resident(i: int, version: int) -> dict[str, Any]:
    return {"_id": f"r{i:05d}", "version": version, "view": {f"field_{n}": "x" * 40 for n in range(30)}}


async def test_guarded_replaces_one_after_another_keep_the_write_ahead_log_short(stack: Any) -> None:
    name = f"ektp_wal_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://127.0.0.1:{stack.ports.mongo}/")
    log = stack.ferretdb.data / "sqlite" / f"{name}.sqlite-wal"
    try:
        collection = client[name]["residents"]
        await collection.bulk_write([InsertOne(_resident(i, 1)) for i in range(DOCUMENTS)])
        for version in range(1, ROUNDS + 1):
            for start in range(0, DOCUMENTS, 50):
                result = await collection.bulk_write(
                    [ReplaceOne({"_id": f"r{i:05d}", "version": version}, _resident(i, version + 1))
                     for i in range(start, start + 50)], ordered=False)
                assert result.matched_count == 50
        assert log.exists(), log
        assert log.stat().st_size < LOG_LIMIT, f"write-ahead log {log.stat().st_size / 2**20:.0f} MB"
        assert await collection.count_documents({"version": ROUNDS + 1}) == DOCUMENTS
    finally:
        await client.drop_database(name)
        await client.close()
