"""The one place the product changes a library's internals: aiokafka's failed metadata updates back off.

With every broker unreachable, aiokafka's metadata synchronizer (`AIOKafkaClient._metadata_update`,
unchanged from 0.12 to 0.14) fails at once (connection refused) and the producer and consumers
ask it again right away: measured here, ~6,000 failed updates and two log lines each per second,
80 % of a core per service for the whole outage. After a failed update the synchronizer now
sleeps retry_backoff_ms, doubling up to 5 s, which also holds back every caller waiting for
that update; the first success resets it. See docs/adr/0011-aiokafka-metadata-backoff.md.

The change is installed explicitly (`install_metadata_backoff`, called when a service's Kafka
clients are built) and only on the aiokafka versions it was checked against; on any other
version nothing is changed and an error is logged at every start, so an upgrade is noticed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiokafka
from aiokafka.client import AIOKafkaClient

log = logging.getLogger("ektp.kafka")

METADATA_MAX_BACKOFF_SECONDS = 5.0
# aiokafka releases whose AIOKafkaClient._metadata_update was read and found to fail without waiting.
CHECKED_VERSIONS = ("0.14.",)


def version_checked(version: str | None = None) -> bool:
    """Whether `version` of aiokafka (default: the installed one) is one the backoff was checked against."""
    return (version or aiokafka.__version__).startswith(CHECKED_VERSIONS)


def install_metadata_backoff() -> bool:
    """Make failed metadata updates back off; True when installed (or already), False when refused."""
    if not version_checked():
        log.error("aiokafka %s is not a version the metadata backoff was checked against (%s): not "
                  "installed, so a Kafka outage costs a core per service. Read aiokafka's "
                  "AIOKafkaClient._metadata_update and update shared/kafka_backoff.py.",
                  aiokafka.__version__, ", ".join(v + "x" for v in CHECKED_VERSIONS))
        return False
    original = AIOKafkaClient._metadata_update
    if getattr(original, "backs_off", False):
        return True

    async def metadata_update_backing_off(self: Any, cluster_metadata: Any, topics: Any) -> bool:
        updated = bool(await original(self, cluster_metadata, topics))
        failures = 0 if updated else getattr(self, "_ektp_metadata_failures", 0) + 1
        self._ektp_metadata_failures = failures
        if failures:
            await asyncio.sleep(min(METADATA_MAX_BACKOFF_SECONDS, self._retry_backoff * 2 ** (failures - 1)))
        return updated

    metadata_update_backing_off.backs_off = True  # type: ignore[attr-defined]
    AIOKafkaClient._metadata_update = metadata_update_backing_off  # type: ignore[method-assign]
    return True
