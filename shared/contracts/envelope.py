"""The envelope every event carries: identity, type, version, times, office and actor."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Role(StrEnum):
    """What an office or user is allowed to do."""

    KECAMATAN_OFFICE = "kecamatan_office"
    FIELD_TEAM = "field_team"
    PRINT_STATION = "print_station"
    DINAS_ADMIN = "dinas_admin"
    SYSTEM = "system"


class Frozen(BaseModel):
    """Base of every contract model: immutable, and unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(BaseModel):
    """Who posted an event: the office and the operator, never a resident."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    office_id: str = Field(description="id of the posting office, e.g. 'kec-17.02.06'", max_length=64)
    role: Role = Field(description="role of the posting office")
    operator: str = Field(description="user name of the operator at that office", max_length=64)


class Envelope(BaseModel):
    """Fields common to every event. Subclasses fix event_type and schema_version and add payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(description="made by the producer; the idempotency key end to end")
    occurred_at: AwareDatetime = Field(description="when it happened in the field")
    recorded_at: AwareDatetime = Field(description="when the system accepted it")
    actor: Actor
