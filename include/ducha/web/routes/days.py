"""信息公开: the inspections' days, a day's tables (drafts for those who sign them off,
what was released for everyone else), the clerk's error reports of a day's pending
batches, and the sign-off form's answer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from ducha.config import data_dirs, get_inspection, project_settings, registry
from ducha.paths import UnsafePath, under
from ducha.web import catalog, extracts, signoff
from ducha.web.shared import (
    DRAFTS,
    RELEASED,
    ViewerDep,
    api_root,
    base_href,
    check_post,
    folder_or_404,
    forbidden_if_nothing,
    inspection_or_404,
    render,
    sees_drafts,
    warehouse,
)

router = APIRouter()


@router.get("/collect", response_class=HTMLResponse)
def collect(request: Request, viewer: ViewerDep) -> HTMLResponse:
    forbidden_if_nothing(viewer)
    root = data_dirs().outbox if sees_drafts(viewer) else data_dirs().released
    found = [i for i in catalog.inspections(root) if i in registry()]
    items = [(i, get_inspection(i).name, catalog.days(root, i)) for i in found]
    return render(request, viewer, "collect.html", inspections=items, drafts=sees_drafts(viewer))


@router.get("/collect/{inspection_id}/{day}", response_class=HTMLResponse)
def collect_day(request: Request, viewer: ViewerDep, inspection_id: str, day: str) -> HTMLResponse:
    forbidden_if_nothing(viewer)
    insp = inspection_or_404(inspection_id)
    dirs = data_dirs()
    drafts = sees_drafts(viewer)
    folder = folder_or_404(dirs.outbox if drafts else dirs.released, inspection_id, day)
    try:
        released = catalog.day_folder(dirs.released, inspection_id, day)
    except catalog.NotFound:
        released = None
    from ducha.disclosure.release import draft_sha, history

    draft = (draft_sha(dirs.outbox, inspection_id, day) or "") if drafts else ""
    waiting, problem = None, None
    if drafts:
        try:
            waiting = signoff.status(api_root(), viewer.token, dirs.outbox, inspection_id, day, draft)
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
        history=list(reversed(history(dirs.released, inspection_id, day))) if viewer.scope.everything else [],
        pending=[b for b in batches if b.get("pending")],
        reports=_reports(inspection_id, day, batches) if viewer.scope.everything else {},
        svgs=[f for f in folder.files(viewer.scope) if f["name"].endswith(".svg")],
    )


@router.get("/reports/{sha256}", response_class=HTMLResponse)
def clerk_report(viewer: ViewerDep, sha256: str) -> Response:
    """The clerk's error report of a stored file (whole-province users only: it shows
    rows of every region)."""
    from ducha.warehouse.schema import files

    if not viewer.scope.everything or len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise HTTPException(404)
    with warehouse().connect() as conn:
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
    return HTMLResponse(report.read_text(encoding="utf-8"), headers={"Content-Security-Policy": "sandbox"})


@router.post("/signoff/{inspection_id}/{day}")
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
    check_post(request, viewer, csrf)
    if not (viewer.scope.publisher and viewer.scope.everything):
        raise HTTPException(403, "需要签发权限")
    inspection_or_404(inspection_id)
    folder_or_404(data_dirs().outbox, inspection_id, day)
    if decision not in ("approve", "reject"):
        raise HTTPException(400, "decision: approve | reject")
    if decision == "reject" and not comment.strip():
        raise HTTPException(400, "退回须填写意见")
    try:
        signoff.answer(
            api_root(),
            viewer.token,
            inspection_id,
            day,
            draft,
            decision == "approve",
            comment.strip(),
            settle_seconds=project_settings().signoff.settle_seconds,
        )
    except signoff.SignoffError as exc:
        raise HTTPException(409, str(exc)) from exc
    return RedirectResponse(f"{base_href(request)}collect/{inspection_id}/{day}", status_code=303)


def _reports(inspection_id: str, day: str, batches: list[dict]) -> dict[int, list[dict]]:
    """The clerk's reports of files that left rows of a pending batch in quarantine."""
    from ducha.warehouse.schema import files

    wanted = [b["batch_no"] for b in batches if b.get("pending")]
    if not wanted:
        return {}
    with warehouse().connect() as conn:
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
