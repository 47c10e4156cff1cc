"""Running the suite (ducha.intake.validator): the result JSON, the Data Docs site, and
GX's worker process — the same findings as in process, its faults, its end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ducha.config import Inspection
from ducha.intake import ParsedFile, parse_file
from ducha.intake.quality import build_suite
from ducha.intake.reports import file_report
from ducha.intake.validator import Validator, run_key
from tests.unit.intake.conftest import case, case_id, shared_validator, standard_sheet, validate, write_xlsx


def test_gx_result_json_is_written_to_results_dir(tmp_path: Path, hn: Inspection) -> None:
    # A clerk's note with a phone number in a coded column: the value must not be kept.
    bad = "处理中，联系13812345678"
    path = write_xlsx(tmp_path / "x.xlsx", standard_sheet([case(1), case(2, 是否办结=bad)]))
    parsed = parse_file(path, hn)
    v = shared_validator()
    old, v.results_dir = v.results_dir, tmp_path / "gx"
    try:
        doc = validate(v, parsed)
    finally:
        v.results_dir = old
    out = tmp_path / "gx" / f"{run_key([parsed])}.gx.json"
    assert out.is_file()
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(doc, ensure_ascii=False, sort_keys=True))
    assert saved["success"] is False
    assert saved["statistics"]["evaluated_expectations"] == len(build_suite())
    assert saved["statistics"]["unsuccessful_expectations"] == 1
    (failed,) = [r for r in saved["results"] if not r["success"]]
    assert failed["expectation_config"]["meta"]["rule"] == "ENUM_VALUE"
    assert failed["result"]["unexpected_index_list"] == [1]  # where, for the engineer
    text = out.read_text(encoding="utf-8")
    assert "13812345678" not in text and "处理中" not in text  # not what, which may be personal
    assert "partial_unexpected_list" not in text and "unexpected_list" not in text
    assert "不能为空" in text  # readable, not \u-escaped


def test_rejected_file_is_not_validated(tmp_path: Path, hn: Inspection) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    parsed = parse_file(path, hn)
    v = shared_validator()
    old, v.results_dir = v.results_dir, tmp_path / "gx"
    try:
        assert validate(v, parsed) == {}
    finally:
        v.results_dir = old
    assert not (tmp_path / "gx").exists()


def test_data_docs_site_per_validator(tmp_path: Path, hn: Inspection) -> None:
    path = write_xlsx(
        tmp_path / "第三批.xlsx", standard_sheet([case(1), case(2, 是否办结="电话13812345678")])
    )
    v = Validator(results_dir=tmp_path / "gx", docs_dir=tmp_path / "docs")
    parsed = parse_file(path, hn)
    doc = validate(v, parsed)
    assert doc["success"] is False
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and b"13812345678" in p.read_bytes()]
    assert (tmp_path / "docs" / "index.html").is_file()
    pages = [p for p in (tmp_path / "docs").rglob("*.html") if run_key([parsed]) in str(p)]
    assert pages, sorted(map(str, (tmp_path / "docs").rglob("*.html")))
    assert (tmp_path / "gx" / f"{run_key([parsed])}.gx.json").is_file()


def test_prepare_builds_the_gx_set_up_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The bench times the stages after this set-up; a later check reuses it."""
    from ducha.intake.validator import Validator

    validator = Validator(tmp_path / "gx", tmp_path / "docs")
    validator.prepare()
    assert {"_context", "suite", "_batch_definition", "_definition"} <= set(vars(validator))
    context = validator._context
    validator.prepare()
    assert validator._context is context


def _two_files(tmp_path: Path, hn: Inspection) -> list[ParsedFile]:
    bad = [case(1), case(2, 是否办结="待定"), case(3, 受理编号=case_id(1)), case(4, 行政区域="火星市")]
    paths = [
        write_xlsx(tmp_path / "第三批.xlsx", standard_sheet(bad)),
        write_xlsx(
            tmp_path / "第四批.xlsx", standard_sheet([case(5), case(6, 交办问题基本情况=None)], "第四批")
        ),
    ]
    return [parse_file(p, hn) for p in paths]


def test_a_started_validator_finds_what_the_in_process_one_finds(tmp_path: Path, hn: Inspection) -> None:
    """``start``: GX in a forked worker. The same findings on the same rows, the same
    result file, and the Data Docs site, with no GX context in this process."""
    here, there = _two_files(tmp_path / "a", hn), _two_files(tmp_path / "b", hn)
    in_process = Validator(tmp_path / "a" / "gx").check(here)
    worker = Validator(tmp_path / "b" / "gx", docs_dir=tmp_path / "b" / "docs")
    worker.start()
    try:
        doc = worker.check(there)
        worker.build_docs()
    finally:
        worker.close()
    assert "_context" not in vars(worker)
    assert [file_report(p)["errors"] for p in there] == [file_report(p)["errors"] for p in here]
    assert {r["rule"] for p in there for r in file_report(p)["errors"]} >= {"ENUM_VALUE", "CASE_ID_DUPLICATE"}
    assert [r["success"] for r in doc["results"]] == [r["success"] for r in in_process["results"]]
    assert (tmp_path / "b" / "gx" / f"{run_key(there)}.gx.json").is_file()
    assert [p for p in (tmp_path / "b" / "docs").rglob("*.html") if run_key(there) in str(p)]
    worker.close()  # twice: nothing left to do


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path: Path, hn: Inspection) -> None:
    import multiprocessing
    import os
    import signal
    from concurrent.futures.process import BrokenProcessPool

    files = _two_files(tmp_path, hn)
    v = Validator(docs_dir=tmp_path / "docs")
    v.start()
    (child,) = multiprocessing.active_children()
    os.kill(child.pid, signal.SIGKILL)  # the OOM killer, say
    child.join(30)
    with pytest.raises(BrokenProcessPool):
        v.check(files)
    with pytest.raises(BrokenProcessPool):
        v.close()  # its pending set-up failed with it
    again = Validator(docs_dir=tmp_path / "docs")
    again.start()  # a new worker
    try:
        assert again.check(files)["results"]
    finally:
        again.close()
    assert [p.pid for p in multiprocessing.active_children()] != [child.pid]


def test_the_worker_ends_with_a_killed_parent() -> None:
    """An Airflow task killed outright (SIGKILL) leaves no GX worker behind."""
    import subprocess
    import sys
    import time

    script = (
        "import multiprocessing as mp, sys, time; from ducha.intake.validator import Validator\n"
        "v = Validator(); v.start(); v.prepare()\n"
        "print(mp.active_children()[0].pid, flush=True); time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())  # type: ignore[union-attr]
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.1)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    """Running (a zombie has ended: it only waits for its new parent to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_error_reaches_the_caller(tmp_path: Path, hn: Inspection) -> None:
    """The Data Docs fail in the worker while the caller loads: ``close`` raises it."""
    files = _two_files(tmp_path, hn)
    v = Validator(docs_dir=tmp_path / "docs")
    v.start()
    v.check(files)
    (tmp_path / "docs").write_text("a file where the site's folder goes")
    v.build_docs()
    with pytest.raises(OSError):
        v.close()


def test_a_one_shot_command_stops_the_worker(tmp_path: Path, hn: Inspection) -> None:
    """``stop_worker`` (what ``ducha ingest`` calls once done) ends the process's worker;
    a later start forks a new one."""
    import multiprocessing

    from ducha.intake.validator import stop_worker

    files = _two_files(tmp_path, hn)
    v = Validator()
    v.start()
    v.prepare()  # waits for the worker's set-up
    assert "_context" not in vars(v) and multiprocessing.active_children()
    v.close()
    stop_worker()
    assert not multiprocessing.active_children()
    again = Validator()
    again.start()
    try:
        assert again.check(files)["results"]
    finally:
        again.close()
        stop_worker()


def test_gx_says_nothing_short_of_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """GX sets some of its loggers to INFO itself: one told every `ducha ingest` where a
    Data Docs site it never builds would go ("Created temporary directory …")."""
    import logging

    import great_expectations  # noqa: F401  (its import-time registrations are not the point)

    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.INFO)  # as GX has it
    caplog.set_level(logging.INFO)
    Validator(docs_dir=tmp_path / "docs").prepare()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("great_expectations")] == []
