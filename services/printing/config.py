"""Settings of the printing service (prefix EKTP_PRINTING_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import SERVICE_PORTS, ServiceSettings


class PrintingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_PRINTING_", extra="ignore")

    port: int = Field(SERVICE_PORTS["printing"], description="HTTP port of the printing service")
