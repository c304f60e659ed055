"""What can be checked of docker-compose.yml without a container engine: the KRaft cluster id's
format, one SASL mechanism and one user on both sides, the apache/kafka image's conventions, every
secret made by the secrets script, pinned images, healthchecks and start order, one way in.

tests/production starts the same Kafka configuration for real (make test-production)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512

from shared.broker import SASL_MECHANISMS, kafka_client_options
from shared.settings import InfraSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
BROKERS = [name for name in COMPOSE["services"] if name.startswith("kafka-")]


def test_the_cluster_id_is_16_bytes_in_base64url_as_kafka_storage_format_expects() -> None:
    ids = {COMPOSE["services"][name]["environment"]["CLUSTER_ID"] for name in BROKERS}
    assert len(ids) == 1
    cluster_id = ids.pop()
    assert len(cluster_id) == 22 and "=" not in cluster_id
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_the_services_speak_the_mechanism_the_brokers_enable() -> None:
    services = [spec for name, spec in COMPOSE["services"].items() if spec.get("command", [None])[:2] == ["python", "-m"]]
    client_mechanisms = {spec["environment"]["EKTP_KAFKA_SASL_MECHANISM"] for spec in services}
    for name in BROKERS:
        env = COMPOSE["services"][name]["environment"]
        enabled = set(env["KAFKA_SASL_ENABLED_MECHANISMS"].split(","))
        assert client_mechanisms <= enabled, (client_mechanisms, enabled)
        assert env["KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL"] in enabled


@pytest.mark.parametrize(("mechanism", "client"), [
    ("PLAIN", SASLPlaintext), ("SCRAM-SHA-256", SASLScram256), ("SCRAM-SHA-512", SASLScram512)])
def test_every_client_uses_the_configured_mechanism(mechanism: str, client: type) -> None:
    """The broker the services consume with and the plain clients (producer, admin) use the one mechanism
    the settings name, PLAIN included."""
    infra = InfraSettings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism=mechanism,
                          kafka_sasl_username="ektp", kafka_sasl_password="rahasia")  # noqa: S106 - a test value
    assert SASL_MECHANISMS[infra.kafka_sasl_mechanism] is client
    assert kafka_client_options(infra)["sasl_mechanism"] == mechanism


def test_an_unknown_mechanism_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="kafka_sasl_mechanism"):
        InfraSettings(kafka_sasl_mechanism="GSSAPI")


def test_third_party_images_are_pinned_and_secrets_are_not_committed() -> None:
    for name, spec in COMPOSE["services"].items():
        image = spec.get("image", "")
        if image and not image.startswith("ektp-"):
            tag = image.rsplit(":", 1)[-1] if ":" in image else ""
            assert tag and tag != "latest", (name, image)
    assert "secrets/" in (REPO / ".gitignore").read_text().split()


def test_every_http_service_has_a_liveness_healthcheck_on_its_own_port() -> None:
    from shared.settings import SERVICE_PORTS

    for name, port in SERVICE_PORTS.items():
        check = COMPOSE["services"][name].get("healthcheck")
        assert check is not None, name
        assert f"http://127.0.0.1:{port}/health/live" in " ".join(check["test"]), (name, check)


@pytest.fixture(scope="module")
def made_secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from deploy.secrets import Options, make_secrets

    directory = tmp_path_factory.mktemp("secrets")
    make_secrets(Options(directory))
    return directory


def test_every_secret_compose_names_is_made_by_the_secrets_script(made_secrets: Path) -> None:
    for name, spec in COMPOSE["secrets"].items():
        source = spec["file"]
        assert source.startswith("./secrets/"), (name, source)
        assert (made_secrets / source.removeprefix("./secrets/")).is_file(), (name, source)
    for service, spec in COMPOSE["services"].items():
        for secret in spec.get("secrets", []):
            assert secret in COMPOSE["secrets"], (service, secret)


def test_the_brokers_start_as_the_image_would_configure_them_with_those_secrets(made_secrets: Path) -> None:
    """The image's SSL conventions (keystore and password files under /etc/kafka/secrets), every path on
    a volume or secret, every address a broker of the file: SecuredCluster refuses otherwise."""
    from deploy.secured.cluster import SecuredCluster

    cluster = SecuredCluster(COMPOSE, secrets=made_secrets, data=made_secrets / "data", ports=list(range(40001, 40007)))
    for broker in cluster.brokers:
        props = broker.properties
        assert Path(props["ssl.keystore.location"]).is_file() and Path(props["ssl.truststore.location"]).is_file()
        assert props["ssl.keystore.password"] == (made_secrets / "kafka/kafka_keystore_creds").read_text().strip()
        assert props["log.dirs"].startswith(str(made_secrets / "data"))
        assert props["min.insync.replicas"] == "2" and props["default.replication.factor"] == "3"
    assert len({b.node_id for b in cluster.brokers}) == 3


def test_a_broker_without_its_data_on_a_volume_is_refused(made_secrets: Path) -> None:
    import copy

    from deploy.local.process import InfraError
    from deploy.secured.cluster import SecuredCluster

    broken = copy.deepcopy(COMPOSE)
    for name in BROKERS:
        broken["services"][name]["environment"].pop("KAFKA_LOG_DIRS")
    with pytest.raises(InfraError, match="kraft-combined-logs"):
        SecuredCluster(broken, secrets=made_secrets, data=made_secrets / "data", ports=list(range(40001, 40007)))


def test_the_services_kafka_user_is_one_the_brokers_know(made_secrets: Path) -> None:
    jaas = (made_secrets / "kafka/kafka_server_jaas.conf").read_text()
    env = COMPOSE["x-service"]["environment"]
    password = (made_secrets / COMPOSE["secrets"]["kafka_password"]["file"].removeprefix("./secrets/")).read_text()
    assert f'user_{env["EKTP_KAFKA_SASL_USERNAME"]}="{password.strip()}"' in jaas
    assert COMPOSE["secrets"]["kafka_ca"]["file"] == "./secrets/ca.pem"


# A station worker serves no HTTP and nothing waits for it; it restarts on its own failure.
LONG_RUNNING = [name for name, spec in COMPOSE["services"].items() if spec.get("restart") != "no"
                and name != "mongo-init" and not name.startswith("station-")]


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_part_has_a_healthcheck(name: str) -> None:
    assert COMPOSE["services"][name].get("healthcheck", {}).get("test"), name


def test_what_others_wait_for_is_healthy_or_done() -> None:
    for name, spec in COMPOSE["services"].items():
        depends = spec.get("depends_on", {})
        assert isinstance(depends, dict), (name, "depends_on needs conditions")
        for other, condition in depends.items():
            wanted = condition["condition"]
            if COMPOSE["services"][other].get("restart") == "no" or other == "mongo-init":
                assert wanted == "service_completed_successfully", (name, other)
            else:
                assert wanted == "service_healthy", (name, other)
                assert COMPOSE["services"][other].get("healthcheck"), other


def test_only_the_proxy_publishes_ports_and_the_services_sit_on_the_internal_network() -> None:
    assert COMPOSE["networks"]["internal"]["internal"] is True
    for name, spec in COMPOSE["services"].items():
        if name != "proxy":
            assert not spec.get("ports"), (name, spec.get("ports"))
        assert "internal" in spec.get("networks", []), name
    published = {int(p.split(":")[0]) for p in COMPOSE["services"]["proxy"]["ports"]}
    assert 443 in published and 80 in published


def test_the_proxy_sends_each_site_to_a_service_on_its_own_port() -> None:
    import re

    caddyfile = (REPO / "deploy/proxy/Caddyfile").read_text()
    sites = re.findall(r"\{\$EKTP_SITE\}:(\d+) \{.*?reverse_proxy ([\w-]+):(\d+)", caddyfile, re.S)
    assert sites, "no site in the Caddyfile"
    for _, upstream, port in sites:
        assert upstream in COMPOSE["services"], upstream
        check = " ".join(COMPOSE["services"][upstream].get("healthcheck", {}).get("test", []))
        assert upstream == "grafana" or f":{port}/" in check, (upstream, port)
    from shared.settings import SERVICE_PORTS

    reached = {upstream for _, upstream, _ in sites}
    assert set(SERVICE_PORTS) <= reached


def test_alerts_reach_alertmanager_configured_from_a_secret_and_grafana_has_no_default_password() -> None:
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.compose.yml").read_text())
    targets = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]
    alertmanager = COMPOSE["services"]["alertmanager"]
    assert "--config.file=/run/secrets/alertmanager_config" in alertmanager["command"]
    grafana = COMPOSE["services"]["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert "grafana_admin_password" in grafana["secrets"]


def test_current_major_versions_of_the_third_party_images() -> None:
    images = {spec["image"].split(":")[0]: spec["image"].split(":")[1]
              for spec in COMPOSE["services"].values() if "image" in spec and not spec["image"].startswith("ektp-")}
    assert images["prom/prometheus"].startswith("v3.")
    assert images["grafana/grafana"].startswith("12.")
    assert images["mongo"].startswith("8.")
