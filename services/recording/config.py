"""Settings of the recording service (prefix EKTP_RECORDING_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import SERVICE_PORTS, ServiceSettings


class RecordingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_RECORDING_", extra="ignore")

    port: int = Field(SERVICE_PORTS["recording"], description="HTTP port of the recording service")
