"""A Hypothesis stateful test of the blangko ledger on the real FerretDB: random receipts, transfers,
reservations, prints, spoilage, counts, returns and duplicate deliveries, with both invariants
(per location and over the regency) and stock never negative checked after every step."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from pymongo import AsyncMongoClient

from services.inventory import domain
from services.inventory.domain import Balance, Refused
from services.inventory.store import InventoryStore
from shared.contracts.stock import (
    BlankConsumed,
    BlankSpoiled,
    ConsumedPayload,
    CountCorrected,
    CountPayload,
    ReceivedPayload,
    ReservationPayload,
    ReservationRequested,
    ReturnPayload,
    SpoiledPayload,
    SpoiledReturned,
    StockReceived,
    TransferPayload,
    TransferReceived,
    TransferSent,
)
from tests.integration.printing_helpers import SYSTEM
from tests.support.plugin import SESSION_ID

pytestmark = pytest.mark.infra
SLOTS = (0, 1, 2)


def stateful_machine(mongo_url: str) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        """The store against the pure rules: same outcomes, same balances, invariants always hold."""

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
            self.store = InventoryStore(self.client[f"ektp_test_{SESSION_ID}"])
            run = uuid.uuid4().hex[:10]
            self.ids = [f"h{run}-{slot}" for slot in SLOTS]
            self.model = {loc: Balance(loc) for loc in self.ids}
            self.history: list[Any] = []
            self.sent: list[TransferPayload] = []
            self.reservation_seq = 0

        def teardown(self) -> None:
            self.loop.run_until_complete(self.client.close())
            self.loop.close()

        def event(self, cls: Any, payload: Any) -> Any:
            now = dt.datetime.now(dt.UTC)
            return cls(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, actor=SYSTEM, payload=payload)

        def apply(self, event: Any) -> None:
            location = domain.location_of(event)
            sent = None
            if isinstance(event, TransferReceived):
                sent = self.model[event.payload.from_location].transfers_sent.get(event.payload.transfer_id)
            try:
                self.model[location] = domain.apply(self.model[location], event, sent=sent)
                expected = "applied"
            except Refused:
                expected = "refused"
            outcome = self.loop.run_until_complete(self.store.apply(event))
            assert outcome.kind == expected, (outcome, expected, event.event_type)
            self.history.append(event)

        @initialize()
        def start_empty(self) -> None:
            assert all(b == Balance(b.location_id) for b in self.model.values())

        @rule(slot=st.sampled_from(SLOTS), quantity=st.integers(1, 20))
        def receive(self, slot: int, quantity: int) -> None:
            self.apply(self.event(StockReceived, ReceivedPayload(location_id=self.ids[slot], quantity=quantity,
                                                                 document_no="BA/PROV/UJI")))

        @rule(source=st.sampled_from(SLOTS), to=st.sampled_from(SLOTS), quantity=st.integers(1, 12))
        def send(self, source: int, to: int, quantity: int) -> None:
            transfer = TransferPayload(transfer_id=f"tr{uuid.uuid4().hex[:8]}", from_location=self.ids[source],
                                       to_location=self.ids[to], quantity=quantity)
            self.apply(self.event(TransferSent, transfer))
            if transfer.transfer_id in self.model[self.ids[source]].transfers_sent:
                self.sent.append(transfer)

        @precondition(lambda self: bool(self.sent))
        @rule(pick=st.integers(0, 100))
        def arrive(self, pick: int) -> None:
            self.apply(self.event(TransferReceived, self.sent.pop(pick % len(self.sent))))

        @rule(slot=st.sampled_from(SLOTS))
        def reserve(self, slot: int) -> None:
            self.reservation_seq += 1
            self.apply(self.event(ReservationRequested, ReservationPayload(
                location_id=self.ids[slot], reservation_id=f"job{self.reservation_seq}.1.1",
                job_id=f"job{self.reservation_seq}", attempt=1)))

        def _reservation(self, slot: int, pick: int) -> str:
            open_ones = self.model[self.ids[slot]].open_reservations
            return open_ones[pick % len(open_ones)] if open_ones else "job-tidak-ada.1.1"

        @rule(slot=st.sampled_from(SLOTS), pick=st.integers(0, 100))
        def consume(self, slot: int, pick: int) -> None:
            reservation = self._reservation(slot, pick)
            self.apply(self.event(BlankConsumed, ConsumedPayload(
                location_id=self.ids[slot], reservation_id=reservation, job_id=reservation.split(".")[0], attempt=1)))

        @rule(slot=st.sampled_from(SLOTS), pick=st.integers(0, 100), quantity=st.integers(1, 5),
              from_reservation=st.booleans())
        def spoil(self, slot: int, pick: int, quantity: int, from_reservation: bool) -> None:
            reservation = self._reservation(slot, pick) if from_reservation else None
            self.apply(self.event(BlankSpoiled, SpoiledPayload(
                location_id=self.ids[slot], quantity=1 if reservation else quantity, reason="laminasi_terkelupas",
                reservation_id=reservation)))

        @rule(slot=st.sampled_from(SLOTS), counted=st.integers(0, 40))
        def count(self, slot: int, counted: int) -> None:
            self.apply(self.event(CountCorrected, CountPayload(location_id=self.ids[slot], counted=counted,
                                                               reason="stock opname uji", approved_by="Kabid")))

        @rule(slot=st.sampled_from(SLOTS), quantity=st.integers(1, 6))
        def give_back(self, slot: int, quantity: int) -> None:
            self.apply(self.event(SpoiledReturned, ReturnPayload(location_id=self.ids[slot], quantity=quantity,
                                                                 berita_acara_no="BA/RET/UJI", handed_to="Provinsi")))

        @precondition(lambda self: bool(self.history))
        @rule(pick=st.integers(0, 1000))
        def duplicate(self, pick: int) -> None:
            event = self.history[pick % len(self.history)]
            outcome = self.loop.run_until_complete(self.store.apply(event))
            assert outcome.kind == "duplicate"

        @invariant()
        def store_matches_the_rules_and_both_equations_hold(self) -> None:
            stored = {loc: self.loop.run_until_complete(self.store.balance(loc)) for loc in self.ids}
            for loc in self.ids:
                if self.model[loc] == Balance(loc):
                    continue
                assert stored[loc] == self.model[loc], loc
                assert domain.problems(stored[loc]) == [], domain.problems(stored[loc])
                assert min(getattr(stored[loc], name) for name in domain.COUNTS) >= 0
            regency = domain.check_regency(stored.values())
            assert regency.balanced, regency.problems
            assert regency.in_transit == sum(t.quantity for t in self.sent)

    return LedgerMachine


def test_ledger_keeps_both_invariants_after_every_step(stack: Any) -> None:
    machine = stateful_machine(f"mongodb://127.0.0.1:{stack.ports.mongo}/")
    machine.TestCase.settings = settings(max_examples=30, stateful_step_count=25, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
    machine.TestCase().runTest()
