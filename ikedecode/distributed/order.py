"""The merged order of several files' records, computed from their record times alone.

This is ``ikedecode.capture.merge``'s order (mergecap's: the earliest next record first, the file
given last on equal times, each file's own order kept) expressed as *runs*: ``(file, lo, hi,
base)`` says that records ``lo+1 .. hi`` of ``file`` (numbered from 1 within the file) are merged
frames ``base+1 .. base+hi-lo``.

Files whose time spans overlap no other file's come out whole, one run each, and need no record
times at all; only files whose spans overlap (captured at the same time) are interleaved record
by record, from their times.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Span:
    """What the order needs to know of one file without reading its record times."""

    frames: int
    min_ns: int | None
    max_ns: int | None


def overlap_groups(spans: Sequence[Span]) -> list[list[int]]:
    """Files (by index) in groups whose time spans overlap (touching counts), groups in merged order.

    Within a group the files are in the order given; files without records belong to no group.
    """
    order = sorted((s.min_ns, i) for i, s in enumerate(spans) if s.frames and s.min_ns is not None)
    groups: list[list[int]] = []
    high: int | None = None
    for low, index in order:
        span_high = spans[index].max_ns
        assert span_high is not None
        if groups and high is not None and low <= high:
            groups[-1].append(index)
            high = max(high, span_high)
        else:
            groups.append([index])
            high = span_high
    return [sorted(group) for group in groups]


def _group_runs(indices: list[int], times: Callable[[int], Sequence[int]]) -> Iterator[tuple[int, int, int]]:
    """(file, lo, hi) runs of one overlapping group, by mergecap's rule on the record times."""
    arrays = {i: times(i) for i in indices}
    position = dict.fromkeys(indices, 0)
    heap = [(arrays[i][0], -i) for i in indices if len(arrays[i])]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        _time, key = pop(heap)
        index = -key
        array = arrays[index]
        lo = position[index]
        hi, n = lo + 1, len(array)
        if heap:
            limit, other = heap[0]
            while hi < n:
                t = array[hi]
                if t < limit or (t == limit and key < other):
                    hi += 1
                else:
                    break
        else:
            hi = n
        yield index, lo, hi
        position[index] = hi
        if hi < n:
            push(heap, (array[hi], key))


def merged_runs(
    spans: Sequence[Span], times: Callable[[int], Sequence[int]]
) -> Iterator[tuple[int, int, int, int, int]]:
    """``(file, lo, hi, base, group)`` runs in merged order; ``times(i)`` gives file i's record times
    (asked only for files that overlap another)."""
    base = 0
    for number, group in enumerate(overlap_groups(spans)):
        if len(group) == 1:
            runs: Iterator[tuple[int, int, int]] = iter([(group[0], 0, spans[group[0]].frames)])
        else:
            runs = _group_runs(group, times)
        for index, lo, hi in runs:
            yield index, lo, hi, base, number
            base += hi - lo
