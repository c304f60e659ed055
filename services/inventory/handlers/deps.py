"""What every inventory use case is given: the ports, the clock, the named locations and the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.inventory.ports import LedgerStore
from shared.blangko import USAGE_WINDOW_DAYS
from shared.clock import Clock
from shared.publishing import EventPublisher


@dataclass(frozen=True)
class InventoryDeps:
    """Dependencies of the use cases. `names` maps each stock location to its name."""

    store: LedgerStore
    publisher: EventPublisher
    clock: Clock
    names: Mapping[str, str] = field(default_factory=dict)
    consumption_window_days: int = USAGE_WINDOW_DAYS
    cover_days: int = 30
    low_stock_days: float = 7.0
    answer_timeout: float = 10.0
    poll_seconds: float = 0.05
