"""ducha.parallel: forked workers run none of the parent's signal handlers (an Airflow
task's SIGTERM handler would otherwise run in them), stop cleanly on success and are
terminated on an error."""

from __future__ import annotations

import signal
import sys

import pytest

from ducha.parallel import beside, can_fork, fork_pool

pytestmark = pytest.mark.skipif(not can_fork(), reason="no fork on this platform")


def _handlers(_: int) -> tuple[object, object]:
    return signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)


def _fail(n: int) -> int:
    if n == 3:
        raise ValueError("job 3 failed")
    return n


def test_workers_run_none_of_the_parents_signal_handlers() -> None:
    def parents(*_: object) -> None:
        sys.exit(143)

    previous = signal.signal(signal.SIGTERM, parents)
    try:
        with fork_pool(2) as pool:
            seen = pool.map(_handlers, range(4), chunksize=1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert set(seen) == {(signal.SIG_DFL, signal.SIG_IGN)}


def test_a_pool_that_finished_leaves_no_process_behind() -> None:
    with fork_pool(2) as pool:
        assert pool.map(_fail, [0, 1, 2]) == [0, 1, 2]
        workers = list(pool._pool)  # the processes, to check after the pool closes
    assert workers and all(not p.is_alive() and p.exitcode == 0 for p in workers)


def test_an_error_in_a_worker_reaches_the_caller_and_stops_the_pool() -> None:
    with pytest.raises(ValueError, match="job 3 failed"), fork_pool(2) as pool:
        workers = list(pool._pool)
        pool.map(_fail, range(6), chunksize=1)
    assert all(not p.is_alive() for p in workers)


def test_beside_joins_its_thread_whatever_the_block_does() -> None:
    import time

    done: list[int] = []

    def slow() -> int:
        time.sleep(0.3)
        done.append(1)
        return 5

    with pytest.raises(RuntimeError), beside(slow) as future:
        raise RuntimeError("the block failed")
    assert done == [1] and future.result() == 5  # the call had finished when the block ended
