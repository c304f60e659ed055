"""A metrics registry per service, the counters every consumer shares, and /metrics + /health."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest


class ConsumerMetrics:
    """What happened to consumed events: applied, skipped as duplicates, retried, dead-lettered."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.applied = Counter(
            "ektp_events_applied_total", "Events whose effect was applied",
            ["service", "event_type"], registry=registry,
        )
        self.duplicates = Counter(
            "ektp_events_duplicate_total", "Events skipped because their effect was already applied",
            ["service", "event_type"], registry=registry,
        )
        self.retries = Counter(
            "ektp_consumer_retries_total", "Transient failures retried with backoff",
            ["service", "topic", "reason"], registry=registry,
        )
        self.dead_letters = Counter(
            "ektp_dead_letters_total", "Messages parked on a dead-letter topic",
            ["service", "topic", "reason"], registry=registry,
        )
        self.lag = Gauge(
            "ektp_consumer_lag", "Messages on a partition not yet committed by the service's consumer group",
            ["service", "group", "topic", "partition"], registry=registry,
        )

    def record(self, event_type: str, outcome: object, count: int = 1) -> None:
        """Count one consumed event by what its handler did: "applied" (or True), "duplicate" (or False);
        other outcomes (ignored, refused, stale) are counted by the service's own metrics, if at all."""
        if outcome in ("applied", True):
            self.applied.labels(self.service, event_type).inc(count)
        elif outcome in ("duplicate", False):
            self.duplicates.labels(self.service, event_type).inc(count)

    async def measure_lag(self, consumer: Any, group: str) -> None:
        """Set ektp_consumer_lag for every partition assigned to an aiokafka consumer of `group`."""
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is None:
                continue
            committed = await consumer.committed(tp)
            self.lag.labels(self.service, group, tp.topic, str(tp.partition)).set(max(0, end - (committed or 0)))


def observability_router(
    registry: CollectorRegistry,
    *,
    service: str,
    checks: dict[str, Callable[[], Awaitable[bool]]] | None = None,
) -> APIRouter:
    """GET /metrics (Prometheus text); GET /health/live (the process answers: 200 while it runs, for a
    liveness probe, so an outage of Kafka or the database restarts nothing); GET /health/ready and
    GET /health (200 when every dependency check passes, else 503: for a readiness probe and people)."""
    router = APIRouter(tags=["operasional"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def readiness() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in (checks or {}).items():
            try:
                results[name] = "ok" if await check() else "down"
            except Exception:  # noqa: BLE001 - any failure means the dependency is down
                results[name] = "down"
        healthy = all(state == "ok" for state in results.values())
        return JSONResponse(
            {"service": service, "status": "ok" if healthy else "degraded", "checks": results},
            status_code=200 if healthy else 503,
        )

    @router.get("/health", summary="Status layanan dan ketergantungannya (sama dengan /health/ready)")
    async def health() -> JSONResponse:
        return await readiness()

    @router.get("/health/ready", summary="Siap melayani: Kafka dan database terjangkau (503 bila tidak)")
    async def ready() -> JSONResponse:
        return await readiness()

    @router.get("/health/live", summary="Proses hidup dan menjawab (tidak memeriksa Kafka atau database)")
    async def live() -> JSONResponse:
        return JSONResponse({"service": service, "status": "ok"})

    return router


def dependency_checks(broker: Any, mongo: Any = None) -> dict[str, Callable[[], Awaitable[bool]]]:
    """/health checks: the Kafka broker answers, and MongoDB answers a ping when the service uses it."""

    async def kafka_ok() -> bool:
        return bool(await broker.ping(timeout=2.0))

    async def mongo_ok() -> bool:
        await mongo.admin.command("ping")
        return True

    return {"kafka": kafka_ok} if mongo is None else {"kafka": kafka_ok, "mongo": mongo_ok}
