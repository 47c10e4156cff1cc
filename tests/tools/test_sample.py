"""The sample generator: deterministic, shaped like the real daily workbooks, with known faults."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from ducha.config import get_inspection
from ducha.contract import strip_unit
from ducha.text import header_key, int_to_cn
from ducha_sample import KEY_MARKS, SampleSummary, feedback_city, generate, is_transfer_list

INSPECTION = "c3-hn-2024"
START = dt.date(2024, 6, 1)
DAYS = 8
CASE_ID = re.compile(r"^[DX]\d[A-Z]{2}\d{8}\d{4}$")
PHONE = re.compile(r"1[3-9]\d{9}")
HEADERS = [
    "序号",
    "受理编号",
    "交办问题基本情况",
    "行政区域",
    "问题类型",
    "调查核实情况",
    "是否属实",
    "办结目标",
    "处理和整改情况",
    "是否办结",
    "责任人被处理情况",
    "重点关注",
    "重复件",
    "责令整改（家）",
    "立案处罚（家）",
    "罚款金额（元）",
    "立案侦查（件）",
    "行政拘留（人）",
    "刑事拘留（人）",
    "约谈（人）",
    "问责（人）",
]
# The team's 转办清单 (days 3 and 7 here): the case and where it is, nothing more.
TRANSFER_HEADERS = ["序号", "受理编号", "交办问题基本情况", "行政区域", "问题类型", "重点关注"]
STATUS_RANK = {"正在办理": 0, "阶段性办结": 1, "已办结": 2}
VERIFIED = {"属实", "基本属实", "部分属实", "不属实"}
TYPES = {"水", "大气", "土壤", "生态", "噪声", "辐射", "其他"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleSummary]:
    root = tmp_path_factory.mktemp("landing")
    return root, generate(root, INSPECTION, days=DAYS, seed=7, progress=False)


def day_of(index: int) -> dt.date:
    return START + dt.timedelta(days=index)


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def batch_path(root: Path, index: int) -> Path:
    return root / INSPECTION / f"{day_of(index):%Y-%m-%d}" / f"第{int_to_cn(index + 1)}批交办清单.xlsx"


def update_path(root: Path, index: int) -> Path:
    day = day_of(index)
    return root / INSPECTION / f"{day:%Y-%m-%d}" / f"办理情况更新（{cn_date(day)}）.xlsx"


def read(path: Path) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def table(path: Path) -> tuple[str, list[str], list[dict[str, object]]]:
    """Title, header and data rows (keyed by the header's lookup form); blank and notes rows dropped."""
    rows = read(path)
    title, header = str(rows[0][0]), [str(h) for h in rows[1]]
    keys = [strip_unit(header_key(h)) for h in header]  # "罚款金额（元）" -> "罚款金额"
    data = [
        dict(zip(keys, row, strict=True))
        for row in rows[2:]
        if any(cell != "" for cell in row) and not str(row[0]).startswith("注")
    ]
    return title, header, data


def batch_rows(root: Path, index: int) -> list[dict[str, object]]:
    return table(batch_path(root, index))[2]


def feedback_paths(root: Path, index: int) -> list[Path]:
    """A city's own feedback files of a day (.xls or .xlsx)."""
    folder = root / INSPECTION / f"{day_of(index):%Y-%m-%d}"
    return sorted(p for p in folder.glob("*反馈表*") if p.is_file())


def feedback_sheets(path: Path) -> list[tuple[str, list[str], list[dict[str, object]]]]:
    """(tab, header, rows) of every sheet of a feedback file, read without Ducha: two title
    rows, a header over two rows (a group label above its sub-columns, the other headers
    merged down both rows), the region merged down its rows."""
    book = CalamineWorkbook.from_path(str(path))
    out = []
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python()
        upper, lower = rows[2], rows[3]
        header = [str(b or a) for a, b in zip(upper, lower, strict=True)]
        data, region = [], ""
        for row in rows[4:]:
            rec = dict(zip(header, row, strict=True))
            region = rec["行政区域"] = rec["行政区域"] or region
            data.append(rec)
        out.append((name, header, data))
    return out


def all_rows(path: Path) -> list[dict[str, object]]:
    if "反馈表" in path.name:
        return [r for _, _, rows in feedback_sheets(path) for r in rows]
    return table(path)[2]


def update_days(root: Path) -> list[int]:
    return [i for i in range(DAYS) if update_path(root, i).exists()]


def dirty_line(summary: SampleSummary, file_name: str) -> str:
    [line] = [d for d in summary.dirty if file_name in d]
    return line


# --- determinism and layout -------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_a_prefix_of_longer_runs(
    tmp_path: Path, sample: tuple[Path, SampleSummary]
) -> None:
    first = generate(tmp_path / "a", INSPECTION, days=3, seed=7, progress=False)
    second = generate(tmp_path / "b", INSPECTION, days=3, seed=7, progress=False)
    rel_a = [p.relative_to(tmp_path / "a") for p in first.files]
    rel_b = [p.relative_to(tmp_path / "b") for p in second.files]
    assert rel_a == rel_b
    assert len(rel_a) == 3
    for rel in rel_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
        # Day i never depends on how many days are generated.
        assert (tmp_path / "a" / rel).read_bytes() == (sample[0] / rel).read_bytes()
    assert first == replace_paths(second, tmp_path / "b", tmp_path / "a")
    assert len(first.dirty) == 1 and "第三批交办清单.xlsx" in first.dirty[0]


def replace_paths(summary: SampleSummary, old: Path, new: Path) -> SampleSummary:
    return replace(summary, files=[new / p.relative_to(old) for p in summary.files])


def test_another_seed_gives_other_content(tmp_path: Path, sample: tuple[Path, SampleSummary]) -> None:
    other = generate(tmp_path, INSPECTION, days=1, seed=8, progress=False)
    assert other.files[0].read_bytes() != batch_path(sample[0], 0).read_bytes()
    assert batch_rows(tmp_path, 0) != batch_rows(sample[0], 0)


def test_days_out_of_range_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, days=0)


def test_folders_and_file_names(sample: tuple[Path, SampleSummary]) -> None:
    root, summary = sample
    expected = {batch_path(root, i) for i in range(DAYS)}
    # Results come back 3–8 days after a batch: none before day 3, some every day after.
    assert update_days(root) == list(range(3, DAYS))
    expected |= {update_path(root, i) for i in range(3, DAYS)}
    expected.add(root / INSPECTION / f"{day_of(7):%Y-%m-%d}" / "补报材料.xlsx")
    # From day 4, every other day one city (never the capital) sends its own feedback file,
    # every second one an .xls as WPS saves it.
    inspection = get_inspection(INSPECTION)
    feedback = {i: feedback_city(inspection.regions, i) for i in range(DAYS)}
    assert [i for i, city in feedback.items() if city] == [4, 6]
    assert inspection.regions[0].name not in feedback.values()
    for i, ext in ((4, "xls"), (6, "xlsx")):
        name = f"{feedback[i]}信访件办理情况反馈表（{cn_date(day_of(i))}）.{ext}"
        expected.add(root / INSPECTION / f"{day_of(i):%Y-%m-%d}" / name)
    on_disk = {p for p in root.rglob("*") if p.is_file()}
    assert on_disk == expected
    assert set(summary.files) == expected and len(summary.files) == len(expected)
    assert summary.inspection_id == INSPECTION and summary.days == DAYS
    assert sorted(p.name for p in (root / INSPECTION).iterdir()) == [
        f"{day_of(i):%Y-%m-%d}" for i in range(DAYS)
    ]


def test_title_rows_sheet_names_and_notes(sample: tuple[Path, SampleSummary]) -> None:
    root, _ = sample
    for i in range(DAYS):
        label = f"第{int_to_cn(i + 1)}批"
        rows = read(batch_path(root, i))
        # The team's count of the batch, every row sent (a row later rejected too).
        cases = sum(any(c != "" for c in r) for r in rows[2:-1])  # between header and notes, not blank
        if is_transfer_list(i):
            assert rows[0][0] == (
                f"第三轮第二批中央生态环境保护督察（湖南省）{label}转办群众信访举报件清单"
                f"（{cn_date(day_of(i))} 共{cases}件）"
            )
        else:
            assert (
                rows[0][0]
                == f"群众信访举报转办和边督边改公开情况一览表（{label} {cn_date(day_of(i))} 共{cases}件）"
            )
        assert all(cell == "" for cell in rows[0][1:])  # merged across all columns
        assert str(rows[-1][0]).startswith("注：") and rows[-1][0].endswith("（此行非数据）")
        assert CalamineWorkbook.from_path(str(batch_path(root, i))).sheet_names == [label]
    assert batch_path(root, 7).name == "第八批交办清单.xlsx"
    for i in update_days(root):
        assert read(update_path(root, i))[0][0] == f"群众信访举报办理情况更新表（{cn_date(day_of(i))}）"


def test_header_rows(sample: tuple[Path, SampleSummary]) -> None:
    root, _ = sample
    for i in range(DAYS):
        header = table(batch_path(root, i))[1]
        if i == 5:  # Traditional characters with line breaks: same fields once normalised
            assert header != HEADERS
            assert "受理\n編號" in header and "是否\n屬實" in header and "調查核實情況" in header
            assert [header_key(h) for h in header] == [header_key(h) for h in HEADERS]
        else:
            assert header == (TRANSFER_HEADERS if is_transfer_list(i) else HEADERS)
    assert [i for i in range(DAYS) if is_transfer_list(i)] == [3, 7]
    for i in update_days(root):
        assert table(update_path(root, i))[1] == ["批次", *HEADERS]


# --- content ----------------------------------------------------------------------------------


def test_batch_sizes_and_sequence_numbers(sample: tuple[Path, SampleSummary]) -> None:
    root, _ = sample
    for i in range(DAYS):
        rows = batch_rows(root, i)
        assert 60 <= len({r["受理编号"] for r in rows}) <= 280
        assert [r["序号"] for r in rows] == list(range(1, len(rows) + 1))
        assert {r.get("是否办结", "") for r in rows} <= {"正在办理", "处理中啦", ""}
        for r in rows:  # new cases carry no results yet
            results = ("调查核实情况", "是否属实", "处理和整改情况", "罚款金额")
            assert {r.get(k, "") for k in results} == {""}


def test_case_ids_encode_round_province_and_received_date(sample: tuple[Path, SampleSummary]) -> None:
    root, _ = sample
    channels: Counter[str] = Counter()
    for i in range(DAYS):
        received = f"{day_of(i) - dt.timedelta(days=1):%Y%m%d}"
        ids = [str(r["受理编号"]) for r in batch_rows(root, i)]
        valid = [c for c in ids if CASE_ID.match(c)]
        assert len(valid) == len(ids) - (1 if i == 4 else 0)  # day 4 carries one odd ID
        for case_id in valid:
            assert case_id[1] == "3" and case_id[2:4] == "HN" and case_id[4:12] == received
        assert len(set(ids)) == len(ids) - (1 if i == 6 else 0)  # day 6 repeats one ID
        channels.update(c[0] for c in ids)
    assert set(channels) == {"D", "X"}
    assert 0.6 < channels["D"] / channels.total() < 0.8


def test_regions_types_flags_and_repeats(sample: tuple[Path, SampleSummary]) -> None:
    root, _ = sample
    inspection = get_inspection(INSPECTION)
    regions = {r.name for r in inspection.regions} | {
        r.name + county for r in inspection.regions for county in r.counties
    }
    seen: dict[str, dict[str, object]] = {}
    types: Counter[str] = Counter()
    separators: Counter[str] = Counter()
    repeats = keys = total = 0
    for i in range(DAYS):
        for r in batch_rows(root, i):
            total += 1
            assert r["行政区域"] in regions
            parts = re.split("[、，]", str(r["问题类型"]))
            assert set(parts) <= TYPES and len(parts) == len(set(parts))
            types.update(parts)
            separators.update(c for c in str(r["问题类型"]) if c in "、，")
            marks = KEY_MARKS[(i + 1) % len(KEY_MARKS)]  # batch i + 1's way of marking
            assert r["重点关注"] in marks
            keys += r["重点关注"] == marks[0]
            if r.get("重复件"):  # an earlier case, same place and problem (no column in a 转办清单)
                repeats += 1
                original = seen[str(r["重复件"])]
                assert original["行政区域"] == r["行政区域"] and original["问题类型"] == r["问题类型"]
                assert str(r["交办问题基本情况"]).startswith("群众再次反映")
            assert 10 <= len(str(r["交办问题基本情况"])) <= 260
        seen |= {str(r["受理编号"]): r for r in batch_rows(root, i)}
    assert [t for t, _ in types.most_common(2)] in (["大气", "水"], ["水", "大气"])
    assert set(separators) == {"、", "，"}
    assert 0.03 < keys / total < 0.12
    assert 1 <= repeats < total * 0.05


def test_some_complaints_carry_a_phone_number_and_results_never_do(
    sample: tuple[Path, SampleSummary],
) -> None:
    root, _ = sample
    phones = [
        r for i in range(DAYS) for r in batch_rows(root, i) if "举报人电话" in str(r["交办问题基本情况"])
    ]
    assert phones and all(PHONE.search(str(r["交办问题基本情况"])) for r in phones)
    for i in update_days(root):
        for r in table(update_path(root, i))[2]:
            assert not PHONE.search(str(r["调查核实情况"]) + str(r["处理和整改情况"]))


def test_update_rows_repeat_their_batch_row(sample: tuple[Path, SampleSummary]) -> None:
    root, _ = sample
    batches = {f"第{int_to_cn(i + 1)}批": (i, batch_rows(root, i)) for i in range(DAYS)}
    verified: Counter[str] = Counter()
    for day in update_days(root):
        for r in table(update_path(root, day))[2]:
            index, rows = batches[str(r["批次"])]
            assert 3 <= day - index <= 12
            original = rows[int(r["序号"]) - 1]
            for key in ("受理编号", "交办问题基本情况", "行政区域", "问题类型", "重点关注", "重复件"):
                assert r[key] == original.get(key, r[key])
            assert r["是否属实"] in VERIFIED
            assert r["是否办结"] in ("阶段性办结", "已办结")
            assert str(r["调查核实情况"]).startswith("经调查核实")
            assert "处理情况：" in str(r["处理和整改情况"]) and "整改情况：" in str(r["处理和整改情况"])
            assert r["办结目标"] and r["责任人被处理情况"]
            assert isinstance(r["责令整改"], float) and isinstance(r["罚款金额"], float)
            if r["是否属实"] == "不属实":
                assert r["罚款金额"] == 0
            verified[str(r["是否属实"])] += 1
    assert set(verified) == VERIFIED
    assert verified["部分属实"] > verified["不属实"] and verified["属实"] > verified["基本属实"]


def test_a_city_sends_its_own_feedback_file(sample: tuple[Path, SampleSummary]) -> None:
    """As cities send them: a sheet per batch, each numbered from 1, a two-row header with
    groups, the region merged down, the city's office and contact on every row, summaries
    shortened; every row a case of that city with a result, as in the combined update."""
    root, _ = sample
    inspection = get_inspection(INSPECTION)
    batches = {
        f"第{int_to_cn(i + 1)}批": {str(r["受理编号"]): r for r in batch_rows(root, i)} for i in range(DAYS)
    }
    seen_xls = seen_shortened = seen_merged = 0
    for i in (4, 6):
        [path] = feedback_paths(root, i)
        city = feedback_city(inspection.regions, i)
        assert path.name.startswith(str(city))
        seen_xls += path.suffix == ".xls"
        assert path.read_bytes()[:4] == (b"\xd0\xcf\x11\xe0" if path.suffix == ".xls" else b"PK\x03\x04")
        sheets = feedback_sheets(path)
        assert [tab for tab, _, _ in sheets] == sorted(
            (tab for tab, _, _ in sheets), key=lambda t: list(batches).index(t)
        )
        raw = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        assert str(raw[1][0]).startswith("填报单位：") and cn_date(day_of(i)) in str(raw[1][0])
        assert raw[2][4] == "调查核实情况" and raw[3][4] == "核查情况" and raw[3][0] == ""  # two rows
        for tab, header, rows in sheets:
            assert {"责任单位", "联系人", "联系电话", "核查情况", "处理情况", "办理状态"} <= set(header)
            assert [r["序号"] for r in rows] == list(range(1, len(rows) + 1))
            seen_merged += sum(r == "" for r in [row[3] for row in raw[4:]]) if tab == sheets[0][0] else 0
            for r in rows:
                original = batches[tab][str(r["受理编号"])]
                assert (
                    str(original["行政区域"]).startswith(str(city)) and r["行政区域"] == original["行政区域"]
                )
                assert str(original["交办问题基本情况"]).startswith(str(r["交办问题基本情况"]))
                seen_shortened += r["交办问题基本情况"] != original["交办问题基本情况"]
                assert r["是否属实"] in VERIFIED and r["办理状态"] in ("阶段性办结", "已办结")
                assert PHONE.fullmatch(str(r["联系电话"])) and r["责任单位"] == f"{r['行政区域']}人民政府"
        # The combined update of that day carries every other city's results, not this one's.
        assert not [r for r in table(update_path(root, i))[2] if str(r["行政区域"]).startswith(str(city))]
    assert seen_xls == 1 and seen_shortened > 0 and seen_merged > 0


def test_complaints_do_not_repeat_the_same_sentences(sample: tuple[Path, SampleSummary]) -> None:
    """Real complaints are written by thousands of people: no sentence of the generator's
    may run through the round word for word (one once closed 35% of all summaries)."""
    root, _ = sample
    summaries = [
        str(r["交办问题基本情况"])
        for i in range(DAYS)
        for r in batch_rows(root, i)
        if not str(r["交办问题基本情况"]).startswith("群众再次反映")
    ]
    sentences = Counter(x for text in summaries for x in set(re.split(r"(?<=[。])", text)) if x)
    [(top, count)] = sentences.most_common(1)
    assert count < 0.05 * len(summaries), top
    assert len(set(summaries)) == len(summaries)


def test_status_never_goes_backwards(sample: tuple[Path, SampleSummary]) -> None:
    root, _ = sample
    status: dict[str, int] = {}
    moved_on = 0
    for i in range(DAYS):
        day_rows = list(batch_rows(root, i))
        if update_path(root, i).exists():
            day_rows += table(update_path(root, i))[2]
        day_rows += [r for path in feedback_paths(root, i) for r in all_rows(path)]
        for r in day_rows:
            if r.get("是否办结", r.get("办理状态")) not in STATUS_RANK:
                continue  # the deliberate invalid status
            case_id, rank = str(r["受理编号"]), STATUS_RANK[str(r.get("是否办结", r.get("办理状态")))]
            assert rank >= status.get(case_id, 0), case_id
            moved_on += status.get(case_id) == 1 and rank == 2
            status[case_id] = rank
    assert moved_on > 0  # some 阶段性办结 cases close later


def test_summary_counts_match_the_files(sample: tuple[Path, SampleSummary]) -> None:
    _, summary = sample
    rows = [r for path in summary.files for r in all_rows(path)]
    assert summary.rows == len(rows)
    assert summary.cases == len({r["受理编号"] for r in rows if r.get("受理编号")})


# --- deliberate faults ------------------------------------------------------------------------


def test_dirty_faults_are_listed_and_really_in_the_files(sample: tuple[Path, SampleSummary]) -> None:
    root, summary = sample
    assert len(summary.dirty) == 5

    # Day 2: one invalid status.
    [bad] = [r for r in batch_rows(root, 2) if r["是否办结"] == "处理中啦"]
    line = dirty_line(summary, "第三批交办清单.xlsx")
    assert str(bad["受理编号"]) in line and "处理中啦" in line

    # Day 4: one case_id in the non-standard real-world form; it keeps it in later updates.
    [odd] = [str(r["受理编号"]) for r in batch_rows(root, 4) if not CASE_ID.match(str(r["受理编号"]))]
    assert re.fullmatch(r"D3\d{18}|X3\d{18}", odd) and odd in dirty_line(summary, "第五批交办清单.xlsx")

    # Day 5: Traditional headers (checked above) and a blank row between data rows.
    rows = read(batch_path(root, 5))
    blank = [k for k, row in enumerate(rows) if all(cell == "" for cell in row)]
    assert len(blank) == 1 and 2 < blank[0] < len(rows) - 1
    assert "Traditional" in dirty_line(summary, "第六批交办清单.xlsx")

    # Day 6: one case_id twice, with different complaints.
    rows6 = batch_rows(root, 6)
    [(twice, n)] = [(c, n) for c, n in Counter(r["受理编号"] for r in rows6).items() if n > 1]
    assert n == 2 and str(twice) in dirty_line(summary, "第七批交办清单.xlsx")
    assert len({r["交办问题基本情况"] for r in rows6 if r["受理编号"] == twice}) == 2

    # Day 7: an extra file without any 受理编号 column.
    extra = root / INSPECTION / f"{day_of(7):%Y-%m-%d}" / "补报材料.xlsx"
    _, header, data = table(extra)
    assert "受理编号" not in {header_key(h) for h in header}
    assert "交办问题基本情况" in header and 3 <= len(data) <= 6
    assert "受理编号" in dirty_line(summary, "补报材料.xlsx")


def test_one_batch_holds_complaints_typed_in_traditional_characters(
    sample: tuple[Path, SampleSummary],
) -> None:
    from ducha.text import simplified
    from ducha_sample import TRADITIONAL_BATCH

    root, _ = sample
    summaries = [str(r["交办问题基本情况"]) for r in batch_rows(root, TRADITIONAL_BATCH - 1)]
    typed = [s for s in summaries if simplified(s) != s]
    assert 0 < len(typed) < len(summaries)  # some, as a clerk's system typed them
    others = [
        str(r["交办问题基本情况"])
        for i in range(DAYS)
        if i != TRADITIONAL_BATCH - 1
        for r in batch_rows(root, i)
    ]
    assert all(simplified(s) == s for s in others if not s.startswith("群众再次反映"))
