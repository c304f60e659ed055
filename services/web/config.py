"""Settings of the web app (prefix EKTP_WEB_)."""

from __future__ import annotations

import os

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import SERVICE_PORTS, ServiceSettings

API_SERVICES = ("intake", "recording", "printing", "inventory", "coverage")


def _local_url(service: str) -> str:
    """A service on this machine, at the port `make run` gives it (EKTP_<SERVICE>_PORT)."""
    port = os.environ.get(f"EKTP_{service.upper()}_PORT") or SERVICE_PORTS[service]
    return f"http://127.0.0.1:{port}"


class WebSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_WEB_", extra="ignore")

    port: int = Field(SERVICE_PORTS["web"], description="HTTP port of the web app")
    service_key: SecretStr = Field(
        SecretStr(""), description="the web app's own API key (an on-behalf office key; "
                                   "`python -m shared.offices office create --on-behalf ...`)")
    service_urls: dict[str, str] = Field(default_factory=dict,
                                         description="base URL of each API service; defaults to this machine")
    idle_minutes: float = Field(30.0, gt=0, description="a session idle this long goes back to the login page")
    lockout_after: int = Field(10, ge=1, description="wrong passwords in a row that lock an account")
    lockout_minutes: float = Field(15.0, gt=0, description="how long a locked account stays locked")
    status_lookups_per_minute: int = Field(
        10, ge=1, description="public status lookups (cek status KTP-el) per visitor address per minute, after 5 at once")
    behind_proxy: bool = Field(
        False, description="the web app runs behind a TLS proxy that appends the visitor's address to "
                           "X-Forwarded-For: the status page limits that address, not the proxy's")
    secure_cookies: bool = Field(False, description="send the session cookie over HTTPS only (behind TLS)")

    @model_validator(mode="after")
    def _every_service_has_a_url(self) -> WebSettings:
        self.service_urls = {name: self.service_urls.get(name) or _local_url(name) for name in API_SERVICES}
        return self

    @model_validator(mode="before")
    @classmethod
    def _key_from_file(cls, values: object) -> object:
        """EKTP_WEB_SERVICE_KEY_FILE points at a file holding the key (compose secrets)."""
        path = os.environ.get("EKTP_WEB_SERVICE_KEY_FILE")
        if isinstance(values, dict) and path and "service_key" not in values:
            with open(path, encoding="utf-8") as handle:
                values["service_key"] = handle.read().strip()
        return values
