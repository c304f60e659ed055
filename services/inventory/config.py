"""Settings of the inventory service (prefix EKTP_INVENTORY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import SERVICE_PORTS, ServiceSettings


class InventorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_INVENTORY_", extra="ignore")

    port: int = Field(SERVICE_PORTS["inventory"], description="HTTP port of the inventory service")
