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

from tests.unit.web.conftest import INSPECTION, PUBLISH_RUN

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


def test_a_day_shows_its_summary_to_the_province_and_the_runs_that_made_it(pages, published: Path) -> None:
    manifest = _manifest(published)
    assert manifest["summary"].startswith("截至6月3日") and str(manifest["cases"]) in manifest["summary"]
    officer = pages("officer").get(f"/ducha/collect/{INSPECTION}/{DAY}", headers=HTML).text
    assert f'<p class="paragraph">{manifest["summary"]}</p>' in officer
    # The summary covers every region: not for a city's officer (who has no summary table).
    assert (
        manifest["summary"]
        not in pages("changsha").get(f"/ducha/collect/{INSPECTION}/{DAY}", headers=HTML).text
    )
    # A released day names the publish run that wrote it and the sign-off run, linked to
    # Airflow's own run pages (relative: under any base URL).
    reader = pages("reader").get(f"/ducha/collect/{INSPECTION}/{DAY}", headers=HTML).text
    released = json.loads((published / "released" / INSPECTION / DAY / "manifest.json").read_text("utf-8"))
    assert released["release"]["publish_run"] == PUBLISH_RUN
    assert f'href="../../../dags/ducha_publish/runs/{quote(PUBLISH_RUN)}"' in reader
    assert 'href="../../../dags/ducha_signoff/runs/r"' in reader


def test_a_draft_day_asks_airflow_once_and_links_the_publish_run_kept_beside_the_draft(
    pages, published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-off is one call to Airflow (its approval task); the publish run that wrote
    the draft is what the sign-off run kept beside it, not a second call for its conf."""
    import httpx

    from ducha.disclosure.release import draft_sha, keep_request, signoff_request

    day = "2024-06-02"
    draft = draft_sha(published / "outbox", INSPECTION, day) or ""
    run = "asset_triggered__2024-06-02T14:00:00+00:00"
    kept = keep_request(published / "outbox", signoff_request(INSPECTION, day, draft, run)["conf"])  # type: ignore[arg-type]
    asked: list[str] = []

    def airflow(url: str, **_: object) -> httpx.Response:
        asked.append(url)
        waiting = {"response_received": False, "chosen_options": [], "params_input": {}}
        return httpx.Response(200, json=waiting, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", airflow)
    try:
        page = pages("officer").get(f"/ducha/collect/{INSPECTION}/{day}", headers=HTML).text
    finally:
        kept.unlink()
    assert [url.rpartition("/")[2] for url in asked] == ["hitlDetails"]
    assert "本稿等待签发" in page
    assert f'href="../../../dags/ducha_publish/runs/{quote(run)}"' in page


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


def test_a_county_sees_its_cases_and_its_own_rows_of_the_tables(pages, published: Path) -> None:
    county = pages("tianxin")
    tianxin = _regions(published, "region LIKE '长沙市天心区%'")
    assert tianxin
    found = county.get("/ducha/cases", params={"inspection": INSPECTION}, headers=HTML)
    assert f'id="total">{len(tianxin)}<' in found.text
    assert county.get(f"/ducha/map/data/{INSPECTION}").json()["total"] == len(tianxin)
    # Every published table holds other counties' rows: none is served to a county …
    manifest = _manifest(published)
    for entry in manifest["files"]:
        assert (
            county.get(f"/ducha/files/released/{INSPECTION}/{DAY}/{quote(entry['name'])}").status_code == 404
        )
    # … which gets its own rows of each signed-off city copy instead.
    with sqlite3.connect(published / "warehouse.sqlite") as db:
        (wanted,) = db.execute(
            "SELECT count(*) FROM v_case_latest WHERE region LIKE '长沙市天心区%' AND batch_no = 3"
        ).fetchone()
    assert wanted, "the sample's third batch has Tianxin cases"
    page = county.get(f"/ducha/collect/{INSPECTION}/{DAY}", headers=HTML).text
    own = "第三批公开情况一览表（长沙市天心区）.xlsx"
    assert quote(own) in page and quote(CHANGSHA_TABLE) not in page and "（岳阳市" not in page
    got = county.get(f"/ducha/files/released/{INSPECTION}/{DAY}/{quote(own)}")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    from python_calamine import CalamineWorkbook

    grid = CalamineWorkbook.from_filelike(io.BytesIO(got.content)).get_sheet_by_index(0).to_python()
    assert str(grid[0][0]).startswith("长沙市天心区")
    header = grid[1]
    rows = [r for r in grid[2:] if any(v != "" for v in r)]
    region_at = header.index("行政区域")
    assert len(rows) == wanted and all(str(r[region_at]).startswith("长沙市天心区") for r in rows)
    # The same request, the same bytes; the preview shows the same rows.
    again = county.get(f"/ducha/files/released/{INSPECTION}/{DAY}/{quote(own)}")
    assert again.content == got.content
    preview = county.get(f"/ducha/preview/released/{INSPECTION}/{DAY}/{quote(own)}", headers=HTML)
    assert preview.status_code == 200 and str(rows[0][header.index("受理编号")]) in preview.text
    archive = zipfile.ZipFile(io.BytesIO(county.get(f"/ducha/zip/released/{INSPECTION}/{DAY}").content))
    assert archive.namelist() and all("长沙市天心区" in n for n in archive.namelist())
    # Another county's name, or the city's copy under a county's name, is not found.
    for name in ("第三批公开情况一览表（长沙市岳麓区）.xlsx", "第三批公开情况一览表（长沙市）.xlsx"):
        assert county.get(f"/ducha/files/released/{INSPECTION}/{DAY}/{quote(name)}").status_code == 404
    # Drafts stay the publishers'.
    assert county.get(f"/ducha/files/draft/{INSPECTION}/{DAY}/{quote(own)}").status_code == 404


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


def test_a_case_history_leaves_out_versions_of_regions_outside_the_scope(
    pages, published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case that moved between cities: its earlier city's version is that city's record."""
    from ducha.config import get_inspection

    insp = get_inspection(INSPECTION)
    db = sqlite3.connect(published / "warehouse.sqlite")
    case_id, region, versions = db.execute(
        "SELECT case_id, region, (SELECT count(*) FROM case_versions v WHERE v.case_id = l.case_id) "
        "FROM v_case_latest l LIMIT 1"
    ).fetchone()
    city = insp.city_of(region)
    elsewhere = next(r.name for r in insp.regions if r.name != city) + "某区"
    access = tmp_path / "mover.yaml"
    access.write_text(
        f"users:\n  mover: {{regions: [{city}]}}\n  officer: {{regions: '*'}}\n", encoding="utf-8"
    )
    monkeypatch.setenv("DUCHA_ACCESS_FILE", str(access))
    try:
        with db:  # an earlier version, before the case was moved to its city
            db.execute(
                "CREATE TEMP TABLE moved AS SELECT * FROM case_versions WHERE case_id = ? LIMIT 1", (case_id,)
            )
            db.execute("UPDATE moved SET version_no = 0, region = ?", (elsewhere,))
            db.execute("INSERT INTO case_versions SELECT * FROM moved")
        mover = pages("mover").get(f"/ducha/cases/{INSPECTION}/{case_id}", headers=HTML)
        assert mover.status_code == 200 and mover.text.count("<tr><td>") == versions
        assert elsewhere not in mover.text
        officer = pages("officer").get(f"/ducha/cases/{INSPECTION}/{case_id}", headers=HTML)
        assert officer.text.count("<tr><td>") == versions + 1 and elsewhere in officer.text
    finally:
        with db:
            db.execute("DELETE FROM case_versions WHERE case_id = ? AND version_no = 0", (case_id,))
        db.close()


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


def _visible(html: str) -> str:
    """The text a reader sees, without hashes and run ids (in <code>): no tags, no attributes."""
    import re

    return re.sub(r"<[^>]+>", " ", re.sub(r"<code[^>]*>.*?</code>", " ", html, flags=re.S))


def test_no_page_of_the_site_shows_personal_data(pages, published: Path) -> None:
    """A sweep (issue 13) with the independent detector of tests/pii.py over every page a
    province publisher can reach: the day lists, each day, each table's preview, every
    page of the case search, every case with its versions, the map's figures. The
    warehouse keeps what clerks wrote (phone numbers in complaints), so this fails
    unless the pages mask it as the tables do."""
    import re

    from tests.pii import personal_data

    with sqlite3.connect(published / "warehouse.sqlite") as db:
        raw = [r[0] or "" for r in db.execute("SELECT summary FROM cases")]
        case_ids = [r[0] for r in db.execute("SELECT case_id FROM v_case_latest")]
    assert any(personal_data(text) for text in raw), "the sample must hold personal data to sweep for"
    officer = pages("officer")
    seen: dict[str, str] = {}

    def get(path: str) -> str:
        got = officer.get(path, headers=HTML)
        assert got.status_code == 200, path
        seen[path] = got.text
        return got.text

    listing = get("/ducha/collect")
    for day in sorted(set(re.findall(rf"collect/{INSPECTION}/(\d{{4}}-\d\d-\d\d)", listing))):
        page = get(f"/ducha/collect/{INSPECTION}/{day}")
        for name in sorted(set(re.findall(r'href="[./]*preview/([^"]+)"', page))):
            get(f"/ducha/preview/{name}")
    first = get(f"/ducha/cases?inspection={INSPECTION}")
    total = int(re.search(r'id="total">(\d+)<', first).group(1))  # type: ignore[union-attr]
    for n in range(2, (total + 49) // 50 + 1):
        get(f"/ducha/cases?inspection={INSPECTION}&page={n}")
    for case_id in case_ids:
        get(f"/ducha/cases/{INSPECTION}/{case_id}")
    seen["map data"] = officer.get(f"/ducha/map/data/{INSPECTION}").text
    assert len(seen) > len(case_ids) + 5
    print(f"swept {len(seen)} pages, {len(case_ids)} cases")
    found = {path: hits for path, text in seen.items() if (hits := personal_data(_visible(text)))}
    assert not found, dict(list(found.items())[:5])


def test_a_keyword_that_is_personal_data_is_not_searched_for(pages, published: Path) -> None:
    """The pages mask phone numbers; a search by one would still say whose complaint
    holds it. A case ID (letters and digits) is no personal data and is found."""
    from tests.pii import FORMS

    with sqlite3.connect(published / "warehouse.sqlite") as db:
        summaries = [r[0] or "" for r in db.execute("SELECT summary FROM cases")]
        case_id = db.execute("SELECT case_id FROM v_case_latest LIMIT 1").fetchone()[0]
    phone = next(m.group(0) for text in summaries if (m := FORMS["mobile, plain"].search(text)))
    officer = pages("officer")
    refused = officer.get("/ducha/cases", params={"inspection": INSPECTION, "q": phone}, headers=HTML)
    assert 'id="total">0<' in refused.text and 'id="personal"' in refused.text
    found = officer.get("/ducha/cases", params={"inspection": INSPECTION, "q": case_id}, headers=HTML)
    assert 'id="total">1<' in found.text and 'id="personal"' not in found.text
