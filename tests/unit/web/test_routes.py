"""The app's routes, whatever module holds them: every (method, path) the pages had
when one module held them all still answers, and no other."""

from __future__ import annotations

from fastapi.routing import APIRoute

from ducha.web.app import create_app

# The routes of include/ducha/web/app.py before it was split per page (issue 14).
ROUTES = {
    ("GET", "/"),
    ("GET", "/static/{name:path}"),
    ("GET", "/collect"),
    ("GET", "/collect/{inspection_id}/{day}"),
    ("GET", "/files/{stage}/{inspection_id}/{day}/{name}"),
    ("GET", "/preview/{stage}/{inspection_id}/{day}/{name}"),
    ("GET", "/zip/{stage}/{inspection_id}/{day}"),
    ("GET", "/reports/{sha256}"),
    ("POST", "/signoff/{inspection_id}/{day}"),
    ("GET", "/cases"),
    ("GET", "/cases/{inspection_id}/{case_id}"),
    ("GET", "/map"),
    ("GET", "/map/data/{inspection_id}"),
    ("GET", "/precheck"),
    ("POST", "/precheck"),
    ("GET", "/template/{inspection_id}"),
}


def test_the_app_answers_every_route_it_had_and_no_other() -> None:
    app = create_app()
    routes = [(method, r.path) for r in app.routes if isinstance(r, APIRoute) for method in r.methods]
    assert len(routes) == len(set(routes))  # no route defined twice
    assert set(routes) == ROUTES
