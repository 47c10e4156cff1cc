"""What every page of the app needs, once: the templates, the logged-in user (their
region scope and form token), the warehouse, and the checks a route makes before it
answers (an inspection that exists, a day's folder the user may see, a form sent from
these pages).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, Engine

from ducha.config import (
    Inspection,
    data_dirs,
    get_inspection,
    load_access,
    local_day,
    registry,
    timezone,
    warehouse_url,
)
from ducha.web import catalog, extracts
from ducha.web.access import Scope, scope_for

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
DRAFTS, RELEASED = "draft", "released"


def _masked(value: object) -> str:
    """Free text from the warehouse as the published tables show it: personal data
    masked (the warehouse keeps what clerks wrote; the pages are published too)."""
    from ducha.disclosure.redact import is_missing, mask_personal

    return "" if is_missing(value) else mask_personal(str(value))


TEMPLATES.env.filters["masked"] = _masked


# --- who is asking -----------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The logged-in user, as the pages need them."""

    name: str
    roles: tuple[str, ...]
    scope: Scope
    token: str  # their own Airflow token: answers to Airflow go as them

    @property
    def csrf(self) -> str:
        """The token this user's forms carry now: it changes every FORM_TOKEN_HOURS."""
        return self.form_token(form_window())

    def form_token(self, window: int) -> str:
        return hmac.new(_secret(), f"ducha-form|{window}|{self.name}".encode(), hashlib.sha256).hexdigest()

    def accepts(self, token: str, now: float | None = None) -> bool:
        """A form's token: this window's or the one before (a page left open over the
        turn of a window still works; an older one does not)."""
        window = form_window(now)
        return any(hmac.compare_digest(token or "", self.form_token(w)) for w in (window, window - 1))


FORM_TOKEN_HOURS = 8


def form_window(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // (FORM_TOKEN_HOURS * 3600))


def _secret() -> bytes:
    from airflow.configuration import conf

    key = conf.get("api_auth", "jwt_secret", fallback="") or conf.get("core", "fernet_key", fallback="")
    return hashlib.sha256(f"ducha|{key}".encode()).digest()


def _roles(user: object) -> tuple[str, ...]:
    """Airflow roles of a user: SimpleAuthManager's one ``role``, FAB's ``roles``."""
    if getattr(user, "role", None):
        return (str(user.role),)  # type: ignore[attr-defined]
    return tuple(str(getattr(r, "name", r)) for r in getattr(user, "roles", None) or ())


def bearer_token(request: Request) -> str:
    """The Airflow token the request carries (a bearer header or Airflow's cookie)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN, "")


def current_viewer(
    request: Request,
    _: Annotated[None, Depends(requires_access_view(AccessView.WEBSITE))],
    user: GetUserDep,
) -> Viewer:
    """The logged-in Airflow user (401/403 from Airflow otherwise) and their scope."""
    name = user.get_name()
    roles = _roles(user)
    return Viewer(name, roles, scope_for(name, list(roles), load_access()), bearer_token(request))


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def forbidden_if_nothing(viewer: Viewer) -> None:
    if viewer.scope.nothing:
        raise HTTPException(403, "未配置可查看的地区（access.yaml）")


def sees_drafts(viewer: Viewer) -> bool:
    """Drafts are for those who sign them off; everyone else sees what was released."""
    return viewer.scope.publisher and viewer.scope.everything


def check_post(request: Request, viewer: Viewer, token: str) -> None:
    """A form may be sent only from these pages: same origin, and the user's own token."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "跨站请求被拒绝")
    if request.headers.get("sec-fetch-site") not in (None, "same-origin", "none"):
        raise HTTPException(403, "跨站请求被拒绝")
    if not viewer.accepts(token):
        raise HTTPException(403, "表单已失效，请刷新页面后重试")


# --- answering -----------------------------------------------------------------------


def base_href(request: Request) -> str:
    """The relative way from this page back to the app's root ("./", "../", …)."""
    path = request.scope.get("path", "")
    root = request.scope.get("root_path", "")
    inside = path[len(root) :] if root and path.startswith(root) else path
    depth = inside.count("/") - 1
    return "../" * depth if depth > 0 else "./"


def render(
    request: Request, viewer: Viewer | None, template: str, status_code: int = 200, **values: object
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"base": base_href(request), "viewer": viewer, **values},
        status_code=status_code,
    )


def attachment(name: str) -> dict[str, str]:
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"}


# --- what is asked for -----------------------------------------------------------------


@cache
def _engine(url: str) -> Engine:
    from ducha.warehouse.db import engine

    return engine(url)


def warehouse() -> Engine:
    return _engine(warehouse_url(dirs=data_dirs()))


def as_of(conn: Connection, inspection_id: str) -> dt.date:
    """The day "overdue" is judged on: the inspection's latest data day (what its tables
    say), not the calendar, so a closed inspection's figures stay as published."""
    from ducha.disclosure.tables import latest_data_day

    return latest_data_day(conn, inspection_id) or local_day(dt.datetime.now(timezone()))


def inspection_or_404(inspection_id: str) -> Inspection:
    if inspection_id not in registry():
        raise HTTPException(404)
    return get_inspection(inspection_id)


def chosen(inspection: str, ids: list[str]) -> str:
    """The inspection a form asked for, else the first configured ("" with none)."""
    return inspection if inspection in ids else (ids[0] if ids else "")


def folder_or_404(root: Path, inspection_id: str, day: str) -> catalog.DayFolder:
    try:
        return catalog.day_folder(root, inspection_id, day)
    except catalog.NotFound as exc:
        raise HTTPException(404) from exc


def extract_or_404(folder: catalog.DayFolder, name: str, scope: Scope) -> extracts.Extract:
    try:
        return extracts.extract(folder, name, scope)
    except catalog.NotFound as exc:
        raise HTTPException(404) from exc


def stage_root(stage: str, viewer: Viewer) -> Path:
    dirs = data_dirs()
    if stage == DRAFTS and sees_drafts(viewer):
        return dirs.outbox
    if stage == RELEASED:
        return dirs.released
    raise HTTPException(404)


def api_root() -> str:
    """Where Airflow's REST API is: ``[api] base_url`` when set, else this api-server on
    the loopback (never a host a request names: the user's token goes there)."""
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="") or ""
    return base.rstrip("/") if base else f"http://127.0.0.1:{conf.getint('api', 'port', fallback=8080)}"
