"""Settings of the coverage service (prefix EKTP_COVERAGE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import SERVICE_PORTS, ServiceSettings
from shared.topics import ConsumerGroup


class CoverageSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_COVERAGE_", extra="ignore")

    port: int = Field(SERVICE_PORTS["coverage"], description="HTTP port of the coverage API")
    collection_prefix: str = Field(
        "coverage", description="prefix of the projection collections (a rebuild uses a fresh one)"
    )
    consumer_group: str = Field(
        ConsumerGroup.COVERAGE_PROJECTOR.value, description="Kafka consumer group of the projector"
    )
    consume: bool = Field(True, description="run the projector; false serves queries only")
    status_lookups_per_minute: int = Field(
        10, ge=1, description="public KTP-el status lookups (POST /status-ktp) per client address per minute, "
                              "counted by each replica apart (offices' writes share one budget)")
    swap_check_seconds: float = Field(
        3.0, description="how often the service checks whether a rebuild swapped in a new projection")
