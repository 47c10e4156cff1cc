"""报送自查: a clerk checks a workbook before sending it (the report the pipeline would
write, nothing stored), and downloads the inspection's blank template."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from ducha.config import limit, registry
from ducha.paths import safe_name
from ducha.web.shared import ViewerDep, attachment, check_post, inspection_or_404, render

UPLOAD_TYPES = {".xlsx": b"PK\x03\x04", ".xlsm": b"PK\x03\x04", ".xls": b"\xd0\xcf\x11\xe0"}
UPLOAD_OVERHEAD = 64 * 1024  # the multipart envelope around a file of the size limit

router = APIRouter()


def too_large(request: Request) -> HTMLResponse:
    """The form again, saying the upload was over the size limit (413)."""
    return render(
        request, None, "precheck.html", 413, inspections=sorted(registry()), report=None,
        error=f"文件超过 {limit('max_file_bytes') // 2**20} MB",
    )  # fmt: skip


@router.get("/precheck", response_class=HTMLResponse)
def precheck_form(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, viewer, "precheck.html", inspections=sorted(registry()), report=None, error=None)


@router.post("/precheck", response_class=HTMLResponse)
async def precheck(
    request: Request,
    viewer: ViewerDep,
    workbook: UploadFile,
    inspection: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    check_post(request, viewer, csrf)
    insp = inspection_or_404(inspection)
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


@router.get("/template/{inspection_id}")
def template(viewer: ViewerDep, inspection_id: str) -> Response:
    insp = inspection_or_404(inspection_id)
    from ducha.intake.template import write_template

    with tempfile.TemporaryDirectory(prefix="ducha-template-") as work:
        path = write_template(Path(work) / "template.xlsx", insp)
        data = path.read_bytes()
        name = path.name
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=attachment(name),
    )


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
