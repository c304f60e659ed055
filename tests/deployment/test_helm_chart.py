"""The Helm chart (deploy/helm/ektp-jemput-bola) lints, renders and agrees with the code, offline.

helm comes from deploy.local.helm (built once from the Go module proxy into ~/.cache/ektp). The
rendered Kubernetes kinds are checked against Kubernetes' own schemas as kubernetes-validate ships
them, strictly (an unknown field fails), for the oldest Kubernetes the chart supports and the
newest the package knows; the operators' kinds against tests/deployment/custom_resources.py.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from prometheus_client import CollectorRegistry

import shared.topics as topics
from deploy.local.helm import ensure_helm, helm_path
from services.coverage.config import CoverageSettings
from services.intake.config import IntakeSettings
from services.inventory.config import InventorySettings
from services.printing.config import PrintingSettings
from services.recording.config import RecordingSettings
from services.recording.consumers import GROUP as RECORDING_GROUP
from services.web.config import WebSettings
from shared.metrics import ConsumerMetrics
from shared.settings import SECRET_FIELDS, SERVICE_PORTS, InfraSettings, RateLimitSettings, ServiceSettings
from tests.deployment.custom_resources import SCHEMAS, check_custom_resource

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy/helm/ektp-jemput-bola"
PRODUCTION = CHART / "values-production.yaml"
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())  # the chart's kubeVersion floor, the newest
SETTINGS: dict[str, type[ServiceSettings]] = {"web": WebSettings, "intake": IntakeSettings, "recording": RecordingSettings,
            "printing": PrintingSettings, "inventory": InventorySettings, "coverage": CoverageSettings}
CONSUMING = ("intake", "recording", "printing", "inventory", "coverage")
Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="module")
def helm() -> Path:
    return ensure_helm()


@pytest.fixture(scope="module")
def render(helm: Path) -> Render:
    """`helm template` of the chart with the given values files and --set pairs, as a list of resources
    (in a pair's name `__` stands for a dot; a name ending in `_string` is passed with --set-string)."""
    cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

    def _render(*values: Path, **sets: str) -> list[dict[str, Any]]:
        key = (values, tuple(sorted(sets.items())))
        if key not in cache:
            command = [str(helm), "template", "ektp-jemput-bola", str(CHART), "--namespace", "ektp",
                       "--kube-version", KUBERNETES_VERSIONS[-1]]
            for path in values:
                command += ["-f", str(path)]
            for name, value in sets.items():
                command += ["--set-string" if name.endswith("_string") else "--set",
                            f"{name.removesuffix('_string').replace('__', '.')}={value}"]
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
            assert proc.returncode == 0, proc.stderr
            cache[key] = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
        return copy.deepcopy(cache[key])

    return _render


def of_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] == kind]


def by_name(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in of_kind(resources, kind)}


def service_deployments(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The HTTP services' Deployments by component (the station workers left out)."""
    return {d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: d
            for d in of_kind(resources, "Deployment")
            if d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] != "station"}


def container_env(resources: list[dict[str, Any]], deployment: dict[str, Any]) -> dict[str, str]:
    """Every variable a Deployment's container gets: its ConfigMaps (envFrom) and its own env."""
    maps = by_name(resources, "ConfigMap")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]]["data"])
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


# --- helm lint and template ---------------------------------------------------------------------------

@pytest.mark.parametrize("values", [(), (PRODUCTION,)], ids=["default", "production"])
def test_the_chart_lints_cleanly(helm: Path, values: tuple[Path, ...]) -> None:
    command = [str(helm), "lint", "--strict", str(CHART)] + [arg for path in values for arg in ("-f", str(path))]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_helm_is_not_built_again_once_in_the_cache(helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no go: a build would fail
    assert ensure_helm() == helm == helm_path()


def test_the_default_values_render_the_services_alone(render: Render) -> None:
    kinds = {r["kind"] for r in render()}
    assert kinds == {"ConfigMap", "Deployment", "Service", "Job"}


def test_a_job_registers_the_web_apps_key_from_its_secret_after_each_install(render: Render) -> None:
    [job] = [r for r in render() if r["kind"] == "Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "shared.offices", "office", "web-key",
                                    "--key-file", "/var/run/secrets/ektp/web-service-key"]
    sources = job["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]
    assert any(item["path"] == "web-service-key" for source in sources for item in source["secret"]["items"])


def test_the_production_values_render_kafka_mongodb_and_keda(render: Render) -> None:
    counts: dict[str, int] = {}
    for resource in render(PRODUCTION):
        counts[resource["kind"]] = counts.get(resource["kind"], 0) + 1
    assert counts["Kafka"] == counts["KafkaNodePool"] == counts["KafkaUser"] == counts["MongoDBCommunity"] == 1
    assert counts["KafkaTopic"] == 2 * len(topics.ALL)
    assert counts["ScaledObject"] == len(CONSUMING)
    assert counts["ServiceMonitor"] == 1
    assert "HorizontalPodAutoscaler" not in counts


# --- schemas -------------------------------------------------------------------------------------------

VARIANTS = {
    "default": ((), {}),
    "production": ((PRODUCTION,), {}),
    "production-hpa": ((PRODUCTION,), {"autoscaling__mode": "hpa"}),
    "production-topic-prefix": ((PRODUCTION,), {"config__topicPrefix_string": "17.02."}),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_rendered_kubernetes_kind_matches_the_kubernetes_schemas(render: Render, variant: str) -> None:
    values, sets = VARIANTS[variant]
    checked = 0
    for resource in render(*values, **sets):
        if resource["kind"] in SCHEMAS:
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(resource, version, strict=True)
        checked += 1
    assert checked >= 13


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_custom_resource_has_what_its_operator_requires(render: Render, variant: str) -> None:
    values, sets = VARIANTS[variant]
    for resource in render(*values, **sets):
        if resource["kind"] in SCHEMAS:
            check_custom_resource(resource)


def test_the_validator_rejects_a_broken_deployment(render: Render) -> None:
    deployment = service_deployments(render())["intake"]
    kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    misspelt = copy.deepcopy(deployment)
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["livenessprobe"] = container.pop("livenessProbe")
    mistyped = copy.deepcopy(deployment)
    mistyped["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8101"
    without_selector = copy.deepcopy(deployment)
    del without_selector["spec"]["selector"]
    for broken in (misspelt, mistyped, without_selector):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_custom_resource_check_rejects_what_strimzi_keda_and_the_mongodb_operator_would(render: Render) -> None:
    resources = render(PRODUCTION)
    pool = of_kind(resources, "KafkaNodePool")[0]
    kafka = of_kind(resources, "Kafka")[0]
    user = of_kind(resources, "KafkaUser")[0]
    mongo = of_kind(resources, "MongoDBCommunity")[0]
    scaled = of_kind(resources, "ScaledObject")[0]
    broken: list[dict[str, Any]] = []
    for resource, breakage in (
            (pool, lambda r: r["spec"].pop("roles")),
            (pool, lambda r: r["metadata"]["labels"].pop("strimzi.io/cluster")),
            (kafka, lambda r: r["metadata"]["annotations"].pop("strimzi.io/kraft")),
            (kafka, lambda r: r["spec"]["kafka"]["listeners"][0].update(name="tls-listener")),
            (user, lambda r: r["spec"]["authorization"]["acls"][0].update(operation="Read")),
            (mongo, lambda r: r["spec"]["users"][0].pop("scramCredentialsSecretName")),
            (scaled, lambda r: r["spec"]["triggers"][0]["metadata"].update(threshold=1000)),
            (scaled, lambda r: r["spec"]["triggers"][0]["metadata"].update(threshold="1k"))):
        copied = copy.deepcopy(resource)
        breakage(copied)
        broken.append(copied)
    for resource in broken:
        with pytest.raises(jsonschema.ValidationError):
            check_custom_resource(resource)


# --- the chart agrees with the code --------------------------------------------------------------------

def known_variables() -> set[str]:
    """Every EKTP_ variable the product reads: the settings classes' fields under their prefixes, the
    secret-file variants, and the few names read from os.environ directly."""
    names = {f"EKTP_{field.upper()}" for field in InfraSettings.model_fields}
    names |= {f"EKTP_{field.upper()}_FILE" for field in SECRET_FIELDS}
    names |= {f"{RateLimitSettings.model_config['env_prefix']}{field.upper()}" for field in RateLimitSettings.model_fields}
    for cls in SETTINGS.values():
        prefix = cls.model_config["env_prefix"]
        names |= {f"{prefix}{field.upper()}" for field in cls.model_fields if field not in ("infra", "rate_limit")}
    for path in [*(REPO / "services").rglob("*.py"), *(REPO / "shared").rglob("*.py")]:
        names |= set(re.findall(r"environ(?:\.get\(|\[)\"(EKTP_[A-Z0-9_]+)\"", path.read_text(encoding="utf-8")))
    return names


def test_the_known_variables_are_read_from_the_settings_classes() -> None:
    names = known_variables()
    assert {"EKTP_KAFKA_SASL_PASSWORD_FILE", "EKTP_WEB_SERVICE_KEY_FILE", "EKTP_TOPIC_PREFIX",
            "EKTP_COVERAGE_CONSUMER_GROUP", "EKTP_RATE_LIMIT_BURST"} <= names
    assert "EKTP_KAFKA_SASL_PASSWORD" + "_FILES" not in names


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variable_the_chart_sets_is_one_the_services_read(render: Render, variant: str) -> None:
    values, sets = VARIANTS[variant]
    resources = render(*values, **sets)
    known = known_variables()
    for deployment in of_kind(resources, "Deployment"):
        unknown = {name for name in container_env(resources, deployment) if name.startswith("EKTP_")} - known
        assert not unknown, f"{deployment['metadata']['name']}: no settings class reads {sorted(unknown)}"


def test_each_service_runs_its_module_on_its_port_with_both_probes(render: Render) -> None:
    resources = render(PRODUCTION)
    deployments = service_deployments(resources)
    assert set(deployments) == set(SERVICE_PORTS)
    services = by_name(resources, "Service")
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        module = container["command"][-1]
        assert container["command"][:2] == ["python", "-m"] and importlib.util.find_spec(module) is not None
        assert container["ports"][0]["containerPort"] == SERVICE_PORTS[name]
        env = container_env(resources, deployment)
        assert env[f"EKTP_{name.upper()}_PORT"] == str(SERVICE_PORTS[name])
        assert env[f"EKTP_{name.upper()}_HOST"] == "0.0.0.0"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        service = services[deployment["metadata"]["name"]]
        assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    urls = json.loads(container_env(resources, deployments["web"])["EKTP_WEB_SERVICE_URLS"])
    assert set(urls) == set(SERVICE_PORTS) - {"web"}
    for name, url in urls.items():
        host, port = url.removeprefix("http://").split(":")
        assert services[host]["spec"]["ports"][0]["port"] == int(port) == SERVICE_PORTS[name]


def test_production_settings_load_from_the_chart_environment(render: Render, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the chart sets, with stand-in secret files where the pods mount them, pass the
    production profile's checks (SASL_SSL, SCRAM-SHA-512, credentials, TLS)."""
    resources = render(PRODUCTION)
    env = container_env(resources, service_deployments(resources)["web"])
    stand_ins = {"kafka-password": "stand-in", "kafka-ca.crt": "", "pseudonym-key": "0123456789abcdef" * 4,
                 "web-service-key": "stand-in",
                 "mongo-url": "mongodb://ektp:stand-in@ektp-mongo-svc:27017/ektp?replicaSet=ektp-mongo&tls=true"}
    for name in [name for name in os.environ if name.startswith("EKTP_")]:
        monkeypatch.delenv(name)  # the chart's variables alone, not those of the test session's infrastructure
    for name, value in env.items():
        if value.startswith("/var/run/secrets/ektp/"):
            file = tmp_path / Path(value).name
            file.write_text(stand_ins[file.name])
            value = str(file)
        monkeypatch.setenv(name, value)
    settings = WebSettings()
    assert settings.infra.profile == "production"
    assert settings.infra.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.infra.kafka_security_protocol == "SASL_SSL"
    assert settings.infra.kafka_sasl_password.get_secret_value() == "stand-in"
    assert settings.service_key.get_secret_value() == "stand-in"


def test_kafka_topics_are_the_registry_with_its_dead_letter_topics(render: Render) -> None:
    declared = {name.removeprefix(topics.PREFIX): (partitions, int(config["retention.ms"]))
                for name, partitions, config in topics.all_topic_configs()}
    rendered = {t["spec"]["topicName"]: (t["spec"]["partitions"], int(t["spec"]["config"]["retention.ms"]))
                for t in of_kind(render(PRODUCTION), "KafkaTopic")}
    assert rendered == declared
    for topic in of_kind(render(PRODUCTION), "KafkaTopic"):
        assert topic["spec"]["replicas"] == 3 and int(topic["spec"]["config"]["min.insync.replicas"]) == 2


def test_the_kafka_cluster_is_three_kraft_nodes_with_scram_over_tls(render: Render) -> None:
    resources = render(PRODUCTION)
    (kafka,), (pool,) = of_kind(resources, "Kafka"), of_kind(resources, "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert pool["spec"]["replicas"] == 3 and sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    config = kafka["spec"]["kafka"]["config"]
    assert int(config["min.insync.replicas"]) == 2 and int(config["default.replication.factor"]) == 3
    # The services reach that listener as that user, trusting the cluster CA Strimzi makes.
    for deployment in of_kind(resources, "Deployment"):
        env = container_env(resources, deployment)
        assert env["EKTP_KAFKA_BOOTSTRAP"] == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
        assert env["EKTP_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["EKTP_KAFKA_SASL_USERNAME"] == of_kind(resources, "KafkaUser")[0]["metadata"]["name"]
        sources = {s["secret"]["items"][0]["path"]: s["secret"]["name"]
                   for s in deployment["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]}
        assert sources["kafka-password"] == env["EKTP_KAFKA_SASL_USERNAME"]
        assert sources["kafka-ca.crt"] == f"{kafka['metadata']['name']}-cluster-ca-cert"
        assert Path(env["EKTP_KAFKA_SSL_CAFILE"]).name == "kafka-ca.crt"


def _consumer_groups() -> list[str]:
    """Every consumer group id the services join (shared.broker.subscribe puts PREFIX before it)."""
    return [*(g.value for g in topics.ConsumerGroup), f"{RECORDING_GROUP}-resident",
            CoverageSettings.model_fields["consumer_group"].default, "printing-station-dinas-curup"]


@pytest.mark.parametrize("prefix", ["", "17.02."])
def test_the_kafka_user_may_use_every_topic_and_consumer_group_and_no_other(render: Render, prefix: str) -> None:
    resources = render(PRODUCTION, config__topicPrefix_string=prefix)
    acls = of_kind(resources, "KafkaUser")[0]["spec"]["authorization"]["acls"]
    allowed_topics = {a["resource"]["name"] for a in acls if a["resource"]["type"] == "topic"}
    assert all(a["resource"]["patternType"] == "literal" for a in acls if a["resource"]["type"] == "topic")
    assert allowed_topics == {t["spec"]["topicName"] for t in of_kind(resources, "KafkaTopic")}
    assert all(name.startswith(prefix) for name in allowed_topics)
    assert all({"Read", "Write", "Describe"} <= set(a["operations"]) for a in acls if a["resource"]["type"] == "topic")
    group_prefixes = [a["resource"]["name"] for a in acls if a["resource"]["type"] == "group"]
    coverage = container_env(resources, service_deployments(resources)["coverage"])
    for group in _consumer_groups():
        group_id = coverage.get("EKTP_COVERAGE_CONSUMER_GROUP", prefix + group) if group == "coverage-projector" \
            else prefix + group
        assert any(group_id.startswith(p) for p in group_prefixes), f"no ACL lets the services join {group_id}"


@pytest.mark.parametrize("mode", ["keda", "hpa"])
def test_consuming_services_scale_on_their_consumer_lag(render: Render, mode: str) -> None:
    resources = render(PRODUCTION, autoscaling__mode=mode)
    lag = ConsumerMetrics(CollectorRegistry(), "chart").lag
    labels = set(lag._labelnames) | {"namespace"}  # namespace: added by the scrape
    deployments = service_deployments(resources)
    kind = "ScaledObject" if mode == "keda" else "HorizontalPodAutoscaler"
    scalers = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(resources, kind)}
    assert set(scalers) == {deployments[name]["metadata"]["name"] for name in CONSUMING}
    for name in CONSUMING:
        scaler = scalers[deployments[name]["metadata"]["name"]]
        assert "replicas" not in deployments[name]["spec"], "a scaled Deployment leaves replicas to its scaler"
        if mode == "keda":
            query = scaler["spec"]["triggers"][0]["metadata"]["query"]
            assert lag._name in query
            used = dict(re.findall(r'(\w+)="([^"]*)"', query))
            assert used.keys() <= labels and used["service"] == name and used["namespace"] == "ektp"
            assert set(re.findall(r"by \(([^)]*)\)", query)[0].replace(" ", "").split(",")) <= labels
        else:
            metric = scaler["spec"]["metrics"][0]["external"]["metric"]
            assert metric["name"] == lag._name and metric["selector"]["matchLabels"] == {"service": name}
    assert "replicas" in deployments["web"]["spec"]


def test_the_mongodb_replica_set_has_three_members_scram_and_tls(render: Render) -> None:
    resources = render(PRODUCTION)
    (mongo,) = of_kind(resources, "MongoDBCommunity")
    assert mongo["spec"]["members"] == 3
    assert mongo["spec"]["security"]["authentication"]["modes"] == ["SCRAM"]
    assert mongo["spec"]["security"]["tls"]["enabled"] is True
    (user,) = mongo["spec"]["users"]
    env = container_env(resources, service_deployments(resources)["coverage"])
    assert {"name": "readWrite", "db": env["EKTP_MONGO_DATABASE"]} in user["roles"]


def test_no_secret_value_is_in_the_chart(render: Render) -> None:
    resources = render(PRODUCTION)
    assert not of_kind(resources, "Secret")
    for config_map in of_kind(resources, "ConfigMap"):
        assert not any(re.search(r"PASSWORD$|_KEY$|MONGO_URL$", name) for name in config_map["data"])
