"""Publishing with hostile names: a region cell or an inspection option never leads a
write outside the outbox, and never stops a day from being published.

Everything goes through real code: a real workbook whose 行政区域 cells hold the hostile
text is ingested into a real SQLite warehouse, then published (and `ducha publish` is
run as a process). The module imports nothing that only the fix introduced, so against
the code before the fix each test fails for its own reason (a crash, a file outside the
outbox, a replaced folder, exit code 0), not at import.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from ducha.config import data_dirs, get_inspection, registry
from ducha.disclosure.publish import publish_all, region_file_names
from ducha.paths import safe_name
from ducha.pipeline import Ingestor
from tests.unit.intake.conftest import BATCH_DAY, GENERIC, HN, case, case_id, standard_sheet, write_xlsx
from tests.unit.test_cli import run

# values.region() makes the full-width slash a "/"; a name of no place (a real one,
# "长沙／岳麓区", is found in the division list and joins 长沙市's table).
SLASH = "某地／某区"
CLIMB = "x／..／..／..／..／escaped"  # from <outbox>/<inspection>/.<day>.tmp/ up to <data>/
LONG = "某" * 120  # 360 bytes: more than a file name may have
HOSTILE = {"fullwidth-slash": SLASH, "dotdot-climb": CLIMB, "over-255-bytes": LONG}
PER_REGION = re.compile(r"^第三批公开情况一览表（(.+)）\.xlsx$")
CASE_ID = re.compile(r"D3HN\d{12}")
# No configured cities: every region cell gets a table of its own, hostile ones included
# (a configured inspection groups a region found nowhere under 未识别地区).
INSP = GENERIC
KEEP_DAY = dt.date(2021, 4, 13)


def _files(root: Path) -> dict[Path, str]:
    """Every file under ``root`` and its hash; not SQLite's own shared-memory index."""
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith("-shm")
    }


def _ingest(
    data: Path, regions: list[str], *, with_plain_case: bool = True, inspection: str = INSP
) -> Ingestor:
    """A warehouse holding one batch: case 1 in 长沙市岳麓区 (unless left out), then one case
    per region given, each typed into the 行政区域 cell of a real workbook."""
    rows = [case(1)] if with_plain_case else []
    rows += [case(n, 行政区域=region) for n, region in enumerate(regions, start=2)]
    write_xlsx(data / "landing" / inspection / BATCH_DAY.isoformat() / "第三批.xlsx", standard_sheet(rows))
    ingestor = Ingestor(data_dirs(data), f"sqlite:///{data / 'w.sqlite'}")
    (outcome,) = ingestor.ingest_day(BATCH_DAY).files
    assert outcome.status in ("loaded", "partial") and outcome.rows_loaded == len(rows), outcome
    return ingestor


def _case_ids(path: Path) -> set[str]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return {m for row in rows for cell in row for m in CASE_ID.findall(str(cell))}


def _publish_and_check_containment(ingestor: Ingestor, tmp_path: Path, *, again: bool = False) -> Path:
    """Publish the batch day: every file it writes lies in the day's outbox folder, no
    file outside the outbox changes or goes, and no "escaped" file appears anywhere
    else. Returns that folder."""
    outbox = (tmp_path / "data" / "outbox").resolve()  # data_dirs(data).outbox, as the DAG publishes
    before = _files(tmp_path)
    try:
        outcomes, failure = publish_all(ingestor.engine, outbox, inspection_id=INSP, as_of=BATCH_DAY), None
    except Exception as exc:  # checked after the files: a crash may come after an escape
        outcomes, failure = [], exc
    after = _files(tmp_path)
    day = outbox / INSP / BATCH_DAY.isoformat()
    written = sorted(p for p, h in after.items() if before.get(p) != h)
    outside = [str(p) for p in written if not p.resolve().is_relative_to(outbox)]
    assert not outside, f"written outside the outbox {outbox}: {outside}"
    gone = [str(p) for p in before if p not in after and not p.resolve().is_relative_to(outbox)]
    assert not gone, gone
    escaped = [str(p) for p in tmp_path.rglob("*escaped*") if not p.resolve().is_relative_to(outbox)]
    assert not escaped, escaped
    if failure is not None:
        raise AssertionError(f"publishing failed: {failure!r}") from failure
    stray = [str(p) for p in written if not p.resolve().is_relative_to(day)]
    assert not stray, f"written outside {day}: {stray}"  # no temporary folder or file left
    assert written or again  # a republish of the same data may leave every byte as it was
    assert [(o.inspection_id, o.as_of, o.folder and Path(o.folder).resolve()) for o in outcomes] == [
        (INSP, BATCH_DAY.isoformat(), day)
    ]
    return day


def _per_region(day: Path) -> dict[str, set[str]]:
    """Each per-region table of the batch: its file name -> the case ids it lists."""
    return {p.name: _case_ids(p) for p in day.iterdir() if PER_REGION.match(p.name)}


def _check_folder(day: Path) -> None:
    """Plain files only, each name within 255 bytes, and the manifest lists exactly them."""
    assert not [p.name for p in day.iterdir() if p.is_dir()]  # a "/" never became a folder
    too_long = [p.name for p in day.iterdir() if len(p.name.encode("utf-8")) > 255]
    assert not too_long, too_long
    manifest = json.loads((day / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(f["name"] for f in manifest["files"]) == sorted(
        p.name for p in day.iterdir() if p.name != "manifest.json"
    )


@pytest.mark.parametrize("region", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_region_publishes_its_own_table_inside_the_outbox(tmp_path: Path, region: str) -> None:
    """Each hole on its own: the full-width slash crashed publishing (a sub-folder, then
    FileNotFoundError), the climb wrote "escaped）.xlsx" beside the outbox, the long name
    crashed (file name too long)."""
    day = _publish_and_check_containment(_ingest(tmp_path / "data", [region]), tmp_path)
    _check_folder(day)
    # One table per region: 长沙市 with case 1, the hostile region with case 2.
    tables = _per_region(day)
    assert sorted(tables.values(), key=sorted) == [{case_id(1)}, {case_id(2)}], tables
    (hostile_name,) = [n for n, ids in tables.items() if ids == {case_id(2)}]
    assert len(hostile_name.encode("utf-8")) <= 255 and "/" not in hostile_name and "\\" not in hostile_name


def test_all_hostile_regions_get_distinct_tables_and_republish_byte_for_byte(tmp_path: Path) -> None:
    ingestor = _ingest(tmp_path / "data", list(HOSTILE.values()))
    day = _publish_and_check_containment(ingestor, tmp_path)
    _check_folder(day)
    tables = _per_region(day)
    # Four regions (长沙市 and the three hostile ones): four files, each with its own case.
    assert len(tables) == 4 and sorted(tables.values(), key=sorted) == [{case_id(n)} for n in range(1, 5)]
    by_case = {next(iter(ids)): name for name, ids in tables.items()}
    assert "某地" in by_case[case_id(2)] and "某区" in by_case[case_id(2)]  # still readable
    assert "escaped" in by_case[case_id(3)]
    assert by_case[case_id(4)].count("某") >= 20  # cut, not dropped
    # The same warehouse publishes the same tables and charts again, byte for byte (the
    # manifest is left out of the comparison: it is not a table).
    first = {p.name: h for p, h in _files(day).items() if p.name != "manifest.json"}
    assert len(first) > len(tables)
    again = _publish_and_check_containment(ingestor, tmp_path, again=True)
    assert {p.name: h for p, h in _files(again).items() if p.name != "manifest.json"} == first


def test_regions_found_nowhere_share_one_group_in_a_configured_inspection(tmp_path: Path) -> None:
    ingestor = _ingest(tmp_path / "data", ["某开发区", "另一处"], inspection=HN)
    (outcome,) = publish_all(ingestor.engine, tmp_path / "data" / "outbox", inspection_id=HN, as_of=BATCH_DAY)
    day = Path(outcome.folder or "")
    assert _per_region(day) == {
        "第三批公开情况一览表（长沙市）.xlsx": {case_id(1)},
        "第三批公开情况一览表（未识别地区）.xlsx": {case_id(2), case_id(3)},
    }


def test_regions_that_collide_after_cleaning_still_publish_one_table_each(tmp_path: Path) -> None:
    # Sorted as publishing orders them: "开发区_东" < "开发区_东~2" < "开发区|东"; the third
    # cleans to "开发区_东", and its first rename "开发区_东~2" is taken too.
    regions = ["开发区_东", "开发区_东~2", "开发区｜东"]
    ingestor = _ingest(tmp_path / "data", regions, with_plain_case=False)
    day = _publish_and_check_containment(ingestor, tmp_path)
    assert sorted(_per_region(day).values(), key=sorted) == [{case_id(n)} for n in range(2, 5)]


def _keep_beside(outbox: Path) -> Path:
    """A folder the outbox's neighbours own: <outbox>/../keep/2021-04-13/原件.txt."""
    keep = outbox.parent / "keep" / KEEP_DAY.isoformat()
    keep.mkdir(parents=True)
    (keep / "原件.txt").write_text("do not replace", encoding="utf-8")
    return keep


@pytest.mark.parametrize("inspection", ["../keep", "..", "keep/../../keep", "{tmp_path}/data/keep"])
def test_publish_all_refuses_an_inspection_that_is_a_path(tmp_path: Path, inspection: str) -> None:
    # An absolute id stays inside tmp_path too: the code before the fix wrote there.
    inspection = inspection.format(tmp_path=tmp_path)
    ingestor = _ingest(tmp_path / "data", [])
    outbox = tmp_path / "data" / "outbox"
    keep = _keep_beside(outbox)
    before = _files(tmp_path)
    with pytest.raises(ValueError, match=re.escape(repr(inspection))) as raised:
        publish_all(ingestor.engine, outbox, inspection_id=inspection, as_of=KEEP_DAY)
    assert type(raised.value).__name__ == "UnsafePath"
    assert _files(tmp_path) == before  # the folder beside the outbox is as it was
    assert (keep / "原件.txt").read_text(encoding="utf-8") == "do not replace"
    assert not any(outbox.rglob("*"))


def test_publish_all_refuses_an_inspection_it_does_not_know(tmp_path: Path) -> None:
    ingestor = _ingest(tmp_path / "data", [])
    outbox = tmp_path / "data" / "outbox"
    assert "no-such-inspection" not in registry()
    before = _files(tmp_path)
    with pytest.raises(ValueError, match="no-such-inspection") as raised:
        publish_all(ingestor.engine, outbox, inspection_id="no-such-inspection", as_of=KEEP_DAY)
    assert type(raised.value).__name__ == "UnknownInspection"
    assert _files(tmp_path) == before and not any(outbox.rglob("*"))
    # The inspection the warehouse holds still publishes.
    assert publish_all(ingestor.engine, outbox, inspection_id=INSP, as_of=BATCH_DAY)[0].cases == 1


def test_cli_publish_with_an_inspection_that_is_a_path_exits_2_and_keeps_the_folder(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    keep = _keep_beside(out)  # where out/../keep/2021-04-13 resolves
    before = _files(tmp_path)
    done = run(["publish", "--out", str(out), "--inspection", "../keep", "--as-of", "2021-04-13"], tmp_path)
    after = {p: h for p, h in _files(tmp_path).items() if not p.is_relative_to(data)}  # the CLI's data root
    assert after == before, "the folder beside the outbox was replaced"
    assert sorted(p.name for p in keep.iterdir()) == ["原件.txt"]
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "--inspection" in done.stderr and "../keep" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_cli_publish_with_an_unknown_inspection_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    get_inspection(HN)  # the configured one exists; this one does not
    assert "no-such-inspection" not in registry()
    done = run(
        ["publish", "--out", str(out), "--inspection", "no-such-inspection", "--as-of", "2021-04-13"],
        tmp_path,
    )
    created = sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.exists() else []
    assert created == [], f"created in the outbox: {created}"
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "no-such-inspection" in done.stderr and "unknown inspection" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "regions",
    [
        ["a_b~2", "a/b", "a:b"],
        ["Zone", "zone", "ZONE"],  # one file on a case-insensitive file system
        ["x", "x~2", "x~3", "x/", "x:", "x|"],
        ["某" * 200, "某" * 200 + "/", "某" * 200 + ":"],  # renamed past the byte limit
    ],
)
def test_region_file_names_are_distinct_whatever_the_regions(regions: list[str]) -> None:
    names = region_file_names(regions)
    assert len({n.casefold() for n in names}) == len(regions)
    assert all(n == safe_name(n) for n in names)  # each is already a safe part


def test_a_publish_that_fails_midway_leaves_the_last_good_day_and_no_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingestor = _ingest(tmp_path / "data", [])
    day = _publish_and_check_containment(ingestor, tmp_path)
    good = _files(day)

    def disk_full(*args: object, **kwargs: object) -> None:  # the fault, not the code under test
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ducha.disclosure.publish.write_weekly", disk_full)
    with pytest.raises(OSError, match="No space left"):
        publish_all(ingestor.engine, tmp_path / "data" / "outbox", inspection_id=INSP, as_of=BATCH_DAY)
    assert _files(day) == good  # the published day is untouched
    assert [p.name for p in day.parent.iterdir()] == [day.name]  # no ".<day>.tmp" beside it
