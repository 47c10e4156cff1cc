"""Forked worker processes for CPU-bound work on data the parent already holds (a day's
tables, several inspections' days). A fork inherits the parent's memory, so the work is
handed over as a module-level value and an index, never pickled."""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import Pool


def can_fork() -> bool:
    """False where a pool cannot start: no fork on this platform, or this process is
    itself a pool's worker (daemonic processes may not have children)."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def _worker_start(initializer: Callable[[], None] | None) -> None:
    # A fork inherits the parent's Python signal handlers (an Airflow task's, a CLI's):
    # a worker runs none of them, so stopping it is immediate and holds no lock.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if initializer is not None:
        initializer()


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
