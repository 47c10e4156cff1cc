"""Forked worker processes for CPU-bound work on data the parent already holds (a day's
tables, several inspections' days): a fork inherits the parent's memory, so that work is
handed over as a module-level value and an index, never pickled. And one forked worker
that keeps state between calls (``fork_worker``: GX, imported beside the parent's work),
whose calls' arguments and results are pickled. And one call in a thread beside the
caller (``beside``), where either side mostly waits without the GIL (a database, calamine)."""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from multiprocessing.pool import Pool
from typing import Any


def can_fork() -> bool:
    """False where a pool cannot start: no fork on this platform, or this process is
    itself a pool's worker (daemonic processes may not have children)."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def _worker_start(initializer: Callable[[], None] | None, parent: int | None = None) -> None:
    # A fork inherits the parent's Python signal handlers (an Airflow task's, a CLI's):
    # a worker runs none of them, so stopping it is immediate and holds no lock.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if parent is not None:
        _end_with(parent)
    if initializer is not None:
        initializer()


def _end_with(parent: int) -> None:
    """A worker that waits for work would outlive a parent killed outright (SIGKILL
    skips every clean-up): on Linux the kernel sends it SIGTERM when the parent goes."""
    with suppress(OSError, AttributeError):  # not Linux: the parent's exit ends it
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # gone already, before the request took effect
        os._exit(0)


_PR_SET_PDEATHSIG = 1


@contextmanager
def fork_pool(workers: int, initializer: Callable[[], None] | None = None) -> Iterator[Pool]:
    """A pool of ``workers`` forked processes. On success the workers finish their loop
    and exit (close and join: no signal is sent); on an error they are terminated."""
    pool = mp.get_context("fork").Pool(workers, initializer=_worker_start, initargs=(initializer,))
    try:
        yield pool
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    pool.close()
    pool.join()


def fork_worker() -> ProcessPoolExecutor:
    """One forked process that keeps its state between the calls handed to it (a GX
    context, say), forked at the first ``submit``. It ends when shut down, at the
    parent's exit, or with the parent if that is killed (strictly: with the thread that
    forked it, so fork it from a thread that lives as long as it is needed)."""
    return ProcessPoolExecutor(
        1, mp_context=mp.get_context("fork"), initializer=_worker_start, initargs=(None, os.getpid())
    )


# What fork_map's workers run: (function, items). A fork inherits it; set only meanwhile.
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _call(index: int) -> Any:
    assert _WORK is not None
    fn, items = _WORK
    return fn(items[index])


def fork_map(
    workers: int,
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    order: Iterable[int] | None = None,
    initializer: Callable[[], None] | None = None,
) -> list[Any]:
    """``fn(item)`` for every item, in ``workers`` forked processes, started in
    ``order`` (indices; default: as given); the results in the items' order. ``fn`` and
    the items reach the workers by fork, only the results are pickled back."""
    global _WORK
    indices = list(range(len(items)) if order is None else order)
    _WORK = (fn, items)
    try:
        with fork_pool(workers, initializer) as pool:
            done = dict(zip(indices, pool.imap(_call, indices, chunksize=1), strict=True))
    finally:
        _WORK = None
    return [done[i] for i in range(len(items))]


@contextmanager
def beside(fn: Callable[..., Any], *args: Any) -> Iterator[Future]:
    """``fn(*args)`` in a thread while the block runs; its future is the block's value.
    The thread is joined when the block ends, whatever happens in it, so what the call
    uses (a connection, a file) is the caller's again after the block."""
    pool = ThreadPoolExecutor(1, thread_name_prefix=getattr(fn, "__name__", "beside"))
    try:
        yield pool.submit(fn, *args)
    finally:
        pool.shutdown()
