"""Where an ensemble's blocks run: local processes, a Dask cluster, or a given executor.

:class:`Execution` says which (``workers`` | ``scheduler`` | ``executor``) and
:func:`open_executor` yields a :class:`concurrent.futures.Executor` with the number of
tasks to keep in flight, and shuts it down afterwards.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from transfer_sim.errors import InputError, ModelError

__all__ = ["Execution", "open_executor", "default_workers"]


@dataclass(frozen=True)
class Execution:
    """Where the blocks of an ensemble run; at most one of the three is used.

    Parameters
    ----------
    workers : int, optional
        Local worker processes; the number of usable cores by default. With
        ``executor``, sets how many tasks are kept in flight.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); runs on that cluster
        instead of local processes. Workers need this package and the model file.
    executor : concurrent.futures.Executor, optional
        An executor to use as is (e.g. a Dask client's ``get_executor()``).
    """

    workers: int | None = None
    scheduler: str | None = None
    executor: cf.Executor | None = None


def default_workers() -> int:
    """Return the number of usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_executor(execution: Execution) -> Iterator[tuple[cf.Executor, int]]:
    """Yield ``(executor, tasks to keep in flight)`` for ``execution``.

    Raises
    ------
    InputError
        For a bad number of workers or an unreachable scheduler.
    """
    if execution.executor is not None:
        yield execution.executor, 2 * max(1, execution.workers or default_workers())
    elif execution.scheduler is not None:
        with _dask(execution.scheduler) as pair:
            yield pair
    else:
        with _local(execution.workers) as pair:
            yield pair


@contextlib.contextmanager
def _dask(scheduler: str) -> Iterator[tuple[cf.Executor, int]]:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ModelError(f"--scheduler needs dask.distributed ({exc})") from None
    try:
        # Connect timeout: dask's distributed.comm.timeouts.connect (30 s default).
        client = Client(scheduler)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc})",
                         key="scheduler") from None
    try:
        threads = sum(client.nthreads().values()) or 1
        yield client.get_executor(), 2 * threads
    finally:
        client.close()


@contextlib.contextmanager
def _local(workers: int | None) -> Iterator[tuple[cf.Executor, int]]:
    n = workers if workers is not None else default_workers()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"workers must be a positive whole number, got {n!r}", key="workers")
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=mp_context())
    try:
        yield pool, 2 * n
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)


def mp_context() -> multiprocessing.context.BaseContext:
    """Return the start method for local workers.

    ``fork`` where it is the platform's safe default (Linux, Python < 3.12): workers
    inherit the imported package and the model catalogue and start in about a second.
    Elsewhere ``forkserver`` (preloading this package) or ``spawn``: Python 3.12+
    warns that forking a multi-threaded process (the pool's own manager thread) may
    deadlock, and 3.14 no longer forks by default. Never ``fork`` once JAX is imported
    (the ``batch`` engine): its runtime's threads do not survive a fork.
    """
    methods = multiprocessing.get_all_start_methods()
    if ("fork" in methods and sys.platform.startswith("linux") and sys.version_info < (3, 12)
            and "jax" not in sys.modules):
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["transfer_sim.run.ensemble"])
        return ctx
    return multiprocessing.get_context("spawn")
