"""How a renderer has its per-SA texts made, without knowing about processes.

A ``MapInOrder`` is called as ``map_in_order(job, count)`` and yields ``job(i)`` for each ``i`` in
``range(count)``, in order. The renderers that make one text per SA (``render/text.py``,
``render/json_report.py``) take one as an argument; the CLI passes one that runs on ``--jobs``
processes (``parallel.render_work.map_in_order``), so ``render/`` never imports the process pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

MapInOrder = Callable[[Callable[[int], str], int], Iterator[str]]


def in_this_process(job: Callable[[int], str], count: int) -> Iterator[str]:
    """``job(i)`` for each ``i`` in ``range(count)``, made here as the iterator is read."""
    return map(job, range(count))
