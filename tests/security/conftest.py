"""The five services on topics and a database of this package alone, and what the security tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

SERVICES = ("intake", "recording", "printing", "inventory", "coverage")
NOT_ENDPOINTS = {"/health", "/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect",
                 "/redoc"}
WRITE_METHODS = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="package")
def isolated(infra_env: dict[str, str]) -> dict[str, str]:
    """Topics and a database of the security tests alone: their writes move no other test's figures."""
    from tests.integration.helpers import isolated_env

    return isolated_env(infra_env, "sec")


@pytest.fixture(scope="package")
def services(start_service: Any, isolated: dict[str, str]) -> Iterator[dict[str, Any]]:
    running = {name: start_service(name, **isolated) for name in SERVICES}
    yield running
    for service in running.values():
        service.stop()


@pytest.fixture
async def db(infra_env: dict[str, str], isolated: dict[str, str]) -> AsyncIterator[Any]:
    """The isolated database the package's services use."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra_env["EKTP_MONGO_URL"], tz_aware=True)
    yield client[isolated["EKTP_MONGO_DATABASE"]]
    await client.close()


async def openapi(url: str) -> dict[str, Any]:
    """The OpenAPI document a running service publishes."""
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(f"{url}/openapi.json")
    answer.raise_for_status()
    return dict(answer.json())


def endpoints(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(METHOD, path template) of every endpoint in a service's OpenAPI document."""
    return sorted((method.upper(), path) for path, item in schema["paths"].items() for method in item
                  if path not in NOT_ENDPOINTS and method in {"get", *WRITE_METHODS})


def write_endpoints(schema: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method, path) for method, path in endpoints(schema) if method.lower() in WRITE_METHODS]
