"""Settings shared by every service: where Kafka and MongoDB are, and the deployment profile.

Each service adds its own settings class with its own prefix (EKTP_INTAKE_, EKTP_COVERAGE_, ...);
the infrastructure settings read the EKTP_ prefix. Defaults are the local embedded setup.
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo import uri_parser

SERVICE_PORTS: dict[str, int] = {
    "web": 8100,
    "intake": 8101,
    "recording": 8102,
    "printing": 8103,
    "inventory": 8104,
    "coverage": 8105,
}
KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
MONGO_PORT = 27017
PROMETHEUS_PORT = 9090

LOCAL_PSEUDONYM_KEY = "rejang-lebong-local-development-only"
SECRET_FIELDS = ("kafka_sasl_password", "mongo_url", "pseudonym_key")
MIN_PSEUDONYM_KEY_BYTES = 32
_HEX = frozenset(string.hexdigits)
_BASE64 = frozenset(string.ascii_letters + string.digits + "+/-_=")


def key_bytes(key: str) -> int:
    """How many random bytes a key written as hex, base64 or plain text can hold at most; a key of
    few distinct characters (e.g. "aaaa…") counts as none."""
    if len(set(key)) < 8:
        return 0
    if set(key) <= _HEX:
        return len(key) // 2
    if set(key) <= _BASE64:
        return len(key.rstrip("=")) * 3 // 4
    return len(key.encode())


def _parsed_mongo_url(url: str) -> dict[str, Any]:
    """The parts of a MongoDB URL, read without a DNS lookup (a mongodb+srv URL is read as its one host)."""
    plain = "mongodb://" + url.removeprefix("mongodb+srv://") if url.startswith("mongodb+srv://") else url
    try:
        return dict(uri_parser.parse_uri(plain, validate=False, warn=True))
    except Exception:  # noqa: BLE001 - an unreadable URL carries no credentials and no TLS either
        return {}


def mongo_url_has_credentials(url: str) -> bool:
    """Whether a MongoDB URL names a user and a password (an `@` elsewhere in it does not count)."""
    parsed = _parsed_mongo_url(url)
    return bool(parsed.get("username")) and bool(parsed.get("password"))


def mongo_url_uses_tls(url: str) -> bool:
    """Whether a MongoDB URL asks for TLS: `tls=true` (or `ssl=true`), or a mongodb+srv URL, where TLS is
    the default, that does not turn it off."""
    options = _parsed_mongo_url(url).get("options") or {}
    tls = options.get("tls", options.get("ssl"))
    if tls is None:
        return url.startswith("mongodb+srv://")
    return tls is True or str(tls).lower() in ("true", "1", "yes")


class InfraSettings(BaseSettings):
    """Kafka, MongoDB and the profile; read from EKTP_* variables."""

    model_config = SettingsConfigDict(env_prefix="EKTP_", extra="ignore")

    profile: Literal["local", "production"] = Field(
        "local", description="local: loopback, plaintext; production: TLS and credentials required"
    )
    kafka_bootstrap: str = Field(f"127.0.0.1:{KAFKA_PORT}", description="Kafka bootstrap servers, host:port "
                                 "separated by commas")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="the SASL mechanism the brokers enable; every client (services, the topics "
                                     "job, the plain clients) uses this one")
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = ""
    mongo_url: SecretStr = Field(
        SecretStr(f"mongodb://127.0.0.1:{MONGO_PORT}/"), description="MongoDB connection string"
    )
    mongo_database: str = Field("ektp", description="database holding every service's collections")
    pseudonym_key: SecretStr = Field(
        SecretStr(LOCAL_PSEUDONYM_KEY),
        description="secret key of the resident pseudonym (keyed hash of the NIK)",
    )
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = Field(
        None, description="json: one JSON object per line (time, level, logger, message, service; NIKs masked) for "
                          "Loki or Elasticsearch; text: a line for people; unset: json in production, else text")

    @property
    def effective_log_format(self) -> Literal["json", "text"]:
        """The log line format: the one set, else JSON in production and text elsewhere."""
        return self.log_format or ("json" if self.profile == "production" else "text")

    @property
    def kafka_bootstrap_servers(self) -> list[str]:
        """The bootstrap servers one by one: FastStream takes a string as a single host."""
        return [server.strip() for server in self.kafka_bootstrap.split(",") if server.strip()]

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, values: Any) -> Any:
        """EKTP_<NAME>_FILE points at a file holding the secret (docker/compose secrets)."""
        if not isinstance(values, dict):
            return values
        for name in SECRET_FIELDS:
            path = os.environ.get(f"EKTP_{name.upper()}_FILE")
            if path and name not in values:
                try:
                    values[name] = Path(path).read_text().strip()
                except OSError as exc:
                    raise ValueError(f"EKTP_{name.upper()}_FILE: cannot read {path}: {exc.strerror}") from exc
        return values

    @model_validator(mode="after")
    def _production_is_protected(self) -> InfraSettings:
        """Refuse to run a production profile over plaintext or without credentials."""
        if self.profile != "production":
            return self
        problems = []
        if self.kafka_security_protocol != "SASL_SSL":
            problems.append("EKTP_KAFKA_SECURITY_PROTOCOL must be SASL_SSL in production")
        if not self.kafka_sasl_username or not self.kafka_sasl_password.get_secret_value():
            problems.append("EKTP_KAFKA_SASL_USERNAME and EKTP_KAFKA_SASL_PASSWORD are required")
        if not mongo_url_has_credentials(self.mongo_url.get_secret_value()):
            problems.append("EKTP_MONGO_URL must carry credentials (mongodb://user:password@host/)")
        if not mongo_url_uses_tls(self.mongo_url.get_secret_value()):
            problems.append("EKTP_MONGO_URL must use TLS (tls=true and, for a private CA, tlsCAFile=...)")
        key = self.pseudonym_key.get_secret_value()
        if key == LOCAL_PSEUDONYM_KEY:
            problems.append("EKTP_PSEUDONYM_KEY must be set to a secret of the office")
        elif key_bytes(key) < MIN_PSEUDONYM_KEY_BYTES:
            problems.append(f"EKTP_PSEUDONYM_KEY must hold at least {MIN_PSEUDONYM_KEY_BYTES} random bytes "
                            "(e.g. `openssl rand -hex 32`)")
        if problems:
            raise ValueError("production profile refused: " + "; ".join(problems))
        return self


class RateLimitSettings(BaseSettings):
    """Writes per office (POST, PUT, PATCH, DELETE), read from EKTP_RATE_LIMIT_* variables.

    A brake for a runaway client, far above what clerks, imports and the demo send.
    """

    model_config = SettingsConfigDict(env_prefix="EKTP_RATE_LIMIT_", extra="ignore")

    writes_per_minute: int = Field(60_000, ge=1, description="writes an office may send per minute, sustained, "
                                                             "to one service (all its replicas together when shared)")
    burst: int = Field(2_000, ge=1, description="writes an office may send at once before the rate applies")
    shared: bool = Field(True, description="true: one budget per office for all replicas of a service, kept in the "
                                           "database (one update per write); false: each process counts its own, "
                                           "so N replicas allow N times the rate")


class ServiceSettings(BaseSettings):
    """Common to every service: where it listens. Subclasses set the env prefix and port."""

    model_config = SettingsConfigDict(extra="ignore")

    host: str = Field("127.0.0.1", description="address the HTTP server binds to")
    port: int = Field(0, description="HTTP port; /health and /metrics live here too")
    infra: InfraSettings = Field(default_factory=InfraSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
