"""Creates every topic of the registry (and its dead-letter topic) that does not exist yet.

    python -m deploy.topics            # uses EKTP_KAFKA_* settings, as the compose init job does
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.settings import InfraSettings
from shared.topics import all_topic_configs


def admin_options(infra: InfraSettings) -> dict[str, Any]:
    """aiokafka client options for the configured security protocol."""
    options: dict[str, Any] = {"security_protocol": infra.kafka_security_protocol}
    if infra.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(cafile=infra.kafka_ssl_cafile or None)
    if infra.kafka_security_protocol.startswith("SASL"):
        options.update(
            sasl_mechanism=infra.kafka_sasl_mechanism,
            sasl_plain_username=infra.kafka_sasl_username,
            sasl_plain_password=infra.kafka_sasl_password.get_secret_value(),
        )
    return options


async def ensure_topics(
    bootstrap: str, *, replication: int = 1, infra: InfraSettings | None = None
) -> list[str]:
    """Create missing topics with the registry's partitions and retention."""
    options = admin_options(infra) if infra else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
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
