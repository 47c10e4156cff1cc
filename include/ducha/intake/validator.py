"""Running the suite (``quality``) with Great Expectations: one context per process,
a result JSON a row of a file can be traced back from, a Data Docs site per run.

``import great_expectations`` costs seconds, so GX is set up once per process, and where
the process can fork it lives in a worker forked when a run first has a file to read:
the import then overlaps the reading, and the Data Docs are built while the files load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ducha.contract import load_contract
from ducha.intake.parse import ParsedFile
from ducha.intake.quality import build_suite, row_issue, rows_frame
from ducha.parallel import can_fork, fork_worker

if TYPE_CHECKING:
    import pandas as pd

# Row positions of every failure (to map back to Excel rows), never the failing values:
# results and Data Docs are kept on disk for engineers, and complaint texts hold
# personal data. The clerk's report shows values; it is theirs.
RESULT_FORMAT: dict[str, object] = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "include_unexpected_rows": False,
}

_VIEWS = "ducha.intake.docs_views"


def run_key(files: Sequence[ParsedFile]) -> str:
    """The name of one GX run over ``files``: stable for the same files in the same order."""
    return hashlib.sha256("".join(p.sha256 for p in files).encode()).hexdigest()[:16]


class Validator:
    """The suite run by GX over a run's files: ``import great_expectations`` costs
    seconds, so it is paid once per process, and a run's files share one GX run.

    With ``docs_dir`` every run also goes into a Data Docs site there (HTML a person can
    browse: one page per run, the suite, an index), built by ``build_docs`` once the
    task's runs are done; the raw results go to ``results_dir`` as JSON.

    ``start`` moves GX into the process's worker (forked at the first ``start``, kept
    for the others), so its import overlaps the caller's reading of the files, and the
    Data Docs are built there while the caller loads; ``close`` waits for them. Without
    ``start``, everything runs in process.
    """

    def __init__(self, results_dir: Path | None = None, docs_dir: Path | None = None) -> None:
        self.results_dir = results_dir
        self.docs_dir = docs_dir
        self._docs_stale = False
        self._worker: ProcessPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._key = uuid.uuid4().hex  # its twin's name in the worker

    @cached_property
    def _context(self) -> Any:
        import great_expectations as gx

        # GX logs every internal registration at INFO: noise in task logs. Some of its
        # modules set their own level (one says where an unused default site would go).
        for name in ["great_expectations", *logging.root.manager.loggerDict]:
            if name.split(".")[0] == "great_expectations":
                logging.getLogger(name).setLevel(logging.ERROR)
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
                    # GX's views, with their templates compiled once (docs_views).
                    "site_section_builders": {
                        section: {"view": {"module_name": _VIEWS, "class_name": "PageView"}}
                        for section in ("expectations", "validations", "profiling")
                    },
                    "site_index_builder": {
                        "class_name": "DefaultSiteIndexBuilder",
                        "view": {"module_name": _VIEWS, "class_name": "IndexPageView"},
                    },
                },
            )
        return ctx

    @cached_property
    def _batch_definition(self) -> Any:
        asset = self._context.data_sources.add_pandas("ducha").add_dataframe_asset("case_rows")
        return asset.add_batch_definition_whole_dataframe("file")

    @cached_property
    def suite(self) -> Any:
        import great_expectations as gx

        return self._context.suites.add(gx.ExpectationSuite(name="ducha.cases", expectations=build_suite()))

    @cached_property
    def _definition(self) -> Any:
        import great_expectations as gx

        return self._context.validation_definitions.add(
            gx.ValidationDefinition(data=self._batch_definition, suite=self.suite, name="ducha.cases")
        )

    def prepare(self) -> None:
        """Import GX and build the context, suite and validation definition now (each is
        otherwise made on first use): what a process pays once, before any file. After
        ``start``, waits for the worker to have done so."""
        if self._worker:
            for future in self._pending:
                future.result()
            return
        _ = self._definition if self.docs_dir else (self._batch_definition, self.suite)

    def start(self) -> None:
        """Prepare in the worker, begun now, while the caller reads its files; the runs
        and the Data Docs then go there. Does nothing when the set-up is made in process
        already, or where this process cannot fork (everything stays here)."""
        if self._worker or "_context" in vars(self) or not can_fork():
            return
        self._worker = _gx_worker()
        try:
            prepared = self._worker.submit(_worker_prepare, self._key, self.docs_dir)
        except BrokenProcessPool:  # the last one died: a new one
            self._worker = _gx_worker(renew=True)
            prepared = self._worker.submit(_worker_prepare, self._key, self.docs_dir)
        self._pending.append(prepared)

    def close(self) -> None:
        """Waits for what the worker has in hand (the Data Docs), then lets its twin go;
        raises the worker's error, if any. Nothing to do in process."""
        worker, pending, self._worker, self._pending = self._worker, self._pending, None, []
        if worker is None:
            return
        try:
            for future in pending:
                future.result()
        finally:
            with suppress(BrokenProcessPool):
                worker.submit(_worker_forget, self._key)

    def _run(self, frame: pd.DataFrame, run: tuple[str, dt.datetime] | None) -> dict:
        """The suite over ``frame``, as GX's result JSON. ``run`` (name, time) names the
        stored result, a Data Docs page."""
        if self._worker:
            return self._worker.submit(_worker_run, self._key, frame, run).result()
        if not self.docs_dir or run is None:
            batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
            return batch.validate(self.suite, result_format=RESULT_FORMAT).to_json_dict()
        from great_expectations.core.run_identifier import RunIdentifier

        self._docs_stale = True
        result = self._definition.run(
            batch_parameters={"dataframe": frame},
            result_format=RESULT_FORMAT,
            run_id=RunIdentifier(run_name=run[0], run_time=run[1]),
        )
        return result.to_json_dict()

    def check(self, files: Sequence[ParsedFile]) -> dict:
        """Runs the suite over the rows of ``files``, in one GX run, and adds its findings
        to each row's issues. Returns the run's result as JSON ({} when no file has rows);
        its ``meta.files`` says which rows are whose (``first_index``, ``rows``)."""
        return self.submit(files)()

    @property
    def in_worker(self) -> bool:
        """Runs go to the worker: a submitted run goes on while the caller works."""
        return self._worker is not None

    def submit(self, files: Sequence[ParsedFile]) -> Callable[[], dict]:
        """``check``, begun: the run starts now (in the worker, if started) and the
        function returned waits for it, then adds the findings (once, however often it
        is called). Each finding goes after the row's issues of the moment of submitting
        and before any added since, so the issues read as if ``check`` had run then."""
        import numpy as np

        files = [p for p in files if not p.rejected and len(p)]
        if not files:
            return lambda: {}
        contract = load_contract()
        frame = rows_frame(files, contract)
        starts = np.cumsum([0, *(len(p) for p in files[:-1])])
        marks = [{pos: len(found) for pos, found in p.row_issues.items()} for p in files]
        run = _run_name(files) if self.docs_dir else None
        if self._worker:
            future = self._worker.submit(_worker_run, self._key, frame, run)
            result = future.result
        else:
            result = lambda: self._run(frame, run)  # noqa: E731 - in process: runs when waited for
        done: list[dict] = []

        def finish() -> dict:
            if done:
                return done[0]
            doc = result()
            added: dict[tuple[int, int], int] = {}
            for res in doc["results"]:
                meta = res["expectation_config"].get("meta") or {}
                if res["success"] or not meta.get("rule"):
                    continue
                for index in (res.get("result") or {}).get("unexpected_index_list") or []:
                    n = int(np.searchsorted(starts, int(index), side="right")) - 1
                    parsed, pos = files[n], int(index) - int(starts[n])
                    at = marks[n].get(pos, 0) + added.get((n, pos), 0)
                    parsed.add_issue(pos, row_issue(parsed, pos, meta, contract), at=at)
                    added[(n, pos)] = added.get((n, pos), 0) + 1
            doc["meta"]["files"] = [
                {"file": p.path.name, "sha256": p.sha256, "inspection": p.inspection.id}
                | {"first_index": int(s), "rows": len(p)}
                for p, s in zip(files, starts, strict=True)
            ]
            if self.results_dir:
                self.results_dir.mkdir(parents=True, exist_ok=True)
                out = self.results_dir / f"{run_key(files)}.gx.json"
                out.write_text(
                    json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
                )
            done.append(doc)
            return doc

        return finish

    def build_docs(self) -> None:
        """Renders the Data Docs of the runs so far, once: rendering after every run
        would rebuild the index over all of them each time. In the worker, the build
        goes on while the caller loads (``close`` waits for it)."""
        if self._worker:
            self._pending.append(self._worker.submit(_worker_build_docs, self._key))
        elif self.docs_dir and self._docs_stale:
            self._context.build_data_docs(site_names=["ducha"])
            self._docs_stale = False


def _run_name(files: Sequence[ParsedFile]) -> tuple[str, dt.datetime]:
    """A stored result is a Data Docs page: named after the file (or the first of the
    files), timed at the landing day, so paths are stable."""
    day = max((p.as_of for p in files if p.as_of), default=dt.date(1970, 1, 1))
    more = f"+{len(files) - 1}" if len(files) > 1 else ""
    return f"{files[0].path.name}{more}-{run_key(files)}", dt.datetime.combine(
        day, dt.time(0, 0), tzinfo=dt.UTC
    )


# The process's GX worker: forked at the first Validator.start, shared by the later ones
# (so a long-lived process, a replay or the tests, imports GX once), ended at exit.
_WORKER: ProcessPoolExecutor | None = None


def _gx_worker(renew: bool = False) -> ProcessPoolExecutor:
    global _WORKER
    if renew and _WORKER is not None:
        _WORKER.shutdown(wait=False, cancel_futures=True)
        _WORKER = None
    if _WORKER is None:
        _WORKER = fork_worker()
    return _WORKER


def stop_worker() -> None:
    """Ends the process's GX worker, if it has one: what a one-shot command does once
    done (a long-lived process leaves it to the exit)."""
    global _WORKER
    worker, _WORKER = _WORKER, None
    if worker is not None:
        worker.shutdown(wait=True, cancel_futures=True)


# In the worker: each started Validator's in-process twin, by key.
_TWINS: dict[str, Validator] = {}


def _worker_prepare(key: str, docs_dir: Path | None) -> None:
    _TWINS[key] = Validator(docs_dir=docs_dir)
    _TWINS[key].prepare()


def _worker_run(key: str, frame: pd.DataFrame, run: tuple[str, dt.datetime] | None) -> dict:
    return _TWINS[key]._run(frame, run)


def _worker_build_docs(key: str) -> None:
    _TWINS[key].build_docs()


def _worker_forget(key: str) -> None:
    _TWINS.pop(key, None)
