"""docker-compose.yml read as data: the brokers' and services' environments, with the compose network's
names, volumes and secrets mapped onto this machine's loopback ports and folders.

A broker of compose listens as `kafka-2:9092`, keeps its data in the volume `kafka-2` mounted at
/var/lib/kafka/data and reads ./secrets/kafka at /etc/kafka/secrets; `Placement` says where each of
these is here (127.0.0.1:<port>, a folder of the test's data, the test's own secrets folder), and
`mapped` rewrites a value accordingly. Everything else comes from the compose file unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
SECRETS_MOUNT = "/run/secrets"


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file with its anchors and merge keys resolved."""
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def broker_names(compose: Mapping[str, Any]) -> list[str]:
    """The Kafka brokers: services running the apache/kafka image, in name order."""
    return sorted(name for name, spec in compose["services"].items()
                  if str(spec.get("image", "")).startswith("apache/kafka:"))


def environment_of(compose: Mapping[str, Any], service: str) -> dict[str, str]:
    env = compose["services"][service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


@dataclass
class Placement:
    """Where compose's names are on this machine."""

    addresses: dict[str, str]  # "kafka-1:9092" -> "127.0.0.1:41234"
    folders: dict[str, Path]  # a bind source ("./secrets/kafka") or a named volume ("kafka-1") -> a folder here
    secrets_folder: Path  # what ./secrets is here
    unmapped: list[str] = field(default_factory=list)

    def mounts(self, compose: Mapping[str, Any], service: str) -> dict[str, Path]:
        """Container path -> folder or file here, for the service's volumes and secrets."""
        spec = compose["services"][service]
        mounts: dict[str, Path] = {}
        for volume in spec.get("volumes") or []:
            source, target = str(volume).split(":")[:2]
            mounts[target] = self.local_source(source)
        for secret in spec.get("secrets") or []:
            name, target = (secret, f"{SECRETS_MOUNT}/{secret}") if isinstance(secret, str) else (
                secret["source"], secret.get("target", f"{SECRETS_MOUNT}/{secret['source']}"))
            mounts[target] = self.local_source(compose["secrets"][name]["file"])
        return mounts

    def local_source(self, source: str) -> Path:
        if source.startswith("./secrets"):
            return self.secrets_folder / source.removeprefix("./secrets").lstrip("/")
        if source in self.folders:
            return self.folders[source]
        raise KeyError(f"no place here for compose's {source}")

    def mapped(self, value: str, mounts: Mapping[str, Path], *, own: Mapping[str, str] | None = None) -> str:
        """`value` with compose's host:port names and container paths replaced by this machine's;
        `own` maps a port to this node's address for listeners without a host (`SASL_SSL://:9092`)."""
        def address(match: re.Match[str]) -> str:
            scheme, host, port = match.group(1), match.group(2), match.group(3)
            if host in ("", "0.0.0.0") and own and port in own:  # noqa: S104 - compose's "every interface"
                return f"{scheme}{own[port]}"
            key = f"{host}:{port}"
            if key not in self.addresses:
                self.unmapped.append(key)
                return match.group(0)
            return f"{scheme}{self.addresses[key]}"

        value = re.sub(r"(\w+://|\d+@|^|(?<=,))([\w.-]*):(\d+)", address, value)
        for container_path in sorted(mounts, key=len, reverse=True):
            value = value.replace(container_path, str(mounts[container_path]))
        return value


def absolute_paths(value: str) -> list[str]:
    """The absolute paths named in a setting's value (JVM options included)."""
    return re.findall(r"(?:^|[=\s,])(/[\w./-]+)", value)
