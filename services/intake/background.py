"""Background work of the intake app (import jobs): started after the answer, cancelled at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    """The running background tasks; `stop` cancels them and waits a little for their last writes."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        """Run the work as a task kept until it ends."""
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self, timeout: float = 10) -> None:
        """Cancel every task and wait up to `timeout` seconds for them to record where they stopped."""
        running = list(self.tasks)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=timeout)
