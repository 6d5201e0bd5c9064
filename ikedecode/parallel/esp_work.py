"""Opening ESP batches on every core: worker processes run ``EspOpener``, results come back in order.

The main process reads the capture, runs the IKE engine and accounts for every ESP outcome in
capture order (``EspProcessor.account_batch``); only the stateless, expensive part, opening packets
(ICV, decryption, trailer), is spread over processes. Each worker holds a copy of the SA database,
given the same SAs in the same order as the main process's, so an SA's index means the same SA
everywhere. Batches go to the workers round-robin and their outcomes are handed back in
submission order, so the output is the same for any number of workers (``--jobs``).

Workers start only once a capture has shown enough ESP to be worth them (``start_after``
packets); until then, and with ``jobs=1``, batches are opened in this process.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import queue
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from ikedecode.capture.batch import EspBatch
from ikedecode.esp.opener import BatchSummary, EspOpener, summarize_batch
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import SaDatabase

DEFAULT_START_AFTER = 20_000  # ESP packets opened in-process before workers are started
IN_FLIGHT_PER_WORKER = 4  # batches queued per worker: enough to keep it busy, little memory
SLOT_BYTES = 2 << 20  # shared-memory slot per batch in flight; larger batches go through the pipe
_SA_FIELDS = (
    "protocol",
    "spi",
    "src",
    "dst",
    "encryption",
    "encryption_key",
    "integrity",
    "integrity_key",
    "mode",
    "esn",
    "origin",
    "initial_seq_hi",
)

Opened = tuple[EspBatch, BatchSummary]


def available_cores() -> int:
    """CPUs this process may run on (the default for ``--jobs``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def sa_spec(sa: IpsecSa) -> dict[str, Any]:
    """What a worker needs to rebuild an SA: its keys and selectors (not its counters or cipher state)."""
    return {name: getattr(sa, name) for name in _SA_FIELDS}


class WorkerFailed(RuntimeError):
    """A worker process died (killed, out of memory); the analysis cannot be completed in parallel."""


def _worker(
    inbox: Any, outbox: Any, check_padding: bool, want_plaintext: bool, shared: mmap.mmap | None
) -> None:
    opener = EspOpener(SaDatabase(), check_padding=check_padding, want_plaintext=want_plaintext)
    while True:
        message = inbox.get()
        if message is None:
            return
        if message[0] == "sas":
            opener.add_sas(IpsecSa(**spec) for spec in message[1])
            continue
        _, number, blob, meta = message
        if type(blob) is tuple:  # (offset, length) in the shared buffer
            assert shared is not None
            offset, length = blob
            blob = shared[offset : offset + length]
        outbox.put((number, summarize_batch(opener, blob, meta)))


class EspWork:
    """Opens ``EspBatch``es with ``jobs`` processes; ``submit`` and ``finish`` return each batch with
    its summary (``summarize_batch``) in submission order, ready for ``EspProcessor.account_summary``.

    ``sadb`` is the main process's SA database: every SA added to it must be announced with
    ``sas_added`` before the next batch is submitted. Use as a context manager (or call ``close``)
    so that worker processes are always stopped.
    """

    def __init__(
        self,
        sadb: SaDatabase,
        *,
        jobs: int = 1,
        check_padding: bool = True,
        want_plaintext: bool = False,
        start_after: int = DEFAULT_START_AFTER,
    ) -> None:
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self.sadb = sadb
        self.check_padding = check_padding
        self.want_plaintext = want_plaintext
        self.start_after = start_after
        self._local = EspOpener(sadb, check_padding=check_padding, want_plaintext=want_plaintext)
        self._packets = 0
        self._workers: list[Any] = []
        self._inboxes: list[Any] = []
        self._outbox: Any = None
        self._shared: mmap.mmap | None = None  # batch slots shared with forked workers
        self._pending: deque[EspBatch] = deque()  # submitted to workers, outcomes not yet handed back
        self._arrived: dict[int, BatchSummary] = {}
        self._submitted = 0
        self._handed_back = 0
        self.started_workers = False

    # --- SAs -------------------------------------------------------------------------------------

    def sas_added(self, sas: Iterable[IpsecSa]) -> None:
        """Tell the workers about SAs just added to the main SA database (in the order added)."""
        specs = [sa_spec(sa) for sa in sas]
        if specs:
            for inbox in self._inboxes:
                inbox.put(("sas", specs))

    # --- batches ---------------------------------------------------------------------------------

    def submit(self, batch: EspBatch) -> list[Opened]:
        """Queue a batch; returns the batches opened meanwhile (possibly none), in order."""
        self._packets += batch.count
        if not self._workers and self.jobs > 1 and self._packets > self.start_after:
            self._start()
        if not self._workers:
            return [(batch, summarize_batch(self._local, batch.blob, batch.meta))]
        done: list[Opened] = []
        slots = IN_FLIGHT_PER_WORKER * len(self._workers)
        while len(self._pending) >= slots:
            done.append(self._next(block=True))  # frees the slot this batch is about to use
        number = self._submitted
        blob: bytes | tuple[int, int] = batch.blob
        if self._shared is not None and len(blob) <= SLOT_BYTES:
            # Through shared memory: a copy into the slot instead of pickling through a pipe.
            offset = (number % slots) * SLOT_BYTES
            self._shared[offset : offset + len(blob)] = blob
            blob = (offset, len(blob))
        self._inboxes[number % len(self._workers)].put(("batch", number, blob, batch.meta))
        self._submitted += 1
        self._pending.append(batch)
        self._collect()
        while self._pending and self._handed_back in self._arrived:
            done.append(self._next(block=False))
        return done

    def finish(self) -> Iterator[Opened]:
        """The remaining opened batches, in order; then the workers stop."""
        while self._pending:
            yield self._next(block=True)
        self.close()

    def close(self) -> None:
        for inbox in self._inboxes:
            try:
                inbox.put(None)
            except (OSError, ValueError):
                pass
        for process in self._workers:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for inbox in self._inboxes:
            inbox.close()
            inbox.join_thread()
        if self._outbox is not None:
            self._outbox.close()
            self._outbox.join_thread()
        self._workers, self._inboxes, self._outbox = [], [], None
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def __enter__(self) -> EspWork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals -------------------------------------------------------------------------------

    def _start(self) -> None:
        fork = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if fork else "spawn")
        if fork:  # an anonymous shared mapping made before the fork is shared with the children
            self._shared = mmap.mmap(-1, IN_FLIGHT_PER_WORKER * self.jobs * SLOT_BYTES)
        self._outbox = context.Queue()
        all_sas = [sa_spec(sa) for sa in self.sadb]
        for _ in range(self.jobs):
            inbox = context.Queue()
            process = context.Process(
                target=_worker,
                args=(inbox, self._outbox, self.check_padding, self.want_plaintext, self._shared),
                daemon=True,
                name="ikedecode-esp",
            )
            process.start()
            if all_sas:
                inbox.put(("sas", all_sas))
            self._inboxes.append(inbox)
            self._workers.append(process)
        self.started_workers = True

    def _collect(self) -> None:
        """Take whatever outcomes have arrived, without waiting."""
        while True:
            try:
                number, outcomes = self._outbox.get_nowait()
            except queue.Empty:
                return
            self._arrived[number] = outcomes

    def _next(self, *, block: bool) -> Opened:
        wanted = self._handed_back
        while wanted not in self._arrived:
            try:
                number, outcomes = self._outbox.get(timeout=1.0)
            except queue.Empty:
                if not all(process.is_alive() for process in self._workers):
                    raise WorkerFailed("an ESP worker process died") from None
                continue
            self._arrived[number] = outcomes
        self._handed_back += 1
        return self._pending.popleft(), self._arrived.pop(wanted)
