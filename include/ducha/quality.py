"""The Great Expectations suite, built from the contract and the inspection's configuration.

Column rules come straight from the contract (required fields, vocabularies, lengths,
penalties, the case-ID pattern). Cross-field rules are computed as boolean columns
(``_rule_*``) so that every check is one GX expectation with one result format, and
every failure maps back to an Excel row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ducha.config import Inspection
from ducha.contract import TYPE_SEPARATOR, Contract, load_contract
from ducha.intake.parse import ParsedFile
from ducha.issues import Issue, Level, issue

if TYPE_CHECKING:
    import pandas as pd

# Grace before the period: the first batch carries complaints received the day before.
PERIOD_GRACE = dt.timedelta(days=1)

# Row positions of every failure (to map back to Excel rows), never the failing values:
# results and Data Docs are kept on disk for engineers, and complaint texts hold
# personal data. The clerk's report shows values; it is theirs.
RESULT_FORMAT: dict[str, object] = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "include_unexpected_rows": False,
}


@dataclass(frozen=True)
class Rule:
    """What one expectation means to a clerk."""

    rule: str
    level: Level
    field: str  # the contract field the clerk should look at
    expected: str


def _meta(rule: Rule) -> dict[str, str]:
    return {"rule": rule.rule, "level": rule.level, "field": rule.field, "expected": rule.expected}


def build_suite(inspection: Inspection, contract: Contract | None = None) -> list[Any]:
    """The expectations for one inspection (a list of GX Expectation objects)."""
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
            column="case_id",
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
    types = "|".join(re.escape(t) for t in inspection.pollution_types)
    out.append(
        gxe.ExpectColumnValuesToMatchRegex(
            column="pollution_types",
            regex=f"^(?:{types})(?:\\|(?:{types}))*$",
            meta=_meta(
                Rule(
                    "POLLUTION_TYPE",
                    "error",
                    "pollution_types",
                    "允许的值：" + "、".join(inspection.pollution_types),
                )
            ),
        )
    )
    cross = [
        Rule(
            "CLOSED_WITHOUT_FINDINGS", "error", "status", "已办结的案件须填写「调查核实情况」和「是否属实」"
        ),
        Rule("PENALTY_ON_UNFOUNDED", "warning", "verified", "不属实的案件一般不应有处罚数据，请核对"),
        Rule("RECEIVED_AFTER_BATCH", "error", "case_id", "受理编号中的日期不晚于交办日期"),
        Rule("DATE_OUT_OF_PERIOD", "error", "case_id", _period_text(inspection)),
        Rule(
            "CASE_CONFLICT", "error", "summary", "与已入库的同一受理编号内容一致；如确需更正请联系数据管理员"
        ),
    ]
    for rule in cross:
        out.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=_rule_column(rule.rule), value_set=[True], meta=_meta(rule)
            )
        )
    return out


def _period_text(insp: Inspection) -> str:
    if insp.period_start and insp.period_end:
        return f"督察期间 {insp.period_start - PERIOD_GRACE} 至 {insp.period_end}"
    return "督察期间内"


def _rule_column(rule: str) -> str:
    return "_rule_" + rule.lower()


def rows_frame(
    parsed: ParsedFile, known_summaries: dict[str, str], contract: Contract | None = None
) -> pd.DataFrame:
    """The frame GX validates: the file's frame with blanks as nulls, pollution types
    joined with "|", numbers numeric, and one boolean column per cross-field rule."""
    import pandas as pd

    c = contract or load_contract()
    src = parsed.frame
    frame = pd.DataFrame(index=src.index)
    for name, f in c.fields.items():
        column = src[name]
        if f.kind == "types":
            column = column.str.replace(TYPE_SEPARATOR, "|", regex=False)
        if f.kind in ("count", "money"):
            frame[name] = pd.to_numeric(column, errors="coerce")
        else:
            frame[name] = column.where(column != "", None)
    rules = _cross_rules(parsed, known_summaries, c)
    for rule in _CROSS:
        frame[_rule_column(rule)] = rules[rule]
    return frame


_CROSS = (
    "CLOSED_WITHOUT_FINDINGS",
    "PENALTY_ON_UNFOUNDED",
    "RECEIVED_AFTER_BATCH",
    "DATE_OUT_OF_PERIOD",
    "CASE_CONFLICT",
)


def _cross_rules(parsed: ParsedFile, known: dict[str, str], c: Contract) -> dict[str, pd.Series]:
    """Each cross-field rule as a boolean column: True where the row passes."""
    import pandas as pd

    insp, v = parsed.inspection, parsed.frame
    closed = v["status"].isin(list(c.closed_statuses))
    unfounded = v["verified"] == "不属实"
    penalties = pd.concat(
        [pd.to_numeric(v[p], errors="coerce").fillna(0) > 0 for p in c.penalty_fields], axis=1
    )
    received = pd.to_datetime(v["received_on"], errors="coerce")
    batch_day = pd.to_datetime(v["batch_no"].map(parsed.batches), errors="coerce")
    in_period = pd.Series(True, index=v.index)
    if insp.period_start and insp.period_end:
        start = pd.Timestamp(insp.period_start - PERIOD_GRACE)
        in_period = received.isna() | received.between(start, pd.Timestamp(insp.period_end))
    summaries = v["case_id"].map(known)
    return {
        "CLOSED_WITHOUT_FINDINGS": ~closed | (v["findings"].map(bool) & v["verified"].map(bool)),
        "PENALTY_ON_UNFOUNDED": ~(unfounded & penalties.any(axis=1)),
        "RECEIVED_AFTER_BATCH": ~(received > batch_day).fillna(False),
        "DATE_OUT_OF_PERIOD": in_period,
        "CASE_CONFLICT": summaries.isna() | (summaries == v["summary"]),
    }


class Validator:
    """One GX context per process: ``import great_expectations`` costs seconds, so pay
    it once per task, not once per file.

    With ``docs_dir`` every validation also goes into a Data Docs site there (HTML a
    person can browse: one page per file, the suite, an index); the raw results go to
    ``results_dir`` as JSON.
    """

    def __init__(self, results_dir: Path | None = None, docs_dir: Path | None = None) -> None:
        self.results_dir = results_dir
        self.docs_dir = docs_dir
        self._suites: dict[str, Any] = {}
        self._checkpoints: dict[str, Any] = {}

    @cached_property
    def _context(self) -> Any:
        import great_expectations as gx

        # GX logs every internal registration at INFO: noise in task logs.
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = {"globally": False}
        if self.docs_dir:
            ctx.add_data_docs_site(
                site_name="ducha",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(self.docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        return ctx

    @cached_property
    def _batch_definition(self) -> Any:
        asset = self._context.data_sources.add_pandas("ducha").add_dataframe_asset("case_rows")
        return asset.add_batch_definition_whole_dataframe("file")

    def suite(self, inspection: Inspection) -> Any:
        import great_expectations as gx

        if inspection.id not in self._suites:
            suite = gx.ExpectationSuite(name=f"ducha.{inspection.id}", expectations=build_suite(inspection))
            self._suites[inspection.id] = self._context.suites.add(suite)
        return self._suites[inspection.id]

    def _checkpoint(self, inspection: Inspection) -> Any:
        import great_expectations as gx

        if inspection.id not in self._checkpoints:
            vd = self._context.validation_definitions.add(
                gx.ValidationDefinition(
                    data=self._batch_definition, suite=self.suite(inspection), name=f"ducha.{inspection.id}"
                )
            )
            self._checkpoints[inspection.id] = self._context.checkpoints.add(
                gx.Checkpoint(
                    name=f"ducha.{inspection.id}",
                    validation_definitions=[vd],
                    actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["ducha"])],
                    result_format=RESULT_FORMAT,
                )
            )
        return self._checkpoints[inspection.id]

    def _run(self, parsed: ParsedFile, frame: pd.DataFrame) -> Any:
        if not self.docs_dir:
            batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
            return batch.validate(self.suite(parsed.inspection), result_format=RESULT_FORMAT)
        from great_expectations.core.run_identifier import RunIdentifier

        # The page is named after the file; its time is the landing day, so paths are stable.
        day = parsed.as_of or dt.date(1970, 1, 1)
        run_id = RunIdentifier(
            run_name=f"{parsed.path.name}-{parsed.sha256[:12]}",
            run_time=dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC),
        )
        result = self._checkpoint(parsed.inspection).run(batch_parameters={"dataframe": frame}, run_id=run_id)
        return next(iter(result.run_results.values()))

    def validate(
        self,
        parsed: ParsedFile,
        known_summaries: dict[str, str] | None = None,
        known_facts: dict[str, dict[str, object]] | None = None,
    ) -> dict:
        """Adds the suite's findings to each row's issues, and a CASE_CHANGED note for each
        case fact a row corrects (``known_facts``: case_id -> the facts in the warehouse);
        returns the GX result as JSON."""
        if parsed.rejected or not len(parsed):
            return {}
        note_changes(parsed, known_facts or {})
        frame = rows_frame(parsed, known_summaries or {})
        result = self._run(parsed, frame)
        contract = load_contract()
        for res in result.results:
            meta = res.expectation_config.meta or {}
            if res.success or not meta.get("rule"):
                continue
            for pos in res.result.get("unexpected_index_list") or []:
                parsed.add_issue(int(pos), _row_issue(parsed, int(pos), meta, contract))
        doc = result.to_json_dict()
        if self.results_dir:
            self.results_dir.mkdir(parents=True, exist_ok=True)
            out = self.results_dir / f"{parsed.sha256[:16]}.gx.json"
            out.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        return doc


def note_changes(parsed: ParsedFile, known_facts: dict[str, dict[str, object]]) -> None:
    """A warning on every cell that changes a fact of a case already in the warehouse
    (行政区域, 污染类型, 重点, 序号): the change is loaded as a new version of the case and
    published, and the clerk's report says what it replaced. A blank cell changes nothing."""
    if not known_facts:
        return
    contract = load_contract()
    frame, given = parsed.frame, parsed.given
    shown = {True: "是", False: "否", None: "（空）"}
    for pos in [p for p, case_id in enumerate(frame["case_id"]) if case_id in known_facts]:
        facts = known_facts[frame["case_id"].iat[pos]]
        for name, old in facts.items():
            if not given[name].iat[pos]:
                continue
            new = frame[name].iat[pos]
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


def _row_issue(parsed: ParsedFile, pos: int, meta: dict[str, str], contract: Contract) -> Issue:
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
        expected=meta["expected"],
    )
