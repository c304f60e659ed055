"""Events for tests, made from the contract examples with a fresh event id and chosen fields."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from shared.contracts import OUTREACH_EVENTS, PRINT_EVENTS, RECORDING_EVENTS, RESIDENT_EVENTS, STOCK_EVENTS

EXAMPLES = Path(__file__).resolve().parents[2] / "shared/contracts/examples"
ADAPTERS = {"resident": RESIDENT_EVENTS, "visit": OUTREACH_EVENTS, "recording": RECORDING_EVENTS,
            "print": PRINT_EVENTS, "stock": STOCK_EVENTS}
WIB = dt.timezone(dt.timedelta(hours=7))


@cache
def _example(event_type: str) -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / f"{event_type}.v1.json").read_text()))


def make(event_type: str, *, at: dt.datetime | None = None, event_id: uuid.UUID | None = None,
         **payload: Any) -> Any:
    """A valid event of `event_type`: the example with `payload` fields replaced."""
    data = json.loads(json.dumps(_example(event_type)))
    data["event_id"] = str(event_id or uuid.uuid4())
    if at is not None:
        data["occurred_at"] = data["recorded_at"] = at.isoformat()
    for key, value in payload.items():
        data["payload"][key] = value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
    return ADAPTERS[event_type.split(".")[0]].validate_python(data)


def moment(day: int, hour: int = 9, month: int = 3, year: int = 2024) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=WIB)
