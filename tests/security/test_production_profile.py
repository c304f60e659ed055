"""The production profile: a service refuses to start over plaintext Kafka or an unauthenticated MongoDB,
and docker-compose.yml runs the services over SASL_SSL with every credential from a secret file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import SECRET_FIELDS, SERVICE_PORTS

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
REFUSED = "production profile refused:"
PROTECTED = {"EKTP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "EKTP_KAFKA_SASL_USERNAME": "ektp-services",
             "EKTP_KAFKA_SASL_PASSWORD": "rahasia-uji",
             "EKTP_PSEUDONYM_KEY": "5f0c2a9e7b41d8e63c1a0f9b2e7d4c58a1b3f6e9d2c7a4b1e8f5c2d9a6b3e0f7",
             "EKTP_MONGO_URL": "mongodb://ektp:rahasia-uji@127.0.0.1:1/?tls=true"}


def start(service: str, **env: str) -> tuple[int, str, float]:
    """Run `python -m services.<service>` under the production profile; its exit code, output and seconds taken."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", f"services.{service}"], cwd=REPO, capture_output=True, text=True,
                          env={**clean, "EKTP_PROFILE": "production", f"EKTP_{service.upper()}_PORT": "1", **env},
                          timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - began


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_plaintext_kafka_and_a_mongodb_url_without_credentials_are_refused(service: str) -> None:
    code, output, seconds = start(service, EKTP_KAFKA_BOOTSTRAP="127.0.0.1:9092",
                                  EKTP_MONGO_URL="mongodb://127.0.0.1:27017/")
    assert code != 0 and seconds < 30, (code, seconds)
    assert REFUSED in output, output[-2000:]
    assert "EKTP_KAFKA_SECURITY_PROTOCOL must be SASL_SSL in production" in output
    assert "EKTP_MONGO_URL must carry credentials" in output
    assert "http://" not in output, "nothing was served"


@pytest.mark.parametrize(("changed", "reason"), [
    ({"EKTP_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "EKTP_KAFKA_SECURITY_PROTOCOL must be SASL_SSL"),
    ({"EKTP_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "EKTP_KAFKA_SECURITY_PROTOCOL must be SASL_SSL"),
    ({"EKTP_MONGO_URL": "mongodb://mongo-1:27017,mongo-2:27017/?replicaSet=rs0&tls=true"}, "EKTP_MONGO_URL must carry"),
    ({"EKTP_KAFKA_SASL_PASSWORD": ""}, "EKTP_KAFKA_SASL_USERNAME and EKTP_KAFKA_SASL_PASSWORD are required"),
    ({"EKTP_MONGO_URL": "mongodb://mongo-1:27017/ektp?appName=kantor@dinas&tls=true"}, "EKTP_MONGO_URL must carry"),
    ({"EKTP_MONGO_URL": "mongodb://ektp@mongo-1:27017/?tls=true"}, "EKTP_MONGO_URL must carry"),
    ({"EKTP_MONGO_URL": "mongodb://ektp:rahasia-uji@mongo-1:27017/"}, "EKTP_MONGO_URL must use TLS"),
    ({"EKTP_MONGO_URL": "mongodb://ektp:rahasia-uji@mongo-1:27017/?tls=false"}, "EKTP_MONGO_URL must use TLS"),
    ({"EKTP_PSEUDONYM_KEY": ""}, "EKTP_PSEUDONYM_KEY must hold at least 32 random bytes"),
    ({"EKTP_PSEUDONYM_KEY": "kunci-uji-yang-bukan-bawaan"}, "EKTP_PSEUDONYM_KEY must hold at least 32 random bytes"),
    ({"EKTP_PSEUDONYM_KEY": "a" * 64}, "EKTP_PSEUDONYM_KEY must hold at least 32 random bytes"),
])
def test_each_unprotected_setting_alone_is_refused_and_named(changed: dict[str, str], reason: str) -> None:
    code, output, _ = start("intake", **{**PROTECTED, **changed})
    assert code != 0 and REFUSED in output and reason in output, output[-2000:]
    refusal = next(line for line in output.splitlines() if REFUSED in line)
    assert refusal.count(";") == 0, f"only the one unprotected setting is named: {refusal}"
    assert "rahasia-uji" not in output, "a secret never appears in the refusal"


def compose_services() -> dict[str, Any]:
    return {name: COMPOSE["services"][name] for name in SERVICE_PORTS}


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_compose_services_take_every_credential_from_a_mounted_secret(service: str) -> None:
    spec = compose_services()[service]
    env = {k: str(v) for k, v in spec["environment"].items()}
    mounted = set(spec.get("secrets", []))
    for field in SECRET_FIELDS:
        variable = f"EKTP_{field.upper()}"
        assert variable not in env, f"{variable} is given in the clear; use {variable}_FILE"
        path = env.get(f"{variable}_FILE", "")
        assert path.startswith("/run/secrets/"), f"{service}: {variable}_FILE"
        secret = path.removeprefix("/run/secrets/")
        assert secret in mounted, f"{service} reads {path} but does not mount the secret {secret}"
        source = COMPOSE["secrets"][secret]["file"]
        assert source.startswith("./secrets/"), source
    ca = env["EKTP_KAFKA_SSL_CAFILE"].removeprefix("/run/secrets/")
    assert ca in mounted and COMPOSE["secrets"][ca]["file"].startswith("./secrets/")
    assert env["EKTP_KAFKA_SASL_USERNAME"] and env["EKTP_KAFKA_SASL_MECHANISM"] in {"PLAIN", "SCRAM-SHA-256",
                                                                                      "SCRAM-SHA-512"}
    every_value = " ".join(env.values())
    assert "mongodb://" not in every_value and "@" not in every_value, "no connection string with credentials"


def test_compose_brokers_listen_only_on_sasl_ssl_and_mongodb_requires_authentication() -> None:
    services = COMPOSE["services"]
    for name in (n for n in services if n.startswith("kafka-")):
        env = services[name]["environment"]
        protocols = {entry.split(":")[1] for entry in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")}
        assert "PLAINTEXT" not in protocols, f"{name}: a plaintext listener"
        assert env["KAFKA_SASL_ENABLED_MECHANISMS"]
    mongo = services["mongo"]
    assert "--keyFile" in mongo["command"], "replica set members authenticate each other"
    assert {"MONGO_INITDB_ROOT_USERNAME_FILE", "MONGO_INITDB_ROOT_PASSWORD_FILE"} <= set(mongo["environment"])
    assert "MONGO_INITDB_ROOT_PASSWORD" not in mongo["environment"]
    command = mongo["command"]
    assert command[command.index("--tlsMode") + 1] == "requireTLS", "MongoDB takes TLS connections only"
    for secret in ("mongo_tls", "mongo_ca"):
        assert secret in mongo["secrets"] and COMPOSE["secrets"][secret]["file"].startswith("./secrets/")
