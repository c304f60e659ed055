"""Settings of the printing service and its station worker (prefix EKTP_PRINTING_)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.printing.policy import DEFAULT_ORDER, check_order
from shared.contracts.printing import PriorityClass
from shared.settings import SERVICE_PORTS, ServiceSettings


class PrintingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_PRINTING_", extra="ignore")

    port: int = Field(SERVICE_PORTS["printing"], description="HTTP port of the printing service")
    priority_order: Annotated[tuple[PriorityClass, ...], NoDecode] = Field(
        DEFAULT_ORDER, description="order the queue serves the classes in, comma separated: "
                                   "pemilih_pemula,lansia_disabilitas,pertama_lainnya,cetak_ulang")
    voter_target_date: dt.date = Field(
        dt.date(2029, 2, 14), description="the election day first cards are hurried for (wajib KTP by then)")
    reservation_resend_seconds: float = Field(
        30.0, description="a reservation request unanswered this long is sent again (same event id)")
    sweep_seconds: float = Field(5.0, description="how often stations with unanswered requests are checked")
    max_body_bytes: int = Field(256 * 1024, description="largest request body accepted")
    spool_dir: Path = Field(Path(".local/run/spool"), description="station worker: folder for card proof PDFs")
    print_seconds: float = Field(0.0, ge=0, description="station worker: time the proof printer takes per card")
    heartbeat_seconds: float = Field(15.0, description="station worker: how often it tells the service it is alive")
    cups_queue: str = Field("", description="station worker: CUPS printer queue name for --printer cups")

    @field_validator("priority_order", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("priority_order")
    @classmethod
    def _every_class_once(cls, value: tuple[PriorityClass, ...]) -> tuple[PriorityClass, ...]:
        return check_order(value)
