"""Subscriptions of the inventory service: the stock topic keeps the ledger, the print topic feeds it."""

from __future__ import annotations

from typing import cast

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Counter

from services.inventory.handlers import InventoryDeps, apply_print_event, apply_stock_event
from shared.broker import event_bytes, subscribe
from shared.contracts import PRINT_EVENTS, STOCK_EVENTS
from shared.metrics import ConsumerMetrics
from shared.mongo import position_key
from shared.topics import PRINT, STOCK, ConsumerGroup


def register_consumers(broker: KafkaBroker, *, deps: InventoryDeps, metrics: ConsumerMetrics,
                       refusals: Counter) -> None:
    """Attach the ledger's subscribers; `refusals` counts refused ledger events by type."""

    def count(event_type: str, outcome: str) -> None:
        metrics.record(event_type, outcome)
        if outcome == "refused":
            refusals.labels(event_type).inc()

    @subscribe(broker, STOCK, group=ConsumerGroup.INVENTORY_LEDGER)
    async def on_stock_event(message: KafkaMessage) -> None:
        record = cast(ConsumerRecord, message.raw_message)
        event = STOCK_EVENTS.validate_json(event_bytes(message))
        outcome = await apply_stock_event(event, deps=deps,
                                          position=(position_key(record.topic, record.partition), record.offset))
        count(event.event_type, outcome)

    @subscribe(broker, PRINT, group=f"{ConsumerGroup.INVENTORY_LEDGER}-print")
    async def on_print_event(message: KafkaMessage) -> None:
        record = cast(ConsumerRecord, message.raw_message)
        event = PRINT_EVENTS.validate_json(event_bytes(message))
        outcome = await apply_print_event(event, deps=deps, source=position_key(record.topic, record.partition),
                                          position=record.offset)
        count(event.event_type, outcome)
