"""The clerk's report for one file: JSON for machines, HTML for people (in Chinese)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from ducha.intake.parse import ParsedFile
from ducha.issues import Issue


def file_issues(parsed: ParsedFile) -> list[Issue]:
    """File issues, then each row's in row order."""
    return [*parsed.issues, *(i for pos in sorted(parsed.row_issues) for i in parsed.row_issues[pos])]


def file_report(parsed: ParsedFile, *, display_name: str | None = None) -> dict[str, object]:
    """The documented per-file object (README, "ducha validate --json")."""
    issues = file_issues(parsed)
    rejected_rows = len(parsed.rejected_positions())
    number, day = parsed.batch
    total = len(parsed)
    return {
        "file": display_name or str(parsed.path),
        "sha256": parsed.sha256,
        "ok": not any(i.level == "error" for i in issues),
        "batch": {"number": number, "date": day.isoformat() if day else None},
        "rows": {
            "total": total,
            "accepted": total - rejected_rows,
            "rejected": rejected_rows,
        },
        "errors": [_public(i) for i in issues if i.level == "error"],
        "warnings": [_public(i) for i in issues if i.level == "warning"],
    }


def refusal_report(name: str, reason: Issue) -> dict[str, object]:
    """The same documented object for a file that was refused without being read."""
    return {
        "file": name,
        "sha256": None,
        "ok": False,
        "batch": {"number": None, "date": None},
        "rows": {"total": 0, "accepted": 0, "rejected": 0},
        "errors": [_public(reason)],
        "warnings": [],
    }


def _public(i: Issue) -> dict[str, object]:
    d = i.to_dict()
    return {k: d[k] for k in ("level", "sheet", "row", "column", "value", "rule", "message", "expected")}


def write_reports(report: dict[str, object], beside: Path) -> tuple[Path, Path]:
    """``<file>.report.json`` and ``<file>.report.html`` next to the stored copy."""
    json_path = beside.with_name(beside.name + ".report.json")
    html_path = beside.with_name(beside.name + ".report.html")
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path


def render_html(report: dict[str, object]) -> str:
    e = html.escape
    rows = report["rows"]  # type: ignore[index]
    batch = report["batch"]  # type: ignore[index]
    verdict = "全部通过" if report["ok"] else "存在错误，请按下表逐项更正后重新报送"
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>数据校验报告：{e(Path(str(report['file'])).name)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #999;padding:4px 8px;vertical-align:top}th{background:#eee}"
        ".error{color:#a00}.warning{color:#a60}</style></head><body>",
        f"<h1>数据校验报告</h1><p>文件：{e(str(report['file']))}<br>SHA-256：{e(str(report['sha256']))}<br>",
        f"批次：{e(str(batch.get('number') or '未知'))}　日期：{e(str(batch.get('date') or '未知'))}<br>",  # type: ignore[union-attr]
        f"共 {rows['total']} 行，接收 {rows['accepted']} 行，退回 {rows['rejected']} 行。</p>",  # type: ignore[index]
        f"<p><strong>{verdict}</strong></p>",
    ]
    for level, title in (("errors", "错误（该行未入库）"), ("warnings", "提示（该行已入库，请核对）")):
        items = report[level]
        if not items:
            continue
        parts.append(f"<h2>{title}</h2><table><caption>{title}</caption><thead><tr>")
        for h in ("工作表", "行号", "列", "填写内容", "问题", "要求", "规则代码"):
            parts.append(f"<th scope='col'>{h}</th>")
        parts.append("</tr></thead><tbody>")
        for i in items:  # type: ignore[union-attr]
            cls = "error" if level == "errors" else "warning"
            cells = (i["sheet"], i["row"], i["column"], i["value"], i["message"], i["expected"], i["rule"])
            parts.append(
                f"<tr class='{cls}'>"
                + "".join(f"<td>{e('' if c is None else str(c))}</td>" for c in cells)
                + "</tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "".join(parts)
