"""Pytest fixtures: the real Kafka broker and FerretDB (started or reused), services as processes.

The infrastructure runs under the 'test' profile of deploy.local on free loopback ports; a
second run reuses it while it is alive. Each session uses its own database and consumer
groups, so earlier runs' data never leaks into assertions.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.nik_scan import ScanResult, scan_files
from tests.support.processes import REPO, ServiceProcess

TIMINGS: dict[str, float] = {}
FIGURES: list[str] = []
"""Measured figures a test reports (the fault runs: kills, outages, answers), shown at the end of the run."""


def report(text: str) -> None:
    """Keep a figure for the end of the run, whether the test passes or fails (printed too, so a failing
    test shows it in its captured output)."""
    for line in text.strip("\n").splitlines():
        FIGURES.append(line.rstrip())
    print(text)
RUN_ID = os.environ.setdefault("EKTP_TEST_RUN", uuid.uuid4().hex[:5])
"""One run of the suite: under `pytest -n N` its worker processes inherit it from the process that starts them."""
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
"""This process's name under `pytest -n N` ("gw0", "gw1", ...); empty when the suite runs in one process."""
_WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") else None
SESSION_ID = RUN_ID + ("m" if _WORKER_INDEX is None else "0123456789abcdefghijklmnopqrstuvwxyz"[_WORKER_INDEX])
"""This process's session: its own database, topics and consumer groups, so processes side by side never
meet in each other's figures. Six characters, all of them this session's (some tests use it as a prefix)."""
LOG_DIR = REPO / "test-artifacts" / "logs"
# Every log record of the test process during the session, unmasked, for the NIK scan at the end.
SUITE_LOG = LOG_DIR / f"suite-{SESSION_ID}.log"
NIK_SCAN: list[ScanResult] = []
# Each session gets its own topics, so a reused broker's history never has to be replayed.
# Set before any test module imports shared.topics.
if WORKER:
    os.environ["EKTP_TOPIC_PREFIX"] = f"t{SESSION_ID}."
    # Each worker chooses free ports from a range of its own (1,500 ports, below the kernel's ephemeral range).
    os.environ["EKTP_PORT_RANGE"] = f"{20000 + 1500 * (_WORKER_INDEX or 0)}-{21499 + 1500 * (_WORKER_INDEX or 0)}"
else:
    os.environ.setdefault("EKTP_TOPIC_PREFIX", f"t{SESSION_ID}.")


@contextmanager
def _infrastructure_lock() -> Iterator[None]:
    """One process at a time starts (or finds) the test infrastructure; the others then reuse it."""
    folder = Path(os.environ.get("EKTP_LOCAL_DIR", REPO / ".local"))
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "test.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    """Kafka and FerretDB for the test profile; the environment points at them."""
    from deploy.local.stack import Stack

    began = time.monotonic()
    with _infrastructure_lock():
        # The stack's own ports (Prometheus's too, started later by one test) come from the kernel, never from a
        # worker's range, where another worker's service could take them first.
        worker_range = os.environ.pop("EKTP_PORT_RANGE", None)
        try:
            test_stack = Stack.load("test")
        finally:
            if worker_range is not None:
                os.environ["EKTP_PORT_RANGE"] = worker_range
        test_stack.up(with_prometheus=False)
    TIMINGS["infrastructure start"] = time.monotonic() - began
    env = test_stack.environment()
    env["EKTP_MONGO_DATABASE"] = f"ektp_test_{SESSION_ID}"
    os.environ.update(env)
    yield test_stack
    if not WORKER and _stop_infrastructure_at_end():
        test_stack.down()  # under pytest -n, the process that started the workers stops it (pytest_sessionfinish)


def _stop_infrastructure_at_end() -> bool:
    return bool(os.environ.get("CI")) and not os.environ.get("EKTP_KEEP_INFRA")


@pytest.fixture(scope="session")
def infra_env(stack: Any) -> dict[str, str]:
    """Variables that point a service at the test infrastructure and this session's data."""
    env = stack.environment()
    env["EKTP_MONGO_DATABASE"] = f"ektp_test_{SESSION_ID}"
    env["EKTP_COVERAGE_CONSUMER_GROUP"] = f"coverage-projector-{SESSION_ID}"
    env["EKTP_LOG_LEVEL"] = "INFO"
    env["EKTP_ACCESS_LOG"] = "1"
    env["EKTP_TOPIC_PREFIX"] = os.environ["EKTP_TOPIC_PREFIX"]
    return env


async def _caught_up(bootstrap: str, group: str, timeout: float = 300.0) -> None:
    """Wait until `group` has committed every partition of every topic up to the end offsets."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from shared.topics import ALL

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in ALL for p in range(t.partitions)]
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            committed = {tp: (await consumer.committed(tp)) or 0 for tp in partitions}
            if all(committed[tp] >= ends[tp] for tp in partitions):
                return
            await asyncio.sleep(0.3)
        raise TimeoutError(f"{group} did not catch up within {timeout:.0f} s")
    finally:
        await consumer.stop()


@pytest.fixture(scope="session")
def start_service(infra_env: dict[str, str]) -> Iterator[Callable[..., ServiceProcess]]:
    """Start a service process; every one still running is stopped at session end."""
    started: list[ServiceProcess] = []

    def _start(name: str, *, port: int | None = None, **extra_env: str) -> ServiceProcess:
        from deploy.local.process import free_port

        port = port or free_port()
        own: dict[str, str] = {}
        if name == "coverage":
            # Each coverage process is its own projection (group and collections), so tests never
            # depend on how a shared group rebalances while another module's process stops.
            own = {"EKTP_COVERAGE_CONSUMER_GROUP": f"coverage-{SESSION_ID}-{port}",
                   "EKTP_COVERAGE_COLLECTION_PREFIX": f"coverage_{port}"}
        env = {**infra_env, f"EKTP_{name.upper()}_PORT": str(port), **own, **extra_env}
        service = ServiceProcess(
            name, port, env, LOG_DIR / f"{name}-{SESSION_ID}-{port}.log"
        )
        started.append(service)
        service.start()
        if name == "coverage" and "EKTP_TOPIC_PREFIX" not in extra_env:
            # A new projection replays the session's topics first; tests compare counts before and
            # after their own events, so they start once it has caught up.
            # Its own thread and loop: callers may be inside the test's running event loop.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _caught_up(env["EKTP_KAFKA_BOOTSTRAP"],
                                                    env["EKTP_COVERAGE_CONSUMER_GROUP"])).result()
        return service

    yield _start
    for service in started:
        service.stop()


@pytest.fixture
async def kafka_producer(stack: Any) -> AsyncIterator[Any]:
    """A plain aiokafka producer (acks=all) for putting raw messages on topics."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=f"127.0.0.1:{stack.ports.kafka}", acks="all", enable_idempotence=True
    )
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def mongo_db(stack: Any) -> AsyncIterator[Any]:
    """This session's database on the test FerretDB."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{stack.ports.mongo}/", tz_aware=True
    )
    yield client[f"ektp_test_{SESSION_ID}"]
    await client.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """End the run with how long the infrastructure and the suite took, and the NIK scan of the logs."""
    session_began = TIMINGS.get("session began")
    lines = []
    if "infrastructure start" in TIMINGS:
        lines.append(f"infrastructure ready in {TIMINGS['infrastructure start']:.1f} s")
    if session_began is not None:
        lines.append(f"suite took {time.monotonic() - session_began:.1f} s")
    if lines:
        terminalreporter.write_sep("-", "; ".join(lines))
    if FIGURES:
        terminalreporter.write_sep("-", "figures the tests measured")
        for line in FIGURES:
            terminalreporter.write_line(line)
    for scan in NIK_SCAN:
        terminalreporter.write_sep(
            "-", f"NIK scan of the logs: {scan.lines} lines in {scan.files} files, {len(scan.hits)} NIK-like "
                 f"numbers ({scan.other_runs} other 16-digit numbers)", red=bool(scan.hits))
        for hit in scan.hits:
            terminalreporter.write_line(f"NIK-like number in {_shown(hit.path)}, line {hit.line}, column {hit.column}",
                                        red=True)


def _shown(path: Any) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def pytest_sessionstart(session: Any) -> None:
    TIMINGS["session began"] = time.monotonic()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(SUITE_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name("ektp-suite-log")
    root = logging.getLogger()
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Under pytest -n: a worker's measured figures and infrastructure time, for this process's summary."""
    output = getattr(node, "workeroutput", None) or {}
    FIGURES.extend(output.get("ektp_figures", ()))
    if "ektp_infrastructure_start" in output:
        TIMINGS["infrastructure start"] = max(TIMINGS.get("infrastructure start", 0.0),
                                              float(output["ektp_infrastructure_start"]))


def _distributed(config: Any) -> bool:
    """True in the process that started workers with pytest -n."""
    return not WORKER and bool(getattr(config.option, "numprocesses", None))


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """Scan the run's logs (the test processes and every service they started) for NIK-like numbers.

    Any hit fails the session; the report names file, line and column, never the digits. Under pytest -n the
    process that started the workers scans every worker's logs once they are done, and stops the
    infrastructure in CI.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "ektp-suite-log"]:
        root.removeHandler(handler)
        handler.close()
    if WORKER:
        session.config.workeroutput["ektp_figures"] = list(FIGURES)
        if "infrastructure start" in TIMINGS:
            session.config.workeroutput["ektp_infrastructure_start"] = TIMINGS["infrastructure start"]
        return
    if _distributed(session.config) and _stop_infrastructure_at_end():
        from deploy.local.stack import Stack

        Stack.load("test").down()
    run_logs = [*LOG_DIR.glob(f"suite-{RUN_ID}?.log"), *LOG_DIR.glob(f"*-{RUN_ID}?-*.log")]
    scan = scan_files(sorted(set(run_logs)))
    NIK_SCAN.append(scan)
    if scan.hits and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
