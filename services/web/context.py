"""What every page handler uses: the signed-in person, the form's CSRF check, role and kecamatan
checks, and the refusals that become pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry, Counter

from services.web import formatting
from services.web.accounts import Account, Accounts
from services.web.audit import Deed, WebAudit
from services.web.config import WebSettings
from services.web.gateway import Answer, Gateway
from services.web.sessions import SESSION_COOKIE, Session, Sessions, same_token
from shared.areas import load_areas
from shared.clock import Clock
from shared.contracts import Role

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["tanggal"] = formatting.tanggal
TEMPLATES.env.filters["angka"] = formatting.angka
TEMPLATES.env.globals["role_names"] = formatting.ROLE_NAMES
TEMPLATES.env.globals["Role"] = Role
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class SignInNeeded(Exception):
    """No valid session: back to the login page (`idle`: the session timed out)."""

    def __init__(self, *, idle: bool = False) -> None:
        super().__init__("sign in")
        self.idle = idle


class Refused(Exception):
    """A page the person may not see or a form that cannot be accepted: a refusal page with the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Fields of the services' answers by the name the pages give them (the resident form's come from FIELD_LABELS).
FIELD_NAMES = {**formatting.FIELD_LABELS, "quantity": "Jumlah", "document_no": "Nomor berita acara",
               "letter_no": "Nomor surat", "counted": "Hitungan", "reason": "Alasan", "approved_by": "Jabatan penyetuju",
               "location_id": "Lokasi", "from_location": "Dari", "to_location": "Ke", "catatan": "Catatan",
               "received_by": "Diterima oleh", "effective_date": "Sejak tanggal", "tanggal": "Tanggal",
               "file": "File", "date": "Tanggal kunjungan", "place_code": "Tempat", "team": "Tim"}


def refusal_of(answer: Answer) -> Refused:
    """A service's refusal as a page shows it: the service's sentence, then each field's reason under the
    name the form gives the field. An answer that is not a refusal (a redirect, say) shows as 502."""
    reasons = "; ".join(f"{FIELD_NAMES.get(name, name)}: {reason}" for name, reason in answer.field_errors.items())
    return Refused(answer.status if answer.status >= 400 else 502, f"{answer.detail} {reasons}".strip())


@dataclass
class Web:
    """The web app's parts, on `app.state.web`."""

    settings: WebSettings
    accounts: Accounts
    sessions: Sessions
    audit: WebAudit
    gateway: Gateway
    clock: Clock
    registry: CollectorRegistry
    sign_ins: Counter
    status_lookups: Counter

    async def record(self, person: Account, action: str, target: str | None, outcome: str) -> None:
        await self.audit.record(Deed(username=person.username, office_id=person.office_id, action=action,
                                     target=target, outcome=outcome, at=self.clock()))


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


@dataclass(frozen=True)
class Visitor:
    """The signed-in person on this request."""

    account: Account
    session: Session

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def may_see_kecamatan(self, code: str) -> bool:
        return self.account.role == Role.DINAS_ADMIN or self.account.kecamatan_code == code


async def signed_in(request: Request) -> Visitor:
    web = web_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    session = await web.sessions.current(token, now=web.clock())
    if session is None:
        raise SignInNeeded(idle=bool(token))
    account = await web.accounts.get(session.username)
    if account is None or account.disabled:
        await web.sessions.end(token)
        raise SignInNeeded()
    return Visitor(account, session)


SignedIn = Annotated[Visitor, Depends(signed_in)]
WebParts = Annotated[Web, Depends(web_of)]


def only(visitor: Visitor, roles: Iterable[Role], what: str) -> None:
    """Refuse a page to a role that does not use it."""
    if visitor.account.role not in set(roles):
        raise Refused(403, f"Halaman {what} bukan untuk peran Anda "
                           f"({formatting.ROLE_NAMES.get(visitor.account.role, visitor.account.role)}).")


def in_own_kecamatan(visitor: Visitor, code: str) -> None:
    if not visitor.may_see_kecamatan(code):
        kecamatan = load_areas().kecamatan.get(code)
        name = f"Kecamatan {kecamatan.name}" if kecamatan else f"kecamatan {code}"
        raise Refused(403, f"Data {name} hanya untuk petugas kecamatan itu dan admin dinas.")


async def checked_form(request: Request, visitor: SignedIn) -> dict[str, Any]:
    """The posted form once its CSRF token matches the session's; a form without it is refused."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not same_token(given if isinstance(given, str) else None, visitor.csrf):
        raise Refused(403, "Formulir ini tidak sah atau sudah kedaluwarsa (token keamanan tidak cocok). "
                           "Muat ulang halaman lalu kirim lagi.")
    return {key: value for key, value in form.multi_items()}


CheckedForm = Annotated[dict[str, Any], Depends(checked_form)]


def page(request: Request, template: str, visitor: Visitor | None, status: int = 200, **values: Any) -> Any:
    """A page rendered with the person, their CSRF token and the date in Indonesian."""
    web = web_of(request)
    return TEMPLATES.TemplateResponse(request, template, {
        "visitor": visitor, "csrf": visitor.csrf if visitor else "", "today": web.clock().date(),
        "areas": load_areas(), "status_code": status, **values}, status_code=status)

