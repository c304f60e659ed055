"""The blangko ledger tried as a print station in a hurry would, on the running inventory (and coverage)
services: a stock count booked without the dinas, and coverage's figures next to the ledger's."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.contracts import Actor, Role
from shared.contracts.stock import (
    BlankConsumed,
    BlankSpoiled,
    ConsumedPayload,
    ReservationPayload,
    ReservationRequested,
    SpoiledPayload,
    TransferPayload,
    TransferReceived,
)
from shared.topics import STOCK
from tests.integration.helpers import create_office_key, eventually, isolated_env, topic_in
from tests.integration.printing_helpers import write_stations

pytestmark = pytest.mark.infra
BACKLOG = 300


@pytest.fixture(scope="module")
def ledger(start_service: Any, infra_env: dict[str, str], tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    """Inventory and coverage on topics, a database and stations of this module alone."""
    env = isolated_env(infra_env, "blangko")
    prefix = "ek" + uuid.uuid4().hex[:6]
    env.update(write_stations(Path(tmp_path_factory.mktemp("stations")) / "stations.csv", prefix))
    running = {"inventory": start_service("inventory", **env), "coverage": start_service("coverage", **env)}
    yield {**running, "env": env, "station": f"{prefix}-pusat", "other_station": f"{prefix}-put"}
    for service in running.values():
        service.stop()


@pytest.fixture
def ledger_db(ledger: dict[str, Any], mongo_db: Any) -> Any:
    """The module's own database (its office keys live there)."""
    return mongo_db.client[ledger["env"]["EKTP_MONGO_DATABASE"]]


def post(client: httpx.AsyncClient, path: str, key: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json=body, headers={"X-API-Key": key, "Idempotency-Key": uuid.uuid4().hex})


async def test_a_stations_count_that_changes_the_stock_waits_for_a_dinas_approval(
        ledger: dict[str, Any], ledger_db: Any) -> None:
    station = ledger["station"]
    admin = await create_office_key(ledger_db, role=Role.DINAS_ADMIN)
    own = await create_office_key(ledger_db, role=Role.PRINT_STATION, office_id=station)
    async with httpx.AsyncClient(base_url=ledger["inventory"].url, timeout=30) as client:
        received = await post(client, "/receipts", admin,
                              {"location_id": station, "quantity": 10, "document_no": f"BA/{station}/1"})
        assert received.status_code == 201, received.text
        surplus = await post(client, "/counts", own, {"location_id": station, "counted": 25,
                                                      "reason": "stock opname bulanan", "approved_by": "Saya sendiri"})
        assert surplus.status_code == 202, surplus.text
        waiting = surplus.json()
        assert (waiting["status"], waiting["selisih"]) == ("menunggu_persetujuan", 15)
        assert "persetujuan admin dinas" in waiting["pesan"]
        stock = await client.get(f"/locations/{station}", headers={"X-API-Key": own})
        assert stock.json()["ada"] == 10
        listed = await client.get("/counts", headers={"X-API-Key": admin})
        assert waiting["count_id"] in [c["count_id"] for c in listed.json()]
        self_approved = await post(client, f"/counts/{waiting['count_id']}/approve", own, {"approved_by": "Kepala"})
        assert self_approved.status_code == 403, self_approved.text
        approved = await post(client, f"/counts/{waiting['count_id']}/approve", admin, {"approved_by": "Kabid"})
        assert approved.status_code == 201, approved.text
        assert approved.json()["lokasi"]["ada"] == 25
        agreeing = await post(client, "/counts", own, {"location_id": station, "counted": 25,
                                                       "reason": "stock opname bulanan"})
        assert agreeing.status_code == 201, agreeing.text


def _event(cls: Any, payload: Any) -> Any:
    now = dt.datetime.now(dt.UTC)
    return cls(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now,
               actor=Actor(office_id="uji", role=Role.SYSTEM, operator="uji"), payload=payload)


async def _publish(producer: Any, env: dict[str, str], event: Any, key: str) -> None:
    await producer.send_and_wait(topic_in(env, STOCK.name), event.model_dump_json().encode(), key=key.encode())


async def test_coverage_follows_only_what_the_ledger_applied_and_shows_the_same_days_of_stock(
        ledger: dict[str, Any], ledger_db: Any, kafka_producer: Any) -> None:
    station, env = ledger["other_station"], ledger["env"]
    admin = await create_office_key(ledger_db, role=Role.DINAS_ADMIN)
    async with httpx.AsyncClient(base_url=ledger["inventory"].url, timeout=30) as inventory, \
            httpx.AsyncClient(base_url=ledger["coverage"].url, timeout=30) as coverage:
        assert (await post(inventory, "/receipts", admin, {"quantity": 20, "document_no": "BA/2"})).status_code == 201
        sent = await post(inventory, "/transfers", admin, {"from_location": "gudang", "to_location": station,
                                                           "quantity": 5})
        transfer = sent.json()["transfer_id"]
        assert (await post(inventory, f"/transfers/{transfer}/receive", admin)).status_code == 201
        # What two requests at once, or another producer, can put on the topic: the ledger refuses both.
        await _publish(kafka_producer, env, _event(TransferReceived, TransferPayload(
            transfer_id=transfer, from_location="gudang", to_location=station, quantity=5)), "gudang")
        await _publish(kafka_producer, env, _event(BlankSpoiled, SpoiledPayload(
            location_id=station, quantity=1000, reason="blangko_rusak")), station)
        # A card printed at the station, as printing and its worker would report it.
        reservation = ReservationPayload(location_id=station, reservation_id=f"res-{uuid.uuid4().hex[:8]}",
                                         job_id="job-uji", attempt=1)
        await _publish(kafka_producer, env, _event(ReservationRequested, reservation), station)
        await _publish(kafka_producer, env, _event(BlankConsumed, ConsumedPayload(**reservation.model_dump())),
                       station)
        # Applied after the refused ones, on their keys: once coverage shows these, it has seen the refusals.
        assert (await post(inventory, "/receipts", admin, {"quantity": 1, "document_no": "BA/3"})).status_code == 201
        spoiled = await post(inventory, "/spoilage", admin, {"location_id": station, "quantity": 1,
                                                            "reason": "blangko_rusak"})
        assert spoiled.status_code == 201, spoiled.text

        async def stock() -> dict[str, Any]:
            return {row["lokasi"]: row for row in (await coverage.get("/stock")).json()["baris"]}

        rows = await eventually(stock, lambda rows: rows.get("gudang", {}).get("diterima") == 21
                                and rows.get(station, {}).get("rusak") == 1 and rows[station]["terpakai"] == 1,
                                timeout=60)
        locations = {row["lokasi"]: row for row in (await inventory.get("/locations", headers={"X-API-Key": admin})).json()}
    assert {k: rows[station][k] for k in ("stok", "dipesan", "dalam_perjalanan", "terpakai", "rusak")} == {
        "stok": 3, "dipesan": 0, "dalam_perjalanan": 0, "terpakai": 1, "rusak": 1}
    assert (rows["gudang"]["stok"], locations["gudang"]["ada"], locations[station]["ada"]) == (16, 16, 3)
    for location in ("gudang", station):
        assert (rows[location]["pemakaian_per_hari"], rows[location]["hari_stok"]) == (
            locations[location]["pemakaian_per_hari"], locations[location]["hari_stok"]), location
    assert rows[station]["hari_stok"] == 42.0  # 3 free blanks at 1 card in 14 days


async def _gudang_stock(client: httpx.AsyncClient, key: str) -> int:
    return int((await client.get("/locations/gudang", headers={"X-API-Key": key})).json()["ada"])


async def test_a_berita_acara_is_booked_once_even_when_sent_twice_or_twice_at_once(
        ledger: dict[str, Any], ledger_db: Any) -> None:
    admin = await create_office_key(ledger_db, role=Role.DINAS_ADMIN)
    number = f"BA-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=ledger["inventory"].url, timeout=30) as client:
        before = await _gudang_stock(client, admin)
        first = await post(client, "/receipts", admin, {"quantity": 1200, "document_no": number})
        assert first.status_code == 201, first.text
        again = await post(client, "/receipts", admin, {"quantity": 1200, "document_no": f"  {number.lower()} "})
        assert again.status_code == 409, again.text
        reason = again.json()["detail"]
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).strftime("%d-%m-%Y")
        assert number in reason and today in reason and "sudah dicatat" in reason, reason
        assert await _gudang_stock(client, admin) == before + 1200
        racing = f"BA-{uuid.uuid4().hex[:6]}"
        answers = await asyncio.gather(*(post(client, "/receipts", admin, {"quantity": 7, "document_no": racing})
                                         for _ in range(2)))
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        assert await _gudang_stock(client, admin) == before + 1207


async def _usulan_row(client: httpx.AsyncClient, key: str, request_id: str) -> dict[str, Any] | None:
    rows = (await client.get("/replenishment", headers={"X-API-Key": key})).json()
    return next((row for row in rows if row["usulan"] == request_id), None)


async def test_receipts_never_take_an_usulan_above_what_was_requested(ledger: dict[str, Any], ledger_db: Any) -> None:
    admin = await create_office_key(ledger_db, role=Role.DINAS_ADMIN)
    async with httpx.AsyncClient(base_url=ledger["inventory"].url, timeout=30) as client:
        sent = await post(client, "/replenishment", admin, {"letter_no": f"470/{uuid.uuid4().hex[:6]}/DUK/2026",
                                                            "quantity": 5000})
        assert sent.status_code == 201, sent.text
        request_id = sent.json()["usulan"]
        await eventually(lambda: _usulan_row(client, admin, request_id), lambda row: row is not None, timeout=20)
        first = await post(client, "/receipts", admin, {"quantity": 3000, "request_id": request_id,
                                                        "document_no": f"BA-{uuid.uuid4().hex[:6]}"})
        assert first.status_code == 201, first.text
        second = await post(client, "/receipts", admin, {"quantity": 3000, "request_id": request_id,
                                                         "document_no": f"BA-{uuid.uuid4().hex[:6]}"})
        assert second.status_code == 409, second.text
        reason = second.json()["detail"]
        assert all(figure in reason for figure in ("5000", "3000", request_id)), reason
        row = await eventually(lambda: _usulan_row(client, admin, request_id),
                               lambda row: row is not None and row["diterima"] == 3000, timeout=20)
    assert (row["diminta"], row["diterima"], row["kurang"]) == (5000, 3000, 2000)


async def test_blanks_are_received_against_an_usulan_right_after_it_is_sent(
        ledger: dict[str, Any], ledger_db: Any, kafka_producer: Any) -> None:
    admin = await create_office_key(ledger_db, role=Role.DINAS_ADMIN)
    # A busy warehouse: the ledger has these to work through (each refused, far above the stock) before it
    # reads the usulan, which goes on the same partition.
    await asyncio.gather(*[kafka_producer.send_and_wait(
        topic_in(ledger["env"], STOCK.name), _event(BlankSpoiled, SpoiledPayload(
            location_id="gudang", quantity=10**6, reason="blangko_rusak")).model_dump_json().encode(),
        key=b"gudang") for _ in range(BACKLOG)])
    async with httpx.AsyncClient(base_url=ledger["inventory"].url, timeout=30) as client:
        sent = await post(client, "/replenishment", admin, {"letter_no": f"470/{uuid.uuid4().hex[:6]}/DUK/2026",
                                                            "quantity": 200})
        assert sent.status_code == 201, sent.text
        request_id = sent.json()["usulan"]
        # At once, before the ledger has read the usulan's event back from Kafka.
        received = await post(client, "/receipts", admin, {"quantity": 200, "request_id": request_id,
                                                           "document_no": f"BA-{uuid.uuid4().hex[:6]}"})
        # Accepted: booked at once (201), or kept in Kafka while the ledger works through its backlog (202).
        assert received.status_code in (201, 202), received.text
        row = await eventually(lambda: _usulan_row(client, admin, request_id),
                               lambda row: row is not None and row["diterima"] == 200, timeout=60)
    assert (row["diminta"], row["kurang"]) == (200, 0)


async def test_an_usulan_letter_number_is_sent_once(ledger: dict[str, Any], ledger_db: Any) -> None:
    admin = await create_office_key(ledger_db, role=Role.DINAS_ADMIN)
    letter = f"470/{uuid.uuid4().hex[:6]}/DUK/2026"
    async with httpx.AsyncClient(base_url=ledger["inventory"].url, timeout=30) as client:
        first = await post(client, "/replenishment", admin, {"letter_no": letter, "quantity": 5000})
        assert first.status_code == 201, first.text
        again = await post(client, "/replenishment", admin, {"letter_no": letter, "quantity": 5000})
        assert again.status_code == 409, again.text
        assert letter in again.json()["detail"] and first.json()["usulan"] in again.json()["detail"]
        await eventually(lambda: _usulan_row(client, admin, first.json()["usulan"]), lambda row: row is not None,
                         timeout=20)
        rows = (await client.get("/replenishment", headers={"X-API-Key": admin})).json()
    assert [row["nomor_surat"] for row in rows].count(letter) == 1


async def test_a_count_refused_as_stale_no_longer_waits_for_approval(ledger: dict[str, Any], ledger_db: Any) -> None:
    station = ledger["station"]
    admin = await create_office_key(ledger_db, role=Role.DINAS_ADMIN)
    own = await create_office_key(ledger_db, role=Role.PRINT_STATION, office_id=station)
    async with httpx.AsyncClient(base_url=ledger["inventory"].url, timeout=30) as client:
        stock = (await client.get(f"/locations/{station}", headers={"X-API-Key": own})).json()
        proposed = await post(client, "/counts", own, {"location_id": station, "counted": stock["ada"] + stock["dipesan"] + 3,
                                                       "reason": "stock opname mingguan"})
        assert proposed.status_code == 202, proposed.text
        count_id = proposed.json()["count_id"]
        moved = await post(client, "/receipts", admin, {"location_id": station, "quantity": 2,
                                                        "document_no": f"BA-{uuid.uuid4().hex[:6]}"})
        assert moved.status_code == 201, moved.text
        stale = await post(client, f"/counts/{count_id}/approve", admin, {"approved_by": "Kabid"})
        assert stale.status_code == 409, stale.text
        assert "berubah sejak hitungan diajukan" in stale.json()["detail"]
        listed = await client.get("/counts", headers={"X-API-Key": admin})
        assert count_id not in [c["count_id"] for c in listed.json()]
        again = await post(client, f"/counts/{count_id}/approve", admin, {"approved_by": "Kabid"})
        assert again.status_code == 409, again.text
        assert "ditolak" in again.json()["detail"] and "berubah sejak hitungan diajukan" in again.json()["detail"]
