"""The jobs, as plain functions: the DAG tasks and the CLI both call these."""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ducha.config import DataDirs, Inspection, get_inspection, registry
from ducha.intake.parse import ParsedFile, parse_file, sha256_of
from ducha.reports import file_report, refusal_report, write_reports

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[\w\-.]+$")


@dataclass
class FileOutcome:
    file: str
    sha256: str
    status: str
    rows_total: int
    rows_loaded: int
    rows_quarantined: int
    warnings: int
    stored_path: str
    report: str


@dataclass
class DayOutcome:
    day: str
    inspections: list[str] = field(default_factory=list)
    files: list[FileOutcome] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "files_quarantined": sum(f.status == "quarantined" for f in self.files),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "rows_total": sum(f.rows_total for f in self.files),
            "rows_loaded": sum(f.rows_loaded for f in self.files),
            "rows_quarantined": sum(f.rows_quarantined for f in self.files),
        }

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "totals": self.totals()}


def landing_folders(dirs: DataDirs, day: dt.date, inspection_id: str | None = None) -> list[tuple[str, Path]]:
    """(inspection id, folder) for every inspection with a landing folder for ``day``."""
    if not dirs.landing.is_dir():
        return []
    out = []
    for insp_dir in sorted(dirs.landing.iterdir()):
        if not insp_dir.is_dir() or insp_dir.name.startswith("."):
            continue
        if inspection_id and insp_dir.name != inspection_id:
            continue
        if not _SAFE_NAME.match(insp_dir.name):
            log.warning("landing folder %r is not a valid inspection id: skipped", insp_dir.name)
            continue
        folder = insp_dir / day.isoformat()
        if folder.is_dir():
            out.append((insp_dir.name, folder))
    return out


def landed_files(folder: Path) -> list[Path]:
    """The regular files of a landing folder, in name order; nothing that leaves it."""
    return [p for p in _landed(folder) if not escapes(p, folder)]


def _landed(folder: Path) -> list[Path]:
    # Hidden files and Excel lock files ("~$第八批.xlsx") are not deliveries.
    return [
        p
        for p in sorted(folder.iterdir())
        if not p.name.startswith((".", "~$")) and (p.is_file() or p.is_symlink())
    ]


def escapes(path: Path, folder: Path) -> bool:
    """A link (or a name) that resolves outside its landing folder."""
    return path.resolve().parent != folder.resolve()


def store_original(path: Path, sha256: str, dest_dir: Path) -> Path:
    """Copy the file byte for byte, named by its hash so nothing is ever overwritten."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{sha256[:12]}_{path.name}"
    if not dest.exists() or sha256_of(dest) != sha256:
        tmp = dest.with_name("." + dest.name + ".part")
        shutil.copyfile(path, tmp)
        if sha256_of(tmp) != sha256:
            tmp.unlink()
            raise OSError(f"copy of {path} does not match its sha256")
        tmp.replace(dest)
    return dest


class Ingestor:
    """Ingests files into one warehouse, reusing one GX context for all of them."""

    def __init__(self, dirs: DataDirs, url: str, *, run_label: str = "cli") -> None:
        from ducha.quality import Validator
        from ducha.warehouse.db import upgrade

        self.dirs = dirs.ensure()
        self.engine = upgrade(url)
        # One browsable Data Docs site per run (an ingest day, or a CLI call).
        self.validator = Validator(dirs.reports / "gx", docs_dir=dirs.reports / "data_docs" / run_label)

    def ingest_file(
        self,
        path: Path,
        inspection: Inspection,
        *,
        day: dt.date | None = None,
        batch_override: int | None = None,
    ) -> FileOutcome:
        from ducha.warehouse.load import already_loaded, known_summaries, load_file

        parsed = parse_file(path, inspection, batch_override=batch_override, day_override=day)
        with self.engine.connect() as conn:
            if already_loaded(conn, parsed.sha256):
                log.info("%s (%s) already loaded: nothing to do", path.name, parsed.sha256[:12])
                return FileOutcome(path.name, parsed.sha256, "skipped", len(parsed.rows), 0, 0, 0, "", "")
            ids = [str(r.values.get("case_id")) for r in parsed.rows if r.values.get("case_id")]
            known = known_summaries(conn, inspection.id, ids)
        self.validator.validate(parsed, known)
        report = file_report(parsed, display_name=path.name)
        bucket = self.dirs.quarantine if parsed.rejected else self.dirs.archive
        stored = store_original(path, parsed.sha256, bucket / inspection.id / _day_folder(parsed, day))
        json_report, _ = write_reports(report, stored)
        result = load_file(self.engine, parsed, stored_path=str(stored.relative_to(self.dirs.root)))
        rows = report["rows"]  # type: ignore[index]
        log.info(
            "%s: %s, %d rows, %d loaded, %d quarantined",
            path.name,
            result.status,
            rows["total"],
            result.rows_loaded,
            result.rows_quarantined,
        )
        return FileOutcome(
            path.name,
            parsed.sha256,
            result.status,
            result.rows_total,
            result.rows_loaded,
            result.rows_quarantined,
            len(report["warnings"]),  # type: ignore[arg-type]
            str(stored.relative_to(self.dirs.root)),
            str(json_report.relative_to(self.dirs.root)),
        )

    def ingest_day(self, day: dt.date, inspection_id: str | None = None) -> DayOutcome:
        outcome = DayOutcome(day.isoformat())
        for insp_id, folder in landing_folders(self.dirs, day, inspection_id):
            inspection = get_inspection(insp_id)
            if insp_id not in registry():
                log.info("%s is not a configured inspection: the generic profile applies", insp_id)
            outcome.inspections.append(insp_id)
            for path in _landed(folder):
                if escapes(path, folder):
                    outcome.files.append(self.refuse(path, inspection, day, "FILE_OUTSIDE_LANDING"))
                else:
                    outcome.files.append(self.ingest_file(path, inspection, day=day))
        return outcome

    def refuse(self, path: Path, inspection: Inspection, day: dt.date, rule: str) -> FileOutcome:
        """A file that must not even be read: only a report says why (nothing is copied)."""
        from ducha.issues import issue

        log.warning("%s: refused (%s)", path, rule)
        report = refusal_report(path.name, issue("error", rule, f"{path.name} 指向 {path.resolve()}"))
        beside = self.dirs.quarantine / inspection.id / day.isoformat() / path.name
        beside.parent.mkdir(parents=True, exist_ok=True)
        json_report, _ = write_reports(report, beside)
        return FileOutcome(
            path.name, "", "refused", 0, 0, 0, 0, "", str(json_report.relative_to(self.dirs.root))
        )


def _day_folder(parsed: ParsedFile, day: dt.date | None) -> str:
    d = day or parsed.as_of
    return d.isoformat() if d else "undated"
