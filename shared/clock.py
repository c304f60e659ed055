"""An injectable clock: services never call datetime.now() where a test cannot reach it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """Now, timezone-aware, in Western Indonesia Time (Rejang Lebong's zone)."""
    return dt.datetime.now(WIB)
