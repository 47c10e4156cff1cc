"""The officers' and clerks' pages (信息公开, 案件查询, 挂图作战, 报送自查): a FastAPI app
that Airflow's api-server mounts (plugins/ducha_pages.py registers it).

Airflow authenticates nobody for a plugin's app: every route depends on
``requires_access_view`` (the logged-in Airflow user, by their session cookie or a
bearer token) and then on the user's region scope (access.yaml), both
in ducha.web.shared. Files are served only as named in a manifest; POSTs carry a
per-user token and must come from this site. Links are relative, so the pages work
under any base URL.

This module only builds the app: its headers, its error pages, the static files and
the pages' routers (ducha.web.routes, one per page).
"""

from __future__ import annotations

import mimetypes

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from ducha.config import limit
from ducha.paths import UnsafePath, under
from ducha.web.routes import cases, days, downloads, precheck
from ducha.web.routes import map as map_page
from ducha.web.shared import STATIC, TEMPLATES, ViewerDep, base_href, bearer_token

PREFIX = "/ducha"
# Pages of a plugin are framed by Airflow's UI: same origin only, no third party.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
}


def create_app() -> FastAPI:
    app = FastAPI(title="Ducha pages", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.method == "POST" and request.url.path.endswith("/precheck"):
            # FastAPI reads a whole upload before any dependency runs: refuse here, before
            # the body, what has no credentials or says (or hides) a size over the limit.
            if not bearer_token(request):
                return JSONResponse({"detail": "Not authenticated"}, status_code=401)
            length = request.headers.get("content-length", "")
            if not length.isdecimal():
                return JSONResponse({"detail": "Content-Length required"}, status_code=411)
            if int(length) > limit("max_file_bytes") + precheck.UPLOAD_OVERHEAD:
                return precheck.too_large(request)
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if response.headers.get("content-type", "").startswith(("text/html", "application/json")):
            response.headers.setdefault("Cache-Control", "no-store")  # scoped pages: never cached
        return response

    @app.get("/", include_in_schema=False)
    def home(request: Request, viewer: ViewerDep) -> RedirectResponse:
        return RedirectResponse(base_href(request) + "collect", status_code=303)

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

    for page in (days, downloads, cases, map_page, precheck):
        app.include_router(page.router)

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
            request, "error.html", {"base": base_href(request), "message": message, "detail": detail, "viewer": None},
            status_code=exc.status_code,
        )  # fmt: skip

    return app
