"""A real Prometheus scrapes all five services; every target reports up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from deploy.local.components import REPO, Prometheus
from deploy.prometheus.config import render
from tests.integration.helpers import eventually

pytestmark = pytest.mark.infra

SERVICES = ("intake", "recording", "printing", "inventory", "coverage")


async def test_prometheus_sees_every_service_up(start_service: Any, stack: Any) -> None:
    running = {name: start_service(name) for name in SERVICES}
    config = stack.data / "prometheus-test.yml"
    config.write_text(render({n: s.port for n, s in running.items()},
                             rules=str(REPO / "deploy/prometheus/alerts.yml")))
    prometheus = Prometheus(stack.data, stack.ports.prometheus, config)
    prometheus.stop()
    prometheus.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.ports.prometheus}") as api:
            async def targets() -> dict[str, str]:
                body = (await api.get("/api/v1/targets")).json()
                return {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}

            health = await eventually(targets, lambda t: len(t) == 5 and set(t.values()) == {"up"},
                                      timeout=60)
            assert set(health) == set(SERVICES)
            for service in running.values():
                query = f'up{{instance="127.0.0.1:{service.port}"}}'
                up = (await api.get("/api/v1/query", params={"query": query})).json()
                assert float(up["data"]["result"][0]["value"][1]) == 1.0
            rules = (await api.get("/api/v1/rules")).json()
            names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
            assert "ServiceDown" in names
    finally:
        prometheus.stop()
        for service in running.values():
            service.stop()
