"""报送自查 (a clerk's pre-check) and the pages' forms: the same verdict and row errors as
``ducha validate``, nothing loaded or kept, limits on what is accepted, and no form
accepted from another site or without the user's own token."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from tests.unit.intake.conftest import case, standard_sheet, write_xlsx
from tests.unit.web.conftest import INSPECTION

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csrf(client, path: str = "/ducha/precheck") -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text).group(1)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _leftovers() -> list[str]:
    return [p.name for p in Path(tempfile.gettempdir()).glob("ducha-precheck-*")]


@pytest.fixture
def bad_workbook(tmp_path: Path) -> Path:
    cases = [case(1), case(2, 受理编号="D3HN2024053X0002"), case(3, 行政区域=None)]
    return write_xlsx(tmp_path / "第三批交办清单.xlsx", standard_sheet(cases))


def test_a_bad_workbook_gets_its_row_errors_and_nothing_is_loaded(
    pages, published: Path, bad_workbook: Path
) -> None:
    from ducha.config import get_inspection
    from ducha.intake.check import check_files

    clerk = pages("reader")
    before = _tree(published)
    got = clerk.post(
        "/ducha/precheck",
        data={"inspection": INSPECTION, "csrf": _csrf(clerk)},
        files={"workbook": (bad_workbook.name, bad_workbook.read_bytes(), XLSX)},
        headers={"origin": "http://pages.test"},
    )
    assert got.status_code == 200
    assert "存在错误" in got.text
    # The same report as `ducha validate`: every error, with its sheet, row and column.
    expected = check_files([(bad_workbook, get_inspection(INSPECTION), bad_workbook.name)])[0]
    assert expected["errors"]
    for error in expected["errors"]:
        assert f"<td>{error['row']}</td>" in got.text and error["column"] in got.text
    assert "D3HN2024053X0002" in got.text
    assert _tree(published) == before  # nothing stored, nothing loaded
    assert _leftovers() == []  # and the upload is gone


def test_a_good_workbook_passes(pages, tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "第三批交办清单.xlsx", standard_sheet([case(1), case(2)]))
    clerk = pages("reader")
    got = clerk.post(
        "/ducha/precheck",
        data={"inspection": INSPECTION, "csrf": _csrf(clerk)},
        files={"workbook": (good.name, good.read_bytes(), XLSX)},
    )
    assert got.status_code == 200 and "可以报送" in got.text


@pytest.mark.parametrize(
    "name,content,status",
    [
        ("notes.txt", b"hello", 415),
        ("fake.xlsx", b"<html>not a workbook</html>", 415),
        ("old.xls", b"PK\x03\x04 a zip, not BIFF", 415),
        ("../../evil.xlsx", b"not a zip", 415),
    ],
)
def test_what_is_not_a_workbook_is_refused(pages, name: str, content: bytes, status: int) -> None:
    clerk = pages("reader")
    got = clerk.post(
        "/ducha/precheck",
        data={"inspection": INSPECTION, "csrf": _csrf(clerk)},
        files={"workbook": (name, content, "application/octet-stream")},
    )
    assert got.status_code == status
    assert _leftovers() == []


def test_an_oversized_upload_is_refused(pages) -> None:
    from ducha.config import limit

    clerk = pages("reader")
    big = b"PK\x03\x04" + b"\0" * limit("max_file_bytes")
    got = clerk.post(
        "/ducha/precheck",
        data={"inspection": INSPECTION, "csrf": _csrf(clerk)},
        files={"workbook": ("big.xlsx", big, XLSX)},
    )
    assert got.status_code == 413 and _leftovers() == []


def test_a_form_without_the_users_token_is_refused(pages, bad_workbook: Path) -> None:
    clerk = pages("reader")
    upload = {"workbook": (bad_workbook.name, bad_workbook.read_bytes(), XLSX)}
    assert clerk.post("/ducha/precheck", data={"inspection": INSPECTION}, files=upload).status_code == 403
    # Another user's token is not this user's.
    other = _csrf(pages("officer"))
    assert (
        clerk.post(
            "/ducha/precheck", data={"inspection": INSPECTION, "csrf": other}, files=upload
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"referer": "https://evil.example/x"},
        {"sec-fetch-site": "cross-site"},
    ],
)
def test_a_form_from_another_site_is_refused(pages, bad_workbook: Path, headers: dict) -> None:
    clerk = pages("reader")
    got = clerk.post(
        "/ducha/precheck",
        data={"inspection": INSPECTION, "csrf": _csrf(clerk)},
        files={"workbook": (bad_workbook.name, bad_workbook.read_bytes(), XLSX)},
        headers=headers,
    )
    assert got.status_code == 403


def test_a_form_token_expires_after_two_windows(pages, bad_workbook: Path) -> None:
    """The form token turns over every FORM_TOKEN_HOURS: the last window's still works
    (a page left open), an older one is refused — a leaked token does not last."""
    from ducha.web.access import NOBODY
    from ducha.web.shared import FORM_TOKEN_HOURS, Viewer, form_window

    clerk = pages("reader")
    viewer = Viewer("reader", ("viewer",), NOBODY, "")
    now = form_window()
    upload = {"workbook": (bad_workbook.name, bad_workbook.read_bytes(), XLSX)}

    def post(token: str) -> int:
        return clerk.post(
            "/ducha/precheck", data={"inspection": INSPECTION, "csrf": token}, files=upload
        ).status_code

    assert viewer.form_token(now) == _csrf(clerk)
    assert post(viewer.form_token(now - 1)) == 200
    assert post(viewer.form_token(now - 2)) == 403
    assert viewer.accepts(viewer.csrf, now=(now + 1) * FORM_TOKEN_HOURS * 3600)
    assert not viewer.accepts(viewer.csrf, now=(now + 2) * FORM_TOKEN_HOURS * 3600)


def test_the_template_downloads(pages) -> None:
    got = pages("reader").get(f"/ducha/template/{INSPECTION}")
    assert got.status_code == 200 and got.content[:2] == b"PK"


def test_only_a_province_publisher_may_sign_off(pages) -> None:
    day = "2024-06-03"
    for user in ("reader", "changsha"):
        client = pages(user)
        token = _csrf(client)
        got = client.post(
            f"/ducha/signoff/{INSPECTION}/{day}",
            data={"decision": "approve", "draft": "0" * 64, "csrf": token},
        )
        assert got.status_code == 403, user
    officer = pages("officer")
    token = _csrf(officer)
    # A rejection needs a reason; no sign-off run exists here, and the page says so.
    got = officer.post(
        f"/ducha/signoff/{INSPECTION}/{day}", data={"decision": "reject", "draft": "0" * 64, "csrf": token}
    )
    assert got.status_code == 400
    got = officer.post(
        f"/ducha/signoff/{INSPECTION}/{day}", data={"decision": "approve", "draft": "0" * 64, "csrf": token}
    )
    assert got.status_code == 409
