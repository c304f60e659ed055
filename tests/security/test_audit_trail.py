"""Reads of personal data leave exactly one audit record per answered request, refused reads none;
and no other endpoint answers with a NIK, a name or a birth date."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.helpers import eventually
from tests.security import test_authorization_matrix as matrix
from tests.security.conftest import endpoints, openapi
from tests.security.test_authorization_matrix import DESA_A, PAGES, Call, World, ask, call_for

pytestmark = [pytest.mark.infra, pytest.mark.timeout(600)]

# The endpoints that answer with personal data, the collection their reads are written to and the action.
AUDITED = {
    ("intake", "GET", "/residents/{resident_id}"): ("audit_log", "baca_penduduk"),
    ("intake", "GET", "/cohort"): ("audit_log", "baca_kohort"),
    ("coverage", "GET", "/unrecorded"): ("coverage_audit_log", "baca_belum_rekam"),
    ("coverage", "GET", "/planner/home-visits"): ("coverage_audit_log", "baca_kunjungan_rumah"),
    ("printing", "GET", "/residents/{resident_id}/cards"): ("print_audit_log", "baca_riwayat_kartu"),
}
# The reads that show at least one resident of the test world (the others may show none).
SHOWING_SOMEONE = {("intake", "GET", "/residents/{resident_id}"), ("coverage", "GET", "/unrecorded"),
                   ("printing", "GET", "/residents/{resident_id}/cards")}
READS = 3
world = matrix.world  # the matrix's offices and residents of kecamatan A


async def personal_data_of_a(world: World) -> list[str]:
    doc = await world.db["intake_roster"].find_one({"_id": world.resident_a})
    assert doc is not None
    return [world.nik_a, doc["name"], str(doc["birth_date"])[:10]]


async def test_only_the_audited_endpoints_answer_with_personal_data(services: dict[str, Any], world: World) -> None:
    personal = await personal_data_of_a(world)

    async def listed() -> str:
        return (await ask(world, "coverage", "GET", Call("/unrecorded", params={"desa": DESA_A}), "admin:none")).text

    await eventually(listed, lambda text: world.nik_a in text, timeout=120)
    showing = set()
    reads = 0
    for name, service in services.items():
        for method, path in endpoints(await openapi(service.url)) + sorted(p[1:] for p in PAGES if p[0] == name):
            if method != "GET":
                continue
            call = await call_for(world, name, method, path)
            answer = await ask(world, name, method, call, "admin:none")
            assert answer.is_success, (name, path, answer.status_code, answer.text[:200])
            reads += 1
            if any(value in answer.text for value in personal):
                showing.add((name, method, path))
    print(f"\npersonal data: {reads} read endpoints asked as the dinas admin, {len(showing)} answer with a "
          f"NIK, name or birth date, all of them audited")
    assert showing <= set(AUDITED), sorted(showing - set(AUDITED))
    assert ("intake", "GET", "/residents/{resident_id}") in showing and ("coverage", "GET", "/unrecorded") in showing


async def count(world: World, collection: str, office_id: str, action: str) -> int:
    return int(await world.db[collection].count_documents({"office_id": office_id, "action": action}))


@pytest.mark.parametrize("route", sorted(AUDITED), ids=lambda r: f"{r[0]}{r[2]}")
async def test_each_read_leaves_exactly_one_record_and_a_refused_read_none(
        services: dict[str, Any], world: World, route: tuple[str, str, str]) -> None:
    collection, action = AUDITED[route]
    service, method, path = route
    office, other, admin = "mx-kec-own", "mx-kec-other", "mx-admin-none"
    before = {o: await count(world, collection, o, action) for o in (office, other, admin)}
    total = await world.db[collection].count_documents({})
    for _ in range(READS):
        answer = await ask(world, service, method, await call_for(world, service, method, path), "kec:own")
        assert answer.status_code == 200, answer.text
    answer = await ask(world, service, method, await call_for(world, service, method, path), "admin:none")
    assert answer.status_code == 200, answer.text
    for caller, status in (("kec:other", 403), ("field:other", 403), ("station:own", 403), ("anon", 401),
                           ("revoked", 401)):
        answer = await ask(world, service, method, await call_for(world, service, method, path), caller)
        assert answer.status_code == status, (caller, answer.status_code, answer.text)
    after = {o: await count(world, collection, o, action) for o in (office, other, admin)}
    assert after[office] - before[office] == READS, "one record per answered read"
    assert after[admin] - before[admin] == 1
    assert after[other] == before[other], "a refused read leaves no record (the code writes none)"
    assert await world.db[collection].count_documents({}) == total + READS + 1, "nothing else was written"
    record = await world.db[collection].find_one({"office_id": office, "action": action}, sort=[("at", -1)])
    assert record is not None and record["at"] is not None
    assert not any(isinstance(v, str) and len(v) == 16 and v.isdigit() for v in record.values()), "no NIK kept"


@pytest.mark.parametrize("route", sorted(AUDITED), ids=lambda r: f"{r[0]}{r[2]}")
async def test_a_read_names_whose_data_it_showed_and_the_dinas_asks_who_read_a_resident(
        services: dict[str, Any], world: World, route: tuple[str, str, str]) -> None:
    collection, action = AUDITED[route]
    service, method, path = route
    answer = await ask(world, service, method, await call_for(world, service, method, path), "kec:own")
    assert answer.status_code == 200, answer.text
    record = await world.db[collection].find_one({"office_id": "mx-kec-own", "action": action}, sort=[("at", -1)])
    assert record is not None
    shown = record["resident_ids"]
    assert len(shown) == record["residents"] and all(r.startswith("r") and not r.isdigit() for r in shown), shown
    if route in SHOWING_SOMEONE:
        assert shown, "the read showed a resident, the record names them"
    if not shown:
        return
    who = Call("/audit/pembacaan", params={"resident_id": shown[0]})
    asked = await ask(world, service, "GET", who, "admin:none")
    assert asked.status_code == 200, asked.text
    assert any(r["kantor"] == "mx-kec-own" and r["tindakan"] == action and r["jumlah_penduduk"] == len(shown)
               for r in asked.json()["pembacaan"]), asked.json()
    for office in ("kec:own", "station:own", "system:own"):
        assert (await ask(world, service, "GET", who, office)).status_code == 403
