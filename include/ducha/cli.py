"""`ducha …` for clerks and operators: the same code the DAGs run, outside Airflow."""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import json
import logging
import sys
from pathlib import Path

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
EXIT_FAILED = 3  # the machine failed the command (a disk full, a folder it may not write)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _inspection_id(text: str) -> str:
    from ducha.paths import UnsafePath, check_inspection_id

    try:
        return check_inspection_id(text)
    except UnsafePath as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ducha", description="Environmental-inspection complaint disclosure.")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("template", help="write the blank input workbook clerks fill in")
    t.add_argument("out", metavar="OUT", type=Path, help="the .xlsx to write (or an existing folder)")
    t.add_argument(
        "--inspection", type=_inspection_id, default=None, help="inspection id (default: the generic profile)"
    )

    v = sub.add_parser("validate", help="check files without loading them")
    v.add_argument("files", nargs="+", type=Path)
    v.add_argument("--inspection", type=_inspection_id, default=None)
    v.add_argument("--batch", type=int, default=None, help="override the batch number")
    v.add_argument("--json", action="store_true", help="one JSON object per file on stdout")

    i = sub.add_parser("ingest", help="load files or landing folders into the warehouse")
    i.add_argument("paths", nargs="+", type=Path)
    i.add_argument(
        "--inspection",
        type=_inspection_id,
        default=None,
        help="default: the landing folder's name, else generic",
    )
    i.add_argument(
        "--warehouse", default=None, help="SQLAlchemy URL (default: DUCHA_WAREHOUSE_URL or SQLite)"
    )
    i.add_argument("--batch", type=int, default=None)
    i.add_argument("--json", action="store_true")

    u = sub.add_parser(
        "publish",
        help="write the disclosure tables into a folder: every day whose tables are missing or stale",
    )
    u.add_argument(
        "--inspection", type=_inspection_id, default=None, help="default: every inspection in the warehouse"
    )
    u.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="this day only, whether stale or not (default: every day missing or stale, oldest first)",
    )
    u.add_argument("--warehouse", default=None)
    u.add_argument("--out", type=Path, required=True)
    u.add_argument(
        "--batch",
        type=int,
        default=None,
        help="only this batch's table, as of --as-of (default: the latest day), into <out>/<inspection>/batches/",
    )
    u.add_argument(
        "--pending",
        choices=("publish", "hold"),
        default=None,
        help="with --batch, for a batch with rows awaiting correction (待补正): publish it now, or hold it "
        "until they are corrected; recorded in the warehouse, it applies to the day tables from --as-of on",
    )
    u.add_argument("--by", default=None, help="who decides --pending (default: the login name)")
    u.add_argument("--note", default="", help="why, kept with the decision")

    lg = sub.add_parser("ledgers", help="the 交办/办理/办结 ledgers as of a day, and what is due or overdue")
    lg.add_argument("--as-of", type=_date, default=None, help="default: today in the project's timezone")
    lg.add_argument(
        "--inspection", type=_inspection_id, default=None, help="default: every inspection in the warehouse"
    )
    lg.add_argument("--warehouse", default=None)
    lg.add_argument("--out", type=Path, default=None, help="default: $DUCHA_DATA_DIR/ledgers")

    bc = sub.add_parser(
        "batch-count",
        help="record how many cases the inspection team transferred in a batch (when its file does not say)",
    )
    bc.add_argument("--inspection", type=_inspection_id, required=True)
    bc.add_argument("batch", type=int)
    bc.add_argument("count", type=int)
    bc.add_argument("--warehouse", default=None)

    st = sub.add_parser("status", help="what is in the warehouse, quarantine and outbox")
    st.add_argument("--warehouse", default=None)

    d = sub.add_parser("db", help="warehouse schema")
    d.add_argument("action", choices=["upgrade"])
    d.add_argument("--warehouse", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    handler = {
        "template": _template,
        "validate": _validate,
        "ingest": _ingest,
        "publish": _publish,
        "ledgers": _ledgers,
        "db": _db,
        "status": _status,
        "batch-count": _batch_count,
    }
    from ducha.config import WarehouseConfigError

    try:
        return handler[args.command](args)
    except WarehouseConfigError as exc:  # a setup error, not a bug: one line, no traceback
        print(f"ducha: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        # The machine's, not the data's: what could not be written or read, and why.
        print(f"ducha {args.command}: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise
        print(
            f"ducha {args.command}: {exc.strerror}: {exc.filename or ''} (nothing was replaced)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _template(args: argparse.Namespace) -> int:
    from ducha.config import get_inspection
    from ducha.intake.template import write_template

    path = write_template(Path(args.out), get_inspection(args.inspection))
    print(f"wrote {path}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from ducha.config import get_inspection
    from ducha.intake.check import check_files, unreadable

    worst = EXIT_OK
    files = []
    for path in args.files:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            worst = EXIT_USAGE
            continue
        files.append((path, get_inspection(args.inspection or _inspection_from_path(path)), str(path)))
    for report in check_files(files, batch_override=args.batch):
        if args.json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            _print_report(report)
        code = EXIT_USAGE if unreadable(report) else (EXIT_OK if report["ok"] else EXIT_REJECTED)
        worst = max(worst, code)
    return worst


def _print_report(report: dict) -> None:
    rows = report["rows"]
    verdict = "OK" if report["ok"] else "REJECTED"
    print(
        f"{report['file']}: {verdict} — {rows['total']} rows, {rows['accepted']} accepted, {rows['rejected']} rejected"
    )
    for item in [*report["errors"], *report["warnings"]]:
        where = " ".join(
            x
            for x in (
                item["sheet"] and f"[{item['sheet']}]",
                item["row"] and f"row {item['row']}",
                item["column"] and f"「{item['column']}」",
            )
            if x
        )
        print(
            f"  {item['level']:7} {item['rule']:24} {where} {item['message']}"
            + (f" (expected: {item['expected']})" if item["expected"] else "")
        )


def _inspection_from_path(path: Path) -> str | None:
    """landing/<inspection>/<YYYY-MM-DD>/file -> <inspection> (None unless it is a valid id)."""
    from ducha.paths import UnsafePath, check_inspection_id

    parent = path.resolve().parent
    try:
        dt.date.fromisoformat(parent.name)
        return check_inspection_id(parent.parent.name)
    except (ValueError, UnsafePath):
        return None


def _ingest(args: argparse.Namespace) -> int:
    from ducha.config import data_dirs, get_inspection, warehouse_url
    from ducha.intake.batch import landing_day
    from ducha.intake.validator import stop_worker
    from ducha.pipeline import Delivery, Ingestor, landed_files

    files: list[Path] = []
    for p in args.paths:
        if p.is_dir():
            files.extend(
                f for sub in sorted([p, *[d for d in p.rglob("*") if d.is_dir()]]) for f in landed_files(sub)
            )
        elif p.is_file():
            files.append(p)
        else:
            print(f"{p}: no such file or folder", file=sys.stderr)
            return EXIT_USAGE
    dirs = data_dirs()
    ingestor = Ingestor(dirs, warehouse_url(args.warehouse, dirs))
    deliveries = [
        Delivery(
            path,
            get_inspection(args.inspection or _inspection_from_path(path)),
            landing_day(path.resolve().parts),
        )
        for path in files
    ]
    try:
        outcomes = ingestor.ingest_files(deliveries, batch_override=args.batch)
    finally:
        stop_worker()  # a one-shot command: its GX worker ends with its work
    for o in outcomes:
        if args.json:
            print(json.dumps(o.__dict__, ensure_ascii=False))
        else:
            print(f"{o.file}: {o.status}, {o.rows_loaded} loaded, {o.rows_quarantined} quarantined")
    return (
        EXIT_REJECTED if any(o.rows_quarantined or o.status == "quarantined" for o in outcomes) else EXIT_OK
    )


def _publish(args: argparse.Namespace) -> int:
    from ducha.config import warehouse_url
    from ducha.disclosure.publish import UnknownInspection, publish_run
    from ducha.warehouse.db import upgrade

    if args.pending and args.batch is None:
        print("ducha publish: --pending decides for one batch: give --batch", file=sys.stderr)
        return EXIT_USAGE
    engine = upgrade(warehouse_url(args.warehouse))
    if args.batch is not None:
        return _publish_batch(engine, args)
    try:
        outcomes = publish_run(engine, args.out, inspection_id=args.inspection, as_of=args.as_of)
    except UnknownInspection as exc:
        print(f"ducha publish: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not outcomes:
        print("nothing to publish: the outbox is up to date with the warehouse")
    for o in outcomes:
        if o.folder:
            print(f"{o.inspection_id}: {len(o.files)} files as of {o.as_of} ({o.cases} cases) in {o.folder}")
        else:
            print(f"{o.inspection_id}: nothing to publish")
    return EXIT_OK


def _publish_batch(engine, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    import getpass

    from ducha.disclosure.publish import PendingChoiceNeeded, UnknownBatch, publish_batch

    if not args.inspection:
        print("ducha publish --batch: name the inspection (--inspection)", file=sys.stderr)
        return EXIT_USAGE
    try:
        o = publish_batch(
            engine,
            args.inspection,
            args.out,
            args.batch,
            as_of=args.as_of,
            pending=args.pending,
            decided_by=args.by or (getpass.getuser() if args.pending else ""),
            note=args.note,
        )
    except UnknownBatch as exc:
        print(f"ducha publish: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PendingChoiceNeeded as exc:
        print(f"ducha publish: {exc}; nothing published", file=sys.stderr)
        return EXIT_REJECTED
    if o.decision is not None:
        d = o.decision
        print(
            f"{o.inspection_id} 第{args.batch}批: {d.pending} row(s) awaiting correction; decision "
            f"'{d.decision}' by {d.decided_by} recorded, in force from {d.effective_on}"
        )
    if o.folder is None:
        print(f"{o.inspection_id} 第{args.batch}批: nothing published")
    else:
        print(
            f"{o.inspection_id} 第{args.batch}批: {len(o.files)} files as of {o.as_of} ({o.cases} cases) in {o.folder}"
        )
    return EXIT_OK


def _ledgers(args: argparse.Namespace) -> int:
    from ducha.config import data_dirs, local_day, warehouse_url
    from ducha.ledgers import ledgers_run
    from ducha.warehouse.db import upgrade

    dirs = data_dirs()
    day = args.as_of or local_day(dt.datetime.now(dt.UTC))
    engine = upgrade(warehouse_url(args.warehouse, dirs))
    for o in ledgers_run(engine, args.out or dirs.ledgers, day, inspection_id=args.inspection):
        if o.folder is None:
            print(f"{o.inspection_id}: no cases as of {o.day}")
            continue
        print(
            f"{o.inspection_id} as of {o.day}: {o.assigned} assigned, {o.in_progress} in progress,"
            f" {o.closed} closed ({o.closed_late} late); {len(o.overdue)} overdue,"
            f" {len(o.due_soon)} due within a day; ledgers in {o.folder}"
        )
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from ducha.config import data_dirs, warehouse_url
    from ducha.disclosure.publish import stale_days
    from ducha.intake.batch import batch_number, iso_day
    from ducha.warehouse.db import upgrade
    from ducha.warehouse.load import counts
    from ducha.warehouse.schema import files, quarantined_rows

    dirs = data_dirs()
    url = warehouse_url(args.warehouse, dirs)
    engine = upgrade(url)
    with engine.connect() as conn:
        n = counts(conn)
        file_rows = conn.execute(select(files).order_by(files.c.received_on, files.c.name)).mappings().all()
        bad_rows = (
            conn.execute(select(quarantined_rows).where(quarantined_rows.c.resolved.is_(False)))
            .mappings()
            .all()
        )
    by_status = {s: sum(f["status"] == s for f in file_rows) for s in ("loaded", "partial", "quarantined")}
    print(f"Warehouse  {url.split('@')[-1]}")
    print(
        f"  {n['inspections']} inspection(s), {n['batches']} batches, {n['cases']} cases, "
        f"{n['case_versions']} case versions"
    )
    print(
        f"Files      {len(file_rows)} read: {by_status['loaded']} loaded, {by_status['partial']} partly loaded "
        f"(bad rows quarantined), {by_status['quarantined']} quarantined whole"
    )
    print(
        f"  rows: {sum(f['rows_total'] for f in file_rows)} read, {sum(f['rows_loaded'] for f in file_rows)} "
        f"loaded, {sum(f['rows_quarantined'] for f in file_rows)} quarantined ({len(bad_rows)} unresolved)"
    )
    for f in file_rows:
        if f["status"] != "loaded":
            print(f"  {f['status']:11} {f['stored_path']}  (report: {f['stored_path']}.report.html)")
    for r in bad_rows:
        first = (r["errors"] or [{}])[0]
        print(f"  row {r['row']:>4} of sheet {r['sheet']}: {first.get('rule')} {first.get('message')}")
    _print_batch_accounts(engine)
    print(f"Tables     {dirs.outbox}")
    stale = stale_days(engine, dirs.outbox)
    if stale:
        shown = ", ".join(f"{i} {d}" for i, d in stale[:5]) + (" …" if len(stale) > 5 else "")
        print(f"  {len(stale)} day(s) loaded but not published (or stale): {shown} — run `ducha publish`")
    for insp_dir in sorted(p for p in dirs.outbox.glob("*") if p.is_dir()):
        days = sorted(d.name for d in insp_dir.iterdir() if d.is_dir() and iso_day(d.name))  # not batches/
        if days:
            latest = insp_dir / days[-1]
            print(
                f"  {insp_dir.name}: {len(days)} day(s) published, {days[0]} … {days[-1]}; latest: {latest}"
            )
            # By batch number, not by code point (第一 第七 第三 …); other files after.
            files = sorted(latest.glob("*.xlsx"), key=lambda f: (batch_number(f.name) or 10**6, f.name))
            city = [f for f in files if f.stem.startswith("第") and f.stem.endswith("）")]
            for f in files:
                if f not in city:
                    print(f"    {f.name}")
            if city:
                print(f"    … and {len(city)} per-city tables (第N批公开情况一览表（<市州>）.xlsx)")
    return EXIT_OK


def _print_batch_accounts(engine) -> None:  # type: ignore[no-untyped-def]
    """Batches whose cases are not all published, as of each inspection's latest day."""
    from sqlalchemy import select

    from ducha.disclosure import decisions
    from ducha.disclosure import tables as T
    from ducha.text import batch_label
    from ducha.warehouse.schema import inspections

    with engine.connect() as conn:
        ids = conn.execute(
            select(inspections.c.inspection_id).order_by(inspections.c.inspection_id)
        ).scalars()
        for inspection_id in ids.all():
            day = T.latest_data_day(conn, inspection_id)
            if day is None:
                continue
            accounts = T.batch_accounts(conn, inspection_id, day, T.case_states(conn, inspection_id, day))
            decided = decisions.in_force(conn, inspection_id, day)
            short = [a for a in accounts.values() if a.published != a.expected]
            print(
                f"Batches    {inspection_id} as of {day}: {len(accounts)} batches, "
                f"{len(short)} not wholly published"
            )
            for a in short:
                d = decided.get(a.batch_no)
                why = f" [{d.decision}: {d.decided_by}, {d.decided_at:%Y-%m-%d %H:%M} UTC]" if d else ""
                print(f"  {batch_label(a.batch_no)}: {a.sentence()}{why}")


def _batch_count(args: argparse.Namespace) -> int:
    from sqlalchemy import update

    from ducha.config import warehouse_url
    from ducha.warehouse.db import upgrade
    from ducha.warehouse.schema import batches

    if args.count < 0 or args.batch < 1:
        print("batch-count: a batch number ≥ 1 and a count ≥ 0", file=sys.stderr)
        return EXIT_USAGE
    engine = upgrade(warehouse_url(args.warehouse))
    with engine.begin() as conn:
        this = (batches.c.inspection_id == args.inspection) & (batches.c.batch_no == args.batch)
        changed = conn.execute(
            update(batches).where(this).values(transferred_count=args.count, counted_on=None)
        ).rowcount
    if not changed:
        print(
            f"batch-count: no batch {args.batch} of {args.inspection} in the warehouse yet", file=sys.stderr
        )
        return EXIT_USAGE
    print(
        f"{args.inspection} 第{args.batch}批: {args.count} transferred. Every published day is stale now: "
        "the next publish (or ducha publish --out …) rebuilds them"
    )
    return EXIT_OK


def _db(args: argparse.Namespace) -> int:
    from ducha.config import warehouse_url
    from ducha.warehouse.db import upgrade

    url = warehouse_url(args.warehouse)
    upgrade(url)
    print(f"warehouse schema up to date: {url.split('@')[-1]}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
