"""What can be checked of docker-compose.yml without a container engine: the KRaft cluster id's
format, one SASL mechanism on both sides, pinned images, secrets kept out of git."""

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
