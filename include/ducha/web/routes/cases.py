"""案件查询: the case search of an inspection and one case with its versions, each only
in the user's regions."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from ducha.config import get_inspection, registry
from ducha.web import search
from ducha.web.shared import (
    ViewerDep,
    as_of,
    chosen,
    forbidden_if_nothing,
    inspection_or_404,
    render,
    warehouse,
)

MAX_PAGE = 100_000

router = APIRouter()


@router.get("/cases", response_class=HTMLResponse)
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
    if not (inspection := chosen(inspection, ids)):
        raise HTTPException(404)
    insp = get_inspection(inspection)
    with warehouse().connect() as conn:
        criteria = search.Criteria(
            keyword=q,
            region=region,
            pollution_type=type,
            verified=verified,
            status=status,
            key_case={"1": True, "0": False}.get(key),
            batch_no=int(batch) if batch.isdecimal() and len(batch) < 6 else None,
            overdue=overdue == "1",
            today=as_of(conn, insp.id),
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


@router.get("/cases/{inspection_id}/{case_id}", response_class=HTMLResponse)
def case_detail(request: Request, viewer: ViewerDep, inspection_id: str, case_id: str) -> HTMLResponse:
    insp = inspection_or_404(inspection_id)
    with warehouse().connect() as conn:
        versions = search.history(conn, insp, case_id[:64], viewer.scope)
        current = search.one_case(conn, insp, case_id[:64], viewer.scope)
    if not versions or current is None:
        raise HTTPException(404)
    return render(request, viewer, "case.html", insp=insp, case=current, versions=versions)
