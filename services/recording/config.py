"""Settings of the recording service (prefix EKTP_RECORDING_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.contracts.recording import MAX_VISIT_TARGETS
from shared.settings import SERVICE_PORTS, ServiceSettings


class RecordingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_RECORDING_", extra="ignore")

    port: int = Field(SERVICE_PORTS["recording"], description="HTTP port of the recording service")
    visit_size: int = Field(
        50, ge=1, le=MAX_VISIT_TARGETS,
        description=f"residents drawn into a visit's target list by default (at most {MAX_VISIT_TARGETS}, the most "
                    "one visit event may carry, carried-over residents included)")
    max_batch_events: int = Field(5000, description="most events one offline upload may carry")
    visit_days_back: int = Field(
        365, ge=0, description="a visit may be scheduled at most this many days before today (WIB): recording a "
                               "visit held late is fine, a typo like 2019 is refused")
    visit_days_ahead: int = Field(
        365, ge=0, description="a visit may be scheduled at most this many days after today (WIB): outreach is "
                               "planned for the coming year, a typo like 9999 is refused")
    max_body_bytes: int = Field(4 * 1024 * 1024, description="largest request body accepted")
    stuck_days: int = Field(14, description="default days in one status before a resident counts as stuck")
    stuck_window_days: int = Field(
        180, description="ektp_residents_stuck counts residents who entered their stage within this many days "
                         "(older records are SIAK's backlog, listed by GET /stuck, not an outreach alert)")
    # The count reads every resident of the copy (218,077 at the regency's size) on the local FerretDB;
    # residents count as stuck after days, and the alert waits 30 minutes.
    stuck_metric_seconds: float = Field(300.0, description="how often ektp_residents_stuck is counted again")
