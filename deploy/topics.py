"""Creates every topic of the registry (and its dead-letter topic) that does not exist yet.

    python -m deploy.topics            # uses EKTP_KAFKA_* settings, as the compose init job does
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.broker import kafka_client_options
from shared.settings import InfraSettings
from shared.topics import all_topic_configs


async def ensure_topics(
    bootstrap: str, *, replication: int = 1, infra: InfraSettings | None = None
) -> list[str]:
    """Create missing topics with the registry's partitions and retention."""
    options = kafka_client_options(infra) if infra else {}
    admin = AIOKafkaAdminClient(**{**options, "bootstrap_servers": bootstrap})
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, partitions, replication, topic_configs=config)
            for name, partitions, config in all_topic_configs()
            if name not in existing
        ]
        if wanted:
            await admin.create_topics(wanted)
        return [topic.name for topic in wanted]
    finally:
        await admin.close()


def main() -> int:
    infra = InfraSettings()
    replication = 3 if infra.profile == "production" else 1
    created = asyncio.run(ensure_topics(infra.kafka_bootstrap, replication=replication, infra=infra))
    print("created: " + (", ".join(created) if created else "nothing (all topics exist)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
