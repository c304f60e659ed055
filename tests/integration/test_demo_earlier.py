"""A new demo deletes the databases and topics of earlier demos, and nothing else, on the real Kafka and FerretDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from deploy.demo.earlier import forget_earlier_demos
from shared.settings import InfraSettings

pytestmark = pytest.mark.infra

EARLIER = "20000101000000"
CURRENT = "20000101000001"


async def test_a_new_demo_deletes_earlier_demos_databases_and_topics_only(stack: Any, tmp_path: Path) -> None:
    infra = InfraSettings(kafka_bootstrap=f"127.0.0.1:{stack.ports.kafka}",
                          mongo_url=f"mongodb://127.0.0.1:{stack.ports.mongo}/")
    kept_databases = [f"ektp_demo_{CURRENT}", "ektp_demo_notes", "ektp_run_copy"]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url.get_secret_value())
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    kept_topics = [f"demo{CURRENT}.resident.events", "demo.resident.events"]
    try:
        for name in [f"ektp_demo_{EARLIER}", *kept_databases]:
            await client[name]["marker"].insert_one({"_id": name})
        existing = set(await admin.list_topics())
        await admin.create_topics([NewTopic(name, 1, 1) for name in
                                   [f"demo{EARLIER}.resident.events", f"demo{EARLIER}.print.events.dlq", *kept_topics]
                                   if name not in existing])

        record = tmp_path / "demo-databases"
        record.write_text(f"ektp_demo_{EARLIER}\n" + "\n".join(kept_databases) + "\n")

        forgotten = await forget_earlier_demos(infra, database=f"ektp_demo_{CURRENT}", topic_prefix=f"demo{CURRENT}.",
                                               record=record)

        assert forgotten[0] == 1 and forgotten[1] >= 2
        assert record.read_text() == f"ektp_demo_{CURRENT}\n"
        for name in kept_databases:
            assert await client[name]["marker"].find_one({"_id": name}) is not None, name
        assert await client[f"ektp_demo_{EARLIER}"]["marker"].find_one({}) is None
        topics = set(await admin.list_topics())
        assert not {f"demo{EARLIER}.resident.events", f"demo{EARLIER}.print.events.dlq"} & topics
        assert set(kept_topics) <= topics
    finally:
        for name in kept_databases:
            await client.drop_database(name)
        await client.close()
        await admin.delete_topics([name for name in kept_topics if name in set(await admin.list_topics())])
        await admin.close()
