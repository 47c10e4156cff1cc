"""A day's files: one file, its preview, the whole day as a zip — each only as named in
the day's manifest and covered by the user's scope (a county's rows of a city's table
are cut out for them: ducha.web.extracts)."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ducha.web import catalog, extracts
from ducha.web.shared import (
    RELEASED,
    ViewerDep,
    attachment,
    extract_or_404,
    folder_or_404,
    render,
    stage_root,
)

PREVIEW_ROWS = 500

router = APIRouter()


@router.get("/files/{stage}/{inspection_id}/{day}/{name}")
def download(viewer: ViewerDep, stage: str, inspection_id: str, day: str, name: str) -> Response:
    folder = folder_or_404(stage_root(stage, viewer), inspection_id, day)
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    try:
        data = folder.file_path(name, viewer.scope).read_bytes()
    except catalog.NotFound:
        data = extract_or_404(folder, name, viewer.scope).xlsx()  # a county's rows of a city copy
    return Response(data, media_type=kind, headers=attachment(name))


@router.get("/preview/{stage}/{inspection_id}/{day}/{name}", response_class=HTMLResponse)
def preview(
    request: Request, viewer: ViewerDep, stage: str, inspection_id: str, day: str, name: str
) -> Response:
    folder = folder_or_404(stage_root(stage, viewer), inspection_id, day)
    from ducha.web.preview import PREVIEWABLE, sheet_rows, table_rows

    try:
        path = folder.file_path(name, viewer.scope)
    except catalog.NotFound:
        found = extract_or_404(folder, name, viewer.scope)
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


@router.get("/zip/{stage}/{inspection_id}/{day}")
def day_zip(viewer: ViewerDep, stage: str, inspection_id: str, day: str) -> Response:
    folder = folder_or_404(stage_root(stage, viewer), inspection_id, day)
    own = [(e.name, e.xlsx()) for e in extracts.extracts(folder, viewer.scope)]
    if not folder.files(viewer.scope) and not own:
        raise HTTPException(404)
    name = f"{inspection_id}-{day}{'' if stage == RELEASED else '-draft'}.zip"
    return Response(
        catalog.zip_of(folder, viewer.scope, own), media_type="application/zip", headers=attachment(name)
    )
