"""The local FerretDB keeps secondary indexes as metadata and builds only unique ones (docs/adr/0016).

Its SQLite backend reads through no index but `_id` (docs/adr/0006), so a secondary index built in
SQLite only made every insert and update keep it up: 218,000 projected residents took 70 s to insert
with coverage's five indexes and 30 s without. The application still declares every index it needs
(MongoDB builds them in production), and a unique index still refuses a duplicate.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

pytestmark = pytest.mark.infra


async def test_a_secondary_index_is_listed_not_built_and_a_unique_index_refuses_duplicates(stack: Any) -> None:
    name = f"ektp_idx_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://127.0.0.1:{stack.ports.mongo}/")
    try:
        collection = client[name]["residents"]
        await collection.insert_many([{"_id": f"r{i}", "desa": f"d{i % 3}", "kunci": f"k{i}"} for i in range(30)])
        await collection.create_index([("desa", 1), ("kunci", 1)])
        await collection.create_index("kunci", unique=True)
        assert set(await collection.index_information()) == {"_id_", "desa_1_kunci_1", "kunci_1"}

        with sqlite3.connect(f"file:{stack.ferretdb.data / 'sqlite' / f'{name}.sqlite'}?mode=ro", uri=True) as db:
            built = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert any(index.endswith("_kunci_1") for index in built), built
        assert not any(index.endswith("_desa_1_kunci_1") for index in built), built

        with pytest.raises(DuplicateKeyError):
            await collection.insert_one({"_id": "r-other", "desa": "d0", "kunci": "k7"})
        assert await collection.count_documents({"desa": "d1"}) == 10  # queries answer as before
        await collection.drop_index("desa_1_kunci_1")
        assert set(await collection.index_information()) == {"_id_", "kunci_1"}
    finally:
        await client.drop_database(name)
        await client.close()
