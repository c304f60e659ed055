"""Liveness apart from readiness: a dependency down makes the service unready, never dead."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from shared.metrics import observability_router


def client(kafka_up: bool) -> TestClient:
    async def kafka() -> bool:
        if not kafka_up:
            raise ConnectionError("broker away")
        return True

    async def mongo() -> bool:
        return True

    app = FastAPI()
    app.include_router(observability_router(CollectorRegistry(), service="intake",
                                            checks={"kafka": kafka, "mongo": mongo}))
    return TestClient(app)


def test_kafka_away_makes_the_service_unready_but_alive() -> None:
    with client(kafka_up=False) as http:
        live, ready, health = http.get("/health/live"), http.get("/health/ready"), http.get("/health")
    assert (live.status_code, live.json()) == (200, {"service": "intake", "status": "ok"})
    assert ready.status_code == 503 and ready.json()["checks"] == {"kafka": "down", "mongo": "ok"}
    assert (health.status_code, health.json()) == (503, ready.json())


def test_every_dependency_up_is_ready() -> None:
    with client(kafka_up=True) as http:
        ready = http.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
