"""Print-station operators (and the dinas): the station's queue in priority order, cards printed today
with their hand-over, blangko on hand and days of stock, and a spoiled blank with its reason."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from services.web.accounts import Account
from services.web.context import CheckedForm, Refused, SignedIn, Visitor, WebParts, only, page
from services.web.formatting import WIB
from services.web.gateway import Gateway
from shared.contracts import Role
from shared.contracts.printing import PriorityClass
from shared.stations import STATION_ID

router = APIRouter()
OPERATES = (Role.PRINT_STATION, Role.DINAS_ADMIN)
SPOIL_REASONS = {"blangko_rusak": "Blangko rusak", "laminasi_terkelupas": "Laminasi terkelupas",
                 "salah_cetak": "Salah cetak", "printer_gagal": "Printer gagal"}
PRIORITY_NAMES = {PriorityClass.LANSIA_DISABILITAS.value: "Lansia / disabilitas",
                  PriorityClass.PEMILIH_PEMULA.value: "Pemilih pemula",
                  PriorityClass.PERTAMA_LAINNYA.value: "Cetak pertama lainnya", PriorityClass.CETAK_ULANG.value: "Cetak ulang"}


def _station_of(visitor: Visitor, station_id: str) -> None:
    only(visitor, OPERATES, "stasiun cetak")
    if not STATION_ID.fullmatch(station_id):
        raise Refused(404, "Stasiun cetak ini tidak dikenal.")
    if visitor.account.role == Role.PRINT_STATION and visitor.account.office_id != station_id:
        raise Refused(403, "Operator hanya melihat stasiun cetaknya sendiri.")


@router.get("/stasiun", include_in_schema=False)
async def stations(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, OPERATES, "stasiun cetak")
    if visitor.account.role == Role.PRINT_STATION:
        return RedirectResponse(f"/stasiun/{visitor.account.office_id}", status_code=303)
    answer = await web.gateway.call("printing", "GET", "/stations", person=visitor.account)
    if not answer.ok:
        raise Refused(502, answer.detail)
    return page(request, "stations.html", visitor, stations=answer.body)


async def _read(gateway: Gateway, person: Account, station_id: str) -> dict[str, Any]:
    queue = await gateway.call("printing", "GET", f"/stations/{station_id}/queue", person=person)
    if not queue.ok:
        raise Refused(queue.status if queue.status in (403, 404) else 502, queue.detail)
    printed = await gateway.call("printing", "GET", f"/stations/{station_id}/queue", person=person,
                                 params={"status": "dicetak", "limit": "500"})
    stock = await gateway.call("inventory", "GET", f"/locations/{station_id}", person=person)
    return {"queue": queue.body, "printed": printed.body if printed.ok else [],
            "stock": stock.body if stock.ok else None}


def _printed_today(jobs: list[dict[str, Any]], today: dt.date) -> list[dict[str, Any]]:
    return [job for job in jobs if job.get("dicetak")
            and dt.datetime.fromisoformat(job["dicetak"]).astimezone(WIB).date() == today]


@router.get("/stasiun/{station_id}", include_in_schema=False)
async def station(request: Request, station_id: str, visitor: SignedIn, web: WebParts) -> Any:
    _station_of(visitor, station_id)
    found = await _read(web.gateway, visitor.account, station_id)
    today = web.clock().astimezone(WIB).date()
    return page(request, "station.html", visitor, station_id=station_id, queue=found["queue"],
                printed=_printed_today(found["printed"], today), stock=found["stock"], reasons=SPOIL_REASONS,
                priorities=PRIORITY_NAMES, message=request.query_params.get("pesan"), form_key=uuid.uuid4().hex)


@router.post("/stasiun/{station_id}/serahkan", include_in_schema=False)
async def hand_over(request: Request, station_id: str, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    _station_of(visitor, station_id)
    job_id = str(form.get("job_id", ""))
    answer = await web.gateway.call("printing", "POST", f"/jobs/{job_id}/handover", person=visitor.account,
                                    headers={"Idempotency-Key": f"web-serah-{job_id}"[:100]})
    await web.record(visitor.account, "serahkan_kartu", job_id, str(answer.status))
    if not answer.ok:
        raise Refused(answer.status if 400 <= answer.status < 500 else 502, answer.detail)
    return RedirectResponse(f"/stasiun/{station_id}?pesan=diserahkan", status_code=303)


@router.post("/stasiun/{station_id}/rusak", include_in_schema=False)
async def spoil(request: Request, station_id: str, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    _station_of(visitor, station_id)
    reason = str(form.get("reason", ""))
    if reason not in SPOIL_REASONS:
        raise Refused(422, "Pilih alasan blangko rusak dari daftar.")
    quantity = str(form.get("quantity", "1")).strip() or "1"
    if not quantity.isdigit() or not 1 <= int(quantity) <= 1000:
        raise Refused(422, "Jumlah blangko rusak harus angka 1 sampai 1000.")
    answer = await web.gateway.call("inventory", "POST", "/spoilage", person=visitor.account, json={
        "location_id": station_id, "quantity": int(quantity), "reason": reason},
        headers={"Idempotency-Key": f"web-rusak-{form.get('formulir') or uuid.uuid4().hex}"[:100]})
    await web.record(visitor.account, "blangko_rusak", station_id, str(answer.status))
    if not answer.ok:
        raise Refused(answer.status if 400 <= answer.status < 500 else 502, answer.detail)
    return RedirectResponse(f"/stasiun/{station_id}?pesan=rusak", status_code=303)
