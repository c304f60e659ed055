"""The production Kafka of docker-compose.yml, proven on this machine with the programs compose runs.

Three KRaft brokers start from the Maven jars with the configuration the apache/kafka image makes of
compose's own environment (deploy/secured), over SASL_SSL with the secrets `python -m deploy.secrets`
makes; `python -m deploy.topics` creates the topics with compose's settings (replication 3,
min.insync.replicas 2); the five services run with the production profile and compose's Kafka
settings. Under a steady load of registrations one broker is SIGKILLed and restarted, then another:
every registration answered 201 is on the topic once, every consumer catches up, the read models
count exactly what is on the topic. A client with a wrong password, another mechanism, or without
TLS is refused.

The database is FerretDB over TLS with a user in the URL: compose's MongoDB replica set is not what
this test proves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import ssl
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pymongo import AsyncMongoClient

from deploy.local.components import FerretDB
from deploy.local.process import free_port, free_ports
from deploy.secrets import SERVICES_KAFKA_USER, Options, make_secrets
from deploy.secured.cluster import Broker, SecuredCluster
from deploy.secured.compose import load_compose
from shared.broker import kafka_client_options
from shared.contracts import Role
from shared.settings import InfraSettings
from shared.topics import ALL, PREFIX, ConsumerGroup
from tests.faults.system import GROUP_TOPICS, group_lag, read_records
from tests.integration.helpers import create_office_key, eventually, synthetic_resident
from tests.support.plugin import LOG_DIR, SESSION_ID, report
from tests.support.processes import REPO, ServiceProcess

pytestmark = [pytest.mark.infra, pytest.mark.timeout(900)]
SERVICES = ("intake", "recording", "printing", "inventory", "coverage")
CLERKS = 4
# Longer than broker.session.timeout.ms (9 s): the controller fences the dead broker, leadership and the
# in-sync replicas move to the two left, and acks=all writes go on with min.insync.replicas 2.
DOWN_SECONDS = 20.0
KECAMATAN, DESA = "17.02.06", "17.02.06.2001"


@dataclass
class Production:
    cluster: SecuredCluster
    secrets: Path
    mongo_url: str
    database: str
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def infra(self) -> InfraSettings:
        env = self.cluster.service_environment()
        return InfraSettings(
            kafka_bootstrap=env["EKTP_KAFKA_BOOTSTRAP"],
            kafka_security_protocol=env["EKTP_KAFKA_SECURITY_PROTOCOL"],  # type: ignore[arg-type]
            kafka_sasl_mechanism=env["EKTP_KAFKA_SASL_MECHANISM"],  # type: ignore[arg-type]
            kafka_sasl_username=env["EKTP_KAFKA_SASL_USERNAME"],
            kafka_sasl_password=Path(env["EKTP_KAFKA_SASL_PASSWORD_FILE"]).read_text().strip(),  # type: ignore[arg-type]
            kafka_ssl_cafile=env["EKTP_KAFKA_SSL_CAFILE"])

    def client_options(self) -> dict[str, Any]:
        return kafka_client_options(self.infra())


def _service_env(production: Production, name: str, port: int) -> dict[str, str]:
    """Compose's environment of the service, placed here; the database is this test's."""
    env = production.cluster.service_environment(name)
    env.pop("EKTP_MONGO_URL_FILE", None)
    env.update({"EKTP_MONGO_URL": production.mongo_url, "EKTP_MONGO_DATABASE": production.database,
                f"EKTP_{name.upper()}_HOST": "127.0.0.1", f"EKTP_{name.upper()}_PORT": str(port),
                "EKTP_LOG_LEVEL": "INFO"})
    return env


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    root = tmp_path_factory.mktemp("production")
    secrets = root / "secrets"
    make_secrets(Options(secrets, extra_hosts=("127.0.0.1", "localhost")))
    cluster = SecuredCluster(load_compose(), secrets=secrets, data=root / "kafka", ports=free_ports(6))
    database = FerretDB(root, free_port(), tls_key_and_cert=secrets / "mongo-tls.pem")
    password = (secrets / "mongo-app-password").read_text().strip()
    mongo_url = (f"mongodb://ektp:{password}@127.0.0.1:{database.port}/ektp?authMechanism=PLAIN"
                 f"&tls=true&tlsCAFile={secrets / 'ca.pem'}")
    running = Production(cluster, secrets, mongo_url, f"ektp_production_{SESSION_ID}")
    try:
        began = time.monotonic()
        cluster.start()
        database.start()
        topics_env = {**os.environ, **_service_env(running, "topics", 0)}
        created = subprocess.run([sys.executable, "-m", "deploy.topics"], cwd=REPO, env=topics_env,
                                 capture_output=True, text=True, timeout=120, check=False)
        assert created.returncode == 0, created.stderr[-2000:]
        for name in SERVICES:
            port = free_port()
            running.services[name] = ServiceProcess(
                name, port, _service_env(running, name, port),
                LOG_DIR / f"{name}-production-{SESSION_ID}-{port}.log").start(timeout=120)
        report(f"\n  production shape: 3 SASL_SSL brokers, topics and 5 services up in {time.monotonic() - began:.0f} s")
        yield running
    finally:
        for service in running.services.values():
            service.stop()
        for broker in cluster.brokers:  # the data is the test's own: no clean shutdown needed
            broker.kill()
        database.stop()


@pytest.fixture
async def database(production: Production) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(production.mongo_url, tz_aware=True)
    yield client[production.database]
    await client.close()


async def test_topics_are_replicated_three_times_with_two_in_sync_required(production: Production) -> None:
    admin = AIOKafkaAdminClient(**production.client_options())
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in ALL])
        assert {len(p["replicas"]) for topic in described for p in topic["partitions"]} == {3}
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, ALL[0].name)])
        entries = {entry[0]: entry[1] for entry in configs[0].resources[0][4]}
        assert entries["min.insync.replicas"] == "2"
    finally:
        await admin.close()


async def _refusal(options: dict[str, Any], caplog: pytest.LogCaptureFixture) -> str:
    """How the brokers answer a client with these options: the reason it could not connect."""
    caplog.clear()
    admin = AIOKafkaAdminClient(**options, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), 30)
        await asyncio.wait_for(admin.list_topics(), 30)
    except Exception:  # noqa: BLE001 - the refusal is what is asserted
        return " ".join(record.getMessage() for record in caplog.records if record.name.startswith("aiokafka"))
    finally:
        await admin.close()
    return "connected"


async def test_a_wrong_password_another_mechanism_or_no_tls_is_refused(
    production: Production, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="aiokafka")
    right = production.client_options()
    assert right["sasl_plain_username"] == SERVICES_KAFKA_USER
    assert await _refusal({**right, "sasl_plain_password": "bukan-sandinya"}, caplog) != "connected"
    assert "SaslAuthenticationFailed" in caplog.text
    assert "UnsupportedSaslMechanism" in await _refusal({**right, "sasl_mechanism": "SCRAM-SHA-512"}, caplog)
    without_tls = {k: v for k, v in right.items() if k != "ssl_context"} | {"security_protocol": "SASL_PLAINTEXT"}
    assert "closed" in await _refusal(without_tls, caplog)
    assert "closed" in await _refusal({"bootstrap_servers": right["bootstrap_servers"]}, caplog)
    untrusted = {**right, "ssl_context": ssl.create_default_context()}  # the system CAs, not the deployment's
    assert await _refusal(untrusted, caplog) != "connected"


async def _register_until(stop: asyncio.Event, url: str, key: str, seed: int) -> list[tuple[int, str | None, float]]:
    """One clerk registering residents until told to stop: (status, resident id, when answered)."""
    rng = random.Random(seed)
    answers: list[tuple[int, str | None, float]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        while not stop.is_set():
            try:
                answer = await client.post("/residents", headers={"X-API-Key": key},
                                           json=synthetic_resident(rng, kecamatan=KECAMATAN, desa=DESA))
            except httpx.HTTPError:
                answers.append((0, None, time.monotonic()))
                await asyncio.sleep(0.5)
                continue
            resident = answer.json().get("resident_id") if answer.status_code == 201 else None
            answers.append((answer.status_code, resident, time.monotonic()))
            if answer.status_code == 503:
                await asyncio.sleep(0.5)
    return answers


async def _under_replicated(options: dict[str, Any]) -> int:
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in ALL])
        return sum(1 for topic in described for p in topic["partitions"] if len(p["isr"]) < 3)
    finally:
        await admin.close()


async def _kill_and_restart(production: Production, broker: Broker) -> tuple[float, float]:
    """SIGKILL the broker, keep it down, start it again and wait until every replica is in sync;
    returns when it went down and when it was started again."""
    await asyncio.to_thread(broker.kill)
    down = time.monotonic()
    await asyncio.sleep(DOWN_SECONDS)
    await asyncio.to_thread(broker.start)
    back = time.monotonic()
    await asyncio.to_thread(broker.wait_listening)
    await eventually(lambda: _under_replicated(production.client_options()), lambda n: n == 0,
                     timeout=180, interval=1)
    return down, back


async def _lag(production: Production) -> dict[str, int]:
    """Messages not yet committed, per consuming role."""
    options = production.client_options()
    bootstrap = options.pop("bootstrap_servers")
    # The projector's group is a setting of its own (compose keeps its default, not under the prefix).
    return {group: await group_lag(bootstrap, group if group == ConsumerGroup.COVERAGE_PROJECTOR else PREFIX + group,
                                   [PREFIX + t for t in topics], **options)
            for group, topics in GROUP_TOPICS.items()}


async def _resident_records(production: Production) -> list[dict[str, Any]]:
    options = production.client_options()
    bootstrap = options.pop("bootstrap_servers")
    topic = next(t for t in ALL if t.name.endswith("resident.events"))
    records = await read_records(bootstrap, [TopicPartition(topic.name, p) for p in range(topic.partitions)],
                                 **options)
    return [json.loads(r.value) for batch in records.values() for r in batch]


async def test_two_brokers_killed_in_turn_under_load_lose_and_double_nothing(
    production: Production, database: Any
) -> None:
    key = await create_office_key(database, role=Role.DINAS_ADMIN, office_id=f"prod-{uuid.uuid4().hex[:6]}")
    stop = asyncio.Event()
    clerks = [asyncio.create_task(_register_until(stop, production.services["intake"].url, key, seed))
              for seed in range(CLERKS)]
    await asyncio.sleep(4)
    windows = [await _kill_and_restart(production, broker) for broker in production.cluster.brokers[:2]]
    await asyncio.sleep(3)
    stop.set()
    answers = [answer for clerk in clerks for answer in await clerk]
    statuses = Counter(status for status, _, _ in answers)
    accepted = [rid for status, rid, _ in answers if status == 201 and rid]
    while_down = sum(1 for status, _, at in answers if status == 201 and any(d <= at <= b for d, b in windows))

    deadline = time.monotonic() + 240
    lag = await _lag(production)
    while any(lag.values()) and time.monotonic() < deadline:
        await asyncio.sleep(1)
        lag = await _lag(production)
    records = await _resident_records(production)
    on_topic = Counter(r["payload"]["resident_id"] for r in records)
    event_ids = Counter(r["event_id"] for r in records)
    roster = await database["intake_roster"].count_documents({})
    area = await database["coverage_areas"].find_one({"_id": f"kec:{KECAMATAN}"}) or {}
    report(f"  production shape: {CLERKS} clerks, 2 brokers SIGKILLed {DOWN_SECONDS:.0f} s each in turn: answers "
           f"{dict(statuses)}; 201 while a broker was down {while_down}; residents on the topic {len(on_topic)}, "
           f"roster {roster}, terdaftar {area.get('terdaftar', 0)}; lag {sum(lag.values())}")

    assert set(statuses) <= {201, 503}, statuses
    assert while_down > 0, "with one broker of three down, registrations must go on (min.insync.replicas 2)"
    assert not set(accepted) - set(on_topic), f"{len(set(accepted) - set(on_topic))} answered 201, not on the topic"
    assert max(on_topic.values()) == 1 and max(event_ids.values()) == 1, "an event is on the topic twice"
    assert not any(lag.values()), lag
    assert roster == len(on_topic) and area.get("terdaftar") == len(on_topic)

