"""Rendering on every core: the text of each IKE SA of a report made by forked processes, in order.

A report of 10,000 IKE SAs takes longer to render than to analyse (a table per SA in the text
format, a dict and its JSON per SA): each SA's text depends on that SA alone, so ``in_order``
hands ranges of SAs to forked workers, which hold the report as the parent had it (fork, no
pickling of the report), and gives the texts back in SA order. The text is the same whatever the
number of processes (tests/render/test_json_writer.py, tests/render/test_text_tables.py).
Nothing here knows a format.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.context import ForkContext

MIN_ITEMS = 1_000  # fewer items are rendered in this process: forking would cost more than it saves
CHUNK = 250  # items per task

_job: Callable[[int], str] | None = None  # what the forked workers run, set before they fork


def _run(bounds: tuple[int, int]) -> list[str]:
    job = _job
    assert job is not None
    return [job(i) for i in range(*bounds)]


def map_in_order(jobs: int) -> Callable[[Callable[[int], str], int], Iterator[str]] | None:
    """What the renderers take as ``map_in_order`` (``render/map_in_order.py``): ``in_order`` on
    ``jobs`` processes, or None for one process (the renderers then make every text here, as
    they would without --jobs)."""
    if jobs <= 1:
        return None
    return lambda job, count: in_order(job, count, jobs)


def in_order(job: Callable[[int], str], count: int, jobs: int) -> Iterator[str]:
    """``job(i)`` for each ``i`` in ``range(count)``, in order, made by ``jobs`` forked processes
    (in this process, as the iterator is read, when ``jobs`` is 1, when there are fewer than
    ``MIN_ITEMS``, or when the process cannot fork safely: no fork on the system, or other
    threads alive, such as a Dask client's, whose locks a forked child could wait on forever).
    The processes start at once, so the caller can do other work while they render. ``job``
    must only read what the process holds now."""
    if jobs <= 1 or count < MIN_ITEMS:
        return map(job, range(count))
    import multiprocessing  # for large reports only, not at every start-up (~4 ms)

    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return map(job, range(count))
    texts = _on_workers(job, count, jobs, multiprocessing.get_context("fork"))
    next(texts)  # fork and hand out every range now
    return texts


def _on_workers(job: Callable[[int], str], count: int, jobs: int, context: ForkContext) -> Iterator[str]:
    global _job
    _job = job
    # Objects that exist now are never scanned by the workers' collector: fewer pages copied.
    gc.freeze()
    try:
        with context.Pool(jobs) as pool:
            _job = None  # the workers have their copy
            gc.unfreeze()
            ranges = [(first, min(first + CHUNK, count)) for first in range(0, count, CHUNK)]
            results = pool.imap(_run, ranges)
            yield ""  # started
            for texts in results:
                yield from texts
    finally:
        _job = None
        gc.unfreeze()
