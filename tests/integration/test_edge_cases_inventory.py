"""The blangko ledger tried as a print station in a hurry would, on the running inventory (and coverage)
services: a stock count booked without the dinas, and coverage's figures next to the ledger's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from tests.integration.helpers import create_office_key, isolated_env
from tests.integration.printing_helpers import write_stations

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def ledger(start_service: Any, infra_env: dict[str, str], tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    """Inventory and coverage on topics, a database and stations of this module alone."""
    env = isolated_env(infra_env, "blangko")
    prefix = "ek" + uuid.uuid4().hex[:6]
    env.update(write_stations(Path(tmp_path_factory.mktemp("stations")) / "stations.csv", prefix))
    running = {"inventory": start_service("inventory", **env), "coverage": start_service("coverage", **env)}
    yield {**running, "env": env, "station": f"{prefix}-pusat"}
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
        received = await post(client, "/receipts", admin, {"location_id": station, "quantity": 10, "document_no": "BA/1"})
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
