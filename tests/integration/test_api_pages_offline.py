"""A service's API page (/docs) works on an office network without the internet: the page and its
Swagger UI scripts come from the service itself, and Debian's Chromium renders the operations."""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.helpers import running

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake")


async def test_the_api_page_loads_only_from_the_service_and_chromium_shows_its_operations(
    services: dict[str, Any],
) -> None:
    base = services["intake"].url
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        page = await client.get("/docs")
        assert page.status_code == 200, page.text[:300]
        assets = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", page.text)
        assets += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
        assert assets and all(a.startswith((base, "/")) for a in assets), assets
        for asset in assets:
            answer = await client.get(asset)
            assert answer.status_code == 200 and answer.content, asset
        assert (await client.get("/redoc")).status_code == 404
    dom = await asyncio.to_thread(_rendered, f"{base}/docs")
    assert "Daftarkan penduduk" in dom, dom[-2000:]


def _rendered(url: str) -> str:
    """The page's DOM after Debian's headless Chromium ran its scripts (installed on first use)."""
    from deploy.local.components import ensure_debian_package

    chromium = ensure_debian_package("chromium", "chromium", part="chromium")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", url],
            capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
