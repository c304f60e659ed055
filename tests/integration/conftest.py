"""Clients of the services a module started (its module-scoped `services` fixture, by name)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest


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
