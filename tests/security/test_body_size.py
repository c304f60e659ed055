"""Every write route of every service refuses an oversized body with 413 and the Indonesian message,
whether the size is declared up front or only found while reading a chunked body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.intake.config import IntakeSettings
from services.inventory.config import InventorySettings
from services.printing.config import PrintingSettings
from services.recording.config import RecordingSettings
from shared.contracts import Role
from tests.integration.helpers import create_office_key
from tests.security.conftest import openapi, write_endpoints
from tests.security.test_rate_limits import concrete

pytestmark = pytest.mark.infra
MESSAGE = "Isi permintaan terlalu besar"
DECLARED = 64 * 1024 * 1024


def limit_of(service: str, path: str) -> int:
    """The body limit a service applies to a path with its default settings."""
    if service == "intake":
        settings = IntakeSettings()
        return settings.max_upload_bytes if path.startswith("/imports") else settings.max_body_bytes
    limits = {"recording": RecordingSettings().max_body_bytes, "printing": PrintingSettings().max_body_bytes,
              "inventory": InventorySettings().max_body_bytes, "coverage": 64 * 1024}
    return limits[service]


async def declared_too_large(port: int, method: str, path: str, key: str) -> tuple[int, dict[str, Any]]:
    """Send only the headers of a request declaring a 64 MiB body; the answer must come without the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {DECLARED}\r\n\r\n").encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    body = json.loads(await reader.readexactly(length))
    writer.close()
    return status, body


async def chunks(total: int, size: int = 64 * 1024, *, head: bytes = b"") -> AsyncIterator[bytes]:
    """A body of `total` bytes sent chunked (no Content-Length), so only counting while reading finds its size."""
    yield head
    sent = len(head)
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


async def test_every_write_route_answers_413_with_the_indonesian_message(services: dict[str, Any], db: Any) -> None:
    key = await create_office_key(db, role=Role.DINAS_ADMIN)
    checked = chunked = 0
    for name, service in services.items():
        schema = await openapi(service.url)
        for method, path in write_endpoints(schema):
            status, body = await declared_too_large(service.port, method, concrete(path), key)
            assert status == 413 and body["detail"].startswith(MESSAGE), (name, method, path, status, body)
            checked += 1
            if "requestBody" not in schema["paths"][path][method.lower()]:
                continue
            limit = limit_of(name, path)
            content_type, head = "application/json", b""
            if "multipart/form-data" in schema["paths"][path][method.lower()]["requestBody"]["content"]:
                content_type = "multipart/form-data; boundary=batas"
                head = (b'--batas\r\nContent-Disposition: form-data; name="file"; filename="data.csv"\r\n'
                        b"Content-Type: text/csv\r\n\r\n")
            async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
                answer = await client.request(method, concrete(path), content=chunks(limit + 1, head=head),
                                              headers={"X-API-Key": key, "Content-Type": content_type})
            assert answer.status_code == 413 and answer.json()["detail"].startswith(MESSAGE), \
                (name, method, path, answer.status_code, answer.text[:300])
            assert f"{limit} byte" in answer.json()["detail"]
            chunked += 1
    print(f"\nbody size: {checked} write routes answer 413 to a declared oversized body, "
          f"{chunked} with a body also to a chunked one")
    assert checked >= 20 and chunked >= 15
