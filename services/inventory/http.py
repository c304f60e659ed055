"""HTTP routes of the inventory service: the blangko ledger, its check, days of stock and the usulan."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.inventory import domain
from services.inventory.handlers import InventoryDeps, all_views, location_view, suggestion
from services.inventory.store import Outcome
from shared.auth import Office
from shared.contracts import Actor, Role
from shared.contracts.stock import (
    LOCATION,
    CountCorrected,
    CountPayload,
    ReceivedPayload,
    ReplenishmentPayload,
    ReplenishmentRequested,
    ReturnPayload,
    SpoiledPayload,
    SpoiledReturned,
    StockReceived,
    StockSpoilReason,
    TransferPayload,
    TransferReceived,
    TransferSent,
)
from shared.contracts.stock import BlankSpoiled as BlankSpoiledEvent
from shared.http import kafka_unavailable
from shared.http_types import VALIDATION_ANSWER
from shared.stations import WAREHOUSE
from shared.topics import STOCK

QUANTITY = Field(ge=1, le=1_000_000, description="jumlah blangko")
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="UUID; a repeated request with it is applied once")
]


class ReceiptIn(BaseModel):
    location_id: str = Field(WAREHOUSE, pattern=LOCATION, description="lokasi penerima (biasanya gudang)")
    quantity: int = QUANTITY
    request_id: str | None = Field(None, max_length=64, description="nomor usulan yang dijawab kiriman ini")
    document_no: str = Field(min_length=3, max_length=100, description="nomor berita acara serah terima")


class TransferIn(BaseModel):
    from_location: str = Field(pattern=LOCATION)
    to_location: str = Field(pattern=LOCATION)
    quantity: int = QUANTITY


class SpoilageIn(BaseModel):
    location_id: str = Field(pattern=LOCATION)
    quantity: int = QUANTITY
    reason: StockSpoilReason = Field(description="laminasi_terkelupas, salah_cetak, blangko_rusak, printer_gagal")


class CountIn(BaseModel):
    location_id: str = Field(pattern=LOCATION)
    counted: int = Field(ge=0, le=1_000_000, description="blangko baik yang ada secara fisik, termasuk yang sudah dipesan")
    reason: str = Field(min_length=5, max_length=300, description="alasan koreksi (wajib)")
    approved_by: str = Field(min_length=2, max_length=120, description="jabatan pejabat yang menyetujui (wajib)")


class ReturnIn(BaseModel):
    location_id: str = Field(pattern=LOCATION)
    quantity: int = QUANTITY
    berita_acara_no: str = Field(min_length=3, max_length=100)
    handed_to: str = Field("Disdukcapil Provinsi Bengkulu", min_length=2, max_length=120)


class UsulanIn(BaseModel):
    letter_no: str = Field(min_length=3, max_length=100, description="nomor surat usulan ke provinsi")
    quantity: int | None = Field(None, ge=1, le=1_000_000, description="kosongkan untuk memakai jumlah saran")


def _actor(office: Office) -> Actor:
    return Actor(office_id=office.office_id, role=office.role, operator=office.office_id)


def _event_id(idempotency_key: str | None) -> uuid.UUID:
    if idempotency_key is None:
        return uuid.uuid4()
    try:
        return uuid.UUID(idempotency_key)
    except ValueError:
        raise HTTPException(422, "Idempotency-Key harus berupa UUID.") from None


def build_router(current_office: Callable[..., Awaitable[Office]], *, names: dict[str, str], answer_timeout: float) -> APIRouter:
    router = APIRouter(tags=["blangko"], responses=VALIDATION_ANSWER)

    def deps_of(request: Request) -> InventoryDeps:
        deps: InventoryDeps = request.app.state.deps
        return deps

    def known(location_id: str) -> None:
        if location_id not in names:
            raise HTTPException(404, f"Lokasi stok {location_id!r} tidak dikenal. Lokasi yang ada: {', '.join(names)}.")

    def allow(office: Office, *locations: str) -> None:
        """Dinas admins act everywhere; a print station office only at its own location."""
        if office.role == Role.DINAS_ADMIN:
            return
        if office.role == Role.PRINT_STATION and all(loc == office.office_id for loc in locations):
            return
        raise HTTPException(403, "Kantor ini tidak berwenang mengubah stok di lokasi tersebut.")

    def admin_only(office: Office) -> None:
        if office.role != Role.DINAS_ADMIN:
            raise HTTPException(403, "Hanya admin dinas yang dapat mencatat penerimaan dan pengembalian blangko.")

    async def answer(deps: InventoryDeps, location_id: str, event_id: str, outcome: Outcome | None,
                     extra: dict[str, Any]) -> JSONResponse:
        if outcome is None:
            return JSONResponse(
                {
                    **extra,
                    "event_id": event_id,
                    "status": "diproses",
                    "pesan": "Sudah tersimpan di Kafka; buku stok belum memprosesnya. Periksa lagi sebentar.",
                },
                status_code=202,
            )
        if outcome.refused:
            return JSONResponse({**extra, "event_id": event_id, "detail": outcome.reason}, status_code=409)
        doc = await deps.store.location(location_id)
        return JSONResponse(
            {**extra, "event_id": event_id, "status": "dicatat",
             "lokasi": location_view(doc, location_id, names[location_id], deps)},
            status_code=201,
        )

    async def submit(request: Request, event: Any, extra: dict[str, Any] | None = None) -> JSONResponse:
        """Check the event against the current ledger, publish it, wait for the ledger's outcome."""
        deps = deps_of(request)
        location_id = domain.location_of(event)
        event_id = str(event.event_id)
        prior = await deps.store.outcome_of(location_id, event_id)
        if prior is not None:
            return await answer(deps, location_id, event_id, prior, extra or {})
        sent = None
        if isinstance(event, TransferReceived):
            sent = await deps.store.sent_transfer(event.payload.from_location, event.payload.transfer_id)
        try:
            domain.apply(await deps.store.balance(location_id), event, sent=sent)
        except domain.Refused as refusal:
            raise HTTPException(409, refusal.reason) from None
        try:
            await deps.publisher.publish(event, topic=STOCK, key=domain.partition_key(event))
        except KafkaError:
            raise kafka_unavailable() from None
        deadline = asyncio.get_running_loop().time() + answer_timeout
        outcome = None
        while outcome is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            outcome = await deps.store.outcome_of(location_id, event_id)
        return await answer(deps, location_id, event_id, outcome, extra or {})

    def envelope(office: Office, key: str | None, request: Request) -> dict[str, Any]:
        now = deps_of(request).clock()
        return {"event_id": _event_id(key), "occurred_at": now, "recorded_at": now, "actor": _actor(office)}

    @router.get("/locations", summary="Stok blangko setiap lokasi, pemakaian dan hari stok")
    async def list_locations(request: Request, office: Office = Depends(current_office)) -> list[dict[str, Any]]:
        return await all_views(deps_of(request), names)

    @router.get("/locations/{location_id}", summary="Stok satu lokasi")
    async def one_location(location_id: str, request: Request, office: Office = Depends(current_office)) -> dict[str, Any]:
        known(location_id)
        views = await all_views(deps_of(request), {location_id: names[location_id]})
        return views[0]

    @router.get(
        "/ledger/check",
        summary="Pemeriksaan buku stok: diterima = ada + dipesan + terpakai + rusak + dalam perjalanan + dikembalikan",
    )
    async def check(request: Request, office: Office = Depends(current_office)) -> dict[str, Any]:
        docs = await deps_of(request).store.all_locations()
        result = domain.check_regency(domain.Balance.from_doc(doc["_id"], doc) for doc in docs)
        return {
            "seimbang": result.balanced,
            "diterima": result.received,
            "ada": result.on_hand,
            "dipesan": result.reserved,
            "terpakai": result.consumed,
            "rusak": result.spoiled,
            "dalam_perjalanan": result.in_transit,
            "dikembalikan": result.returned,
            "masalah": result.problems,
        }

    @router.get("/alerts/low-stock", summary="Lokasi yang stoknya kurang dari batas hari")
    async def low_stock(request: Request, office: Office = Depends(current_office)) -> list[dict[str, Any]]:
        return [v for v in await all_views(deps_of(request), names) if v["stok_menipis"]]

    @router.post("/receipts", status_code=201, summary="Penerimaan blangko dari provinsi")
    async def receive(
        body: ReceiptIn, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> JSONResponse:
        known(body.location_id)
        admin_only(office)
        if body.request_id is not None and await deps_of(request).store.request(body.request_id) is None:
            raise HTTPException(404, f"Usulan {body.request_id!r} tidak ditemukan; periksa nomor usulan.")
        return await submit(
            request, StockReceived(**envelope(office, key, request), payload=ReceivedPayload(**body.model_dump()))
        )

    @router.post("/transfers", status_code=201, summary="Kirim blangko ke lokasi lain (dalam perjalanan sampai diterima)")
    async def send(
        body: TransferIn, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> JSONResponse:
        known(body.from_location)
        known(body.to_location)
        allow(office, body.from_location)
        base = envelope(office, key, request)
        payload = TransferPayload(transfer_id=f"tr-{base['event_id'].hex[:16]}", **body.model_dump())
        return await submit(request, TransferSent(**base, payload=payload), {"transfer_id": payload.transfer_id})

    @router.post("/transfers/{transfer_id}/receive", status_code=201, summary="Terima kiriman blangko")
    async def arrive(
        transfer_id: str, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> JSONResponse:
        deps = deps_of(request)
        sender = next((doc for doc in await deps.store.all_locations() if transfer_id in doc.get("transfers_sent", {})), None)
        if sender is None:
            raise HTTPException(404, f"Transfer {transfer_id!r} tidak ditemukan.")
        sent = sender["transfers_sent"][transfer_id]
        allow(office, sent["to"])
        payload = TransferPayload(
            transfer_id=transfer_id, from_location=sender["_id"], to_location=sent["to"], quantity=sent["quantity"]
        )
        return await submit(request, TransferReceived(**envelope(office, key, request), payload=payload))

    @router.post("/spoilage", status_code=201, summary="Catat blangko rusak (bukan karena cetak)")
    async def spoil(
        body: SpoilageIn, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> JSONResponse:
        known(body.location_id)
        allow(office, body.location_id)
        return await submit(
            request, BlankSpoiledEvent(**envelope(office, key, request), payload=SpoiledPayload(**body.model_dump()))
        )

    @router.post("/counts", status_code=201, summary="Koreksi stok setelah stock opname (alasan dan penyetuju wajib)")
    async def count(
        body: CountIn, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> JSONResponse:
        known(body.location_id)
        allow(office, body.location_id)
        return await submit(request, CountCorrected(**envelope(office, key, request), payload=CountPayload(**body.model_dump())))

    @router.post("/returns", status_code=201, summary="Pengembalian blangko rusak dengan berita acara")
    async def give_back(
        body: ReturnIn, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> JSONResponse:
        known(body.location_id)
        admin_only(office)
        return await submit(
            request, SpoiledReturned(**envelope(office, key, request), payload=ReturnPayload(**body.model_dump()))
        )

    @router.get("/replenishment/suggestion", summary="Saran jumlah usulan blangko ke provinsi")
    async def suggest(request: Request, office: Office = Depends(current_office)) -> dict[str, Any]:
        return await suggestion(deps_of(request), names)

    @router.get("/replenishment", summary="Usulan ke provinsi: diminta dan diterima")
    async def requests(request: Request, office: Office = Depends(current_office)) -> list[dict[str, Any]]:
        return [
            {
                "usulan": doc["_id"],
                "nomor_surat": doc.get("letter_no"),
                "diminta": doc.get("requested", 0),
                "diterima": doc.get("received", 0),
                "kurang": max(0, doc.get("requested", 0) - doc.get("received", 0)),
                "tanggal": doc.get("requested_at"),
            }
            for doc in await deps_of(request).store.all_requests()
        ]

    @router.post("/replenishment", status_code=201, summary="Kirim usulan blangko ke provinsi")
    async def request_more(
        body: UsulanIn, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> dict[str, Any]:
        if office.role != Role.DINAS_ADMIN:
            raise HTTPException(403, "Hanya admin dinas yang dapat mengirim usulan blangko.")
        deps = deps_of(request)
        basis = await suggestion(deps, names)
        quantity = body.quantity or basis["jumlah_usulan"]
        if quantity < 1:
            raise HTTPException(409, "Saran usulan 0: stok dan kiriman yang ditunggu sudah cukup. Isi jumlah bila tetap perlu.")
        base = envelope(office, key, request)
        request_id = f"usulan-{base['event_id'].hex[:12]}"
        event = ReplenishmentRequested(
            **base,
            payload=ReplenishmentPayload(
                request_id=request_id,
                location_id=WAREHOUSE,
                quantity=quantity,
                backlog=basis["antrean_cetak"],
                daily_consumption=basis["pemakaian_per_hari"],
                letter_no=body.letter_no,
            ),
        )
        try:
            await deps.publisher.publish(event, topic=STOCK, key=WAREHOUSE)
        except KafkaError:
            raise kafka_unavailable("usulan") from None
        return {"event_id": str(event.event_id), "usulan": request_id, "jumlah": quantity, "dasar": basis}

    return router
