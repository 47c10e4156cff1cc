"""Checking workbooks without loading them: the verdict and row-level errors a clerk
gets from ``ducha validate`` and from the 报送自查 page alike."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ducha.config import Inspection
from ducha.issues import UNREADABLE_RULES


def check_files(
    files: Sequence[tuple[Path, Inspection, str]], *, batch_override: int | None = None
) -> list[dict[str, object]]:
    """One report per (path, inspection, name shown to the clerk), validated together
    (one Great Expectations run); nothing is stored or loaded."""
    from ducha.intake.parse import parse_file
    from ducha.intake.reports import file_report
    from ducha.intake.validator import Validator

    parsed = [parse_file(path, insp, batch_override=batch_override) for path, insp, _ in files]
    if parsed:
        Validator().check(parsed)
    return [file_report(p, display_name=name) for p, (_, _, name) in zip(parsed, files, strict=True)]


def unreadable(report: dict[str, object]) -> bool:
    """The file could not be read as a batch workbook at all (not a row's fault)."""
    return any(e["rule"] in UNREADABLE_RULES for e in report["errors"])  # type: ignore[union-attr]
