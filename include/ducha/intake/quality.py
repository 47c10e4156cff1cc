"""The Great Expectations suite, built from the contract.

Column rules come straight from the contract (required fields, vocabularies, lengths,
penalties, the case-ID pattern). Cross-field rules, and the rules that depend on the
inspection's configuration (its pollution types, its period), are computed per file as
boolean columns (``_rule_*``), so that every check is one GX expectation with one result
format, every failure maps back to an Excel row, and one suite serves every inspection.

A GX run costs about 0.7 s whatever its size (its bookkeeping per expectation), so the
files of a whole ingest run are validated together, in one frame (``validator.Validator.check``).
What depends on the warehouse (a case already loaded with another text, a fact it
corrects) is compared per file just before that file loads (``compare_with_warehouse``),
so a file sees the files loaded before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ducha.config import Inspection
from ducha.contract import TYPE_SEPARATOR, Contract, load_contract
from ducha.intake.parse import ParsedFile
from ducha.issues import RULES, Issue, Level, issue

if TYPE_CHECKING:
    import pandas as pd

# Grace before the period: the first batch carries complaints received the day before.
PERIOD_GRACE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Rule:
    """What one expectation means to a clerk. Its code is one of issues.RULES (the one
    list of rules, with their messages): an unknown code fails at once."""

    rule: str
    level: Level
    field: str  # the contract field the clerk should look at
    expected: str

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise KeyError(f"rule {self.rule} is not in issues.RULES")


@dataclass(frozen=True)
class FileRows:
    """The rows of files validated together, one frame under another, as the cross-field
    rules see them: ``file_no`` gives each row's file (its position in ``files``)."""

    files: Sequence[ParsedFile]
    frame: pd.DataFrame  # the files' frames, fields only, index 0..n-1
    file_no: Any  # numpy array of int, one per row

    def by_inspection(self) -> list[tuple[Inspection, Any]]:
        """(inspection, boolean row mask) for each inspection among the files."""
        import numpy as np

        groups: dict[str, tuple[Inspection, list[int]]] = {}
        for n, parsed in enumerate(self.files):
            groups.setdefault(parsed.inspection.id, (parsed.inspection, []))[1].append(n)
        return [(insp, np.isin(self.file_no, numbers)) for insp, numbers in groups.values()]


# A cross-field rule's check: True where a row passes.
Check = Callable[[FileRows, Contract], "pd.Series"]


@dataclass(frozen=True)
class CrossRule(Rule):
    """A rule that compares fields of a row, or a row with the inspection's settings:
    computed over the files validated together as a boolean column (``_rule_*``) that
    one GX expectation checks."""

    check: Check


CASE_CONFLICT = Rule(
    "CASE_CONFLICT", "error", "summary", "与已入库的同一受理编号内容一致；如确需更正请联系数据管理员"
)
# A well-formed ID names its case without doubt: a feedback file that shortens or re-types
# the summary is matched by it and loads, with a note (the tables keep the text of the
# transfer). Only an ID that does not fit the pattern is too ambiguous to match on.
SUMMARY_DIFFERS = Rule(
    "CASE_SUMMARY_DIFFERS", "warning", "summary", "已按受理编号匹配到已入库案件；公开表沿用交办时的表述"
)

# Files are validated together, so uniqueness is checked on "file number/case ID": a
# case ID may appear once per file (a later file may well carry a new version of it).
CASE_KEY = "_case_key"


def _meta(rule: Rule) -> dict[str, str]:
    return {"rule": rule.rule, "level": rule.level, "field": rule.field, "expected": rule.expected}


def build_suite(contract: Contract | None = None) -> list[Any]:
    """The expectations (a list of GX Expectation objects), the same for every inspection."""
    import great_expectations.expectations as gxe

    c = contract or load_contract()
    out: list[Any] = []
    for name in c.required:
        label = c.fields[name].label
        out.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=name, meta=_meta(Rule("REQUIRED_VALUE", "error", name, f"「{label}」不能为空"))
            )
        )
    out.append(
        gxe.ExpectColumnValuesToBeUnique(
            column=CASE_KEY,
            meta=_meta(Rule("CASE_ID_DUPLICATE", "error", "case_id", "每个受理编号在文件中只出现一次")),
        )
    )
    out.append(
        gxe.ExpectColumnValuesToMatchRegex(
            column="case_id",
            regex=c.case_id_pattern.pattern,
            meta=_meta(
                Rule(
                    "CASE_ID_PATTERN",
                    "warning",
                    "case_id",
                    "如 D3HN202406020040（D/X+轮次+省份代码+日期+序号）",
                )
            ),
        )
    )
    for f in c.fields.values():
        if f.kind == "enum" and f.vocabulary:
            allowed = list(c.vocabularies[f.vocabulary].values)
            out.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=f.name,
                    value_set=allowed,
                    meta=_meta(Rule("ENUM_VALUE", "error", f.name, "允许的值：" + "、".join(allowed))),
                )
            )
        if f.max_length:
            out.append(
                gxe.ExpectColumnValueLengthsToBeBetween(
                    column=f.name,
                    min_value=0,
                    max_value=f.max_length,
                    meta=_meta(Rule("TEXT_TOO_LONG", "error", f.name, f"不超过 {f.max_length} 字")),
                )
            )
        if f.kind in ("count", "money"):
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f.name,
                    min_value=0,
                    meta=_meta(Rule("NUMBER_NEGATIVE", "error", f.name, "不小于 0 的数")),
                )
            )
    for rule in cross_rules(c):
        out.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=_rule_column(rule.rule), value_set=[True], meta=_meta(rule)
            )
        )
    return out


def _expected(meta: dict[str, str], inspection: Inspection) -> str:
    """What a rule expects, as the clerk reads it: the inspection's own types and period."""
    if meta["rule"] == "POLLUTION_TYPE":
        return "允许的值：" + "、".join(inspection.pollution_types)
    if meta["rule"] == "DATE_OUT_OF_PERIOD":
        return _period_text(inspection)
    return meta["expected"]


def types_allowed(values: pd.Series, allowed: Sequence[str]) -> pd.Series:
    """True where every type of a "、"-joined cell is one of ``allowed`` (a blank is
    the REQUIRED rule's business, not this one's); each distinct value is looked at once."""
    allowed_set = set(allowed)
    refused = [
        v
        for v in values.dropna().unique()
        if v != "" and not all(t in allowed_set for t in v.split(TYPE_SEPARATOR))
    ]
    return ~values.isin(refused)  # not map + fillna(True): filling a float column with a bool is deprecated


def _period_text(insp: Inspection) -> str:
    if insp.period_start and insp.period_end:
        return f"督察期间 {insp.period_start - PERIOD_GRACE} 至 {insp.period_end}"
    return "督察期间内"


def _rule_column(rule: str) -> str:
    return "_rule_" + rule.lower()


def rows_frame(files: Sequence[ParsedFile], contract: Contract | None = None) -> pd.DataFrame:
    """The frame GX validates, for ``files`` together (each column converted once, not
    once a file): the files' rows with blanks as nulls, pollution types joined with "|",
    numbers numeric, the case key (the file's position/case ID), and one boolean column
    per cross-field rule."""
    import numpy as np
    import pandas as pd

    c = contract or load_contract()
    fields = list(c.fields)
    src = pd.concat([p.frame[fields] for p in files], ignore_index=True)
    file_no = np.repeat(np.arange(len(files)), [len(p.frame) for p in files])
    columns: dict[str, pd.Series] = {}
    for name, f in c.fields.items():
        column = src[name]
        if f.kind == "types":
            column = column.str.replace(TYPE_SEPARATOR, "|", regex=False)
        if f.kind in ("count", "money"):
            columns[name] = pd.to_numeric(column, errors="coerce")
        else:
            columns[name] = column.where(column != "", None)
    case_ids = columns["case_id"]
    columns[CASE_KEY] = (pd.Series(file_no, dtype=str) + "/" + case_ids).where(case_ids.notna(), None)
    rows = FileRows(files, src, file_no)
    for rule in cross_rules(c):
        columns[_rule_column(rule.rule)] = rule.check(rows, c)
    return pd.DataFrame(columns)


def cross_rules(c: Contract) -> list[CrossRule]:
    """The cross-field rules, in the order the suite checks them, each with its check."""
    findings, verified = c.fields["findings"].label, c.fields["verified"].label
    return [
        CrossRule(
            "CLOSED_WITHOUT_FINDINGS",
            "error",
            "status",
            f"{c.closed_label}的案件须填写「{findings}」和「{verified}」",
            _closed_with_findings,
        ),
        CrossRule(
            "PENALTY_ON_UNFOUNDED",
            "warning",
            "verified",
            f"{c.unfounded}的案件一般不应有处罚数据，请核对",
            _no_penalty_if_unfounded,
        ),
        CrossRule(
            "RECEIVED_AFTER_BATCH",
            "error",
            "case_id",
            "受理编号中的日期不晚于交办日期",
            _received_by_transfer,
        ),
        CrossRule("DATE_OUT_OF_PERIOD", "error", "case_id", "督察期间内", _received_in_period),
        CrossRule(
            "POLLUTION_TYPE",
            "error",
            "pollution_types",
            "本督察的污染类型",
            lambda rows, _: _per_inspection(
                rows,
                lambda insp, mask: types_allowed(
                    rows.frame.loc[mask, "pollution_types"], insp.pollution_types
                ),
            ),
        ),
        # A name found in neither the configuration nor the national division list is
        # loaded as written, but a clerk hears of it: no silent new region.
        CrossRule(
            "REGION_UNKNOWN",
            "warning",
            "region",
            "本省的市州或区县名称（可用简称，如 湘西州、浏阳）",
            lambda rows, _: _per_inspection(
                rows, lambda insp, mask: _regions_known(rows.frame.loc[mask, "region"], insp)
            ),
        ),
    ]


def _per_inspection(rows: FileRows, check: Callable[[Inspection, Any], pd.Series]) -> pd.Series:
    """A rule that depends on the inspection: ``check`` on each inspection's rows."""
    import pandas as pd

    return pd.concat([check(insp, mask) for insp, mask in rows.by_inspection()]).sort_index()


def _closed_with_findings(rows: FileRows, c: Contract) -> pd.Series:
    v = rows.frame
    closed = v["status"].isin(list(c.closed_statuses))
    return ~closed | (v["findings"].map(bool) & v["verified"].map(bool))


def _no_penalty_if_unfounded(rows: FileRows, c: Contract) -> pd.Series:
    import pandas as pd

    v = rows.frame
    penalties = pd.concat(
        [pd.to_numeric(v[p], errors="coerce").fillna(0) > 0 for p in c.penalty_fields], axis=1
    )
    return ~((v["verified"] == c.unfounded) & penalties.any(axis=1))


def _received_by_transfer(rows: FileRows, c: Contract) -> pd.Series:
    import pandas as pd

    v = rows.frame
    received = pd.to_datetime(v["received_on"], errors="coerce")
    # Each file's batches: the day each batch it names was transferred.
    days = pd.concat([p.frame["batch_no"].map(p.batches) for p in rows.files], ignore_index=True)
    batch_day = pd.to_datetime(days, errors="coerce")
    return ~(received > batch_day).fillna(False)


def _received_in_period(rows: FileRows, c: Contract) -> pd.Series:
    import pandas as pd

    def in_period(insp: Inspection, mask: Any) -> pd.Series:
        received = pd.to_datetime(rows.frame.loc[mask, "received_on"], errors="coerce")
        if not (insp.period_start and insp.period_end):
            return pd.Series(True, index=received.index)
        start = pd.Timestamp(insp.period_start - PERIOD_GRACE)
        return received.isna() | received.between(start, pd.Timestamp(insp.period_end))

    return _per_inspection(rows, in_period)


def _regions_known(regions: pd.Series, insp: Inspection) -> pd.Series:
    """True where the region names a place of the inspection (a blank is REQUIRED_VALUE's
    business); each distinct value is looked at once."""
    known = {r: not r or insp.knows_region(str(r)) for r in regions.dropna().unique()}
    return regions.map(known).fillna(True).astype(bool)


def compare_with_warehouse(
    parsed: ParsedFile, known_summaries: dict[str, str], known_facts: dict[str, dict[str, object]]
) -> None:
    """What the warehouse already holds, against the file about to load: where a known
    case comes with another summary text, a CASE_SUMMARY_DIFFERS note when its ID is
    well formed (a city's feedback file re-types summaries) and a CASE_CONFLICT error
    when it is not (the ID may name another case); and a CASE_CHANGED note on each fact
    a row corrects (``known_facts``: case_id -> facts)."""
    if parsed.rejected or not len(parsed) or not (known_summaries or known_facts):
        return
    contract = load_contract()
    frame = parsed.frame
    summaries = frame["case_id"].map(known_summaries)
    differs = (summaries.notna() & (summaries != frame["summary"])).to_numpy()
    well_formed = frame["case_id"].astype(str).str.match(contract.case_id_pattern.pattern).to_numpy()
    for rule, rows in ((SUMMARY_DIFFERS, differs & well_formed), (CASE_CONFLICT, differs & ~well_formed)):
        meta = _meta(rule)
        for pos in rows.nonzero()[0]:
            parsed.add_issue(int(pos), row_issue(parsed, int(pos), meta, contract))
    own_numbering(parsed, known_facts)
    note_changes(parsed, known_facts)


def own_numbering(parsed: ParsedFile, known_facts: dict[str, dict[str, object]]) -> None:
    """A sheet that numbers its own rows (a city's feedback file: 1, 2, 3 … over cases of
    several batches) does not renumber the cases: 序号 is read as given only where it is
    the batch's number. A sheet is taken to number its own rows when its 序号 run 1..n
    down the sheet, every row is a case already known, and the numbers disagree with
    those on record for most of them. A sheet that brings new cases is a batch list (a
    list loaded after a city's file corrects the numbers that file gave), and a resent
    list that corrects one or two numbers still corrects them."""
    if not known_facts or "seq" not in parsed.given.columns:
        return
    frame, given = parsed.frame, parsed.given
    seqs, sources, case_ids = frame["seq"].tolist(), frame["_source"].tolist(), frame["case_id"].tolist()
    gave = given["seq"].to_numpy().copy()
    changed = False
    by_sheet: dict[int, list[int]] = {}
    for pos, source in enumerate(sources):
        by_sheet.setdefault(source, []).append(pos)
    for source, rows in by_sheet.items():
        if [seqs[pos] for pos in rows] != list(range(1, len(rows) + 1)):
            continue
        known = [pos for pos in rows if (case_ids[pos] in known_facts) and gave[pos]]
        if len(known) < len(rows):  # it brings new cases: a batch list, whose 序号 count
            continue
        on_record = [(pos, known_facts[case_ids[pos]].get("seq")) for pos in known]
        differ = [pos for pos, seq in on_record if seq is not None and seq != seqs[pos]]
        if 2 * len(differ) <= len(known):
            continue
        gave[rows] = False
        changed = True
        sheet = parsed.sources[source].sheet.name
        column = parsed.sources[source].written.get("seq")
        parsed.issues.append(
            issue(
                "warning",
                "SEQ_OWN_NUMBERING",
                f"{len(differ)} 行的序号与原批次序号不同",
                sheet=sheet,
                column=column,
                expected="原批次序号（如为自编序号，无需更正）",
            )
        )
    if changed:
        given["seq"] = gave


def note_changes(parsed: ParsedFile, known_facts: dict[str, dict[str, object]]) -> None:
    """A warning on every cell that changes a fact of a case already in the warehouse
    (行政区域, 污染类型, 重点, 序号): the change is loaded as a new version of the case and
    published, and the clerk's report says what it replaced. A blank cell changes nothing."""
    if not known_facts:
        return
    contract = load_contract()
    frame, given = parsed.frame, parsed.given
    shown = {True: "是", False: "否", None: "（空）"}
    case_ids = frame["case_id"].tolist()
    known = [(pos, known_facts[case_id]) for pos, case_id in enumerate(case_ids) if case_id in known_facts]
    # Whole columns once: a lookup per cell costs more than the comparison.
    names = {name for _, facts in known for name in facts}
    values = {name: frame[name].tolist() for name in names}
    gave = {name: given[name].tolist() for name in names}
    for pos, facts in known:
        for name, old in facts.items():
            if not gave[name][pos]:
                continue
            new = values[name][pos]
            if new == old or (name == "key_case" and bool(new) == bool(old)):
                continue
            column = parsed.written(pos, name) or contract.fields[name].label
            before = shown[old] if isinstance(old, bool) or old is None else str(old)
            after = shown[new] if isinstance(new, bool) or new is None else str(new)
            sheet, row = parsed.where(pos)
            parsed.add_issue(
                pos,
                issue(
                    "warning",
                    "CASE_CHANGED",
                    f"「{before}」改为「{after}」",
                    sheet=sheet,
                    row=row,
                    column=column,
                    value=parsed.raw(pos).get(column, after),
                    expected=f"此前报送为「{before}」；如非更正，请核对",
                ),
            )


def row_issue(parsed: ParsedFile, pos: int, meta: dict[str, str], contract: Contract) -> Issue:
    """A failed expectation's (or a warehouse comparison's) finding on one row, as the
    clerk reads it: sheet, Excel row, the column as written in the file, the value."""
    field = meta["field"]
    column = parsed.written(pos, field) or contract.fields[field].label
    raw = parsed.raw(pos)
    value = raw[column] if column in raw else str(parsed.frame[field].iat[pos] or "")
    detail = f"「{value}」" if value else ""
    sheet, row = parsed.where(pos)
    return issue(
        meta["level"],  # type: ignore[arg-type]
        meta["rule"],
        detail,
        sheet=sheet,
        row=row,
        column=column,
        value=value,
        expected=_expected(meta, parsed.inspection),
    )
