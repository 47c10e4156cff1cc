"""The jobs, as plain functions: the DAG tasks and the CLI both call these."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

from ducha.config import DataDirs, Inspection, get_inspection, project_settings, registry
from ducha.intake.batch import iso_day
from ducha.intake.parse import ParsedFile, parse_file
from ducha.intake.reports import file_report, refusal_report, write_reports
from ducha.paths import UnsafePath, check_inspection_id, safe_name, sha256_file, under

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ducha.intake.validator import Validator

log = logging.getLogger(__name__)


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
    late_days: list[str] = field(default_factory=list)  # earlier landing days with late files

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


def landing_folders(
    dirs: DataDirs, day: dt.date, inspection_id: str | None = None, *, earlier: bool = False
) -> list[tuple[str, dt.date, Path]]:
    """(inspection id, landing day, folder) for every inspection with a landing folder
    for ``day``; with ``earlier``, for every day up to and including it, oldest first."""
    if not dirs.landing.is_dir():
        return []
    out = []
    for insp_dir in sorted(dirs.landing.iterdir()):
        if not insp_dir.is_dir() or insp_dir.name.startswith("."):
            continue
        if inspection_id and insp_dir.name != inspection_id:
            continue
        try:
            check_inspection_id(insp_dir.name)
        except UnsafePath:
            log.warning("landing folder %r is not a valid inspection id: skipped", insp_dir.name)
            continue
        if not earlier:
            folder = insp_dir / day.isoformat()
            if folder.is_dir():
                out.append((insp_dir.name, day, folder))
            continue
        for folder in sorted(insp_dir.iterdir()):
            folder_day = iso_day(folder.name)
            if folder_day is not None and folder_day <= day and folder.is_dir():
                out.append((insp_dir.name, folder_day, folder))
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


def _changed_after(path: Path, moment: float) -> bool:
    try:
        return path.lstat().st_mtime > moment
    except OSError:
        return True  # gone or unreadable now: a later run sees


def untaken(
    engine: Engine,
    dirs: DataDirs,
    day: dt.date,
    *,
    earlier: bool = False,
    settled_before: float | None = None,
) -> list[tuple[str, dt.date, Path]]:
    """(inspection, landing day, file) of every landed file for ``day`` (and, with
    ``earlier``, earlier days) that the warehouse has not taken in: no row in ``files``,
    loaded or quarantined. Landing keeps the originals, so a taken file stays there."""
    from ducha.warehouse.load import already_loaded

    out = []
    with engine.connect() as conn:
        for insp_id, folder_day, folder in landing_folders(dirs, day, earlier=earlier):
            for path in landed_files(folder):
                if settled_before is not None and _changed_after(path, settled_before):
                    continue
                if not already_loaded(conn, sha256_file(path)):
                    out.append((insp_id, folder_day, path))
    return out


def check_known_inspection(dirs: DataDirs, inspection_id: str) -> str:
    """``inspection_id``, if valid and configured or with a landing folder; else ValueError."""
    check_inspection_id(inspection_id)
    if inspection_id not in registry() and not (dirs.landing / inspection_id).is_dir():
        raise ValueError(f"unknown inspection {inspection_id!r}: not configured, no landing folder")
    return inspection_id


def settled_before(now: float) -> float:
    """The moment before which a landed file counts as completely written (pickup)."""
    return now - project_settings().pickup.settle_seconds


def escapes(path: Path, folder: Path) -> bool:
    """A link (or a name) that resolves outside its landing folder."""
    return path.resolve().parent != folder.resolve()


def store_original(path: Path, sha256: str, dest_dir: Path) -> Path:
    """Copy the file byte for byte, named by its hash so nothing is ever overwritten."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = under(dest_dir, f"{sha256[:12]}_{safe_name(path.name, max_bytes=200)}")
    if not dest.exists() or sha256_file(dest) != sha256:
        # A private temporary name: two runs storing the same file at once must not share one.
        fd, name = tempfile.mkstemp(prefix=".", suffix=".part", dir=dest_dir)
        os.close(fd)
        tmp = Path(name)
        shutil.copyfile(path, tmp)
        if sha256_file(tmp) != sha256:
            tmp.unlink()
            raise OSError(f"copy of {path} does not match its sha256")
        tmp.replace(dest)
    return dest


class Delivery(NamedTuple):
    """A file to ingest, for an inspection, landed on a day (None: the file's own)."""

    path: Path
    inspection: Inspection
    day: dt.date | None = None


@dataclass
class DayPlan:
    """What a run for a landing day ingests, in load order: the day's files and the late
    files of earlier days' folders, oldest folder first, each folder in name order."""

    day: dt.date
    deliveries: list[Delivery] = field(default_factory=list)
    refused: list[FileOutcome] = field(default_factory=list)  # refused before reading
    inspections: list[str] = field(default_factory=list)
    late_days: list[str] = field(default_factory=list)  # earlier landing days with late files

    def outcome(self, files: Sequence[FileOutcome]) -> DayOutcome:
        return DayOutcome(
            self.day.isoformat(), list(self.inspections), [*self.refused, *files], list(self.late_days)
        )

    def to_xcom(self, dirs: DataDirs, run_label: str) -> dict[str, object]:
        """Only paths (relative to landing), ids and small outcomes: the mapped tasks read
        their own files. ``after`` lists the earlier deliveries of the same inspection,
        which must be loaded first (each file is compared with the ones before it)."""
        deliveries = []
        for n, (path, inspection, day) in enumerate(self.deliveries):
            rel = path.relative_to(dirs.landing).as_posix()
            deliveries.append(
                {
                    "inspection_id": inspection.id,
                    "path": rel,
                    "day": day.isoformat() if day else None,
                    "label": rel,
                    "run_label": f"{run_label}-{inspection.id}",
                    "after": [
                        i for i, d in enumerate(self.deliveries[:n]) if d.inspection.id == inspection.id
                    ],
                }
            )
        return {
            "day": self.day.isoformat(),
            "deliveries": deliveries,
            "refused": [asdict(f) for f in self.refused],
            "inspections": self.inspections,
            "late_days": self.late_days,
        }

    @classmethod
    def from_xcom(cls, dirs: DataDirs, plan: Mapping[str, Any]) -> DayPlan:
        return cls(
            dt.date.fromisoformat(plan["day"]),
            [delivery_from_xcom(dirs, d) for d in plan["deliveries"]],
            [FileOutcome(**f) for f in plan["refused"]],
            list(plan["inspections"]),
            list(plan["late_days"]),
        )


def delivery_from_xcom(dirs: DataDirs, delivery: Mapping[str, Any]) -> Delivery:
    """The delivery a mapped task was handed; its path must stay inside landing."""
    path = under(dirs.landing, *PurePosixPath(delivery["path"]).parts)
    day = delivery.get("day")
    return Delivery(
        path, get_inspection(delivery["inspection_id"]), dt.date.fromisoformat(day) if day else None
    )


def plan_day(
    engine: Engine,
    dirs: DataDirs,
    day: dt.date,
    inspection_id: str | None = None,
    *,
    settled_before: float | None = None,
) -> DayPlan:
    """Every file of the day's landing folders, and every file of an earlier day's folder
    that was never taken in (it landed after that day's run had looked). A file that
    leaves its folder is refused here, with a report and nothing read. With
    ``settled_before`` (a time), a file changed after it may still be being written:
    it is left for a later run, and files already taken in are left out."""
    from ducha.warehouse.load import already_loaded

    plan = DayPlan(day)
    if inspection_id is not None:
        check_known_inspection(dirs, inspection_id)
    with engine.connect() as conn:
        for insp_id, folder_day, folder in landing_folders(dirs, day, inspection_id, earlier=True):
            inspection = get_inspection(insp_id)
            late = folder_day < day
            if not late:
                if insp_id not in registry():
                    log.info("%s is not a configured inspection: the generic profile applies", insp_id)
                plan.inspections.append(insp_id)
            for path in _landed(folder):
                if settled_before is not None and _changed_after(path, settled_before):
                    log.info("%s: changed in the last moments, left for a later run", path)
                    continue
                if escapes(path, folder):
                    beside = _refused_beside(dirs, path, inspection, folder_day)
                    if (late or settled_before is not None) and beside.with_name(
                        beside.name + ".report.json"
                    ).exists():
                        continue  # refused when its day ran, or by an earlier pickup
                    plan.refused.append(refuse(dirs, path, inspection, folder_day, "FILE_OUTSIDE_LANDING"))
                    continue
                if (late or settled_before is not None) and already_loaded(conn, sha256_file(path)):
                    continue
                if late:
                    log.warning("%s: landed in %s after that day's run: ingesting it now", path.name, folder)
                    if insp_id not in plan.inspections:
                        plan.inspections.append(insp_id)
                    if folder_day.isoformat() not in plan.late_days:
                        plan.late_days.append(folder_day.isoformat())
                plan.deliveries.append(Delivery(path, inspection, folder_day))
    return plan


def _refused_beside(dirs: DataDirs, path: Path, inspection: Inspection, day: dt.date) -> Path:
    """The quarantine path a refused file's reports go beside (nothing is copied there)."""
    return under(dirs.quarantine, inspection.id, day.isoformat(), safe_name(path.name, max_bytes=200))


def refuse(dirs: DataDirs, path: Path, inspection: Inspection, day: dt.date, rule: str) -> FileOutcome:
    """A file that must not even be read: only a report says why (nothing is copied)."""
    from ducha.issues import issue

    log.warning("%s: refused (%s)", path, rule)
    report = refusal_report(path.name, issue("error", rule, f"{path.name} 指向 {path.resolve()}"))
    beside = _refused_beside(dirs, path, inspection, day)
    beside.parent.mkdir(parents=True, exist_ok=True)
    json_report, _ = write_reports(report, beside)
    return FileOutcome(path.name, "", "refused", 0, 0, 0, 0, "", str(json_report.relative_to(dirs.root)))


def summary_line(outcome: DayOutcome, *, failed: Sequence[str] = ()) -> str:
    """The one line a run logs: files, rows, late days and (mapped runs) failed files."""
    t = outcome.totals()
    line = (
        f"ingested {outcome.day}: {t['files']} files ({t['files_quarantined']} quarantined, "
        f"{t['files_skipped']} already loaded), {t['rows_total']} rows: {t['rows_loaded']} loaded, "
        f"{t['rows_quarantined']} quarantined"
    )
    if outcome.late_days:
        line += f"; late files of {', '.join(outcome.late_days)}"
    if failed:
        line += f"; {len(failed)} FAILED: {', '.join(failed)}"
    return line


class Ingestor:
    """Ingests files into one warehouse, reusing one GX context for all of them."""

    def __init__(self, dirs: DataDirs, url: str, *, run_label: str = "cli") -> None:
        from ducha.warehouse.db import upgrade

        self.dirs = dirs.ensure()
        self.engine = upgrade(url)
        self.run_label = run_label

    @cached_property
    def validator(self) -> Validator:
        """Made on first use: a run whose files are all taken in never imports GX."""
        from ducha.intake.validator import Validator

        # One browsable Data Docs site per run (an ingest day, or a CLI call).
        return Validator(self.dirs.reports / "gx", docs_dir=self.dirs.reports / "data_docs" / self.run_label)

    def ingest_file(
        self,
        path: Path,
        inspection: Inspection,
        *,
        day: dt.date | None = None,
        batch_override: int | None = None,
    ) -> FileOutcome:
        (outcome,) = self.ingest_files([Delivery(path, inspection, day)], batch_override=batch_override)
        return outcome

    def ingest_files(
        self, deliveries: Sequence[Delivery], *, batch_override: int | None = None
    ) -> list[FileOutcome]:
        """Files in order: read them all and validate them together (one GX run, one Data
        Docs build); then each in turn is compared with the warehouse, reported, stored and
        loaded, so each file sees the ones before it. GX is imported in a worker while
        the files are read, and the Data Docs are built there while they load."""
        try:
            return self._ingest_files(deliveries, batch_override)
        finally:
            if "validator" in vars(self):
                self.validator.close()

    def _ingest_files(self, deliveries: Sequence[Delivery], batch_override: int | None) -> list[FileOutcome]:
        from ducha.intake.quality import compare_with_warehouse
        from ducha.warehouse.load import already_loaded, known_cases, load_day

        outcomes: dict[int, FileOutcome] = {}
        todo: list[tuple[int, ParsedFile, dt.date | None]] = []
        seen: set[str] = set()
        for n, (path, inspection, day) in enumerate(deliveries):
            sha256 = sha256_file(path)
            with self.engine.connect() as conn:
                loaded = already_loaded(conn, sha256)
            if loaded or sha256 in seen:
                log.info("%s (%s) already loaded: nothing to do", path.name, sha256[:12])
                outcomes[n] = FileOutcome(path.name, sha256, "skipped", 0, 0, 0, 0, "", "")
                continue
            seen.add(sha256)
            self.validator.start()  # a file to read: GX's import begins beside it
            parsed = parse_file(
                path, inspection, batch_override=batch_override, day_override=day, sha256=sha256
            )
            todo.append((n, parsed, day))
        finish = self.validator.submit([parsed for _, parsed, _ in todo]) if todo else lambda: {}
        begun: list[bool] = []

        def checked() -> None:
            """GX's findings in, once; the Data Docs begun (built while the files load)."""
            if not begun:
                finish()
                self.validator.build_docs()
                begun.append(True)

        # With GX in its worker, the first file loads while GX runs and commits only if GX
        # finds nothing more in it (the usual case); otherwise it is rolled back and loaded
        # again with the findings. The later files load after GX, as in process.
        ahead = bool(todo) and self.validator.in_worker
        if todo and not ahead:
            checked()
        for i, (n, parsed, day) in enumerate(todo):
            with self.engine.connect() as conn:
                ids = [case_id for case_id in parsed.frame["case_id"] if case_id]
                known = known_cases(conn, parsed.inspection.id, ids, load_day(parsed))
            compare_with_warehouse(
                parsed,
                {case_id: k.summary for case_id, k in known.items()},
                {case_id: k.facts for case_id, k in known.items()},
            )
            outcomes[n] = self._store_and_load(parsed, day, checked if ahead and i == 0 else None)
            checked()
        return [outcomes[n] for n in range(len(deliveries))]

    def _store_and_load(
        self, parsed: ParsedFile, day: dt.date | None, checked: Callable[[], None] | None = None
    ) -> FileOutcome:
        """Store the original, write its reports and load it. With ``checked`` (GX's run
        still going), the load goes ahead and waits for GX's findings before it commits."""
        from ducha.warehouse.load import interruption, load_file

        path, inspection = parsed.path, parsed.inspection
        bucket = self.dirs.quarantine if parsed.rejected else self.dirs.archive
        stored = store_original(path, parsed.sha256, under(bucket, inspection.id, _day_folder(parsed, day)))
        stored_path = str(stored.relative_to(self.dirs.root))
        reported: list[tuple[Path, dict]] = []

        def write_report() -> None:
            made = file_report(parsed, display_name=path.name)
            reported.append((write_reports(made, stored)[0], made))

        if checked is None:
            write_report()
            result = load_file(self.engine, parsed, stored_path=stored_path)
        else:
            issues = parsed.issue_count()

            def before_commit() -> None:
                checked()
                if parsed.issue_count() != issues:
                    raise _LoadedTooSoon
                write_report()  # before the commit: a loaded file always has its reports

            try:
                result = load_file(
                    self.engine, parsed, stored_path=stored_path, attempts=1, before_commit=before_commit
                )
            except Exception as exc:  # rows GX would refuse may break the load itself
                checked()  # GX's own failure (its worker gone) is raised here
                if parsed.issue_count() != issues:
                    log.info(
                        "%s: GX refused rows of it while it loaded; loading it again without them", path.name
                    )
                else:
                    log.warning("%s: load interrupted (%s), trying again", path.name, interruption(exc))
                reported.clear()
                write_report()
                result = load_file(self.engine, parsed, stored_path=stored_path)
            if not reported:  # nothing to commit: loaded elsewhere meanwhile
                checked()
                write_report()
        json_report, report = reported[-1]
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

    def ingest_day(
        self, day: dt.date, inspection_id: str | None = None, *, settled_before: float | None = None
    ) -> DayOutcome:
        """Every file :func:`plan_day` finds for ``day``, validated together and loaded in
        order; refused files come first in the outcome."""
        plan = plan_day(self.engine, self.dirs, day, inspection_id, settled_before=settled_before)
        outcome = plan.outcome(self.ingest_files(plan.deliveries))
        log.info(summary_line(outcome))
        return outcome


class _LoadedTooSoon(Exception):
    """GX found issues in a file loaded ahead of it: roll the load back."""


def _day_folder(parsed: ParsedFile, day: dt.date | None) -> str:
    d = day or parsed.as_of
    return d.isoformat() if d else "undated"
