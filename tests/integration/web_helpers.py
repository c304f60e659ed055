"""Helpers for the web app's browser tests: Debian's Chromium under Playwright, a context whose
requests may only go to 127.0.0.1, signing in, screenshots for a person to look at, the CLIs."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.processes import REPO

SHOTS = REPO / "test-artifacts" / "web"


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, env={**os.environ, **env}, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    from deploy.local.components import ensure_debian_package

    chromium = ensure_debian_package("chromium", "chromium", part="chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser profile whose requests may go to 127.0.0.1 only: any other is recorded and aborted."""
    ctx = await browser.new_context(locale="id-ID", viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    async def local_only(route: Any) -> None:
        host = urllib.parse.urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await ctx.route("**/*", local_only)
    ctx.outside = outside
    yield ctx
    await ctx.close()
    assert not outside, f"requests left 127.0.0.1: {outside}"


async def sign_in(page: Any, base: str, username: str, password: str) -> None:
    await page.goto(f"{base}/masuk")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()


async def shot(page: Any, name: str) -> None:
    """A screenshot of the page for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


async def docs_render(context: Any, base: str) -> int:
    """A service's /docs rendered in the browser: the operations Swagger UI lists (every request stays
    on 127.0.0.1: the context aborts and records any other)."""
    page = await context.new_page()
    await page.goto(f"{base}/docs")
    operations = page.locator(".opblock-summary")
    await operations.first.wait_for(timeout=30_000)
    count = await operations.count()
    await page.close()
    return int(count)
