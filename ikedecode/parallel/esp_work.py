"""Opening ESP batches on every core: worker processes run ``EspOpener``, results come back in order.

The main process reads the capture, runs the IKE engine and accounts for every ESP outcome in
capture order (``EspProcessor.account_summary``); only the stateless, expensive part, opening
packets (ICV, decryption, trailer), is spread over processes. Each worker holds a copy of the SA
database, given the same SAs in the same order as the main process's, so an SA's index means the
same SA everywhere. With ``--jobs N`` there are N - 1 workers: the main process is the Nth, and
opens a batch itself whenever every worker already has enough queued (it would otherwise wait
for them, or compete with them for a core). Summaries are handed back in submission order; a
worker answers its batches in the order it got them, so the main process knows whose answer it
reads, and the output is the same for any number of jobs, whichever process opened a batch.

Transport: with ``fork`` (Linux), a batch's bytes and packet offsets are copied into a slot of an
anonymous shared mapping made before the workers were forked, and the message on the worker's
pipe says only which slot; the answer (a ``BatchSummary``) comes back pickled on the same pipe.
Messages are sent from the calling thread: a queue's feeder thread would wait for the GIL behind
the main loop and starve the workers. The main process never blocks on sending (a message is a
few bytes), and it waits only for the oldest batch, so a worker writing a large answer cannot
deadlock it.

Workers start only once a capture has shown enough ESP to be worth them (``start_after``
packets); until then, and with ``jobs=1``, batches are opened in this process.
"""

from __future__ import annotations

import mmap
import os
import threading
from array import array
from collections import deque
from collections.abc import Iterable
from typing import Any

from ikedecode.capture.batch import EspBatch
from ikedecode.esp.batch_summary import BatchSummary, summarize_spans
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import SaDatabase

DEFAULT_START_AFTER = 2_000  # ESP packets opened in-process before workers are started (about 10 ms
# of work; forking a worker costs about 2 ms)
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


def worker_context() -> tuple[Any, bool]:
    """The multiprocessing context for worker processes, and whether it forks: fork only a
    single-threaded process (the DH pool of parallel/dh_pool.py runs a thread): a child forked while
    another thread holds a lock could wait for it forever; spawn otherwise."""
    import multiprocessing  # where worker processes start, not at every start-up (~4 ms)

    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    return (multiprocessing.get_context("fork") if fork else multiprocessing.get_context("spawn")), fork


DIED = "an ESP worker process died (killed, or out of memory?); --jobs 1 opens ESP in one process"


class WorkerFailed(RuntimeError):
    """A worker process died (killed, out of memory); the analysis cannot be completed in parallel."""


def stop_workers(connections: list[Any], processes: list[Any]) -> None:
    """Tell each worker to stop (``None`` on its pipe), wait for it (killed after 5 s), close the pipes."""
    for connection in connections:
        try:
            connection.send(None)
        except (OSError, ValueError):
            pass
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
    for connection in connections:
        connection.close()


def _spans(batch: EspBatch) -> array:
    """The batch's IP-start, ESP-start and ESP-end offsets, one after the other, as 32-bit words."""
    meta = batch.meta
    return array("I", meta[2::6] + meta[4::6] + meta[5::6])


def _worker(connection: Any, check_padding: bool, want_plaintext: bool, shared: mmap.mmap | None) -> None:
    opener = EspOpener(SaDatabase(), check_padding=check_padding, want_plaintext=want_plaintext)
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        if message[0] == "sas":
            opener.add_sas(IpsecSa(**spec) for spec in message[1])
            continue
        _, blob, spans, count = message
        if blob is None:  # in the shared slot: the batch's bytes, then its offsets
            assert shared is not None
            offset, blob_length = spans
            blob = shared[offset : offset + blob_length]
            spans = array("I")
            spans.frombytes(shared[offset + blob_length : offset + blob_length + 12 * count])
        connection.send(
            summarize_spans(opener, blob, spans[:count], spans[count : 2 * count], spans[2 * count :])
        )


class EspWork:
    """Opens ``EspBatch``es with ``jobs`` processes; ``submit`` and ``finish`` return each batch with
    its summary (``summarize_spans``) in submission order, ready for ``EspProcessor.account_summary``.

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
        self._connections: list[Any] = []
        self._shared: mmap.mmap | None = None  # batch slots shared with forked workers
        # batches not yet handed back, in order: [batch, worker or None (opened here), slot, summary]
        self._pending: deque[list] = deque()
        self._in_flight: list[int] = []  # per worker: batches sent, summaries not yet received
        self._free_slots: list[int] = []
        self._max_pending = 0
        self.started_workers = False
        self.opened_here = 0  # batches opened by this process, and by the workers (tests read them)
        self.opened_by_workers = 0

    # --- SAs -------------------------------------------------------------------------------------

    def sas_added(self, sas: Iterable[IpsecSa]) -> None:
        """Tell the workers about SAs just added to the main SA database (in the order added).
        Without workers (yet) nothing is made: ``_start`` sends them the whole database."""
        if not self._connections:
            return
        specs = [sa_spec(sa) for sa in sas]
        if specs:
            for worker in range(len(self._connections)):
                self._send(worker, ("sas", specs))

    # --- batches ---------------------------------------------------------------------------------

    def submit(self, batch: EspBatch) -> list[Opened]:
        """Queue a batch; returns the batches opened meanwhile (possibly none), in order.

        The batch goes to the worker with the fewest batches in flight; when every worker already
        has ``IN_FLIGHT_PER_WORKER``, this process opens it itself rather than wait. So with
        ``jobs`` processes, ``jobs - 1`` workers open ESP and this process reads the capture,
        accounts and opens what the workers cannot take: no core idles and none is shared by
        two busy processes."""
        self._packets += batch.count
        if not self._workers and self.jobs > 1 and self._packets > self.start_after:
            self._start()
        if not self._workers:
            return [(batch, self._open_here(batch))]
        in_flight = self._in_flight
        worker = in_flight.index(min(in_flight))
        if in_flight[worker] < IN_FLIGHT_PER_WORKER:
            self._pending.append([batch, worker, self._send_batch(worker, batch), None])
            in_flight[worker] += 1
        else:
            self._pending.append([batch, None, None, self._open_here(batch)])
        done: list[Opened] = []
        while len(self._pending) > self._max_pending:
            done.append(self._next())
        while self._pending and self._ready(self._pending[0]):
            done.append(self._next())
        return done

    def start(self) -> None:
        """Start the workers now, whatever ``start_after`` says (no-op with ``jobs=1``).

        For a caller about to start threads (the DH pool of ``parallel/dh_pool.py`` runs one):
        workers forked before that share the batches through memory; started later, they are
        spawned and batches go through their pipes, which costs more than it saves (1 GB of
        aes128-cbc+sha1 with --jobs 2: 5.0 s spawned against 2.5 s forked)."""
        if not self._workers and self.jobs > 1:
            self._start()

    def drain(self) -> list[Opened]:
        """Every batch still pending, opened, in order (the workers stay up)."""
        return [self._next() for _ in range(len(self._pending))]

    def finish(self) -> list[Opened]:
        """The remaining opened batches, in order; then the workers stop."""
        done = self.drain()
        self.close()
        return done

    def close(self) -> None:
        stop_workers(self._connections, self._workers)
        self._workers, self._connections, self._in_flight, self._free_slots = [], [], [], []
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def __enter__(self) -> EspWork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals -------------------------------------------------------------------------------

    def _start(self) -> None:
        context, fork = worker_context()
        workers = self.jobs - 1  # this process is the last of the jobs (see submit)
        slots = IN_FLIGHT_PER_WORKER * workers
        if fork:  # an anonymous shared mapping made before the fork is shared with the children
            self._shared = mmap.mmap(-1, slots * SLOT_BYTES)
            self._free_slots = list(range(slots))
        # batches opened here wait for the workers' older ones: bounded, so is the memory they hold
        self._max_pending = 2 * slots + 2
        all_sas = [sa_spec(sa) for sa in self.sadb]
        for _ in range(workers):
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(
                target=_worker,
                args=(theirs, self.check_padding, self.want_plaintext, self._shared),
                daemon=True,
                name="ikedecode-esp",
            )
            process.start()
            theirs.close()
            if all_sas:
                ours.send(("sas", all_sas))
            self._connections.append(ours)
            self._workers.append(process)
            self._in_flight.append(0)
        self.started_workers = True

    def _send(self, worker: int, message: object) -> None:
        try:
            self._connections[worker].send(message)
        except OSError:
            raise WorkerFailed(DIED) from None

    def _open_here(self, batch: EspBatch) -> BatchSummary:
        self.opened_here += 1
        meta = batch.meta
        return summarize_spans(self._local, batch.blob, meta[2::6], meta[4::6], meta[5::6])

    def _send_batch(self, worker: int, batch: EspBatch) -> int | None:
        """Hand a batch to a worker; the shared-memory slot it occupies (None: sent on the pipe)."""
        spans = _spans(batch)
        blob = batch.blob
        size = len(blob) + 4 * len(spans)
        if self._shared is not None and size <= SLOT_BYTES and self._free_slots:
            # Through shared memory: one copy into the slot instead of pickling through a pipe.
            slot = self._free_slots.pop()
            offset = slot * SLOT_BYTES
            self._shared[offset : offset + len(blob)] = blob
            self._shared[offset + len(blob) : offset + size] = spans.tobytes()
            self._send(worker, ("batch", None, (offset, len(blob)), batch.count))
            return slot
        self._send(worker, ("batch", blob, spans, batch.count))
        return None

    def _ready(self, entry: list) -> bool:
        """Whether a pending batch's summary can be had without waiting."""
        return entry[1] is None or self._connections[entry[1]].poll()

    def _next(self) -> Opened:
        """The oldest pending batch with its summary (waits for its worker if it has one)."""
        batch, worker, slot, summary = self._pending.popleft()
        if worker is None:
            return batch, summary
        connection = self._connections[worker]
        while not connection.poll(1.0):
            if not self._workers[worker].is_alive():
                raise WorkerFailed(DIED)
        try:
            summary = connection.recv()
        except (EOFError, OSError):
            raise WorkerFailed(DIED) from None
        self._in_flight[worker] -= 1
        self.opened_by_workers += 1
        if slot is not None:
            self._free_slots.append(slot)
        return batch, summary
