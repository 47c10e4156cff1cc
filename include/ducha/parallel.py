"""Forked worker processes for CPU-bound work on data the parent already holds (a day's
tables, several inspections' days). A fork inherits the parent's memory, so the work is
handed over as a module-level value and an index, never pickled."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from multiprocessing.pool import Pool


def can_fork() -> bool:
    """False where a pool cannot start: no fork on this platform, or this process is
    itself a pool's worker (daemonic processes may not have children)."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def fork_pool(workers: int, initializer: Callable[[], None] | None = None) -> Pool:
    return mp.get_context("fork").Pool(workers, initializer=initializer)
