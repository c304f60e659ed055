"""HTTP routes of the inventory service: requests become commands for the use cases in `handlers`,
their answers and refusals become HTTP answers."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.inventory import handlers
from services.inventory.domain import CountProposal, Forbidden, NotFound, Refused, RegencyCheck, Usulan
from services.inventory.handlers import InventoryDeps, LocationView, Recorded, Suggestion
from shared.auth import Office, actor_of, current_office
from shared.contracts.stock import LOCATION, StockSpoilReason
from shared.http_types import NOT_A_BOOLEAN, Count, ValidationProblem, problem
from shared.idempotency import IdempotencyKey, answer_once
from shared.stations import WAREHOUSE

T = TypeVar("T")
QUANTITY = Field(ge=1, le=1_000_000, description="jumlah blangko")
LocationId = Annotated[str, Path(pattern=LOCATION, description="kode lokasi stok")]
TransferId = Annotated[str, Path(min_length=1, max_length=100, description="nomor transfer")]




READ_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: problem("kunci API tidak ada atau tidak dikenal"),
    422: {"model": ValidationProblem, "description": "data tidak valid"},
    503: problem("basis data tidak tersedia"),
}
WRITE_ANSWERS: dict[int | str, dict[str, Any]] = {
    **READ_ANSWERS,
    400: problem("isi permintaan bukan JSON yang dapat dibaca"),
    403: problem("kantor ini tidak berwenang"),
    404: problem("lokasi, transfer atau usulan tidak ditemukan"),
    409: problem("ditolak buku stok (mis. stok tidak cukup), nomor berita acara atau surat usulan sudah dipakai, "
                 "penerimaan melebihi usulan, atau Idempotency-Key dipakai untuk data lain"),
    413: problem("isi permintaan terlalu besar"),
    429: problem("terlalu banyak permintaan dari kantor ini"),
    503: problem("Kafka atau basis data tidak tersedia: belum tersimpan"),
}

router = APIRouter(tags=["blangko"])


class ReceiptIn(BaseModel):
    location_id: str = Field(WAREHOUSE, pattern=LOCATION, description="lokasi penerima (biasanya gudang)")
    quantity: Count = QUANTITY
    request_id: str | None = Field(None, max_length=64, description="nomor usulan yang dijawab kiriman ini; "
                                   "jumlah yang diterima tidak boleh melebihi usulan")
    document_no: str = Field(min_length=3, max_length=100,
                             description="nomor berita acara serah terima; satu nomor hanya dicatat sekali")


class TransferIn(BaseModel):
    from_location: str = Field(pattern=LOCATION)
    to_location: str = Field(pattern=LOCATION)
    quantity: Count = QUANTITY


class SpoilageIn(BaseModel):
    location_id: str = Field(pattern=LOCATION)
    quantity: Count = QUANTITY
    reason: StockSpoilReason = Field(description="laminasi_terkelupas, salah_cetak, blangko_rusak, printer_gagal")


class CountIn(BaseModel):
    location_id: str = Field(pattern=LOCATION)
    counted: Count = Field(ge=0, le=1_000_000, description="blangko baik yang ada secara fisik, termasuk yang sudah dipesan")
    reason: str = Field(min_length=5, max_length=300, description="alasan koreksi (wajib)")
    approved_by: str | None = Field(
        None, min_length=2, max_length=120,
        description="jabatan pejabat dinas yang menyetujui (hanya untuk hitungan oleh admin dinas); hitungan "
                    "stasiun yang mengubah stok menunggu persetujuan admin dinas lewat /counts/{count_id}/approve")


class ApprovalIn(BaseModel):
    approved_by: str = Field(min_length=2, max_length=120, description="jabatan pejabat dinas yang menyetujui")


class CountWaitingOut(BaseModel):
    count_id: str
    status: Literal["menunggu_persetujuan"] = "menunggu_persetujuan"
    lokasi: str
    dihitung: int
    buku_stok: int = Field(description="blangko baik (bebas dan dipesan) menurut buku stok saat dihitung")
    selisih: int
    alasan: str
    diajukan_oleh: str
    dihitung_oleh: str | None = Field(None, description="the person who counted (web app): someone else approves")
    diajukan: dt.datetime | None
    pesan: str

    @classmethod
    def of(cls, p: CountProposal) -> CountWaitingOut:
        return cls(count_id=p.count_id, lokasi=p.location_id, dihitung=p.counted, buku_stok=p.ledger_total,
                   selisih=p.difference, alasan=p.reason, diajukan_oleh=p.proposed_by, diajukan=p.proposed_at,
                   dihitung_oleh=p.proposed_by_person,
                   pesan=f"Hitungan berbeda {p.difference:+d} dari buku stok; stok belum diubah. Koreksi ini "
                         f"menunggu persetujuan admin dinas (POST /counts/{p.count_id}/approve)"
                         + (f", oleh orang lain selain {p.proposed_by_person}." if p.proposed_by_person else "."))


class ReturnIn(BaseModel):
    location_id: str = Field(pattern=LOCATION)
    quantity: Count = QUANTITY
    berita_acara_no: str = Field(min_length=3, max_length=100)
    handed_to: str = Field("Disdukcapil Provinsi Bengkulu", min_length=2, max_length=120)


class UsulanIn(BaseModel):
    letter_no: str = Field(min_length=3, max_length=100,
                           description="nomor surat usulan ke provinsi; satu nomor hanya dipakai sekali")
    quantity: Annotated[int, Field(ge=1, le=1_000_000), NOT_A_BOOLEAN] | None = Field(
        None, description="kosongkan untuk memakai jumlah saran")


class LocationOut(BaseModel):
    lokasi: str
    nama: str
    ada: int = Field(description="stok bebas")
    dipesan: int
    terpakai: int
    rusak: int
    rusak_dapat_dikembalikan: int
    dikembalikan: int
    diterima: int
    masuk_transfer: int
    keluar_transfer: int
    pemakaian_per_hari: float
    hari_stok: float | None = Field(description="kosong bila belum ada pemakaian")
    stok_menipis: bool

    @classmethod
    def of(cls, view: LocationView) -> LocationOut:
        b = view.balance
        return cls(lokasi=view.location_id, nama=view.name, ada=b.on_hand, dipesan=b.reserved, terpakai=b.consumed,
                   rusak=b.spoiled, rusak_dapat_dikembalikan=b.returnable, dikembalikan=b.returned, diterima=b.received,
                   masuk_transfer=b.transferred_in, keluar_transfer=b.transferred_out,
                   pemakaian_per_hari=view.per_day, hari_stok=view.days, stok_menipis=view.low_stock)


class RecordedOut(BaseModel):
    event_id: str
    status: Literal["dicatat", "diproses"]
    lokasi: LocationOut | None = Field(description="stok lokasi setelah dicatat; kosong bila masih diproses")
    pesan: str | None = Field(None, description="keterangan bila masih diproses")
    transfer_id: str | None = Field(None, description="nomor transfer (hanya untuk pengiriman)")

    @classmethod
    def of(cls, result: Recorded) -> tuple[int, RecordedOut]:
        """201 with the location's stock once the ledger applied it, 202 while it is still being processed."""
        if result.status == "diproses":
            return 202, cls(event_id=result.event_id, status="diproses", lokasi=None, transfer_id=result.transfer_id,
                            pesan="Sudah tersimpan di Kafka; buku stok belum memprosesnya. Periksa lagi sebentar.")
        view = None if result.location is None else LocationOut.of(result.location)
        return 201, cls(event_id=result.event_id, status="dicatat", lokasi=view, transfer_id=result.transfer_id)


class CheckOut(BaseModel):
    seimbang: bool
    diterima: int
    ada: int
    dipesan: int
    terpakai: int
    rusak: int
    dalam_perjalanan: int
    dikembalikan: int
    masalah: list[str]

    @classmethod
    def of(cls, check: RegencyCheck) -> CheckOut:
        return cls(seimbang=check.balanced, diterima=check.received, ada=check.on_hand, dipesan=check.reserved,
                   terpakai=check.consumed, rusak=check.spoiled, dalam_perjalanan=check.in_transit,
                   dikembalikan=check.returned, masalah=check.problems)


class SuggestionOut(BaseModel):
    jumlah_usulan: int
    antrean_cetak: int
    pemakaian_per_hari: float
    hari_cadangan: int
    stok_ada_dan_dalam_perjalanan: int
    usulan_belum_diterima: int
    rumus: str

    @classmethod
    def of(cls, s: Suggestion) -> SuggestionOut:
        return cls(jumlah_usulan=s.quantity, antrean_cetak=s.backlog, pemakaian_per_hari=s.per_day,
                   hari_cadangan=s.cover_days, stok_ada_dan_dalam_perjalanan=s.available,
                   usulan_belum_diterima=s.outstanding, rumus=s.formula)


class UsulanOut(BaseModel):
    usulan: str
    nomor_surat: str | None
    diminta: int
    diterima: int
    kurang: int
    tanggal: dt.datetime | None

    @classmethod
    def of(cls, u: Usulan) -> UsulanOut:
        return cls(usulan=u.request_id, nomor_surat=u.letter_no, diminta=u.requested, diterima=u.received,
                   kurang=u.missing, tanggal=u.requested_at)


class UsulanSentOut(BaseModel):
    event_id: str
    usulan: str
    jumlah: int
    dasar: SuggestionOut


def deps_of(request: Request) -> InventoryDeps:
    """The use cases' dependencies, set on the app by `app.create_app`."""
    deps: InventoryDeps = request.app.state.deps
    return deps


Deps = Annotated[InventoryDeps, Depends(deps_of)]
CurrentOffice = Annotated[Office, Depends(current_office)]


async def _once(request: Request, office: Office, key: str | None, body: BaseModel | None,
                command: Callable[[uuid.UUID], Awaitable[BaseModel | tuple[int, BaseModel]]]) -> JSONResponse:
    """A write under the idempotency convention; the ledger's refusals become their status codes."""
    return await _answer(answer_once(request, office_id=office.office_id, key=key, body=body, command=command))


async def _answer(call: Awaitable[T]) -> T:
    """The use case's result, or its refusal as an HTTP answer."""
    try:
        return await call
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    except Refused as exc:
        raise HTTPException(409, exc.reason) from None


RECORDED: dict[int | str, dict[str, Any]] = {
    **WRITE_ANSWERS, 202: {"model": RecordedOut, "description": "tersimpan di Kafka, belum diproses buku stok"},
}


@router.get("/locations", summary="Stok blangko setiap lokasi, pemakaian dan hari stok",
            response_model=list[LocationOut], responses=READ_ANSWERS)
async def list_locations(office: CurrentOffice, deps: Deps) -> list[LocationOut]:
    return [LocationOut.of(v) for v in await handlers.list_locations(deps=deps)]


@router.get("/locations/{location_id}", summary="Stok satu lokasi", response_model=LocationOut,
            responses={**READ_ANSWERS, 404: problem("lokasi tidak dikenal")})
async def one_location(location_id: LocationId, office: CurrentOffice, deps: Deps) -> LocationOut:
    view = await _answer(handlers.show_location(handlers.ShowLocation(location_id), deps=deps))
    return LocationOut.of(view)


@router.get("/ledger/check", response_model=CheckOut, responses=READ_ANSWERS,
            summary="Pemeriksaan buku stok: diterima = ada + dipesan + terpakai + rusak + dalam perjalanan + dikembalikan")
async def check(office: CurrentOffice, deps: Deps) -> CheckOut:
    return CheckOut.of(await handlers.check_ledger(deps=deps))


@router.get("/alerts/low-stock", summary="Lokasi yang stoknya kurang dari batas hari",
            response_model=list[LocationOut], responses=READ_ANSWERS)
async def low_stock(office: CurrentOffice, deps: Deps) -> list[LocationOut]:
    return [LocationOut.of(v) for v in await handlers.low_stock(deps=deps)]


@router.post("/receipts", status_code=201, summary="Penerimaan blangko dari provinsi", response_model=RecordedOut,
             responses=RECORDED)
async def receive(body: ReceiptIn, request: Request, office: CurrentOffice, deps: Deps,
                  key: IdempotencyKey = None) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> tuple[int, RecordedOut]:
        receipt = handlers.ReceiveBlanks(actor_of(office), event_id, body.location_id, body.quantity,
                                         body.document_no, body.request_id)
        return RecordedOut.of(await handlers.receive_blanks(receipt, deps=deps))

    return await _once(request, office, key, body, command)


@router.post("/transfers", status_code=201, response_model=RecordedOut, responses=RECORDED,
             summary="Kirim blangko ke lokasi lain (dalam perjalanan sampai diterima)")
async def send(body: TransferIn, request: Request, office: CurrentOffice, deps: Deps,
               key: IdempotencyKey = None) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> tuple[int, RecordedOut]:
        transfer = handlers.SendTransfer(actor_of(office), event_id, body.from_location, body.to_location,
                                         body.quantity)
        return RecordedOut.of(await handlers.send_transfer(transfer, deps=deps))

    return await _once(request, office, key, body, command)


@router.post("/transfers/{transfer_id}/receive", status_code=201, summary="Terima kiriman blangko",
             response_model=RecordedOut, responses=RECORDED)
async def arrive(transfer_id: TransferId, request: Request, office: CurrentOffice, deps: Deps,
                 key: IdempotencyKey = None) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> tuple[int, RecordedOut]:
        arrival = handlers.ReceiveTransfer(actor_of(office), event_id, transfer_id)
        return RecordedOut.of(await handlers.receive_transfer(arrival, deps=deps))

    return await _once(request, office, key, None, command)


@router.post("/spoilage", status_code=201, summary="Catat blangko rusak (bukan karena cetak)",
             response_model=RecordedOut, responses=RECORDED)
async def spoil(body: SpoilageIn, request: Request, office: CurrentOffice, deps: Deps,
                key: IdempotencyKey = None) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> tuple[int, RecordedOut]:
        spoilage = handlers.RecordSpoilage(actor_of(office), event_id, body.location_id, body.quantity, body.reason)
        return RecordedOut.of(await handlers.record_spoilage(spoilage, deps=deps))

    return await _once(request, office, key, body, command)


@router.post("/counts", status_code=201, response_model=RecordedOut,
             responses={**RECORDED, 202: {"model": CountWaitingOut, "description": "hitungan stasiun yang mengubah "
                                                                             "stok: menunggu persetujuan dinas"}},
             summary="Stock opname: hitungan admin dinas langsung dicatat; hitungan stasiun yang mengubah stok "
                     "menunggu persetujuan dinas")
async def count(body: CountIn, request: Request, office: CurrentOffice, deps: Deps,
                key: IdempotencyKey = None) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> tuple[int, BaseModel]:
        correction = handlers.CorrectCount(actor_of(office), event_id, body.location_id, body.counted, body.reason,
                                           body.approved_by)
        result = await handlers.correct_count(correction, deps=deps)
        return (202, CountWaitingOut.of(result)) if isinstance(result, CountProposal) else RecordedOut.of(result)

    return await _once(request, office, key, body, command)


@router.get("/counts", summary="Hitungan stok stasiun yang menunggu persetujuan dinas",
            response_model=list[CountWaitingOut], responses=READ_ANSWERS)
async def waiting_counts(office: CurrentOffice, deps: Deps) -> list[CountWaitingOut]:
    return [CountWaitingOut.of(p) for p in await handlers.pending_counts(deps=deps)]


@router.post("/counts/{count_id}/approve", status_code=201, response_model=RecordedOut, responses=RECORDED,
             summary="Admin dinas menyetujui hitungan stasiun: stok diset ke hitungan itu")
async def approve(count_id: Annotated[str, Path(pattern=r"^opname-[0-9a-f]{32}$", description="nomor hitungan")],
                  body: ApprovalIn, request: Request, office: CurrentOffice, deps: Deps,
                  key: IdempotencyKey = None) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> tuple[int, RecordedOut]:
        approval = handlers.ApproveCount(actor_of(office), event_id, count_id, body.approved_by)
        return RecordedOut.of(await handlers.approve_count(approval, deps=deps))

    return await _once(request, office, key, body, command)


@router.post("/returns", status_code=201, summary="Pengembalian blangko rusak dengan berita acara",
             response_model=RecordedOut, responses=RECORDED)
async def give_back(body: ReturnIn, request: Request, office: CurrentOffice, deps: Deps,
                    key: IdempotencyKey = None) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> tuple[int, RecordedOut]:
        handed_back = handlers.ReturnSpoiled(actor_of(office), event_id, body.location_id, body.quantity,
                                             body.berita_acara_no, body.handed_to)
        return RecordedOut.of(await handlers.return_spoiled(handed_back, deps=deps))

    return await _once(request, office, key, body, command)


@router.get("/replenishment/suggestion", summary="Saran jumlah usulan blangko ke provinsi",
            response_model=SuggestionOut, responses=READ_ANSWERS)
async def suggest(office: CurrentOffice, deps: Deps) -> SuggestionOut:
    return SuggestionOut.of(await handlers.suggest_usulan(deps=deps))


@router.get("/replenishment", summary="Usulan ke provinsi: diminta dan diterima",
            response_model=list[UsulanOut], responses=READ_ANSWERS)
async def requests(office: CurrentOffice, deps: Deps) -> list[UsulanOut]:
    return [UsulanOut.of(u) for u in await handlers.list_usulan(deps=deps)]


@router.post("/replenishment", status_code=201, summary="Kirim usulan blangko ke provinsi",
             response_model=UsulanSentOut, responses=WRITE_ANSWERS)
async def request_more(body: UsulanIn, request: Request, office: CurrentOffice, deps: Deps,
                       key: IdempotencyKey = None) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> UsulanSentOut:
        usulan = handlers.RequestUsulan(actor_of(office), event_id, body.letter_no, body.quantity)
        sent = await handlers.request_usulan(usulan, deps=deps)
        return UsulanSentOut(event_id=sent.event_id, usulan=sent.request_id, jumlah=sent.quantity,
                             dasar=SuggestionOut.of(sent.basis))

    return await _once(request, office, key, body, command)
