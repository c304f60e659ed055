"""The web app's only way to the five services: their public HTTP APIs, with the web app's key acting
for the signed-in person's office (X-Atas-Nama-Kantor) and naming the person (X-Petugas)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.web.accounts import Account
from shared.auth import ON_BEHALF_OFFICE_HEADER, ON_BEHALF_OPERATOR_HEADER

TIMEOUT_SECONDS = 30.0
SERVICE_NAMES = {"intake": "pendaftaran penduduk (intake)", "recording": "perekaman (recording)",
                 "printing": "pencetakan (printing)", "inventory": "stok blangko (inventory)",
                 "coverage": "cakupan (coverage)"}


class ServiceUnreachable(Exception):
    """A service did not answer; nothing is known to have happened there."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = service

    @property
    def message(self) -> str:
        return (f"Layanan {SERVICE_NAMES.get(self.service, self.service)} tidak dapat dihubungi. Data BELUM "
                "tersimpan; coba lagi sebentar lagi. Bila berulang, hubungi admin dinas.")


@dataclass(frozen=True)
class Answer:
    """A service's answer: status, JSON body, and the reasons by field of a refusal."""

    status: int
    body: Any
    field_errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        """The service's sentence for the clerk (its refusals are in Indonesian already)."""
        if isinstance(self.body, dict):
            detail = self.body.get("detail")
            if isinstance(detail, str):
                return detail
            if isinstance(detail, dict) and isinstance(detail.get("message"), str):
                return str(detail["message"])
        return f"Layanan menjawab {self.status}."


def _field_errors(body: Any) -> dict[str, str]:
    """{field: reason} from the services' one refusal shape {"detail", "errors": [{"field", "reason"}]}."""
    errors = body.get("errors") if isinstance(body, dict) else None
    found: dict[str, str] = {}
    for error in errors or []:
        if isinstance(error, dict) and isinstance(error.get("field"), str):
            name = error["field"].removeprefix("body.").split(".")[-1]
            found.setdefault(name, str(error.get("reason", "")))
    return found


class Gateway:
    """One HTTP client per service."""

    def __init__(self, urls: Mapping[str, str], *, key: str, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.key = key
        self.clients = {name: httpx.AsyncClient(base_url=url, timeout=TIMEOUT_SECONDS, transport=transport)
                        for name, url in urls.items()}

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    def _headers(self, person: Account | None, extra: Mapping[str, str] | None, *, as_itself: bool = False
                 ) -> dict[str, str]:
        headers = dict(extra or {})
        if as_itself:
            headers["X-API-Key"] = self.key
        elif person is not None:
            headers.update({"X-API-Key": self.key, ON_BEHALF_OFFICE_HEADER: person.office_id,
                            ON_BEHALF_OPERATOR_HEADER: person.username})
        return headers

    async def call(self, service: str, method: str, path: str, *, person: Account | None,
                   json: Any = None, params: Mapping[str, str] | None = None, files: Any = None,
                   headers: Mapping[str, str] | None = None, as_itself: bool = False) -> Answer:
        """Call a service as `person` (None: a public read; `as_itself`: with the web app's own key and no
        person, for the public status page). Raises ServiceUnreachable when it does not answer."""
        try:
            response = await self.clients[service].request(
                method, path, json=json, params=params, files=files,
                headers=self._headers(person, headers, as_itself=as_itself))
        except httpx.TransportError as exc:
            raise ServiceUnreachable(service) from exc
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:500]}
        return Answer(response.status_code, body, _field_errors(body) if response.status_code == 422 else {})
