"""The topic registry: every topic, its partitions, retention, key and dead-letter topic.

Names are declared here once; services refer to the constants, never to string literals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

# An isolated namespace for one test session (or one tenant on a shared cluster); empty by default.
PREFIX = os.environ.get("EKTP_TOPIC_PREFIX", "")
FOREVER = -1
DAY_MS = 24 * 60 * 60 * 1000


class KeyedBy(StrEnum):
    """The entity whose order a topic preserves; its id is the message key."""

    RESIDENT = "resident pseudonym (keyed hash of the NIK, never the NIK)"
    VISIT = "outreach visit id"
    STATION = "print station id"
    LOCATION = "blangko stock location id"


@dataclass(frozen=True)
class Topic:
    """One Kafka topic as the project declares it."""

    name: str
    partitions: int
    retention_ms: int
    keyed_by: KeyedBy
    description: str

    @property
    def dead_letter(self) -> str:
        """The topic where messages that cannot be parsed or validated are parked."""
        return f"{self.name}.dlq"


RESIDENT = Topic(
    f"{PREFIX}resident.events", 3, FOREVER, KeyedBy.RESIDENT,
    "the roster of wajib KTP residents: enrolled, updated, left",
)
OUTREACH = Topic(
    f"{PREFIX}outreach.events", 3, FOREVER, KeyedBy.VISIT,
    "jemput bola visits: scheduled, opened, closed",
)
RECORDING = Topic(
    f"{PREFIX}recording.events", 3, FOREVER, KeyedBy.RESIDENT,
    "perekaman outcomes and SIAK status changes per resident",
)
PRINT = Topic(
    f"{PREFIX}print.events", 3, FOREVER, KeyedBy.STATION,
    "print jobs queued, dispatched, printed, spoiled and cards handed over",
)
STOCK = Topic(
    f"{PREFIX}stock.events", 3, FOREVER, KeyedBy.LOCATION,
    "the blangko ledger: receipts, transfers, reservations, consumption, spoilage, counts",
)

ALL: tuple[Topic, ...] = (RESIDENT, OUTREACH, RECORDING, PRINT, STOCK)
DEAD_LETTER_RETENTION_MS = 30 * DAY_MS


def by_name(name: str) -> Topic:
    """The declared topic with this name."""
    for topic in ALL:
        if topic.name == name:
            return topic
    raise KeyError(f"topic {name!r} is not declared in shared/topics.py")


def all_topic_configs() -> list[tuple[str, int, dict[str, str]]]:
    """(name, partitions, config) for every topic and its dead-letter topic, for creation."""
    configs: list[tuple[str, int, dict[str, str]]] = []
    for topic in ALL:
        configs.append((topic.name, topic.partitions, {"retention.ms": str(topic.retention_ms)}))
        configs.append(
            (topic.dead_letter, 1, {"retention.ms": str(DEAD_LETTER_RETENTION_MS)})
        )
    return configs


class ConsumerGroup(StrEnum):
    """Consumer group ids, one per consuming role (under PREFIX, see `group_id`)."""

    COVERAGE_PROJECTOR = "coverage-projector"
    INTAKE_ROSTER = "intake-roster"
    PRINTING_QUEUE = "printing-queue"
    INVENTORY_LEDGER = "inventory-ledger"


def group_id(group: str) -> str:
    """The Kafka group id of a consuming role: its name under PREFIX, so a namespace's offsets are its own."""
    return f"{PREFIX}{group}"
