"""Event contracts: versioned, frozen pydantic models, one discriminated union per topic."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from shared.contracts.envelope import Actor, Envelope, Role
from shared.contracts.resident import ResidentEnrolled, ResidentLeft, ResidentUpdated

ResidentEvent = Annotated[
    ResidentEnrolled | ResidentUpdated | ResidentLeft,
    Field(discriminator="event_type"),
]

RESIDENT_EVENTS: TypeAdapter[ResidentEvent] = TypeAdapter(ResidentEvent)

MAX_EVENT_BYTES = 64 * 1024

__all__ = [
    "MAX_EVENT_BYTES",
    "RESIDENT_EVENTS",
    "Actor",
    "Envelope",
    "ResidentEnrolled",
    "ResidentEvent",
    "ResidentLeft",
    "ResidentUpdated",
    "Role",
]
