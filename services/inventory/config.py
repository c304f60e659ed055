"""Settings of the inventory service (prefix EKTP_INVENTORY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.blangko import USAGE_WINDOW_DAYS
from shared.settings import SERVICE_PORTS, ServiceSettings


class InventorySettings(ServiceSettings):
    """Settings of the inventory service."""

    model_config = SettingsConfigDict(env_prefix="EKTP_INVENTORY_", extra="ignore")

    port: int = Field(SERVICE_PORTS["inventory"], description="HTTP port of the inventory service")
    low_stock_days: float = Field(7.0, description="a location with fewer days of stock than this raises an alert")
    consumption_window_days: int = Field(USAGE_WINDOW_DAYS, ge=1, le=90,
                                         description="days averaged for the daily consumption (shared.blangko)")
    cover_days: int = Field(30, ge=1, le=365, description="days of printing an usulan to the province should cover")
    answer_timeout_seconds: float = Field(10.0, description="how long a write waits for the ledger's answer")
    gauge_refresh_seconds: float = Field(5.0, description="how often stock gauges are recomputed")
    max_body_bytes: int = Field(64 * 1024, description="largest request body accepted")
