"""What every consuming service builds the same way: registry, broker with dead letters, MongoDB."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.broker import make_broker
from shared.dead_letter import DeadLetterPolicy
from shared.logs import configure_logging
from shared.metrics import ConsumerMetrics, dependency_checks
from shared.mongo import make_client
from shared.settings import InfraSettings


@dataclass
class ServiceRuntime:
    """The clients of one service process; nothing connects until `start`."""

    service: str
    registry: CollectorRegistry
    metrics: ConsumerMetrics
    dead_letters: DeadLetterPolicy
    broker: KafkaBroker
    mongo: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase[dict[str, Any]]

    @classmethod
    def build(cls, infra: InfraSettings, *, service: str) -> ServiceRuntime:
        configure_logging(infra.log_level)
        registry = CollectorRegistry()
        metrics = ConsumerMetrics(registry, service)
        dead_letters = DeadLetterPolicy(service=service, metrics=metrics)
        broker = make_broker(infra, service=service, registry=registry, middlewares=[dead_letters])
        dead_letters.bind(broker.publish)
        mongo = make_client(infra, app_name=service)
        return cls(service, registry, metrics, dead_letters, broker, mongo, mongo[infra.mongo_database])

    async def start(self) -> None:
        await self.broker.start()

    async def stop(self) -> None:
        """Stop retrying, stop consuming (uncommitted messages are redelivered), close MongoDB."""
        self.dead_letters.stopping.set()
        await self.broker.stop()
        await self.mongo.close()

    def checks(self) -> dict[str, Callable[[], Awaitable[bool]]]:
        return dependency_checks(self.broker, self.mongo)
