"""What devices and SIAK send, item by item: each uploaded item is checked on its own and answered on its own.

Every list and free-text string is bounded, so no accepted input makes an event larger than the
consumers take (shared.contracts.MAX_EVENT_BYTES); a value over its bound is refused in Indonesian,
naming the limit.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from shared.contracts.recording import MAX_FLAG_LENGTH, MAX_QUALITY_FLAGS, Biometric
from shared.http_types import DateTime

RESIDENT_ID = r"^r[0-9a-f]{32}$"


def at_most_chars(limit: int, minimum: int = 0) -> BeforeValidator:
    """Refuse a string longer than `limit` (or shorter than `minimum`) characters, in Indonesian."""
    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise PydanticCustomError("string_too_long", f"paling panjang {limit} karakter (terkirim {len(value)}): "
                                                         "persingkat isinya lalu kirim ulang")
        if isinstance(value, str) and len(value) < minimum:
            raise PydanticCustomError("string_too_short", "tidak boleh kosong" if minimum == 1 else
                                      f"paling sedikit {minimum} karakter")
        return value

    return BeforeValidator(check)


def at_most_items(limit: int, advice: str) -> BeforeValidator:
    """Refuse a list of more than `limit` items, in Indonesian, before its items are checked."""
    def check(value: Any) -> Any:
        if isinstance(value, list) and len(value) > limit:
            raise PydanticCustomError("too_long", f"paling banyak {limit} butir (terkirim {len(value)}): {advice}")
        return value

    return BeforeValidator(check)


def chars(limit: int, minimum: int = 0) -> Any:
    """The JSON schema of a bounded string (the check itself is `at_most_chars`)."""
    return Field(json_schema_extra={"maxLength": limit, "minLength": minimum})


Name64 = Annotated[str, at_most_chars(64), chars(64)]
Flag = Annotated[str, at_most_chars(MAX_FLAG_LENGTH), chars(MAX_FLAG_LENGTH)]


class WalkIn(BaseModel):
    """A resident met in the field who is not in the roster yet (kept for enrollment)."""

    model_config = ConfigDict(extra="forbid")
    nik: str = Field(pattern=r"^\d{16}$")
    name: Annotated[str, at_most_chars(120, 1), chars(120, 1)]
    desa_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")


class FieldEventIn(BaseModel):
    """One event recorded on a field device; its id was made on the device."""

    model_config = ConfigDict(extra="forbid")
    event_id: uuid.UUID = Field(description="id made on the device; the same id uploaded again is a duplicate")
    kind: Literal["captured", "failed", "absent"] = Field(description="captured, failed or absent")
    resident_id: str | None = Field(None, pattern=RESIDENT_ID, description="resident pseudonym; or give walk_in")
    walk_in: WalkIn | None = None
    visit_id: Name64 | None = Field(None, description="required for absent")
    device_id: Name64
    operator: Name64
    device_time: DateTime = Field(description="the device's clock; not more than 5 minutes ahead of the server")
    biometrics: Annotated[list[Biometric], at_most_items(len(Biometric), "sebut setiap biometrik sekali")] = Field(
        default_factory=list, description="required for captured", json_schema_extra={"maxItems": len(Biometric)})
    quality_flags: Annotated[list[Flag], at_most_items(MAX_QUALITY_FLAGS, "kirim yang terpenting saja")] = Field(
        default_factory=list, json_schema_extra={"maxItems": MAX_QUALITY_FLAGS})
    reason: Annotated[str, at_most_chars(200, 3), chars(200, 3)] | None = Field(None, description="required for failed")


class StatusIn(BaseModel):
    """One SIAK status of one resident."""

    resident_id: str = Field(pattern=RESIDENT_ID)
    status: Name64 = Field(description="SFE, PRR, DUPLICATE_RECORD, ENROLL_FAILURE_AT_CENTRAL, ...")
    status_at: DateTime
