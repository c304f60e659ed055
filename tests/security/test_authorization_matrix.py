"""Every endpoint of every service (from the running services' OpenAPI documents) against every role
in its own kecamatan, another kecamatan and (dinas roles) none, without a key, with an unknown and
with a revoked key. The table below says who may; everyone else must be refused (401 without a
valid key, 403 or 404 with one), and an allowed answer that is filtered must not show the target."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from shared.areas import load_areas
from shared.auth import OFFICES_COLLECTION, OfficeDirectory
from shared.clock import system_clock
from shared.contracts import Role
from shared.pseudonym import resident_pseudonym
from shared.settings import InfraSettings
from tests.integration.helpers import create_office_key, eventually, synthetic_resident
from tests.security.conftest import SERVICES, endpoints, openapi

pytestmark = [pytest.mark.infra, pytest.mark.timeout(900)]

A, B = "17.02.07", "17.02.10"          # the target's kecamatan, and another one
DESA_A = "17.02.07.2001"
STATION_A, STATION_B = "kec-padang-ulak-tanding", "dinas-curup"  # print stations serving A and B
ROLES = {"kec": Role.KECAMATAN_OFFICE, "field": Role.FIELD_TEAM, "station": Role.PRINT_STATION,
         "admin": Role.DINAS_ADMIN, "system": Role.SYSTEM}
OFFICES = [f"{r}:{s}" for r in ("kec", "field", "station") for s in ("own", "other")] + \
          [f"{r}:{s}" for r in ("admin", "system") for s in ("own", "other", "none")]
NO_VALID_KEY = ["anon", "unknown", "revoked"]
CALLERS = OFFICES + NO_VALID_KEY

# Who may: own = an office of the target's kecamatan A (a print station: the station serving A),
# other = an office of kecamatan B (the station serving B), none = an office without a kecamatan.
ADMIN = {"admin:own", "admin:other", "admin:none"}
DINAS = ADMIN | {"system:own", "system:other", "system:none"}
OF_A = {"kec:own", "field:own", "station:own", "system:own"}
AUTHENTICATED = set(OFFICES)
EVERYONE = set(CALLERS)
ALLOWED: dict[tuple[str, str, str], set[str]] = {
    # intake: the roster is kept by the kecamatan's own office and the dinas admin
    ("intake", "POST", "/residents"): ADMIN | {"kec:own"},
    ("intake", "POST", "/residents/periksa"): AUTHENTICATED,  # checks a NIK's rules, reads and stores nothing
    ("intake", "PUT", "/residents/{resident_id}"): ADMIN | {"kec:own"},
    ("intake", "POST", "/residents/{resident_id}/keluar"): ADMIN | {"kec:own"},
    ("intake", "GET", "/residents/{resident_id}"): ADMIN | {"kec:own"},
    ("intake", "GET", "/cohort"): ADMIN | {"kec:own"},
    ("intake", "GET", "/reviews"): ADMIN | {"kec:own", "kec:other"},
    ("intake", "POST", "/reviews/{resident_id}/bukan-duplikat"): ADMIN | {"kec:own"},
    ("intake", "POST", "/imports/dapodik"): ADMIN | {"kec:own", "kec:other"},
    ("intake", "POST", "/imports/penduduk"): ADMIN | {"kec:own", "kec:other"},
    ("intake", "GET", "/imports/{job_id}"): ADMIN | {"kec:own"},  # the uploading office
    # recording: visits by the kecamatan's office, opened and closed by its field team too
    ("recording", "POST", "/visits"): ADMIN | {"kec:own"},
    ("recording", "POST", "/visits/{visit_id}/buka"): ADMIN | {"kec:own", "field:own"},
    ("recording", "POST", "/visits/{visit_id}/tutup"): ADMIN | {"kec:own", "field:own"},
    ("recording", "GET", "/visits/{visit_id}"): ADMIN | OF_A,
    ("recording", "GET", "/visits"): ADMIN | OF_A,
    ("recording", "POST", "/batches"): ADMIN | {"kec:own", "kec:other", "field:own", "field:other"},
    ("recording", "POST", "/siak/status"): ADMIN,
    ("recording", "POST", "/siak/import"): ADMIN,
    ("recording", "GET", "/residents/{resident_id}/status"): ADMIN | OF_A,
    ("recording", "GET", "/stuck"): ADMIN | OF_A,
    ("recording", "GET", "/walk-ins"): ADMIN | {"kec:own"},
    # printing: a job is seen by the admin, its station and its kecamatan's office
    ("printing", "GET", "/stations"): AUTHENTICATED,
    ("printing", "GET", "/stations/{station_id}/queue"): AUTHENTICATED,
    ("printing", "GET", "/jobs/{job_id}"): ADMIN | {"kec:own", "station:own"},
    ("printing", "POST", "/reprints"): ADMIN | {"kec:own"},
    ("printing", "POST", "/jobs/{job_id}/handover"): ADMIN | {"kec:own", "station:own"},
    ("printing", "POST", "/school-deliveries"): ADMIN | {"station:own"},
    ("printing", "GET", "/school-deliveries"): AUTHENTICATED,  # each office sees the deliveries it may see
    # the school's receipt: never by a print station (the sender), by the kecamatan's office or the admin
    ("printing", "POST", "/school-deliveries/{delivery_id}/acknowledge"): ADMIN | {"kec:own"},
    ("printing", "GET", "/residents/{resident_id}/cards"): ADMIN | {"kec:own"},
    # who read a resident's data: the dinas only, in every service that shows personal data
    ("intake", "GET", "/audit/pembacaan"): ADMIN,
    ("coverage", "GET", "/audit/pembacaan"): ADMIN,
    ("printing", "GET", "/audit/pembacaan"): ADMIN,
    ("recording", "GET", "/audit/pembacaan"): ADMIN,
    # inventory: stock figures for any office; the ledger moved by the admin, a station at its own location
    ("inventory", "GET", "/locations"): AUTHENTICATED,
    ("inventory", "GET", "/locations/{location_id}"): AUTHENTICATED,
    ("inventory", "GET", "/ledger/check"): AUTHENTICATED,
    ("inventory", "GET", "/alerts/low-stock"): AUTHENTICATED,
    ("inventory", "GET", "/replenishment/suggestion"): AUTHENTICATED,
    ("inventory", "GET", "/replenishment"): AUTHENTICATED,
    ("inventory", "POST", "/receipts"): ADMIN,
    ("inventory", "POST", "/returns"): ADMIN,
    ("inventory", "POST", "/replenishment"): ADMIN,
    ("inventory", "POST", "/transfers"): ADMIN | {"station:own"},
    ("inventory", "POST", "/transfers/{transfer_id}/receive"): ADMIN | {"station:own"},
    ("inventory", "POST", "/spoilage"): ADMIN | {"station:own"},
    ("inventory", "POST", "/counts"): ADMIN | {"station:own"},  # a station's changing count waits (202)
    ("inventory", "GET", "/counts"): AUTHENTICATED,
    ("inventory", "POST", "/counts/{count_id}/approve"): ADMIN,
    # coverage: counts are public; lists of people for dinas and the kecamatan's own office and team
    ("coverage", "GET", "/coverage"): EVERYONE,
    ("coverage", "GET", "/coverage/areas"): EVERYONE,
    ("coverage", "GET", "/coverage/series"): EVERYONE,
    ("coverage", "GET", "/backlog"): EVERYONE,
    ("coverage", "GET", "/stock"): EVERYONE,
    ("coverage", "GET", "/stock/series"): EVERYONE,
    ("coverage", "GET", "/planner/visits"): EVERYONE,
    ("coverage", "GET", "/dasbor"): EVERYONE,
    ("coverage", "POST", "/status-ktp"): EVERYONE,  # a resident's own lookup: NIK and birth date, no name
    ("coverage", "GET", "/dasbor/kecamatan/{code}"): EVERYONE,
    ("coverage", "GET", "/unrecorded"): DINAS | {"kec:own", "field:own"},
    ("coverage", "GET", "/planner/home-visits"): DINAS | {"kec:own", "field:own"},
}
# Pages served outside the OpenAPI documents (the dashboard's HTML), checked with the endpoints.
PAGES = {("coverage", "GET", "/dasbor"), ("coverage", "GET", "/dasbor/kecamatan/{code}")}
# Allowed, but answered for the caller's own scope only: the target must not show.
FILTERED: dict[tuple[str, str, str], set[str]] = {
    ("intake", "GET", "/reviews"): {"kec:other"},
    ("intake", "POST", "/imports/dapodik"): {"kec:other"},
    ("intake", "POST", "/imports/penduduk"): {"kec:other"},
    ("recording", "POST", "/batches"): {"kec:other", "field:other"},
    ("printing", "GET", "/stations/{station_id}/queue"): AUTHENTICATED - (ADMIN | {"kec:own", "station:own"}),
}
# A refusal other than 403/404: a reprint for a resident whose cards the office cannot see answers as
# if the resident had never been printed (409), revealing nothing.
OTHER_REFUSALS: dict[tuple[str, str, str], dict[str, int]] = {
    ("printing", "POST", "/reprints"): {"kec:other": 409},
}


@dataclass
class Call:
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    files: dict[str, Any] | None = None
    secrets: list[str] = field(default_factory=list)   # must not appear in a filtered answer
    check: Callable[[httpx.Response, bool], str | None] | None = None  # (answer, filtered) -> problem


@dataclass
class World:
    clients: dict[str, httpx.AsyncClient]
    db: Any
    admin: dict[str, str]
    keys: dict[str, str]
    rng: random.Random
    resident_a: str = ""
    nik_a: str = ""
    review_a: str = ""
    job_a: str = ""
    import_job: str = ""
    visit_a: str = ""
    csv: bytes = b""

    async def register(self) -> tuple[str, dict[str, Any]]:
        body = synthetic_resident(self.rng, kecamatan=A, desa=DESA_A)
        answer = await self.clients["intake"].post("/residents", json=body, headers=self.admin)
        assert answer.status_code == 201, answer.text
        return answer.json()["resident_id"], body

    async def flagged(self) -> str:
        """A resident flagged as possibly the same person as another (a twin under the next NIK)."""
        _, body = await self.register()
        twin = {**body, "nik": body["nik"][:12] + f"{int(body['nik'][12:]) % 9998 + 1:04d}"}
        answer = await self.clients["intake"].post("/residents", json=twin, headers=self.admin)
        assert answer.status_code == 201 and answer.json()["perlu_tinjauan"], answer.text
        return str(answer.json()["resident_id"])

    async def visit(self, *, opened: bool = False) -> str:
        visit_id = f"mx-{uuid.uuid4().hex[:12]}"
        body = {"visit_id": visit_id, "date": dt.date.today().isoformat(), "kind": "desa", "place_code": DESA_A,
                "kecamatan_code": A, "team": "tim-uji", "targets": []}
        answer = await self.clients["recording"].post("/visits", json=body, headers=self.admin)
        assert answer.status_code == 201, answer.text
        if opened:
            answer = await self.clients["recording"].post(f"/visits/{visit_id}/buka", headers=self.admin)
            assert answer.status_code == 200, answer.text
        return visit_id

    async def printed_job(self) -> str:
        """A printed card of a student (of school 10700123) of A at the station serving A (put straight into the
        printing store)."""
        job_id, now, resident = f"job-mx{uuid.uuid4().hex[:20]}", system_clock(), "r" + uuid.uuid4().hex
        await self.db["print_resident_schools"].insert_one({"_id": resident, "school_npsn": "10700123"})
        await self.db["print_jobs"].insert_one({
            "_id": job_id, "station_id": STATION_A, "resident_id": resident, "kecamatan_code": A,
            "desa_code": DESA_A, "reason": "pertama", "priority_class": "pertama_lainnya", "rank": 2,
            "wajib_ktp_from": None, "lansia": False, "disabilitas": False, "queued_at": now, "status": "dicetak",
            "attempt": 1, "reservation_id": None, "source_event_id": str(uuid.uuid4()), "printed_at": now})
        return job_id

    async def delivery(self) -> str:
        delivery_id = f"kirim-mx{uuid.uuid4().hex[:10]}"
        await self.db["print_school_deliveries"].insert_one({
            "_id": delivery_id, "station_id": STATION_A, "school_npsn": "10700123", "kecamatan_code": A,
            "job_ids": [await self.printed_job()], "sent_at": system_clock(), "acknowledged_at": None})
        return delivery_id

    async def resident_with_card(self) -> str:
        job = await self.db["print_jobs"].find_one({"_id": await self.printed_job()})
        return str(job["resident_id"])

    async def waiting_count(self) -> str:
        """A station count at A that changes the stock by one, waiting for a dinas approval."""
        ledger = await self.db["blangko_locations"].find_one({"_id": STATION_A}) or {}
        total, count_id = int(ledger.get("on_hand", 0)) + int(ledger.get("reserved", 0)), f"opname-{uuid.uuid4().hex}"
        await self.db["blangko_count_proposals"].insert_one({
            "_id": count_id, "location_id": STATION_A, "counted": total + 1, "reason": "stock opname uji",
            "proposed_by": STATION_A, "proposed_at": system_clock(), "ledger_total": total, "approved_by": None,
            "approving_office": None, "event_id": None})
        return count_id

    async def transfer_to_a(self) -> str:
        answer = await self.clients["inventory"].post(
            "/transfers", json={"from_location": "gudang", "to_location": STATION_A, "quantity": 1},
            headers=self.admin)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["transfer_id"])


def dapodik_csv(rng: random.Random) -> bytes:
    """A one-student Dapodik file of kecamatan A, a file of its own for each world: the same file uploaded
    again by the same office answers its earlier job (200), and worlds share the module's database."""
    kecamatan = load_areas().kecamatan[A]
    village = next(v for v in kecamatan.villages if v.code == DESA_A)
    birth = dt.date(2008, 5, 17)
    nik = f"{kecamatan.nik_digits}{birth.day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
    rows = ["NISN;NIK;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;Desa/Kelurahan",
            f"{rng.randrange(10**10):010d};{nik};Siswa Matriks;Laki-laki;Curup;17/05/2008;10700123;SMA Uji;"
            f"{kecamatan.name};{village.name}"]
    return ("\n".join(rows) + "\n").encode()


def batch_result(answer: httpx.Response, filtered: bool) -> str | None:
    outcome = answer.json()["hasil"][0]["hasil"]
    expected = "ditolak" if filtered else "diterima"
    return None if outcome == expected else f"event answered {outcome!r}, expected {expected!r}"


def import_scope(answer: httpx.Response, filtered: bool) -> str | None:
    return "rows of another kecamatan were accepted" if filtered and answer.json().get("valid_rows") else None


async def call_for(world: World, service: str, method: str, path: str) -> Call:
    """A request on `path` about a target in kecamatan A; write routes get a fresh target each time."""
    w, today = world, dt.date.today()
    match (service, method, path):
        case ("intake", "POST", "/residents"):
            return Call(path, json=synthetic_resident(w.rng, kecamatan=A, desa=DESA_A))
        case ("coverage", "POST", "/status-ktp"):
            return Call(path, json={"nik": w.nik_a, "tanggal_lahir": "2007-01-01"})
        case ("intake", "POST", "/residents/periksa"):
            return Call(path, json={"nik": w.nik_a})
        case ("intake", "PUT", "/residents/{resident_id}"):
            resident, body = await w.register()
            return Call(f"/residents/{resident}", json={**body, "name": "Nama Dikoreksi", "reason": "salah ketik"})
        case ("intake", "POST", "/residents/{resident_id}/keluar"):
            resident, _ = await w.register()
            return Call(f"/residents/{resident}/keluar", json={"reason": "pindah", "effective_date": today.isoformat()})
        case ("intake", "GET", "/residents/{resident_id}"):
            return Call(f"/residents/{w.resident_a}", secrets=[w.nik_a])
        case ("intake", "GET", "/cohort"):
            return Call(path, params={"tanggal": (today + dt.timedelta(days=365)).isoformat(), "kecamatan_code": A})
        case ("intake", "GET", "/reviews"):
            return Call(path, secrets=[w.review_a])
        case ("intake", "POST", "/reviews/{resident_id}/bukan-duplikat"):
            return Call(f"/reviews/{await w.flagged()}/bukan-duplikat",
                        json={"catatan": "KK dan foto dibandingkan: orang lain"})
        case ("intake", "POST", "/imports/dapodik") | ("intake", "POST", "/imports/penduduk"):
            return Call(path, files={"file": ("data.csv", w.csv, "text/csv")}, check=import_scope)
        case ("intake", "GET", "/imports/{job_id}"):
            return Call(f"/imports/{w.import_job}")
        case ("recording", "POST", "/visits"):
            return Call(path, json={"visit_id": f"mx-{uuid.uuid4().hex[:12]}", "date": today.isoformat(),
                                    "kind": "desa", "place_code": DESA_A, "kecamatan_code": A, "team": "tim-uji",
                                    "targets": []})
        case ("recording", "POST", "/visits/{visit_id}/buka"):
            return Call(f"/visits/{await w.visit()}/buka")
        case ("recording", "POST", "/visits/{visit_id}/tutup"):
            return Call(f"/visits/{await w.visit(opened=True)}/tutup")
        case ("recording", "GET", "/visits/{visit_id}"):
            return Call(f"/visits/{w.visit_a}")
        case ("recording", "GET", "/visits"):
            return Call(path, params={"kecamatan_code": A})
        case ("recording", "POST", "/batches"):
            event = {"event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": w.resident_a,
                     "device_id": "tab-mx", "operator": "petugas",
                     "device_time": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
                     "biometrics": ["foto", "sidik_jari", "iris", "tanda_tangan"]}
            return Call(path, json={"device_id": "tab-mx", "events": [event]}, check=batch_result)
        case ("recording", "POST", "/siak/status"):
            return Call(path, json={"updates": [{"resident_id": w.resident_a, "status": "SFE",
                                                 "status_at": dt.datetime.now(dt.UTC).isoformat()}]})
        case ("recording", "POST", "/siak/import"):
            text = f"NIK;STATUS;TANGGAL\n{w.nik_a};SFE;{today.isoformat()}\n".encode()
            return Call(path, files={"file": ("siak.csv", text, "text/csv")})
        case ("recording", "GET", "/residents/{resident_id}/status"):
            return Call(f"/residents/{w.resident_a}/status")
        case ("recording", "GET", "/stuck") | ("recording", "GET", "/walk-ins"):
            return Call(path, params={"kecamatan_code": A})
        case ("printing", "GET", "/stations/{station_id}/queue"):
            return Call(f"/stations/{STATION_A}/queue", secrets=[w.job_a])
        case ("printing", "GET", "/school-deliveries"):
            return Call(path, params={"kecamatan_code": A})
        case ("printing", "GET", "/jobs/{job_id}"):
            return Call(f"/jobs/{w.job_a}")
        case ("printing", "POST", "/reprints"):
            job = await w.db["print_jobs"].find_one({"_id": await w.printed_job()})
            return Call(path, json={"resident_id": job["resident_id"], "reason": "hilang"})
        case ("printing", "POST", "/jobs/{job_id}/handover"):
            return Call(f"/jobs/{await w.printed_job()}/handover")
        case ("printing", "POST", "/school-deliveries"):
            return Call(path, json={"school_npsn": "10700123", "job_ids": [await w.printed_job()]})
        case ("printing", "POST", "/school-deliveries/{delivery_id}/acknowledge"):
            return Call(f"/school-deliveries/{await w.delivery()}/acknowledge", json={"received_by": "Kepala Sekolah"})
        case ("printing", "GET", "/residents/{resident_id}/cards"):
            return Call(f"/residents/{await w.resident_with_card()}/cards")
        case (_, "GET", "/audit/pembacaan"):
            return Call(path, params={"resident_id": w.resident_a})
        case ("inventory", "POST", "/counts/{count_id}/approve"):
            return Call(f"/counts/{await w.waiting_count()}/approve", json={"approved_by": "Kepala Bidang"})
        case ("inventory", "GET", "/locations/{location_id}"):
            return Call(f"/locations/{STATION_A}")
        case ("inventory", "POST", "/receipts"):
            return Call(path, json={"location_id": "gudang", "quantity": 1, "document_no": f"BA/MX/{uuid.uuid4().hex[:8]}"})
        case ("inventory", "POST", "/transfers"):
            return Call(path, json={"from_location": STATION_A, "to_location": "gudang", "quantity": 1})
        case ("inventory", "POST", "/transfers/{transfer_id}/receive"):
            return Call(f"/transfers/{await w.transfer_to_a()}/receive")
        case ("inventory", "POST", "/spoilage"):
            return Call(path, json={"location_id": STATION_A, "quantity": 1, "reason": "blangko_rusak"})
        case ("inventory", "POST", "/counts"):
            return Call(path, json={"location_id": STATION_A, "counted": 200, "reason": "stock opname uji",
                                    "approved_by": "Kepala Bidang"})
        case ("inventory", "POST", "/returns"):
            return Call(path, json={"location_id": STATION_A, "quantity": 1, "berita_acara_no": "BA/RET/MX"})
        case ("inventory", "POST", "/replenishment"):
            return Call(path, json={"letter_no": f"470/MX/{uuid.uuid4().hex[:8]}", "quantity": 10})
        case ("coverage", "GET", "/dasbor/kecamatan/{code}"):
            return Call(f"/dasbor/kecamatan/{A}")
        case ("coverage", "GET", "/unrecorded"):
            return Call(path, params={"desa": DESA_A})
        case ("coverage", "GET", "/planner/home-visits"):
            return Call(path, params={"kecamatan": A})
    assert "{" not in path, f"no request made for {service} {method} {path}: add it to call_for"
    return Call(path)


@pytest.fixture
async def world(services: dict[str, Any], db: Any) -> AsyncIterator[World]:
    clients = {name: httpx.AsyncClient(base_url=services[name].url, timeout=60) for name in SERVICES}
    admin = {"X-API-Key": await create_office_key(db, role=Role.DINAS_ADMIN, office_id="mx-setup")}
    keys: dict[str, str] = {}
    for caller in OFFICES:
        role, scope = caller.split(":")
        kecamatan = {"own": A, "other": B, "none": None}[scope]
        office_id = {"own": STATION_A, "other": STATION_B}[scope] if role == "station" else f"mx-{role}-{scope}"
        keys[caller] = await create_office_key(db, role=ROLES[role], kecamatan=kecamatan, office_id=office_id)
    keys["unknown"] = "ektp_" + uuid.uuid4().hex
    keys["revoked"] = await create_office_key(db, role=Role.DINAS_ADMIN, office_id="mx-revoked")
    assert await OfficeDirectory(db[OFFICES_COLLECTION]).revoke("mx-revoked", now=system_clock())
    w = World(clients, db, admin, keys, random.Random())
    w.resident_a, body = await w.register()
    w.nik_a = body["nik"]
    assert w.resident_a == resident_pseudonym(w.nik_a, key=InfraSettings().pseudonym_key.get_secret_value())
    w.review_a = await w.flagged()
    w.csv = dapodik_csv(w.rng)
    answer = await clients["intake"].post("/imports/dapodik", files={"file": ("data.csv", w.csv, "text/csv")},
                                          headers={"X-API-Key": keys["kec:own"]})
    assert answer.status_code == 202, answer.text
    w.import_job = answer.json()["job_id"]
    w.visit_a = await w.visit()
    inventory = clients["inventory"]
    for path, body in (("/receipts", {"quantity": 1000, "document_no": f"BA/MX/{uuid.uuid4().hex[:8]}"}),
                       ("/transfers", {"from_location": "gudang", "to_location": STATION_A, "quantity": 300})):
        answer = await inventory.post(path, json=body, headers=admin)
        assert answer.status_code == 201, answer.text
    answer = await inventory.post(f"/transfers/{answer.json()['transfer_id']}/receive", headers=admin)
    assert answer.status_code == 201, answer.text
    answer = await inventory.post("/spoilage", json={"location_id": STATION_A, "quantity": 5,
                                                     "reason": "blangko_rusak"}, headers=admin)
    assert answer.status_code == 201, answer.text
    w.job_a = await w.printed_job()
    await db["print_jobs"].update_one({"_id": w.job_a}, {"$set": {"status": "siap_cetak", "reservation_id": "mx"}})

    async def recording_knows() -> Any:
        return await db["recording_residents"].find_one({"_id": w.resident_a, "in_roster": True})

    await eventually(recording_knows, lambda doc: doc is not None, timeout=60)
    coverage_residents = db[f"{services['coverage'].env['EKTP_COVERAGE_COLLECTION_PREFIX']}_residents"]
    await eventually(lambda: coverage_residents.find_one({"_id": w.resident_a}),  # coverage's projection too
                     lambda doc: doc is not None, timeout=60)
    yield w
    for client in clients.values():
        await client.aclose()


async def ask(world: World, service: str, method: str, call: Call, caller: str) -> httpx.Response:
    headers = {} if caller == "anon" else {"X-API-Key": world.keys[caller]}
    return await world.clients[service].request(method, call.path, params=call.params, json=call.json,
                                                files=call.files, headers=headers)


async def test_every_endpoint_refuses_every_caller_the_table_does_not_allow(
        services: dict[str, Any], world: World) -> None:
    found = {(name, method, path) for name, service in services.items()
             for method, path in endpoints(await openapi(service.url))} | PAGES
    assert found == set(ALLOWED), {"without a row in the table": sorted(found - set(ALLOWED)),
                                   "in the table but not served": sorted(set(ALLOWED) - found)}
    problems: list[str] = []
    allowed = 0
    for service, method, path in sorted(found):
        for caller in CALLERS:
            call = await call_for(world, service, method, path)
            answer = await ask(world, service, method, call, caller)
            where = f"{service} {method} {path} as {caller}: {answer.status_code}"
            if caller in ALLOWED[(service, method, path)]:
                allowed += 1
                filtered = caller in FILTERED.get((service, method, path), set())
                if not answer.is_success:
                    problems.append(f"{where} (allowed) {answer.text[:200]}")
                    continue
                if filtered and any(secret in answer.text for secret in call.secrets):
                    problems.append(f"{where}: the answer shows the target of kecamatan {A}")
                if call.check and (problem := call.check(answer, filtered)):
                    problems.append(f"{where}: {problem}")
            elif caller in NO_VALID_KEY:
                if answer.status_code != 401:
                    problems.append(f"{where} (expected 401) {answer.text[:200]}")
            else:
                refusals = {403, 404, OTHER_REFUSALS.get((service, method, path), {}).get(caller, 403)}
                if answer.status_code not in refusals:
                    problems.append(f"{where} (expected one of {sorted(refusals)}) {answer.text[:200]}")
    checked = len(found) * len(CALLERS)
    print(f"\nauthorization matrix: {len(found)} endpoints x {len(CALLERS)} callers = {checked} combinations "
          f"checked, {allowed} allowed, {checked - allowed} refused")
    assert not problems, "\n".join(problems)
