"""The local infrastructure of one profile: which ports, which folders, start and stop together."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from deploy.local.components import REPO, FerretDB, Kafka, Ports, Prometheus, create_topics
from deploy.local.process import free_ports, read_pid
from shared.settings import (
    KAFKA_CONTROLLER_PORT,
    KAFKA_PORT,
    MONGO_PORT,
    PROMETHEUS_PORT,
    SERVICE_PORTS,
)

PROFILES = ("run", "test", "bench")


@dataclass
class Stack:
    """Kafka, FerretDB and Prometheus for one profile ('run' on fixed ports, 'test' on free ones)."""

    profile: str
    data: Path
    ports: Ports
    service_ports: dict[str, int]

    @classmethod
    def load(cls, profile: str) -> Stack:
        """The profile's stack: its saved ports when it ran before, otherwise fresh ones."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES}")
        data = Path(os.environ.get("EKTP_LOCAL_DIR", REPO / ".local")) / profile
        data.mkdir(parents=True, exist_ok=True)
        state = data / "ports.json"
        if profile == "run":
            ports = Ports(
                kafka=int(os.environ.get("EKTP_KAFKA_PORT", KAFKA_PORT)),
                kafka_controller=int(os.environ.get("EKTP_KAFKA_CONTROLLER_PORT", KAFKA_CONTROLLER_PORT)),
                mongo=int(os.environ.get("EKTP_MONGO_PORT", MONGO_PORT)),
                prometheus=int(os.environ.get("EKTP_PROMETHEUS_PORT", PROMETHEUS_PORT)),
            )
            service_ports = {
                name: int(os.environ.get(f"EKTP_{name.upper()}_PORT", port))
                for name, port in SERVICE_PORTS.items()
            }
        elif state.exists():
            saved = json.loads(state.read_text())
            ports = Ports(**saved["infra"])
            service_ports = saved["services"]
        else:
            chosen = free_ports(4 + len(SERVICE_PORTS))
            ports = Ports(*chosen[:4])
            service_ports = dict(zip(SERVICE_PORTS, chosen[4:], strict=True))
        state.write_text(json.dumps({"infra": asdict(ports), "services": service_ports}))
        return cls(profile, data, ports, service_ports)

    @property
    def kafka(self) -> Kafka:
        return Kafka(self.data, self.ports.kafka, self.ports.kafka_controller)

    @property
    def ferretdb(self) -> FerretDB:
        return FerretDB(self.data, self.ports.mongo)

    @property
    def prometheus(self) -> Prometheus:
        return Prometheus(self.data, self.ports.prometheus, self.prometheus_config())

    def prometheus_config(self) -> Path:
        """The scrape configuration: the checked-in one for 'run', a rendered one otherwise."""
        from deploy.prometheus.config import render

        if self.profile == "run" and self.service_ports == SERVICE_PORTS:
            return REPO / "deploy/prometheus/prometheus.yml"
        path = self.data / "prometheus.yml"
        path.write_text(
            render(self.service_ports, rules=str(REPO / "deploy/prometheus/alerts.yml"))
        )
        return path

    def environment(self) -> dict[str, str]:
        """Variables that point the services at this stack."""
        env = {
            "EKTP_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.ports.kafka}",
            "EKTP_MONGO_URL": f"mongodb://127.0.0.1:{self.ports.mongo}/",
            "EKTP_MONGO_DATABASE": "ektp" if self.profile == "run" else "ektp_test",
        }
        for name, port in self.service_ports.items():
            env[f"EKTP_{name.upper()}_PORT"] = str(port)
        return env

    def up(self, *, with_prometheus: bool = True) -> dict[str, float]:
        """Start (or reuse) every part, create the topics; returns seconds per part."""
        timings: dict[str, float] = {}
        parts: list[Kafka | FerretDB | Prometheus] = [self.kafka, self.ferretdb]
        if with_prometheus:
            parts.append(self.prometheus)
        for part in parts:
            began = time.monotonic()
            how = part.start()
            timings[part.part] = time.monotonic() - began
            print(f"  {part.part:<10} {how:<8} 127.0.0.1:{part.port}  ({timings[part.part]:.1f} s)")
        created = asyncio.run(create_topics(self.ports.kafka))
        if created:
            print(f"  topics     created  {', '.join(sorted(created))}")
        (self.data / "env").write_text(
            "".join(f"{key}={value}\n" for key, value in self.environment().items())
        )
        return timings

    def down(self) -> None:
        """Stop every part that this profile started."""
        for part in (self.prometheus, self.ferretdb, self.kafka):
            stopped = part.stop()
            print(f"  {part.part:<10} {'stopped' if stopped else 'not running'}")

    def status(self) -> dict[str, bool]:
        """Which parts run."""
        return {
            part.part: read_pid(part.pid_file) is not None
            for part in (self.kafka, self.ferretdb, self.prometheus)
        }
