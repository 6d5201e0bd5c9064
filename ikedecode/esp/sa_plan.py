"""An SA plan: the IPsec SAs a stage-2 opener gets, each from a given frame on.

A process that opens ESP away from the IKE engine (a Dask task, a chunk worker) cannot add SAs to
its database as the engine keys them: it opens packets long after the engine ran. It gets a
*plan* instead: the SAs in the engine side's SA-database order, each with a *threshold*, the frame
of the IKE datagram that keyed it (-1 for the key file's SAs). An SA may open packets whose frame
is above its threshold, as in a sequential run, where it is installed right after that datagram.

Thresholds never decrease along a plan (the engine keys SAs in capture order), so the SAs a packet
may use are always a prefix of the plan: SA indexes mean the same in the opener's database as in
the engine side's, and a run of packets splits into *spans* opened with the same SAs
(``SaPlan.spans``). The opener must see its packets in frame order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ikedecode.esp.opener import EspOpener
from ikedecode.esp.sa import IpsecSa

# (threshold frame, the SA's spec: IpsecSa keyword arguments, parallel/esp_work.py ``sa_spec``)
PlannedSa = tuple[int, dict[str, Any]]
# or with the IpsecSa itself, where one process reuses the SAs for many plans (distributed/chunk_tasks.py)
BuiltSa = tuple[int, IpsecSa]
FIELDS = 6  # integers per packet in an EspBatch's meta (capture/batch.py); the frame comes first


class SaPlan:
    """An ``EspOpener`` whose database follows a plan (``extend`` it as the engine keys SAs)."""

    __slots__ = ("opener", "_plan", "_due")

    def __init__(self, opener: EspOpener, plan: Iterable[PlannedSa | BuiltSa] = ()) -> None:
        self.opener = opener
        self._plan: list[PlannedSa | BuiltSa] = list(plan)
        self._due = 0  # plan entries added to the opener's database so far

    def extend(self, planned: Iterable[PlannedSa | BuiltSa]) -> None:
        """More SAs, keyed at or after the thresholds already planned."""
        self._plan.extend(planned)

    def add_due(self, before: int) -> None:
        """Add the planned SAs that may open frame ``before`` (threshold < before)."""
        plan, due = self._plan, self._due
        added = []
        while due < len(plan) and plan[due][0] < before:
            sa = plan[due][1]
            added.append(sa if isinstance(sa, IpsecSa) else IpsecSa(**sa))
            due += 1
        if added:
            self._due = due
            self.opener.add_sas(added)

    def spans(self, meta: Sequence[int], count: int, base: int = 0) -> Iterator[tuple[int, int]]:
        """The packets ``0..count`` of an EspBatch ``meta`` as ``(start, end)`` spans, each opened
        with the same SAs: before yielding a span, the SAs due for its first packet are added, and
        the span ends before the first packet a further planned SA may open. Open each span before
        asking for the next. ``base``: ``meta``'s frames are that many short of the capture's."""
        plan = self._plan
        start = 0
        while start < count:
            self.add_due(meta[start * FIELDS] + base)
            end = count
            if self._due < len(plan):
                limit = plan[self._due][0] - base
                end = start + 1
                while end < count and meta[end * FIELDS] <= limit:
                    end += 1
            yield start, end
            start = end
