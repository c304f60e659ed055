"""Clients of the services a module started (its module-scoped `services` fixture, by name), and the
browser of the web app's tests (tests/integration/web_helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.web_helpers import browser, context  # noqa: F401 - fixtures of the browser tests


async def _client(services: dict[str, Any], name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=services[name].url, timeout=60) as client:
        yield client


@pytest.fixture
async def intake(services: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(services, "intake"):
        yield client


@pytest.fixture
async def recording(services: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(services, "recording"):
        yield client


@pytest.fixture
async def coverage(services: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(services, "coverage"):
        yield client
