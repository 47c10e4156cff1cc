"""挂图作战: the map page and its figures (the province's cities, each city's counties),
counted only over the user's regions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ducha.config import registry
from ducha.web import stats
from ducha.web.shared import (
    ViewerDep,
    as_of,
    chosen,
    forbidden_if_nothing,
    inspection_or_404,
    render,
    warehouse,
)

router = APIRouter()


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, viewer: ViewerDep, inspection: str = "") -> HTMLResponse:
    forbidden_if_nothing(viewer)
    ids = sorted(registry())
    return render(request, viewer, "map.html", inspections=ids, inspection=chosen(inspection, ids))


@router.get("/map/data/{inspection_id}")
def map_data(viewer: ViewerDep, inspection_id: str) -> JSONResponse:
    forbidden_if_nothing(viewer)
    insp = inspection_or_404(inspection_id)
    with warehouse().connect() as conn:
        figures = stats.dashboard(conn, insp, viewer.scope, as_of(conn, insp.id))
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
