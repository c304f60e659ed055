"""Helpers for integration tests: office keys, synthetic residents, polling the coverage API."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx

from shared.auth import OFFICES_COLLECTION, OfficeDirectory
from shared.clock import system_clock
from shared.contracts import Role


async def create_office_key(
    db: Any, *, role: Role = Role.DINAS_ADMIN, kecamatan: str | None = None,
    office_id: str | None = None,
) -> str:
    directory = OfficeDirectory(db[OFFICES_COLLECTION])
    await directory.ensure_indexes()
    return await directory.create(
        office_id=office_id or f"test-{uuid.uuid4().hex[:8]}", name="Kantor uji", role=role,
        kecamatan_code=kecamatan, now=system_clock(),
    )


def synthetic_resident(
    rng: random.Random, *, kecamatan: str = "17.02.06", desa: str = "17.02.06.2001",
    birth: dt.date | None = None,
) -> dict[str, Any]:
    """A valid synthetic resident of Rejang Lebong (the NIK is made up, never a real one)."""
    birth = birth or dt.date(2007, rng.randint(1, 12), rng.randint(1, 28))
    sex = rng.choice(["L", "P"])
    day = birth.day + (40 if sex == "P" else 0)
    nik = f"{kecamatan.replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
    return {
        "nik": nik, "name": f"Penduduk Sintetis {rng.randint(1, 10**6)}", "sex": sex,
        "birth_date": birth.isoformat(), "marital_status": "belum_kawin",
        "kecamatan_code": kecamatan, "desa_code": desa,
    }


async def coverage_of(client: httpx.AsyncClient, kecamatan: str, **params: str) -> dict[str, Any]:
    answer = await client.get("/coverage", params=params)
    answer.raise_for_status()
    body = answer.json()
    return next(row for row in body["kecamatan"] if row["kode"] == kecamatan)


async def eventually(
    probe: Callable[[], Awaitable[Any]], predicate: Callable[[Any], bool], *, timeout: float = 90.0,
    interval: float = 0.2,
) -> Any:
    """Poll every `interval` seconds until predicate(probe()) holds; return the last value or fail with it."""
    deadline = asyncio.get_running_loop().time() + timeout
    value = None
    while asyncio.get_running_loop().time() < deadline:
        value = await probe()
        if predicate(value):
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not reached within {timeout} s; last value {value!r}")


async def wait_caught_up(bootstrap: str, group: str, topic: str, *, timeout: float = 60.0,
                         partitions: int | None = None) -> None:
    """Wait until `group` has committed every partition of `topic` up to its end offset."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        from shared.topics import by_name

        count = partitions if partitions is not None else by_name(topic).partitions
        tps = [TopicPartition(topic, p) for p in range(count)]
        ends = await consumer.end_offsets(tps)

        async def committed() -> dict[Any, int]:
            return {tp: (await consumer.committed(tp)) or 0 for tp in tps}

        await eventually(committed, lambda c: all(c[tp] >= ends[tp] for tp in tps),
                         timeout=timeout)
    finally:
        await consumer.stop()


def enrolled_event(
    rng: random.Random, *, kecamatan: str = "17.02.10", desa: str = "17.02.10.2001",
    pseudonym_key: str | None = None, school: str | None = None, birth: dt.date | None = None,
    disabilitas: bool = False,
) -> Any:
    """A valid resident.enrolled event as intake would publish it."""
    from services.intake.domain import wajib_ktp_from
    from shared.contracts import Actor, ResidentEnrolled
    from shared.contracts.resident import MaritalStatus, ResidentEnrolledPayload
    from shared.pseudonym import resident_pseudonym
    from shared.settings import InfraSettings

    data = synthetic_resident(rng, kecamatan=kecamatan, desa=desa, birth=birth)
    data["school_npsn"] = school
    data["disabilitas"] = disabilitas
    key = pseudonym_key or InfraSettings().pseudonym_key.get_secret_value()
    now = system_clock()
    birth = dt.date.fromisoformat(data["birth_date"])
    return ResidentEnrolled(
        event_id=uuid.uuid4(), occurred_at=now, recorded_at=now,
        actor=Actor(office_id="uji", role=Role.DINAS_ADMIN, operator="uji"),
        payload=ResidentEnrolledPayload(
            **data, resident_id=resident_pseudonym(data["nik"], key=key),
            wajib_ktp_from=wajib_ktp_from(birth, MaritalStatus.BELUM_KAWIN, registered_on=now.date()),
        ),
    )


def isolated_env(infra_env: dict[str, str], name: str) -> dict[str, str]:
    """Topics and a database of one test module alone (created now), for figures no other test may touch."""
    import os
    import subprocess
    import sys

    from tests.support.processes import REPO

    run = uuid.uuid4().hex[:8]
    env = {"EKTP_TOPIC_PREFIX": f"{name}{run}.", "EKTP_MONGO_DATABASE": f"ektp_{name}_{run}"}
    done = subprocess.run([sys.executable, "-m", "deploy.topics"], cwd=REPO, env={**os.environ, **infra_env, **env},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return env


def topic_in(env: dict[str, str], topic: str) -> str:
    """The name `topic` (a name under this session's prefix) has under an isolated env's prefix."""
    import os

    return env["EKTP_TOPIC_PREFIX"] + topic.removeprefix(os.environ.get("EKTP_TOPIC_PREFIX", ""))


def local_run_env(tmp_path: Any) -> tuple[dict[str, str], dict[str, int], dict[str, int]]:
    """The environment of a `make run`/`make demo` a test starts: free ports, its own data folder.

    Returns the environment, the service ports and the infrastructure ports (by variable name).
    """
    import os

    from deploy.local.process import free_ports
    from shared.settings import SERVICE_PORTS

    infra_names = ("EKTP_KAFKA_PORT", "EKTP_KAFKA_CONTROLLER_PORT", "EKTP_MONGO_PORT", "EKTP_PROMETHEUS_PORT")
    chosen = free_ports(len(SERVICE_PORTS) + len(infra_names))  # all different: one at a time can repeat
    ports = {f"EKTP_{name.upper()}_PORT": port for name, port in zip(SERVICE_PORTS, chosen, strict=False)}
    infra = dict(zip(infra_names, chosen[len(SERVICE_PORTS):], strict=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    env.update({k: str(v) for k, v in {**ports, **infra}.items()})
    env["EKTP_LOCAL_DIR"] = str(tmp_path)
    return env, ports, infra


def running(start_service: Callable[..., Any], *names: str, common: Mapping[str, str] | None = None,
            own: Mapping[str, Mapping[str, str]] | None = None) -> Iterator[dict[str, Any]]:
    """A module's services by name, each started with the `common` settings and its `own`, stopped at
    the end: `yield from running(start_service, "intake", "coverage")` in a module-scoped fixture."""
    started = {name: start_service(name, **(common or {}), **(own or {}).get(name, {})) for name in names}
    yield started
    for service in started.values():
        service.stop()
