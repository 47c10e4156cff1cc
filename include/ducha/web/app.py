"""The officers' and clerks' pages (信息公开, 案件查询, 挂图作战, 报送自查): a FastAPI app
that Airflow's api-server mounts (plugins/ducha_pages.py registers it).

Airflow authenticates nobody for a plugin's app: every route here depends on
``requires_access_view`` (the logged-in Airflow user, by their session cookie or a
bearer token) and then on the user's region scope (include/config/access.yaml). Files
are served only as named in a manifest; POSTs carry a per-user token and must come
from this site. Links are relative, so the pages work under any base URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import mimetypes
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, Engine, select

from ducha.config import data_dirs, get_inspection, limit, local_day, registry, timezone, warehouse_url
from ducha.paths import UnsafePath, safe_name, under
from ducha.web import catalog, extracts, search, signoff, stats
from ducha.web.access import Scope, load_access, scope_for

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = Jinja2Templates(directory=HERE / "templates")


def _masked(value: object) -> str:
    """Free text from the warehouse as the published tables show it: personal data
    masked (the warehouse keeps what clerks wrote; the pages are published too)."""
    from ducha.disclosure.redact import is_missing, mask_personal

    return "" if is_missing(value) else mask_personal(str(value))


TEMPLATES.env.filters["masked"] = _masked
UPLOAD_TYPES = {".xlsx": b"PK\x03\x04", ".xlsm": b"PK\x03\x04", ".xls": b"\xd0\xcf\x11\xe0"}
PREVIEW_ROWS = 500
UPLOAD_OVERHEAD = 64 * 1024  # the multipart envelope around a file of the size limit
MAX_PAGE = 100_000
DRAFTS, RELEASED = "draft", "released"
# Pages of a plugin are framed by Airflow's UI: same origin only, no third party.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
}


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
        return self.form_token(_form_window())

    def form_token(self, window: int) -> str:
        return hmac.new(_secret(), f"ducha-form|{window}|{self.name}".encode(), hashlib.sha256).hexdigest()

    def accepts(self, token: str, now: float | None = None) -> bool:
        """A form's token: this window's or the one before (a page left open over the
        turn of a window still works; an older one does not)."""
        window = _form_window(now)
        return any(hmac.compare_digest(token or "", self.form_token(w)) for w in (window, window - 1))


FORM_TOKEN_HOURS = 8


def _form_window(now: float | None = None) -> int:
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


def _token(request: Request) -> str:
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
    return Viewer(name, roles, scope_for(name, list(roles), load_access()), _token(request))


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


@cache
def _engine(url: str) -> Engine:
    from ducha.warehouse.db import engine

    return engine(url)


def _warehouse() -> Engine:
    return _engine(warehouse_url(dirs=data_dirs()))


def _base(request: Request) -> str:
    """The relative way from this page back to the app's root ("./", "../", …)."""
    path = request.scope.get("path", "")
    root = request.scope.get("root_path", "")
    inside = path[len(root) :] if root and path.startswith(root) else path
    depth = inside.count("/") - 1
    return "../" * depth if depth > 0 else "./"


def _as_of(conn: Connection, inspection_id: str) -> dt.date:
    """The day "overdue" is judged on: the inspection's latest data day (what its tables
    say), not the calendar, so a closed inspection's figures stay as published."""
    from ducha.disclosure.tables import latest_data_day

    return latest_data_day(conn, inspection_id) or local_day(dt.datetime.now(timezone()))


def _insp_or_404(inspection_id: str):  # type: ignore[no-untyped-def]
    if inspection_id not in registry():
        raise HTTPException(404)
    return get_inspection(inspection_id)


def _check_post(request: Request, viewer: Viewer, token: str) -> None:
    """A form may be sent only from these pages: same origin, and the user's own token."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "跨站请求被拒绝")
    if request.headers.get("sec-fetch-site") not in (None, "same-origin", "none"):
        raise HTTPException(403, "跨站请求被拒绝")
    if not viewer.accepts(token):
        raise HTTPException(403, "表单已失效，请刷新页面后重试")


def _api_root() -> str:
    """Where Airflow's REST API is: ``[api] base_url`` when set, else this api-server on
    the loopback (never a host a request names: the user's token goes there)."""
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="") or ""
    return base.rstrip("/") if base else f"http://127.0.0.1:{conf.getint('api', 'port', fallback=8080)}"


PREFIX = "/ducha"


def create_app() -> FastAPI:
    app = FastAPI(title="Ducha pages", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.method == "POST" and request.url.path.endswith("/precheck"):
            # FastAPI reads a whole upload before any dependency runs: refuse here, before
            # the body, what has no credentials or says (or hides) a size over the limit.
            if not _token(request):
                return JSONResponse({"detail": "Not authenticated"}, status_code=401)
            length = request.headers.get("content-length", "")
            if not length.isdecimal():
                return JSONResponse({"detail": "Content-Length required"}, status_code=411)
            if int(length) > limit("max_file_bytes") + UPLOAD_OVERHEAD:
                return _too_large(request)
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if response.headers.get("content-type", "").startswith(("text/html", "application/json")):
            response.headers.setdefault("Cache-Control", "no-store")  # scoped pages: never cached
        return response

    def _too_large(request: Request) -> Response:
        return render(
            request, None, "precheck.html", 413, inspections=sorted(registry()), report=None,
            error=f"文件超过 {limit('max_file_bytes') // 2**20} MB",
        )  # fmt: skip

    def render(
        request: Request, viewer: Viewer, template: str, status_code: int = 200, **values: object
    ) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(
            request,
            template,
            {"base": _base(request), "viewer": viewer, **values},
            status_code=status_code,
        )

    def forbidden_if_nothing(viewer: Viewer) -> None:
        if viewer.scope.nothing:
            raise HTTPException(403, "未配置可查看的地区（include/config/access.yaml）")

    @app.get("/", include_in_schema=False)
    def home(request: Request, viewer: ViewerDep) -> RedirectResponse:
        return RedirectResponse(_base(request) + "collect", status_code=303)

    @app.get("/static/{name:path}")
    def static(name: str, viewer: ViewerDep) -> Response:
        try:
            path = under(STATIC, *name.split("/"))
        except UnsafePath as exc:
            raise HTTPException(404) from exc
        if not path.is_file() or path.is_symlink():
            raise HTTPException(404)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Response(
            path.read_bytes(), media_type=kind, headers={"Cache-Control": "private, max-age=3600"}
        )

    # --- 信息公开: collect --------------------------------------------------------

    @app.get("/collect", response_class=HTMLResponse)
    def collect(request: Request, viewer: ViewerDep) -> HTMLResponse:
        forbidden_if_nothing(viewer)
        root = data_dirs().outbox if _sees_drafts(viewer) else data_dirs().released
        found = [i for i in catalog.inspections(root) if i in registry()]
        items = [(i, get_inspection(i).name, catalog.days(root, i)) for i in found]
        return render(request, viewer, "collect.html", inspections=items, drafts=_sees_drafts(viewer))

    @app.get("/collect/{inspection_id}/{day}", response_class=HTMLResponse)
    def collect_day(request: Request, viewer: ViewerDep, inspection_id: str, day: str) -> HTMLResponse:
        forbidden_if_nothing(viewer)
        insp = _insp_or_404(inspection_id)
        dirs = data_dirs()
        drafts = _sees_drafts(viewer)
        folder = _folder(dirs.outbox if drafts else dirs.released, inspection_id, day)
        try:
            released = catalog.day_folder(dirs.released, inspection_id, day)
        except catalog.NotFound:
            released = None
        from ducha.disclosure.release import draft_sha, history

        draft = (draft_sha(dirs.outbox, inspection_id, day) or "") if drafts else ""
        waiting, problem = None, None
        if drafts:
            try:
                waiting = signoff.status(_api_root(), viewer.token, inspection_id, day, draft)
            except signoff.SignoffError as exc:
                problem = str(exc)
        batches = folder.manifest.get("batches", [])
        return render(
            request,
            viewer,
            "day.html",
            insp=insp,
            folder=folder,
            stage=DRAFTS if drafts else RELEASED,
            tables=catalog.grouped(
                folder.files(viewer.scope) + [e.entry() for e in extracts.extracts(folder, viewer.scope)]
            ),
            released=released,
            released_current=bool(released and released.manifest.get("release", {}).get("draft") == draft),
            draft=draft,
            waiting=waiting,
            problem=problem,
            history=list(reversed(history(dirs.released, inspection_id, day)))
            if viewer.scope.everything
            else [],
            pending=[b for b in batches if b.get("pending")],
            reports=_reports(inspection_id, day, batches) if viewer.scope.everything else {},
            svgs=[f for f in folder.files(viewer.scope) if f["name"].endswith(".svg")],
        )

    @app.get("/files/{stage}/{inspection_id}/{day}/{name}")
    def download(viewer: ViewerDep, stage: str, inspection_id: str, day: str, name: str) -> Response:
        folder = _folder(_stage_root(stage, viewer), inspection_id, day)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        try:
            data = folder.file_path(name, viewer.scope).read_bytes()
        except catalog.NotFound:
            data = _extract(folder, name, viewer.scope).xlsx()  # a county's rows of a city copy
        return Response(data, media_type=kind, headers=_attachment(name))

    @app.get("/preview/{stage}/{inspection_id}/{day}/{name}", response_class=HTMLResponse)
    def preview(
        request: Request, viewer: ViewerDep, stage: str, inspection_id: str, day: str, name: str
    ) -> Response:
        folder = _folder(_stage_root(stage, viewer), inspection_id, day)
        from ducha.web.preview import PREVIEWABLE, sheet_rows, table_rows

        try:
            path = folder.file_path(name, viewer.scope)
        except catalog.NotFound:
            found = _extract(folder, name, viewer.scope)
            entry = found.entry()
            rows, more = sheet_rows(found.sheet, PREVIEW_ROWS)
        else:
            entry = folder.entry(name, viewer.scope)
            if path.suffix not in PREVIEWABLE:
                raise HTTPException(404)
            rows, more = table_rows(path, PREVIEW_ROWS)
        return render(
            request, viewer, "preview.html", folder=folder, entry=entry, stage=stage, rows=rows, more=more
        )

    @app.get("/zip/{stage}/{inspection_id}/{day}")
    def day_zip(viewer: ViewerDep, stage: str, inspection_id: str, day: str) -> Response:
        folder = _folder(_stage_root(stage, viewer), inspection_id, day)
        own = [(e.name, e.xlsx()) for e in extracts.extracts(folder, viewer.scope)]
        if not folder.files(viewer.scope) and not own:
            raise HTTPException(404)
        name = f"{inspection_id}-{day}{'' if stage == RELEASED else '-draft'}.zip"
        return Response(
            catalog.zip_of(folder, viewer.scope, own), media_type="application/zip", headers=_attachment(name)
        )

    @app.get("/reports/{sha256}", response_class=HTMLResponse)
    def clerk_report(viewer: ViewerDep, sha256: str) -> Response:
        """The clerk's error report of a stored file (whole-province users only: it shows
        rows of every region)."""
        from ducha.warehouse.schema import files

        if (
            not viewer.scope.everything
            or len(sha256) != 64
            or not all(c in "0123456789abcdef" for c in sha256)
        ):
            raise HTTPException(404)
        with _warehouse().connect() as conn:
            stored = conn.execute(select(files.c.stored_path).where(files.c.sha256 == sha256)).scalar()
        if not stored:
            raise HTTPException(404)
        stored_path = Path(stored)  # relative to the data root, as the warehouse records it
        try:
            report = under(data_dirs().root, *stored_path.parent.parts, stored_path.name + ".report.html")
        except UnsafePath as exc:
            raise HTTPException(404) from exc
        if not report.is_file() or report.is_symlink():
            raise HTTPException(404)
        return HTMLResponse(
            report.read_text(encoding="utf-8"), headers={"Content-Security-Policy": "sandbox"}
        )

    @app.post("/signoff/{inspection_id}/{day}")
    def sign(
        request: Request,
        viewer: ViewerDep,
        inspection_id: str,
        day: str,
        decision: Annotated[str, Form()],
        draft: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
        comment: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        _check_post(request, viewer, csrf)
        if not (viewer.scope.publisher and viewer.scope.everything):
            raise HTTPException(403, "需要签发权限")
        _insp_or_404(inspection_id)
        _folder(data_dirs().outbox, inspection_id, day)
        if decision not in ("approve", "reject"):
            raise HTTPException(400, "decision: approve | reject")
        if decision == "reject" and not comment.strip():
            raise HTTPException(400, "退回须填写意见")
        try:
            signoff.answer(
                _api_root(),
                viewer.token,
                inspection_id,
                day,
                draft,
                decision == "approve",
                comment.strip(),
            )
        except signoff.SignoffError as exc:
            raise HTTPException(409, str(exc)) from exc
        return RedirectResponse(f"{_base(request)}collect/{inspection_id}/{day}", status_code=303)

    # --- 案件查询: search ----------------------------------------------------------

    @app.get("/cases", response_class=HTMLResponse)
    def cases(
        request: Request,
        viewer: ViewerDep,
        inspection: str = "",
        q: str = "",
        region: str = "",
        type: str = "",
        verified: str = "",
        status: str = "",
        key: str = "",
        batch: str = "",
        overdue: str = "",
        page: str = "1",
    ) -> HTMLResponse:
        forbidden_if_nothing(viewer)
        ids = sorted(registry())
        if not (inspection := _chosen(inspection, ids)):
            raise HTTPException(404)
        insp = get_inspection(inspection)
        with _warehouse().connect() as conn:
            criteria = search.Criteria(
                keyword=q,
                region=region,
                pollution_type=type,
                verified=verified,
                status=status,
                key_case={"1": True, "0": False}.get(key),
                batch_no=int(batch) if batch.isdecimal() and len(batch) < 6 else None,
                overdue=overdue == "1",
                today=_as_of(conn, insp.id),
            )
            found = search.search(
                conn,
                insp,
                criteria,
                viewer.scope,
                page=min(int(page), MAX_PAGE) if page.isdecimal() and len(page) < 7 else 1,
            )
            options = search.choices(conn, insp)
        query = {k: v for k, v in request.query_params.items() if k != "page"}
        return render(
            request, viewer, "cases.html", insp=insp, inspections=ids, found=found, options=options,
            criteria=criteria, query=query, form=dict(request.query_params),
            personal=search.personal_keyword(q),
        )  # fmt: skip

    @app.get("/cases/{inspection_id}/{case_id}", response_class=HTMLResponse)
    def case_detail(request: Request, viewer: ViewerDep, inspection_id: str, case_id: str) -> HTMLResponse:
        insp = _insp_or_404(inspection_id)
        with _warehouse().connect() as conn:
            versions = search.history(conn, insp, case_id[:64], viewer.scope)
            current = search.one_case(conn, insp, case_id[:64], viewer.scope)
        if not versions or current is None:
            raise HTTPException(404)
        return render(request, viewer, "case.html", insp=insp, case=current, versions=versions)

    # --- 挂图作战: map -------------------------------------------------------------

    @app.get("/map", response_class=HTMLResponse)
    def map_page(request: Request, viewer: ViewerDep, inspection: str = "") -> HTMLResponse:
        forbidden_if_nothing(viewer)
        ids = sorted(registry())
        return render(request, viewer, "map.html", inspections=ids, inspection=_chosen(inspection, ids))

    @app.get("/map/data/{inspection_id}")
    def map_data(viewer: ViewerDep, inspection_id: str) -> JSONResponse:
        forbidden_if_nothing(viewer)
        insp = _insp_or_404(inspection_id)
        with _warehouse().connect() as conn:
            figures = stats.dashboard(conn, insp, viewer.scope, _as_of(conn, insp.id))
        from ducha.web.maps import city_map_path, map_path

        # The province's map by the GB/T 2260 prefix of its cities' codes (43…: 湖南), and
        # each city's map of its counties where vendored (clicking a city opens it).
        prefix = next((r.code[:2] for r in insp.regions if r.code), "")
        found = map_path(prefix)
        figures["map"] = f"static/vendor/maps/{found.name}" if found else None
        for city in figures["cities"]:  # type: ignore[attr-defined]
            county_map = city_map_path(city["code"] or "")
            city["map"] = f"static/vendor/maps/cities/{county_map.name}" if county_map else None
        return JSONResponse(figures, headers={"Cache-Control": "no-store"})

    # --- 报送自查: clerk pre-check ----------------------------------------------------

    @app.get("/precheck", response_class=HTMLResponse)
    def precheck_form(request: Request, viewer: ViewerDep) -> HTMLResponse:
        return render(
            request, viewer, "precheck.html", inspections=sorted(registry()), report=None, error=None
        )

    @app.post("/precheck", response_class=HTMLResponse)
    async def precheck(
        request: Request,
        viewer: ViewerDep,
        workbook: UploadFile,
        inspection: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        _check_post(request, viewer, csrf)
        insp = _insp_or_404(inspection)
        original = os.path.basename((workbook.filename or "").replace("\\", "/")) or "upload.xlsx"
        suffix = Path(original).suffix.lower()
        values = {"inspections": sorted(registry()), "report": None}
        if suffix not in UPLOAD_TYPES:
            return render(
                request,
                viewer,
                "precheck.html",
                415,
                error=f"只接受 Excel 文件（{'、'.join(UPLOAD_TYPES)}）：{original}",
                **values,
            )
        work = Path(tempfile.mkdtemp(prefix="ducha-precheck-"))  # private (0700), never under the data root
        try:
            path = work / safe_name(original, max_bytes=200)
            size = await _save_upload(workbook, path, limit("max_file_bytes"))
            if size is None:
                return render(
                    request,
                    viewer,
                    "precheck.html",
                    413,
                    error=f"文件超过 {limit('max_file_bytes') // 2**20} MB",
                    **values,
                )
            if not path.read_bytes()[:4].startswith(UPLOAD_TYPES[suffix]):
                return render(
                    request, viewer, "precheck.html", 415, error=f"{original} 不是有效的 Excel 文件", **values
                )
            from starlette.concurrency import run_in_threadpool

            from ducha.intake.check import check_files

            reports = await run_in_threadpool(check_files, [(path, insp, original)])
        finally:
            shutil.rmtree(work, ignore_errors=True)  # the upload is never kept
        return render(
            request, viewer, "precheck.html", error=None, inspections=values["inspections"], report=reports[0]
        )

    @app.get("/template/{inspection_id}")
    def template(viewer: ViewerDep, inspection_id: str) -> Response:
        insp = _insp_or_404(inspection_id)
        from ducha.intake.template import write_template

        with tempfile.TemporaryDirectory(prefix="ducha-template-") as work:
            path = write_template(Path(work) / "template.xlsx", insp)
            data = path.read_bytes()
            name = path.name
        return Response(
            data,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=_attachment(name),
        )

    @app.exception_handler(HTTPException)
    async def errors(request: Request, exc: HTTPException) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        if exc.status_code in (401, 403) and not wants_html:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        if not wants_html:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        message = {404: "未找到", 401: "请先登录 Airflow", 403: "无权访问"}.get(exc.status_code, "请求有误")
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code not in (404,) else ""
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"base": _base(request), "message": message, "detail": detail, "viewer": None},
            status_code=exc.status_code,
        )  # fmt: skip

    return app


def _chosen(inspection: str, ids: list[str]) -> str:
    """The inspection a form asked for, else the first configured ("" with none)."""
    return inspection if inspection in ids else (ids[0] if ids else "")


def _folder(root: Path, inspection_id: str, day: str) -> catalog.DayFolder:
    try:
        return catalog.day_folder(root, inspection_id, day)
    except catalog.NotFound as exc:
        raise HTTPException(404) from exc


def _extract(folder: catalog.DayFolder, name: str, scope: Scope) -> extracts.Extract:
    try:
        return extracts.extract(folder, name, scope)
    except catalog.NotFound as exc:
        raise HTTPException(404) from exc


def _sees_drafts(viewer: Viewer) -> bool:
    """Drafts are for those who sign them off; everyone else sees what was released."""
    return viewer.scope.publisher and viewer.scope.everything


def _stage_root(stage: str, viewer: Viewer) -> Path:
    dirs = data_dirs()
    if stage == DRAFTS and _sees_drafts(viewer):
        return dirs.outbox
    if stage == RELEASED:
        return dirs.released
    raise HTTPException(404)


def _attachment(name: str) -> dict[str, str]:
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"}


async def _save_upload(upload: UploadFile, path: Path, max_bytes: int) -> int | None:
    """Write the upload to ``path`` in chunks; None (and nothing kept) past ``max_bytes``."""
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                return None
            out.write(chunk)
    return size


def _reports(inspection_id: str, day: str, batches: list[dict]) -> dict[int, list[dict]]:
    """The clerk's reports of files that left rows of a pending batch in quarantine."""
    from ducha.warehouse.schema import files

    wanted = [b["batch_no"] for b in batches if b.get("pending")]
    if not wanted:
        return {}
    with _warehouse().connect() as conn:
        rows = conn.execute(
            select(files.c.sha256, files.c.name, files.c.batch_no, files.c.rows_quarantined)
            .where(
                files.c.inspection_id == inspection_id,
                files.c.batch_no.in_(wanted),
                files.c.rows_quarantined > 0,
                files.c.received_on <= dt.date.fromisoformat(day),
            )
            .order_by(files.c.received_on, files.c.name)
        ).mappings()
        out: dict[int, list[dict]] = {}
        for r in rows:
            out.setdefault(r["batch_no"], []).append(dict(r))
    return out
