"""What every recording use case shares: its dependencies, its errors, and publishing a batch of events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError

from services.recording.ports import RecordingStorage
from shared.clock import Clock
from shared.contracts import Envelope
from shared.publishing import BatchPublisher, DerivedIds
from shared.topics import RECORDING

DERIVED = uuid.UUID("3f1d0c8a-54b2-4e7f-9a61-2c8e5b7d9f10")
derived_id = DerivedIds(DERIVED)


@dataclass(frozen=True)
class RecordingDeps:
    """What recording's use cases are given: storage, publisher, clock and limits."""

    publisher: BatchPublisher
    store: RecordingStorage
    clock: Clock
    visit_size: int = 50
    max_batch_events: int = 5000
    visit_days_back: int = 365
    visit_days_ahead: int = 365
    pseudonym_key: str = ""


class RecordingError(Exception):
    """A command refused; `detail` is for the clerk (a sentence, or an object with a message)."""

    def __init__(self, detail: str | dict[str, Any]) -> None:
        super().__init__(str(detail))
        self.detail = detail


class NotFound(RecordingError):
    """The visit or resident is unknown, or outside the office's kecamatan."""


class Conflict(RecordingError):
    """The command does not fit the visit's state, or the visit exists already."""


class Forbidden(RecordingError):
    """The office's role or kecamatan may not do this."""


class TooLarge(RecordingError):
    """More items than one request may carry."""


class Unreadable(RecordingError):
    """An uploaded file that cannot be read as a whole."""


class FieldRefused(RecordingError):
    """One field of a command breaks a rule; answered like any invalid field (422 naming it)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class NotDelivered(RecordingError):
    """Kafka did not confirm the events: nothing was taken, sending again is safe. `detail` names what."""


async def publish_all(events: Sequence[Envelope], *, deps: RecordingDeps, what: str) -> None:
    """Publish recording events as one batch; all or nothing, as the clerk sees it."""
    try:
        await deps.publisher.publish_many([(e, RECORDING, e.payload.resident_id) for e in events])  # type: ignore[attr-defined]
    except (KafkaError, TimeoutError) as exc:
        raise NotDelivered(what) from exc
