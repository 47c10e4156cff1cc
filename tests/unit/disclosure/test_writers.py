"""XLSX, CSV, HTML and manifest writers: safe, atomic, deterministic, print-ready."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ducha.disclosure import writers
from ducha.disclosure.layout import FOOTER, Column, HeaderCell, Sheet, header_cells
from ducha.disclosure.redact import find_personal, looks_like_formula
from ducha.disclosure.writers import (
    atomic_path,
    folder_aside,
    write_csv,
    write_html,
    write_manifest,
    write_xlsx,
)
from ducha.paths import sha256_file

CREATED = datetime(2024, 6, 3, 20, 0, tzinfo=UTC)
GROUPED = [["地区", "当日交办", "", "累计交办", ""], ["", "总数", "重点", "总数", "重点"]]


def cases_sheet() -> Sheet:
    return Sheet(
        name="第八批",
        title="群众信访举报转办和边督边改公开情况一览表（第八批 2024年3月21日）",
        columns=[
            Column("受理编号", 18),
            Column("交办问题基本情况", 40),
            Column("行政区域", 10),
            Column("罚款金额", 12, "number"),
            Column("责令整改", 8, "int"),
            Column("办结率", 8, "percent"),
        ],
        rows=[
            ["D3HN202406020040", "某厂夜间排污，举报人电话13812345678。", "长沙市", 251542.71, 3, 0.853],
            ["X3HB202406020025", "=1+1", "嘉峪关市", None, 0, float("nan")],
            ["D3GS202300781", "<script>alert(1)</script> & 噪声扰民", "红谷滩区", 1000, 2.0, 1],
            ["D3SX202505280018", "-", "南京市江北新区", "—", None, 0.5],
        ],
        notes=["注：一件举报可能涉及多个污染类型。", "罚款金额单位：元。"],
    )


def stats_sheet() -> Sheet:
    return Sheet(
        name="统计",
        title="分地区统计",
        columns=[
            Column("地区", 12),
            Column("当日交办总数", 8, "int"),
            Column("当日交办重点", 8, "int"),
            Column("累计交办总数", 8, "int"),
            Column("累计交办重点", 8, "int"),
        ],
        rows=[["长沙市", 3, 1, 120, 12], ["合计", 3, 1, 120, 12]],
        header_rows=GROUPED,
    )


# --------------------------------------------------------------------------- model


def test_sheet_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match="row 0"):
        Sheet("s", [Column("a"), Column("b")], [["only one"]])
    with pytest.raises(ValueError, match="header row"):
        Sheet("s", [Column("a")], [], header_rows=[["a", "b"]])
    with pytest.raises(ValueError, match="kind"):
        Column("a", kind="date")  # type: ignore[arg-type]


def test_header_cells_grouped() -> None:
    assert header_cells(GROUPED) == [
        HeaderCell(0, 0, 1, 0, "地区"),
        HeaderCell(0, 1, 0, 2, "当日交办"),
        HeaderCell(0, 3, 0, 4, "累计交办"),
        HeaderCell(1, 1, 1, 1, "总数"),
        HeaderCell(1, 2, 1, 2, "重点"),
        HeaderCell(1, 3, 1, 3, "总数"),
        HeaderCell(1, 4, 1, 4, "重点"),
    ]


def test_header_cells_repeats_merge_but_not_across_groups() -> None:
    grid = [["地区", "当日", "当日", "累计", "累计"], ["地区", "件数", "件数", "件数", "件数"]]
    cells = header_cells(grid)
    assert HeaderCell(0, 0, 1, 0, "地区") in cells
    assert HeaderCell(1, 1, 1, 2, "件数") in cells
    assert HeaderCell(1, 3, 1, 4, "件数") in cells
    # Every position is covered exactly once.
    covered = [
        (r, c) for h in cells for r in range(h.row, h.last_row + 1) for c in range(h.col, h.last_col + 1)
    ]
    assert sorted(covered) == [(r, c) for r in range(2) for c in range(5)]


def test_header_cells_flat_and_leading_blank() -> None:
    assert header_cells([["a", "b"]]) == [HeaderCell(0, 0, 0, 0, "a"), HeaderCell(0, 1, 0, 1, "b")]
    assert header_cells([["", "a"], ["x", "y"]])[0] == HeaderCell(0, 0, 0, 0, "")


# --------------------------------------------------------------------------- atomic


def test_atomic_path_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_path(target) as temp:
        assert temp.parent == tmp_path
        assert temp.name.startswith(".") and temp.name.endswith(".part")
        temp.write_text("new")
        assert target.read_text() == "old"  # nobody sees the new file half-written
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_exception_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_exception_keeps_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"published")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temp:
        temp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"published"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


class _Syncs:
    """Counts the fsyncs and filesystem syncs made, and lets them happen."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, syncfs: bool = True) -> None:
        self.fsyncs = self.syncfs = 0
        real_fsync, real_syncfs = writers.os.fsync, writers._syncfs

        def fsync(fd: int) -> None:
            self.fsyncs += 1
            real_fsync(fd)

        def sync_filesystem(folder: Path) -> bool:
            self.syncfs += 1
            return syncfs and real_syncfs(folder)

        monkeypatch.setattr(writers.os, "fsync", fsync)
        monkeypatch.setattr(writers, "_syncfs", sync_filesystem)


def _build(final: Path, files: int) -> None:
    with folder_aside(final) as tmp:
        write_xlsx(tmp / "table.xlsx", [cases_sheet()], created=CREATED)
        for n in range(files - 2):
            write_csv(tmp / f"copy{n}.csv", cases_sheet())
        write_manifest(tmp, files=[{"name": p.name} for p in tmp.iterdir()], as_of="2024-06-03")


def test_a_folder_built_aside_is_synced_once_not_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An fsync of each file and of its folder cost ~4 ms a file, most of a small
    # per-city copy; the folder is swapped in whole, so one sync before the swap does.
    syncs = _Syncs(monkeypatch)
    _build(tmp_path / "day", files=30)
    assert len(list((tmp_path / "day").iterdir())) == 30
    if writers._libc_syncfs() is not None:
        assert (syncs.syncfs, syncs.fsyncs) == (1, 1)  # the filesystem, then the parent's rename
    # A file written alone is still made durable on its own.
    syncs.fsyncs = 0
    write_csv(tmp_path / "alone.csv", cases_sheet())
    assert syncs.fsyncs == 2  # the file, then its folder


def test_without_syncfs_every_file_of_the_folder_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs = _Syncs(monkeypatch, syncfs=False)
    _build(tmp_path / "day", files=12)
    assert syncs.fsyncs == 12 + 1 + 1  # each file, the folder, then the parent after the swap


def test_a_failed_folder_leaves_the_published_one_and_writes_alone_again(tmp_path: Path) -> None:
    final = tmp_path / "day"
    _build(final, files=4)
    before = {p.name: p.read_bytes() for p in final.iterdir()}
    with pytest.raises(RuntimeError), folder_aside(final) as tmp:
        write_csv(tmp / "half.csv", cases_sheet())
        raise RuntimeError("boom")
    assert {p.name: p.read_bytes() for p in final.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day"]
    assert not writers._BUILT_ASIDE  # a later file in that path is synced on its own


def test_writer_failure_leaves_no_file(tmp_path: Path) -> None:
    bad = Sheet("bad[name]", [Column("a")], [["x"]])  # invalid Excel sheet name
    with pytest.raises(Exception, match=r"(?i)sheet"):
        write_xlsx(tmp_path / "a.xlsx", [bad], created=CREATED)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- XLSX


@pytest.fixture
def xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "disclosure.xlsx"
    write_xlsx(path, [cases_sheet(), stats_sheet()], created=CREATED)
    return path


def test_xlsx_is_byte_identical_on_repeat(tmp_path: Path, xlsx: Path) -> None:
    again = tmp_path / "again.xlsx"
    write_xlsx(again, [cases_sheet(), stats_sheet()], created=CREATED)
    assert again.read_bytes() == xlsx.read_bytes()
    # The same instant in another zone is the same file.
    beijing = tmp_path / "beijing.xlsx"
    write_xlsx(
        beijing, [cases_sheet(), stats_sheet()], created=CREATED.astimezone(timezone(timedelta(hours=8)))
    )
    assert beijing.read_bytes() == xlsx.read_bytes()


def test_xlsx_created_date_is_the_callers(xlsx: Path) -> None:
    with zipfile.ZipFile(xlsx) as z:
        core = z.read("docProps/core.xml").decode()
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert '<dcterms:created xsi:type="dcterms:W3CDTF">2024-06-03T20:00:00Z' in core
    assert "<dc:creator>Ducha</dc:creator>" in core


def test_xlsx_layout_and_print_setup(xlsx: Path) -> None:
    ws = openpyxl.load_workbook(xlsx)["第八批"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "A1:F1" in merged  # title across the table
    assert ws["A1"].value.startswith("群众信访举报")
    assert ws["A1"].font.b and ws["A1"].alignment.horizontal == "center"
    assert [c.value for c in ws[2]] == [
        "受理编号",
        "交办问题基本情况",
        "行政区域",
        "罚款金额",
        "责令整改",
        "办结率",
    ]
    assert ws["A2"].font.b and ws["A2"].border.left.style == "thin" and ws["A2"].alignment.wrap_text
    assert ws["B3"].alignment.wrap_text and ws["B3"].alignment.vertical == "top"
    assert ws.print_title_rows == "$2:$2"
    assert ws.freeze_panes == "A3"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToHeight == 0
    assert ws.oddFooter.center.text == FOOTER.removeprefix("&C")
    assert ws.column_dimensions["B"].width == pytest.approx(40, abs=1)
    # Notes under the table, merged across.
    assert ws["A7"].value == "注：一件举报可能涉及多个污染类型。"
    assert {"A7:F7", "A8:F8"} <= merged
    assert ws.row_dimensions[7].height in (None, 15)  # one line: the default height


def test_xlsx_long_note_gets_taller_row(tmp_path: Path) -> None:
    # Excel does not autofit merged cells, so a wrapped note needs an explicit height.
    path = tmp_path / "n.xlsx"
    sheet = Sheet("s", [Column("a", 10), Column("b", 10)], [["x", "y"]], notes=["注：" + "说明文字" * 30])
    write_xlsx(path, [sheet], created=CREATED)
    assert openpyxl.load_workbook(path)["s"].row_dimensions[3].height >= 15 * 5


def test_xlsx_grouped_header(xlsx: Path) -> None:
    ws = openpyxl.load_workbook(xlsx)["统计"]
    assert {"A1:E1", "A2:A3", "B2:C2", "D2:E2"} <= {str(r) for r in ws.merged_cells.ranges}
    assert [c.value for c in ws[3]][1:] == ["总数", "重点", "总数", "重点"]
    assert ws.print_title_rows == "$2:$3"
    assert ws.freeze_panes == "A4"
    assert [c.value for c in ws[4]] == ["长沙市", 3, 1, 120, 12]


def test_xlsx_cells_are_safe(xlsx: Path) -> None:
    ws = openpyxl.load_workbook(xlsx)["第八批"]
    # Text as typed, kept as text by the cell's quote prefix, not by a visible apostrophe.
    assert ws["B4"].value == "=1+1" and ws["B4"].data_type == "s" and ws["B4"].quotePrefix
    assert ws["B3"].value == "某厂夜间排污，举报人电话138****5678。" and not ws["B3"].quotePrefix
    assert ws["A3"].value == "D3HN202406020040"
    assert ws["B6"].value == "-"
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                assert find_personal(cell.value) == []
                assert not looks_like_formula(cell.value) or cell.quotePrefix, cell.coordinate


def test_xlsx_numbers_and_formats(xlsx: Path) -> None:
    ws = openpyxl.load_workbook(xlsx)["第八批"]
    assert ws["D3"].value == pytest.approx(251542.71) and ws["D3"].number_format == "#,##0.00"
    assert ws["E3"].value == 3 and ws["E3"].number_format == "0"
    assert ws["F3"].value == pytest.approx(0.853) and ws["F3"].number_format == "0.0%"
    assert ws["D4"].value is None and ws["F4"].value is None  # None and NaN are blank
    assert ws["D4"].number_format == "#,##0.00"  # blanks keep the column's format and border
    assert ws["D6"].value == "—"  # text in a numeric column stays text


def test_xlsx_needs_a_sheet(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_xlsx(tmp_path / "a.xlsx", [], created=CREATED)


def test_xlsx_single_column_title(tmp_path: Path) -> None:
    path = tmp_path / "one.xlsx"
    write_xlsx(path, [Sheet("s", [Column("a")], [["x"]], title="T", notes=["n"])], created=CREATED)
    ws = openpyxl.load_workbook(path)["s"]
    assert [ws["A1"].value, ws["A2"].value, ws["A3"].value, ws["A4"].value] == ["T", "a", "x", "n"]


# --------------------------------------------------------------------------- CSV


def test_csv_bom_crlf_and_values(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    write_csv(path, cases_sheet())
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 5 and b"\n" not in raw.replace(b"\r\n", b"")
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(df.columns) == ["受理编号", "交办问题基本情况", "行政区域", "罚款金额", "责令整改", "办结率"]
    assert df.to_dict("records")[0] == {
        "受理编号": "D3HN202406020040",
        "交办问题基本情况": "某厂夜间排污，举报人电话138****5678。",
        "行政区域": "长沙市",
        "罚款金额": "251542.71",
        "责令整改": "3",
        "办结率": "0.853",
    }
    assert df["交办问题基本情况"][1] == "'=1+1"
    assert df["罚款金额"].tolist() == ["251542.71", "", "1000", "—"]
    assert df["责令整改"].tolist() == ["3", "0", "2", ""]  # 2.0 -> "2": ints without ".0"


def test_csv_quotes_and_numbers_parse(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    sheet = Sheet("s", [Column("t"), Column("n", kind="number")], [['a,"b"\n第二行', 1.5], ["x", -2]])
    write_csv(path, sheet)
    with open(path, encoding="utf-8-sig", newline="") as f:
        assert list(csv.reader(f)) == [["t", "n"], ['a,"b"\n第二行', "1.5"], ["x", "-2"]]
    df = pd.read_csv(path, encoding="utf-8-sig")
    assert df["n"].tolist() == [1.5, -2.0]


def test_csv_is_deterministic(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", cases_sheet())
    write_csv(tmp_path / "b.csv", cases_sheet())
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


# --------------------------------------------------------------------------- HTML


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.text.setdefault(self._open[-1], []).append(data)


@pytest.fixture
def page(tmp_path: Path) -> tuple[Path, _Collector]:
    path = tmp_path / "page.html"
    write_html(path, [cases_sheet(), stats_sheet()], page_title="湖南省第八批公开 <b>")
    parser = _Collector()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return path, parser


def test_html_structure(page: tuple[Path, _Collector]) -> None:
    path, parsed = page
    source = path.read_text(encoding="utf-8")
    assert source.startswith("<!DOCTYPE html>\n")
    assert ("html", {"lang": "zh-CN"}) in parsed.tags
    assert ("meta", {"charset": "utf-8"}) in parsed.tags
    assert [t for t, _ in parsed.tags].count("table") == 2
    assert [t for t, _ in parsed.tags].count("thead") == 2
    assert [t for t, _ in parsed.tags].count("tbody") == 2
    assert parsed.text["caption"] == [
        "群众信访举报转办和边督边改公开情况一览表（第八批 2024年3月21日）",
        "分地区统计",
    ]
    ths = [a for t, a in parsed.tags if t == "th"]
    assert ths and all(a["scope"] in ("col", "colgroup") for a in ths)
    assert parsed.text["th"][:6] == [
        "受理编号",
        "交办问题基本情况",
        "行政区域",
        "罚款金额",
        "责令整改",
        "办结率",
    ]
    assert {"scope": "col", "rowspan": "2"} in ths  # 地区
    assert {"scope": "colgroup", "colspan": "2"} in ths  # 当日交办
    assert "注：一件举报可能涉及多个污染类型。" in parsed.text["p"]
    assert parsed.text["title"] == ["湖南省第八批公开 <b>"]


def test_html_escapes_and_masks(page: tuple[Path, _Collector]) -> None:
    path, parsed = page
    source = path.read_text(encoding="utf-8")
    assert "<script>" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 噪声扰民" in source
    assert not any(t == "script" for t, _ in parsed.tags)
    assert "某厂夜间排污，举报人电话138****5678。" in parsed.text["td"]
    assert "=1+1" in parsed.text["td"]  # no apostrophe needed in a browser
    assert find_personal(source) == []


def test_html_number_display(page: tuple[Path, _Collector]) -> None:
    _, parsed = page
    assert {"251,542.71", "85.3%", "3", "1,000.00", "100.0%"} <= set(parsed.text["td"])


def test_html_is_deterministic(tmp_path: Path) -> None:
    write_html(tmp_path / "a.html", [cases_sheet()], page_title="t")
    write_html(tmp_path / "b.html", [cases_sheet()], page_title="t")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


# --------------------------------------------------------------------------- manifest


def _publish(folder: Path) -> list[dict]:
    write_xlsx(folder / "第八批.xlsx", [cases_sheet()], created=CREATED)
    write_csv(folder / "第八批.csv", cases_sheet())
    return [{"name": "第八批.xlsx", "rows": 4, "kind": "xlsx"}, {"name": "第八批.csv", "rows": 4}]


def test_manifest_content(tmp_path: Path) -> None:
    files = _publish(tmp_path)
    path = write_manifest(tmp_path, files=files, as_of="2024-03-21", extra={"batch": 8})
    assert path == tmp_path / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["as_of"] == "2024-03-21" and data["batch"] == 8
    assert "run_id" not in data  # a backfill and a daily run write the same bytes
    assert data["generator"].startswith("ducha ")
    assert [f["name"] for f in data["files"]] == ["第八批.csv", "第八批.xlsx"]  # sorted
    for entry in data["files"]:
        blob = (tmp_path / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(blob).hexdigest() == sha256_file(tmp_path / entry["name"])
        assert entry["bytes"] == len(blob)
        assert entry["rows"] == 4
    assert data["files"][1]["kind"] == "xlsx"
    assert "第八批" in path.read_text(encoding="utf-8")  # ensure_ascii=False


def test_manifest_is_deterministic(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    a = write_manifest(one, files=_publish(one), as_of="2024-03-21")
    b = write_manifest(two, files=list(reversed(_publish(two))), as_of="2024-03-21")
    assert a.read_bytes() == b.read_bytes()


def test_manifest_rejects_bad_entries(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    for files in (
        [{"name": "../a.csv"}],
        [{"name": "a.csv"}, {"name": "a.csv"}],
        [{"name": "manifest.json"}],
    ):
        with pytest.raises(ValueError):
            write_manifest(tmp_path, files=files, as_of="d")
    with pytest.raises(ValueError, match="extra"):
        write_manifest(tmp_path, files=[{"name": "a.csv"}], as_of="d", extra={"as_of": "x"})
    assert not (tmp_path / "manifest.json").exists()
