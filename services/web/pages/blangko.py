"""The dinas's blangko work: stock per location, receipts from the province, transfers, the stock count
(opname) approved by a second person, and the usulan to the province with the system's suggestion."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from services.web.context import CheckedForm, Refused, SignedIn, Visitor, WebParts, only, page, refusal_of
from shared.contracts import Role

router = APIRouter()
DINAS = (Role.DINAS_ADMIN,)
DONE = {"terima": "Penerimaan blangko dicatat.", "kirim": "Pengiriman blangko dicatat (dalam perjalanan sampai diterima).",
        "hitung": "Hitungan dicatat.", "hitung-menunggu": "Hitungan menunggu persetujuan orang kedua.",
        "setujui": "Hitungan disetujui; stok diset ke hitungan itu.", "usulan": "Usulan ke provinsi dikirim."}


def _number(form: dict[str, Any], name: str, what: str) -> int | None:
    text = str(form.get(name, "")).strip().replace(".", "")
    if not text:
        return None
    if not text.isdigit() or not 0 <= int(text) <= 1_000_000:
        raise Refused(422, f"{what} harus angka 0 sampai 1.000.000.")
    return int(text)


@router.get("/dinas/blangko", include_in_schema=False)
async def stock(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, DINAS, "blangko dinas")
    gateway, person = web.gateway, visitor.account
    locations = await gateway.call("inventory", "GET", "/locations", person=person)
    if not locations.ok:
        raise refusal_of(locations)
    counts = await gateway.call("inventory", "GET", "/counts", person=person)
    suggestion = await gateway.call("inventory", "GET", "/replenishment/suggestion", person=person)
    usulan = await gateway.call("inventory", "GET", "/replenishment", person=person)
    check = await gateway.call("inventory", "GET", "/ledger/check", person=person)
    return page(request, "blangko.html", visitor, locations=locations.body,
                location_names={loc["lokasi"]: loc["nama"] for loc in locations.body}, counts=counts.body if counts.ok else [],
                suggestion=suggestion.body if suggestion.ok else None, usulan=usulan.body if usulan.ok else [],
                check=check.body if check.ok else None, message=DONE.get(request.query_params.get("pesan", "")),
                form_key=uuid.uuid4().hex)


async def _post(visitor: Visitor, web: Any, form: dict[str, Any], path: str, body: dict[str, Any], action: str,
                done: str) -> Any:
    answer = await web.gateway.call("inventory", "POST", path, person=visitor.account, json=body,
                                    headers={"Idempotency-Key": f"web-{action}-{form.get('formulir', uuid.uuid4().hex)}"[:100]})
    await web.record(visitor.account, action, body.get("location_id") or body.get("to_location") or path, str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    if answer.status == 202 and action == "hitung_stok":
        done = "hitung-menunggu"
    return RedirectResponse(f"/dinas/blangko?pesan={done}", status_code=303)


@router.post("/dinas/blangko/terima", include_in_schema=False)
async def receive(visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, DINAS, "blangko dinas")
    body = {"location_id": str(form.get("location_id") or "gudang"), "quantity": _number(form, "quantity", "Jumlah"),
            "document_no": str(form.get("document_no", "")).strip(),
            **({"request_id": form["request_id"]} if form.get("request_id") else {})}
    return await _post(visitor, web, form, "/receipts", body, "terima_blangko", "terima")


@router.post("/dinas/blangko/kirim", include_in_schema=False)
async def transfer(visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, DINAS, "blangko dinas")
    body = {"from_location": str(form.get("from_location", "")), "to_location": str(form.get("to_location", "")),
            "quantity": _number(form, "quantity", "Jumlah")}
    return await _post(visitor, web, form, "/transfers", body, "kirim_blangko", "kirim")


@router.post("/dinas/blangko/hitung", include_in_schema=False)
async def count(visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, DINAS, "blangko dinas")
    body = {"location_id": str(form.get("location_id", "")), "counted": _number(form, "counted", "Hitungan"),
            "reason": str(form.get("reason", "")).strip()}
    return await _post(visitor, web, form, "/counts", body, "hitung_stok", "hitung")


@router.post("/dinas/blangko/setujui", include_in_schema=False)
async def approve(visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, DINAS, "blangko dinas")
    count_id = str(form.get("count_id", ""))
    if not count_id.startswith("opname-") or len(count_id) > 80:
        raise Refused(404, "Hitungan ini tidak dikenal.")
    body = {"approved_by": str(form.get("approved_by", "")).strip()}
    return await _post(visitor, web, form, f"/counts/{count_id}/approve", body, "setujui_hitungan", "setujui")


@router.post("/dinas/blangko/usulan", include_in_schema=False)
async def request_more(visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, DINAS, "blangko dinas")
    body = {"letter_no": str(form.get("letter_no", "")).strip(), "quantity": _number(form, "quantity", "Jumlah usulan")}
    return await _post(visitor, web, form, "/replenishment", body, "usulan_blangko", "usulan")
