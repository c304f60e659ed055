"""A query parameter a route does not take is refused in Indonesian, not silently ignored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.testclient import TestClient

from shared.http import install_error_handlers, reject_unknown_query_parameters


def _app() -> FastAPI:
    router = APIRouter()

    def page(halaman: Annotated[int, Query()] = 1) -> int:
        return halaman

    @router.get("/daftar")
    async def listing(kecamatan: str | None = None, halaman: int = Depends(page)) -> dict[str, object]:
        return {"kecamatan": kecamatan, "halaman": halaman}

    app = FastAPI(dependencies=[Depends(reject_unknown_query_parameters)])
    install_error_handlers(app)
    app.include_router(router)
    return app


def test_declared_parameters_including_a_dependencys_are_taken() -> None:
    answer = TestClient(_app()).get("/daftar", params={"kecamatan": "17.02.06", "halaman": 2})
    assert answer.status_code == 200 and answer.json() == {"kecamatan": "17.02.06", "halaman": 2}


def test_a_mistyped_filter_is_refused_and_named() -> None:
    answer = TestClient(_app()).get("/daftar", params={"kecamtan": "17.02.06"})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "query.kecamtan", "reason": "parameter ini tidak dikenal oleh rute ini"}]
