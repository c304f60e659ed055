"""docker-compose.yml, the Dockerfile and the Prometheus files agree with the settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from deploy.prometheus.config import render
from services.coverage.config import CoverageSettings
from services.intake.config import IntakeSettings
from services.inventory.config import InventorySettings
from services.printing.config import PrintingSettings
from services.recording.config import RecordingSettings
from services.web.config import WebSettings
from shared.settings import SECRET_FIELDS, SERVICE_PORTS, InfraSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SETTINGS = {
    "intake": IntakeSettings, "recording": RecordingSettings, "printing": PrintingSettings,
    "inventory": InventorySettings, "coverage": CoverageSettings, "web": WebSettings,
}


def known_variables() -> set[str]:
    names = {f"EKTP_{f.upper()}" for f in InfraSettings.model_fields}
    names |= {f"EKTP_{f.upper()}_FILE" for f in SECRET_FIELDS}
    names.add("EKTP_WEB_SERVICE_KEY_FILE")  # WebSettings reads the web app's key from this file
    for service, cls in SETTINGS.items():
        names |= {f"EKTP_{service.upper()}_{f.upper()}" for f in cls.model_fields if f != "infra"}
    return names


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_each_service_runs_its_module_on_its_port(service: str) -> None:
    spec = COMPOSE["services"][service]
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    port = SERVICE_PORTS[service]
    assert "ports" not in spec  # reached through the proxy only
    env = spec["environment"]
    assert int(env[f"EKTP_{service.upper()}_PORT"]) == port
    assert env["EKTP_PROFILE"] == "production"
    assert env["EKTP_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert set(env) <= known_variables(), set(env) - known_variables()
    assert (REPO / "services" / service / "__main__.py").exists()


def test_compose_has_three_kraft_brokers_a_replica_set_and_prometheus() -> None:
    services = COMPOSE["services"]
    brokers = [name for name in services if name.startswith("kafka-")]
    assert len(brokers) == 3
    for name in brokers:
        assert services[name]["image"].startswith("apache/kafka:4")
        assert "SASL_SSL" in services[name]["environment"]["KAFKA_LISTENERS"]
    assert "--replSet" in services["mongo"]["command"]
    assert services["prometheus"]["image"].startswith("prom/prometheus")
    assert services["topics"]["command"] == ["python", "-m", "deploy.topics"]


def test_bootstrap_in_compose_names_the_brokers() -> None:
    bootstrap = COMPOSE["services"]["intake"]["environment"]["EKTP_KAFKA_BOOTSTRAP"]
    hosts = {h.split(":")[0] for h in bootstrap.split(",")}
    assert hosts == {n for n in COMPOSE["services"] if n.startswith("kafka-")}


def test_every_file_compose_mounts_is_in_the_repository_or_made_by_the_secrets_script() -> None:
    from deploy.secrets import SECRETS

    for spec in COMPOSE["services"].values():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./secrets/"):
                made = source.removeprefix("./secrets/")
                assert any(name == made or name.startswith(made + "/") for name in SECRETS), source
            elif source.startswith("./"):
                assert (REPO / source).exists(), source


def test_prometheus_files_are_rendered_from_the_settings() -> None:
    local = (REPO / "deploy/prometheus/prometheus.yml").read_text()
    assert local == render(SERVICE_PORTS)
    compose = yaml.safe_load((REPO / "deploy/prometheus/prometheus.compose.yml").read_text())
    targets = {c["job_name"]: c["static_configs"][0]["targets"][0] for c in compose["scrape_configs"]}
    assert targets == {name: f"{name}:{port}" for name, port in SERVICE_PORTS.items()}


def test_dockerfile_exposes_every_service_port() -> None:
    exposed = re.search(r"^EXPOSE (.+)$", (REPO / "Dockerfile").read_text(), re.M)
    assert exposed and {int(p) for p in exposed.group(1).split()} == set(SERVICE_PORTS.values())


def _defined_metrics() -> set[str]:
    """Names of the ektp_ metrics the code defines (as Prometheus exposes them, with their suffixes)."""
    names = set()
    for source in [*(REPO / "services").rglob("*.py"), *(REPO / "shared").rglob("*.py")]:
        for kind, name in re.findall(r'(Counter|Gauge|Histogram)\(\s*"(ektp_\w+)"', source.read_text()):
            base = name.removesuffix("_total")
            names |= {base, f"{base}_total"} if kind == "Counter" else {name}
            if kind == "Histogram":
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def test_grafana_dashboard_and_alerts_use_only_metrics_the_services_export() -> None:
    dashboard = json.loads((REPO / "deploy/grafana/dashboards/ektp-operasional.json").read_text())
    assert dashboard["panels"] and all(p["targets"][0]["expr"] for p in dashboard["panels"])
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += re.findall(r"^\s+expr: (.+)$", (REPO / "deploy/prometheus/alerts.yml").read_text(), re.M)
    defined = _defined_metrics()
    used = {name for expr in exprs for name in re.findall(r"\bektp_\w+", expr)}
    assert "ektp_print_ready_to_printed_seconds_bucket" in defined and "ektp_recordings_total" in defined
    assert used and used <= defined, used - defined


def test_production_profile_refuses_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKTP_PROFILE", "production")
    with pytest.raises(ValueError, match="SASL_SSL"):
        InfraSettings()
    monkeypatch.setenv("EKTP_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("EKTP_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("EKTP_KAFKA_SASL_PASSWORD", "pw")
    monkeypatch.setenv("EKTP_PSEUDONYM_KEY", "5f0c2a9e7b41d8e63c1a0f9b2e7d4c58a1b3f6e9d2c7a4b1e8f5c2d9a6b3e0f7")
    with pytest.raises(ValueError, match="credentials"):
        InfraSettings()
    monkeypatch.setenv("EKTP_MONGO_URL", "mongodb://svc:pw@mongo:27017/?replicaSet=rs0")
    with pytest.raises(ValueError, match="TLS"):
        InfraSettings()
    monkeypatch.setenv("EKTP_MONGO_URL", "mongodb://svc:pw@mongo:27017/?replicaSet=rs0&tls=true")
    assert InfraSettings().profile == "production"


def test_secret_files_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("EKTP_PSEUDONYM_KEY_FILE", str(secret))
    assert InfraSettings().pseudonym_key.get_secret_value() == "from-a-file"


def test_free_ports_are_all_different() -> None:
    from deploy.local.process import free_ports

    for _ in range(50):
        ports = free_ports(11)
        assert len(set(ports)) == 11
