"""What devices and SIAK send, item by item: each uploaded item is checked on its own and answered on its own."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.recording import Biometric
from shared.http_types import DateTime

RESIDENT_ID = r"^r[0-9a-f]{32}$"


class WalkIn(BaseModel):
    """A resident met in the field who is not in the roster yet (kept for enrollment)."""

    model_config = ConfigDict(extra="forbid")
    nik: str = Field(pattern=r"^\d{16}$")
    name: str = Field(min_length=1, max_length=120)
    desa_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")


class FieldEventIn(BaseModel):
    """One event recorded on a field device; its id was made on the device."""

    model_config = ConfigDict(extra="forbid")
    event_id: uuid.UUID = Field(description="id made on the device; the same id uploaded again is a duplicate")
    kind: Literal["captured", "failed", "absent"] = Field(description="captured, failed or absent")
    resident_id: str | None = Field(None, pattern=RESIDENT_ID, description="resident pseudonym; or give walk_in")
    walk_in: WalkIn | None = None
    visit_id: str | None = Field(None, max_length=64, description="required for absent")
    device_id: str = Field(max_length=64)
    operator: str = Field(max_length=64)
    device_time: DateTime = Field(description="the device's clock; not more than 5 minutes ahead of the server")
    biometrics: list[Biometric] = Field(default_factory=list, description="required for captured")
    quality_flags: list[str] = Field(default_factory=list, max_length=10)
    reason: str | None = Field(None, min_length=3, max_length=200, description="required for failed")


class StatusIn(BaseModel):
    """One SIAK status of one resident."""

    resident_id: str = Field(pattern=RESIDENT_ID)
    status: str = Field(max_length=64, description="SFE, PRR, DUPLICATE_RECORD, ENROLL_FAILURE_AT_CENTRAL, ...")
    status_at: DateTime
