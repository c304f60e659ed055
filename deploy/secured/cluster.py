"""The production Kafka of docker-compose.yml started on this machine: its three KRaft brokers from the
Maven jars, configured as the apache/kafka image configures them from compose's own environment,
with the secrets `python -m deploy.secrets` makes, on 127.0.0.1.

The services' Kafka settings come from compose too (its shared service environment), so a broker
and its clients disagreeing in compose (a mechanism, a user, a certificate name) disagree here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.local.components import Kafka, cache_dir, kafka_java
from deploy.local.process import (
    InfraError,
    pid_alive,
    port_open,
    read_pid,
    start_background,
    stop_process,
    wait_until,
)
from deploy.secured.compose import Placement, absolute_paths, broker_names, environment_of
from deploy.secured.kafka_image import render

PART = "kafka (SASL_SSL)"


@dataclass
class Broker:
    """One broker of the compose file, running here."""

    name: str
    node_id: str
    data: Path
    port: int
    controller_port: int
    properties: dict[str, str]
    jvm_options: list[str]
    cluster_id: str

    @property
    def pid_file(self) -> Path:
        return self.data / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.data / "kafka.out"

    @property
    def properties_file(self) -> Path:
        return self.data / "server.properties"

    def _java(self, main: str, *args: str) -> list[str]:
        return kafka_java(self.data, main, *args, jvm_options=self.jvm_options, heap="-Xmx512m")

    def format(self) -> None:
        """Format the storage with compose's cluster id, as the image's launch script does."""
        self.data.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(self.properties.items())))
        if (Path(self.properties["log.dirs"]) / "meta.properties").exists():
            return
        proc = subprocess.run(self._java("kafka.tools.StorageTool", "format", f"--cluster-id={self.cluster_id}",
                                         "-c", str(self.properties_file)),
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0 and "already formatted" not in proc.stdout + proc.stderr:
            raise InfraError(PART, f"{self.name}: storage format failed: {(proc.stderr or proc.stdout)[-400:]}")

    def start(self) -> None:
        if read_pid(self.pid_file) and port_open(self.port):
            return
        start_background(PART, self._java("kafka.Kafka", str(self.properties_file)),
                         pid_file=self.pid_file, log_file=self.log_file, cwd=self.data)

    def wait_listening(self, timeout: float = 120) -> None:
        pid = read_pid(self.pid_file)
        if pid is None:
            raise InfraError(PART, f"{self.name} is not running (log: {self.log_file})")
        wait_until(PART, lambda: port_open(self.port), pid=pid, timeout=timeout, log_file=self.log_file)

    def kill(self) -> None:
        """SIGKILL: the machine or container dies, nothing is flushed or handed over."""
        pid = read_pid(self.pid_file)
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                if not pid_alive(pid):
                    break
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        stop_process(self.pid_file, timeout=60)


class SecuredCluster:
    """Compose's brokers and the services' Kafka settings, placed on this machine."""

    def __init__(self, compose: Mapping[str, Any], *, secrets: Path, data: Path, ports: list[int]) -> None:
        names = broker_names(compose)
        if len(ports) < 2 * len(names):
            raise ValueError("two ports per broker")
        self.compose = compose
        addresses: dict[str, str] = {}
        own: dict[str, dict[str, str]] = {}
        for index, name in enumerate(names):
            client, controller = ports[2 * index], ports[2 * index + 1]
            own[name] = {"9092": f"127.0.0.1:{client}", "9093": f"127.0.0.1:{controller}"}
            addresses.update({f"{name}:{port}": address for port, address in own[name].items()})
        self.placement = Placement(addresses=addresses, secrets_folder=secrets,
                                   folders={name: data / name for name in names})
        self.brokers = [self._broker(name, own[name], data / name) for name in names]
        if self.placement.unmapped:
            raise InfraError(PART, f"compose names addresses no broker serves: {sorted(set(self.placement.unmapped))}")

    def _broker(self, name: str, own: dict[str, str], data: Path) -> Broker:
        mounts = self.compose_mounts(name)

        def read_file(container_path: str) -> str:
            return Path(self.placement.mapped(container_path, mounts)).read_text()

        config = render(environment_of(self.compose, name), read_file)
        for key, value in [*config.properties.items(), *(("KAFKA_OPTS", o) for o in config.jvm_options)]:
            for path in absolute_paths(value):
                if not any(path == target or path.startswith(target.rstrip("/") + "/") for target in mounts):
                    raise InfraError(PART, f"{name}: {key} names {path}, on no volume or secret of the container "
                                           "(lost when the container is recreated, or missing)")
        properties = {key: self.placement.mapped(value, mounts, own=own) for key, value in config.properties.items()}
        jvm = [self.placement.mapped(option, mounts) for option in config.jvm_options]
        return Broker(name=name, node_id=properties["node.id"], data=data,
                      port=int(own["9092"].rsplit(":", 1)[1]), controller_port=int(own["9093"].rsplit(":", 1)[1]),
                      properties=properties, jvm_options=jvm, cluster_id=config.cluster_id)

    def compose_mounts(self, service: str) -> dict[str, Path]:
        return self.placement.mounts(self.compose, service)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{b.port}" for b in self.brokers)

    def service_environment(self, service: str = "intake") -> dict[str, str]:
        """The EKTP_* settings compose gives a service, with addresses and secret files placed here."""
        mounts = self.compose_mounts(service)
        return {key: self.placement.mapped(value, mounts) for key, value in environment_of(self.compose, service).items()
                if key.startswith("EKTP_")}

    def start(self) -> None:
        Kafka(cache_dir(), 0, 0).install()
        for broker in self.brokers:
            broker.format()
        for broker in self.brokers:
            broker.start()
        for broker in self.brokers:
            broker.wait_listening()

    def stop(self) -> None:
        for broker in self.brokers:
            broker.stop()
