"""Settings of the intake service (prefix EKTP_INTAKE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.intake.ports import IMPORT_LEASE
from shared.settings import SERVICE_PORTS, ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_INTAKE_", extra="ignore")

    port: int = Field(SERVICE_PORTS["intake"], description="HTTP port of the intake API")
    max_body_bytes: int = Field(64 * 1024, description="largest JSON request body accepted")
    max_upload_bytes: int = Field(8 * 1024 * 1024, description="largest Dapodik CSV accepted")
    import_errors_kept: int = Field(1_000, ge=1, description="row errors an import job keeps (all are counted per "
                                                              "reason)")
    import_stop_after_refused: int = Field(10_000, ge=1, description="refused rows after which an import stops "
                                                                      "reading the file and imports none of it")
    import_lease_seconds: float = Field(
        IMPORT_LEASE.total_seconds(), ge=1,
        description="a running import's replica renews it every quarter of this; one not renewed for this long "
                    "(its replica crashed) is shown as interrupted and resumes on re-upload at any replica")
