"""Writes are limited per office on every write route of every service: 429 in Indonesian with
Retry-After, reads are not limited, other offices are not affected, refusals are counted per route."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from shared.contracts import Role
from shared.http import WriteRateLimit
from shared.settings import RateLimitSettings
from tests.integration.helpers import create_office_key
from tests.security.conftest import SERVICES, endpoints, openapi, write_endpoints

PER_MINUTE = 6
BURST = 2


def concrete(path: str) -> str:
    """A path template with every parameter filled by a value its pattern accepts."""
    path = path.replace("{resident_id}", "r" + "0" * 32)
    return re.sub(r"\{[^}]+\}", "uji-0001", path)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _request(method: str) -> Request:
    return Request({"type": "http", "method": method, "path": "/x", "headers": [], "query_string": b""})


def test_bucket_allows_the_burst_then_the_rate_and_says_how_long_to_wait() -> None:
    clock = Clock()
    limit = WriteRateLimit(per_minute=60, burst=3, registry=CollectorRegistry(), service="uji", clock=clock)
    assert [limit.take("kantor-a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.take("kantor-a") == pytest.approx(1.0)
    assert limit.take("kantor-b") == 0.0
    clock.now += 0.5
    assert limit.take("kantor-a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limit.take("kantor-a") == 0.0
    clock.now += 3600
    assert [limit.take("kantor-a") for _ in range(4)][-1] > 0, "the bucket never holds more than the burst"
    for _ in range(5):
        limit.check(_request("GET"), "kantor-a")
    with pytest.raises(Exception) as refused:
        limit.check(_request("DELETE"), "kantor-a")
    assert getattr(refused.value, "status_code", None) == 429
    assert getattr(refused.value, "headers", {})["Retry-After"] == "1"


def test_defaults_are_far_above_what_clerks_imports_and_the_demo_send() -> None:
    defaults = RateLimitSettings()
    assert defaults.writes_per_minute >= 6000 and defaults.burst >= 500


# Write routes open to callers without a key: a resident's own KTP-el status lookup.
PUBLIC_WRITES = {("coverage", "POST", "/status-ktp")}


@pytest.fixture(scope="module")
def limited(start_service: Any, isolated: dict[str, str]) -> Iterator[dict[str, Any]]:
    env = {**isolated, "EKTP_RATE_LIMIT_WRITES_PER_MINUTE": str(PER_MINUTE), "EKTP_RATE_LIMIT_BURST": str(BURST),
           "EKTP_COVERAGE_CONSUME": "false"}
    running = {name: start_service(name, **env) for name in SERVICES}
    yield running
    for service in running.values():
        service.stop()


@pytest.mark.infra
async def test_every_write_route_answers_429_with_retry_after_and_reads_are_not_limited(
        limited: dict[str, Any], db: Any) -> None:
    checked = 0
    for name, service in limited.items():
        schema = await openapi(service.url)
        routes = write_endpoints(schema)
        reads = [path for method, path in endpoints(schema) if method == "GET" and "{" not in path]
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            for method, path in routes:
                office = f"rl-{name}-{checked}"
                key = await create_office_key(db, role=Role.DINAS_ADMIN, office_id=office)
                headers = {"X-API-Key": key}
                for _ in range(BURST):
                    answer = await client.request(method, concrete(path), headers=headers, json={})
                    assert answer.status_code != 429, (name, method, path, answer.text)
                refused = await client.request(method, concrete(path), headers=headers, json={})
                assert refused.status_code == 429, (name, method, path, refused.status_code, refused.text)
                assert refused.json()["detail"].startswith("Terlalu banyak permintaan dari kantor ini")
                retry_after = refused.headers["Retry-After"]
                assert retry_after.isdigit() and 1 <= int(retry_after) <= 60 // PER_MINUTE, retry_after
                assert f"{retry_after} detik" in refused.json()["detail"]
                for read in reads:
                    answer = await client.get(read, headers=headers, params={"desa": "17.02.07.2001"})
                    assert answer.status_code != 429, (name, read)
                other = await create_office_key(db, role=Role.DINAS_ADMIN)
                answer = await client.request(method, concrete(path), headers={"X-API-Key": other}, json={})
                assert answer.status_code != 429, (name, method, path)
                anonymous = [await client.request(method, concrete(path), json={}) for _ in range(BURST + 1)]
                if (name, method, path) in PUBLIC_WRITES:  # open to anyone, limited per client address
                    assert {a.status_code for a in anonymous} <= {422, 429}, (name, method, path)
                else:
                    assert {a.status_code for a in anonymous} == {401}, (name, method, path)
                checked += 1
            metrics = (await client.get("/metrics")).text
        refused_per_route = {
            (sample.labels["service"], sample.labels["route"]): sample.value
            for family in text_string_to_metric_families(metrics) if family.name == "ektp_http_rate_limited"
            for sample in family.samples if sample.name == "ektp_http_rate_limited_total"
        }
        assert all(set(labels) == {"service", "route"} for labels in [
            s.labels for f in text_string_to_metric_families(metrics) if f.name == "ektp_http_rate_limited"
            for s in f.samples]), "labels are the service and the route template only"
        for _method, path in routes:
            assert refused_per_route.get((name, path), 0) >= 1, (name, path, refused_per_route)
        assert "rl-" not in metrics and "X-API-Key" not in metrics
    print(f"\nrate limit: {checked} write routes in {len(limited)} services answer 429 with Retry-After")
    assert checked >= 20
