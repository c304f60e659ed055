"""What every consuming service builds the same way: registry, broker with dead letters, MongoDB."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.broker import PublishedEvents, make_broker
from shared.dead_letter import DeadLetterPolicy
from shared.logs import configure_logging
from shared.metrics import ConsumerMetrics, dependency_checks
from shared.mongo import make_client
from shared.publishing import KafkaEventPublisher
from shared.settings import InfraSettings

log = logging.getLogger("ektp.runtime")
LAG_SECONDS = 10.0


@dataclass
class ServiceRuntime:
    """The clients of one service process; nothing connects until `start`."""

    service: str
    registry: CollectorRegistry
    metrics: ConsumerMetrics
    dead_letters: DeadLetterPolicy
    broker: KafkaBroker
    publisher: KafkaEventPublisher
    mongo: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase[dict[str, Any]]
    periodic: list[tuple[float, Callable[[], Awaitable[None]]]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, infra: InfraSettings, *, service: str) -> ServiceRuntime:
        configure_logging(infra.log_level, fmt=infra.effective_log_format, service=service)
        registry = CollectorRegistry()
        metrics = ConsumerMetrics(registry, service)
        dead_letters = DeadLetterPolicy(service=service, metrics=metrics)
        published = PublishedEvents(registry, service)
        broker = make_broker(infra, service=service, registry=registry, middlewares=[dead_letters],
                             published=published)
        dead_letters.bind(broker.publish)
        publisher = KafkaEventPublisher(infra, service=service, counted=published)
        mongo = make_client(infra, app_name=service)
        return cls(service, registry, metrics, dead_letters, broker, publisher, mongo, mongo[infra.mongo_database])

    def every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` every `seconds` while the service runs; a failed run is logged and the next one tries again."""
        self.periodic.append((seconds, job))

    async def _repeat(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:  # noqa: BLE001 - a lost dependency shows in /health; the next run retries
                log.warning("%s: periodic %s failed", self.service, getattr(job, "__name__", "job"), exc_info=True)

    async def measure_lag(self) -> None:
        """Set ektp_consumer_lag for every partition assigned to this process's subscribers."""
        for subscriber in self.broker.subscribers:
            consumer = getattr(subscriber, "consumer", None)
            group = getattr(subscriber, "group_id", None)
            if consumer is not None and group is not None:
                await self.metrics.measure_lag(consumer, group)

    async def start(self) -> None:
        if self.measure_lag not in [job for _, job in self.periodic]:
            self.periodic.append((LAG_SECONDS, self.measure_lag))
        await self.broker.start()
        await self.publisher.start()
        self.tasks = [asyncio.create_task(self._repeat(seconds, job)) for seconds, job in self.periodic]

    async def stop(self) -> None:
        """Stop periodic jobs and retrying, stop consuming (uncommitted messages are redelivered), stop the
        event producer once nothing can publish any more, close MongoDB."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.dead_letters.stopping.set()
        await self.broker.stop()
        await self.publisher.stop()
        await self.mongo.close()

    def checks(self) -> dict[str, Callable[[], Awaitable[bool]]]:
        return dependency_checks(self.broker, self.mongo)
