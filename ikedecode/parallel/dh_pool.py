"""Diffie-Hellman work on every core: g^xy from ``--dh-private`` values computed by worker processes.

The IKE engine never starts a process: it hands its DH work (public values to index the private
values, one g^xy per IKE SA; ``ikedecode.ike.dh_work``) to the provider it is given.
``ProcessDhProvider`` is such a provider backed by a process pool. ``compute_dh_ahead`` wires one
to an engine for the length of a pass over a capture, and reads up to ``window`` IKE datagrams
ahead of the engine, showing each to ``IkeEngine.anticipate`` first: the g^xy values of the SAs
ahead are computed on the other cores while the engine decodes the current one, even when the
capture holds one negotiation after another. The engine's output is the same with or without it
(a test compares them): only when the values are computed changes.

Use, in the pipeline (one line; the pool exists only while the loop runs, and only when the key
ring holds private DH values and ``jobs`` is not 1)::

    for n, item in enumerate(compute_dh_ahead(engine, reader, jobs), 1):
        ...
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.ike import dh_work
from ikedecode.ike.dh_work import DhOutcome
from ikedecode.ike.engine import IkeEngine

if TYPE_CHECKING:
    from concurrent.futures import Future

DEFAULT_WINDOW = 2048  # IKE datagrams read ahead of the engine (a few hundred SAs, about 1 MB)
Item = TypeVar("Item")


class ProcessDhProvider:
    """A ``DhProvider`` whose jobs run in ``workers`` processes (forked where the system can)."""

    def __init__(self, workers: int | None = None) -> None:
        # the pool's machinery (concurrent.futures.process, multiprocessing): imported when a pool starts
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = max(1, workers or os.cpu_count() or 1)
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._executor = ProcessPoolExecutor(self.workers, mp_context=context)

    def public_values(self, group: int, privates: Sequence[bytes]) -> Future[list[DhOutcome]]:
        return self._executor.submit(dh_work.public_values, group, tuple(privates))

    def shared_secrets(self, group: int, pairs: Sequence[tuple[bytes, bytes]]) -> Future[list[DhOutcome]]:
        return self._executor.submit(dh_work.shared_secrets, group, tuple(pairs))

    def close(self) -> None:
        """Stop the workers; jobs not started are cancelled (their users compute them in-line)."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ProcessDhProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_ahead(
    items: Iterable[Item], anticipate: Callable[[Datagram], None], window: int = DEFAULT_WINDOW
) -> Iterator[Item]:
    """``items`` in their order, each IKE datagram shown to ``anticipate`` up to ``window`` IKE
    datagrams before it is yielded. Only IKE datagrams are held back: any other item (ESP, AH,
    an ESP batch) first releases every IKE datagram before it, so nothing but IKE messages is
    ever kept, and ESP still comes after the quick modes that keyed it."""
    held: deque[Item] = deque()
    ike = Kind.IKE
    for item in items:
        if isinstance(item, Datagram) and item.kind is ike:
            anticipate(item)
            held.append(item)
            if len(held) > window:
                yield held.popleft()
        else:
            while held:
                yield held.popleft()
            yield item
    while held:
        yield held.popleft()


def compute_dh_ahead(
    engine: IkeEngine, items: Iterable[Item], jobs: int | None = None, window: int = DEFAULT_WINDOW
) -> Iterator[Item]:
    """``items`` unchanged, while ``jobs`` worker processes (None: one per core) compute the
    engine's DH work ahead of it. Without private DH values, or with ``jobs`` 1, no process is
    started and nothing is read ahead: the items come straight from ``items`` (no generator in
    between). The pool starts with the iteration, is closed when the iteration ends (or is
    closed), and the engine goes back to computing in-line."""
    if not engine.computes_dh or jobs == 1:
        return iter(items)
    return _ahead(engine, items, jobs, window)


def _ahead(engine: IkeEngine, items: Iterable[Item], jobs: int | None, window: int) -> Iterator[Item]:
    provider = ProcessDhProvider(jobs)
    engine.use_dh_provider(provider)
    try:
        yield from read_ahead(items, engine.anticipate, window)
    finally:
        engine.use_dh_provider(None)
        provider.close()
