"""Coverage of the regency and of one kecamatan per desa, from the coverage API. A kecamatan's page is
for its own offices and the dinas."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from services.web.context import Refused, SignedIn, WebParts, in_own_kecamatan, page, refusal_of

router = APIRouter()
KECAMATAN = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")


@router.get("/kecamatan", include_in_schema=False)
async def regency(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    answer = await web.gateway.call("coverage", "GET", "/coverage", person=None)
    if not answer.ok:
        raise refusal_of(answer)
    return page(request, "regency.html", visitor, coverage=answer.body)


@router.get("/kecamatan/{code}", include_in_schema=False)
async def kecamatan(request: Request, code: str, visitor: SignedIn, web: WebParts) -> Any:
    if not KECAMATAN.fullmatch(code) or code not in request.app.state.areas.kecamatan:
        raise Refused(404, "Kecamatan ini tidak ada di Kabupaten Rejang Lebong.")
    in_own_kecamatan(visitor, code)
    answer = await web.gateway.call("coverage", "GET", "/coverage/areas", person=None,
                                    params={"tingkat": "desa", "kecamatan": code})
    if not answer.ok:
        raise refusal_of(answer)
    return page(request, "kecamatan.html", visitor, table=answer.body, code=code,
                name=request.app.state.areas.kecamatan[code].name)
