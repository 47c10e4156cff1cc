"""The pages' routes behind Airflow's real authentication: who gets in, what each scope
sees and downloads, that nothing outside a manifest is ever served, and that a form is
accepted only from the pages themselves."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.unit.web.conftest import INSPECTION

DAY = "2024-06-03"
BATCH_TABLE = "第三批公开情况一览表.xlsx"
CHANGSHA_TABLE = "第三批公开情况一览表（长沙市）.xlsx"
HTML = {"accept": "text/html"}

ROUTES = [
    "/ducha/",
    "/ducha/collect",
    f"/ducha/collect/{INSPECTION}/{DAY}",
    f"/ducha/files/draft/{INSPECTION}/{DAY}/{quote(BATCH_TABLE)}",
    f"/ducha/preview/draft/{INSPECTION}/{DAY}/{quote(BATCH_TABLE)}",
    f"/ducha/zip/draft/{INSPECTION}/{DAY}",
    "/ducha/cases",
    f"/ducha/map/data/{INSPECTION}",
    "/ducha/map",
    "/ducha/precheck",
    f"/ducha/template/{INSPECTION}",
    "/ducha/static/ducha.css",
]


def _manifest(published: Path, day: str = DAY) -> dict:
    return json.loads((published / "outbox" / INSPECTION / day / "manifest.json").read_text(encoding="utf-8"))


def _regions(published: Path, where: str = "1=1") -> list[str]:
    with sqlite3.connect(published / "warehouse.sqlite") as db:
        return [r[0] for r in db.execute(f"SELECT region FROM v_case_latest WHERE {where}")]


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_is_refused_everywhere(pages, route: str) -> None:
    assert pages(None).get(route).status_code == 401


def test_anonymous_cannot_post(pages) -> None:
    anon = pages(None)
    assert anon.post("/ducha/precheck", data={"inspection": INSPECTION}).status_code == 401
    assert anon.post(f"/ducha/signoff/{INSPECTION}/{DAY}", data={"decision": "approve"}).status_code == 401


def test_a_forged_token_is_refused(pages) -> None:
    forged = pages(None)
    forged.cookies.set("_token", "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJvZmZpY2VyIn0.c2lnbmF0dXJl")
    assert forged.get("/ducha/collect").status_code in (401, 403)


def test_a_user_with_no_regions_sees_nothing(pages) -> None:
    stranger = pages("stranger", role="viewer")  # the test mapping gives the viewer role nothing
    assert stranger.get("/ducha/collect").status_code == 403
    assert stranger.get("/ducha/cases").status_code == 403
    assert stranger.get(f"/ducha/files/draft/{INSPECTION}/{DAY}/{quote(BATCH_TABLE)}").status_code == 404


def test_the_province_sees_every_day_table_and_download(pages, published: Path) -> None:
    officer = pages("officer")
    listing = officer.get("/ducha/collect", headers=HTML)
    assert listing.status_code == 200 and f"collect/{INSPECTION}/{DAY}" in listing.text
    day = officer.get(f"/ducha/collect/{INSPECTION}/{DAY}", headers=HTML)
    assert day.status_code == 200
    manifest = _manifest(published)
    for entry in manifest["files"]:
        assert quote(entry["name"]) in day.text or entry["name"] in day.text
        got = officer.get(f"/ducha/files/draft/{INSPECTION}/{DAY}/{quote(entry['name'])}")
        assert got.status_code == 200, entry["name"]
        import hashlib

        assert hashlib.sha256(got.content).hexdigest() == entry["sha256"]
        assert "attachment" in got.headers["content-disposition"]
    # The batch with a row in quarantine is marked, its clerk's report one click away.
    assert "1 件待补正" in day.text and "reports/" in day.text
    report = officer.get("/ducha/reports/" + day.text.split("reports/")[1][:64])
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]
    archive = zipfile.ZipFile(io.BytesIO(officer.get(f"/ducha/zip/draft/{INSPECTION}/{DAY}").content))
    assert sorted(archive.namelist()) == sorted(
        [f"{DAY}/{e['name']}" for e in manifest["files"]] + [f"{DAY}/manifest.json"]
    )


def test_a_preview_shows_the_tables_rows(pages, published: Path) -> None:
    with sqlite3.connect(published / "warehouse.sqlite") as db:
        case_id = db.execute("SELECT case_id FROM v_case_latest WHERE batch_no = 3 LIMIT 1").fetchone()[0]
    got = pages("officer").get(f"/ducha/preview/draft/{INSPECTION}/{DAY}/{quote(BATCH_TABLE)}", headers=HTML)
    assert got.status_code == 200 and case_id in got.text


def test_a_city_sees_only_its_own_tables_and_cases(pages, published: Path) -> None:
    city = pages("changsha")
    day = city.get(f"/ducha/collect/{INSPECTION}/{DAY}", headers=HTML)
    assert day.status_code == 200
    assert (
        "（长沙市）" in day.text and "（岳阳市）" not in day.text and ">第三批公开情况一览表<" not in day.text
    )
    assert city.get(f"/ducha/files/released/{INSPECTION}/{DAY}/{quote(CHANGSHA_TABLE)}").status_code == 200
    # Drafts are for those who sign them off.
    assert city.get(f"/ducha/files/draft/{INSPECTION}/{DAY}/{quote(CHANGSHA_TABLE)}").status_code == 404
    assert city.get(f"/ducha/zip/draft/{INSPECTION}/{DAY}").status_code == 404
    assert city.get(f"/ducha/files/released/{INSPECTION}/{DAY}/{quote(BATCH_TABLE)}").status_code == 404
    assert city.get(f"/ducha/preview/released/{INSPECTION}/{DAY}/{quote(BATCH_TABLE)}").status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(city.get(f"/ducha/zip/released/{INSPECTION}/{DAY}").content))
    names = archive.namelist()
    assert names and all("长沙市" in n for n in names)  # and no manifest naming the others
    # Search and the map: Changsha's cases, all of them.
    changsha = _regions(published, "region LIKE '长沙市%'")
    data = city.get(f"/ducha/map/data/{INSPECTION}").json()
    assert [c["name"] for c in data["cities"]] == ["长沙市"] and data["total"] == len(changsha)
    found = city.get("/ducha/cases", params={"inspection": INSPECTION}, headers=HTML)
    assert f'id="total">{len(changsha)}<' in found.text
    with sqlite3.connect(published / "warehouse.sqlite") as db:
        other = db.execute(
            "SELECT case_id FROM v_case_latest WHERE region LIKE '岳阳市%' LIMIT 1"
        ).fetchone()[0]
    assert city.get(f"/ducha/cases/{INSPECTION}/{other}").status_code == 404
    assert pages("officer").get(f"/ducha/cases/{INSPECTION}/{other}").status_code == 200


def test_a_county_sees_its_cases_and_no_table(pages, published: Path) -> None:
    county = pages("tianxin")
    tianxin = _regions(published, "region LIKE '长沙市天心区%'")
    assert tianxin
    found = county.get("/ducha/cases", params={"inspection": INSPECTION}, headers=HTML)
    assert f'id="total">{len(tianxin)}<' in found.text
    assert county.get(f"/ducha/map/data/{INSPECTION}").json()["total"] == len(tianxin)
    # Every table holds other counties' rows: none is served to a county.
    for entry in _manifest(published)["files"]:
        assert (
            county.get(f"/ducha/files/released/{INSPECTION}/{DAY}/{quote(entry['name'])}").status_code == 404
        )
    assert county.get(f"/ducha/zip/released/{INSPECTION}/{DAY}").status_code == 404


def test_those_who_do_not_sign_see_only_released_days(pages, published: Path) -> None:
    reader = pages("reader")  # the whole province, no sign-off
    listing = reader.get("/ducha/collect", headers=HTML).text
    assert f"collect/{INSPECTION}/{DAY}" in listing and f"collect/{INSPECTION}/2024-06-02" not in listing
    assert reader.get(f"/ducha/collect/{INSPECTION}/2024-06-02").status_code == 404
    day = reader.get(f"/ducha/collect/{INSPECTION}/{DAY}", headers=HTML)
    assert day.status_code == 200 and "已签发" in day.text and "files/draft/" not in day.text
    assert 'name="decision"' not in day.text
    officer = pages("officer").get(f"/ducha/collect/{INSPECTION}/2024-06-02", headers=HTML)
    assert officer.status_code == 200 and "files/draft/" in officer.text


def test_an_upload_is_refused_before_its_body_is_read(pages) -> None:
    """No credentials, or a declared size over the limit: refused before FastAPI reads
    (and spools) the body."""
    from ducha.config import limit

    too_big = {
        "content-length": str(limit("max_file_bytes") + 10**6),
        "content-type": "multipart/form-data; boundary=x",
    }
    assert pages(None).post("/ducha/precheck", content=b"--x--", headers=too_big).status_code == 401
    assert pages("reader").post("/ducha/precheck", content=b"--x--", headers=too_big).status_code == 413


@pytest.mark.parametrize("page", ["²", "9" * 40, "-1", "1e9"])
def test_a_strange_page_number_is_the_first_page(pages, page: str) -> None:
    got = pages("officer").get("/ducha/cases", params={"inspection": INSPECTION, "page": page, "batch": page})
    assert got.status_code == 200


def test_search_filters_and_pages(pages, published: Path) -> None:
    officer = pages("officer")
    everything = len(_regions(published))
    got = officer.get("/ducha/cases", params={"inspection": INSPECTION}, headers=HTML)
    assert f'id="total">{everything}<' in got.text and "下一页" in got.text
    key = len(_regions(published, "key_case"))
    got = officer.get("/ducha/cases", params={"inspection": INSPECTION, "key": "1"}, headers=HTML)
    assert f'id="total">{key}<' in got.text
    got = officer.get("/ducha/cases", params={"inspection": INSPECTION, "batch": "2"}, headers=HTML)
    assert f'id="total">{len(_regions(published, "batch_no = 2"))}<' in got.text
    # A keyword is matched literally: LIKE's wildcards in it match nothing extra.
    got = officer.get("/ducha/cases", params={"inspection": INSPECTION, "q": "%_%"}, headers=HTML)
    assert 'id="total">0<' in got.text


def test_a_case_shows_every_version(pages, published: Path) -> None:
    with sqlite3.connect(published / "warehouse.sqlite") as db:
        case_id, versions = db.execute(
            "SELECT case_id, count(*) FROM case_versions GROUP BY case_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    got = pages("officer").get(f"/ducha/cases/{INSPECTION}/{case_id}", headers=HTML)
    assert got.status_code == 200
    assert got.text.count("<tr><td>") == versions


TRICKS = [
    "..%2Fmanifest.json",
    "%2e%2e%2f%2e%2e%2fwarehouse.sqlite",
    "..%5C..%5Cwarehouse.sqlite",
    "%2Fetc%2Fpasswd",
    "manifest.json",
    "secret.txt",
    "link.xlsx",
]


@pytest.fixture
def planted(published: Path) -> Iterator[None]:
    """A file that is in the day's folder but not its manifest, and a link named in it."""
    folder = published / "outbox" / INSPECTION / DAY
    (folder / "secret.txt").write_text("not for the public")
    (folder / "link.xlsx").symlink_to("/etc/passwd")
    yield
    (folder / "secret.txt").unlink()
    (folder / "link.xlsx").unlink()


@pytest.mark.parametrize("name", TRICKS)
def test_path_tricks_are_not_found(pages, planted: None, name: str) -> None:
    officer = pages("officer")
    for route in ("files/draft", "preview/draft"):
        assert officer.get(f"/ducha/{route}/{INSPECTION}/{DAY}/{name}").status_code == 404, (route, name)
    assert officer.get(f"/ducha/files/draft/{INSPECTION}/..%2F{DAY}/{name}").status_code == 404
    assert officer.get(f"/ducha/files/other/{INSPECTION}/{DAY}/{name}").status_code == 404


def test_a_link_named_in_the_manifest_is_not_followed(pages, published: Path) -> None:
    folder = published / "outbox" / INSPECTION / DAY
    target = folder / CHANGSHA_TABLE
    saved = target.read_bytes()
    target.unlink()
    target.symlink_to("/etc/passwd")
    try:
        assert (
            pages("officer").get(f"/ducha/files/draft/{INSPECTION}/{DAY}/{quote(CHANGSHA_TABLE)}").status_code
            == 404
        )
    finally:
        target.unlink()
        target.write_bytes(saved)


@pytest.mark.parametrize("inspection", ["..", "%2e%2e", "c3-hn-2024%2F..", "nope"])
def test_path_tricks_in_the_folder_parts_are_not_found(pages, inspection: str) -> None:
    officer = pages("officer")
    assert officer.get(f"/ducha/collect/{inspection}/{DAY}").status_code == 404
    assert officer.get(f"/ducha/zip/draft/{inspection}/{DAY}").status_code == 404
    assert officer.get(f"/ducha/collect/{INSPECTION}/2024-06-03%2F..").status_code == 404


def test_a_static_file_outside_the_static_folder_is_not_found(pages) -> None:
    officer = pages("officer")
    assert officer.get("/ducha/static/ducha.css").status_code == 200
    for trick in ("..%2Fapp.py", "%2e%2e/app.py", "..%2F..%2Fconfig.py", "%2Fetc%2Fpasswd"):
        assert officer.get(f"/ducha/static/{trick}").status_code == 404, trick


def test_security_headers(pages) -> None:
    got = pages("officer").get("/ducha/collect")
    assert "frame-ancestors 'self'" in got.headers["content-security-policy"]
    assert got.headers["x-content-type-options"] == "nosniff"
