"""The per-file work of ``--dask``: what runs on the workers (plain functions, no Dask inside).

Both stages read one capture file by path (the workers and the client share storage; file bytes
never travel through the scheduler) with the same ``CaptureReader`` as a local run, and number
frames *within the file*; the client (``ikedecode.distributed.client``) turns those into merged
frame numbers.

* ``scan_file`` (stage 1): reads the file once and returns what the client needs to run the IKE
  engine and to know the merged order: the IKE and AH datagrams (small), the file's
  ``CaptureStats``, the capture time of every record, and where in the file each malformed
  frame, malformed reason and link type was first seen (so the merged statistics come out in the
  same order as a local merged run's).
* ``open_file_esp`` (stage 2): reads the file again and opens its ESP packets with the IPsec SAs
  the client derived, each SA only for the packets after the point where a local merged run
  would have had it (the quick mode that created it), and returns one outcome per packet.
"""

from __future__ import annotations

import os
import pickle
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ikedecode import __version__
from ikedecode.capture.batch import EspBatch
from ikedecode.capture.datagram import CaptureStats, Datagram, Kind
from ikedecode.capture.reader import open_capture
from ikedecode.capture.records import Record
from ikedecode.esp.opener import EspOpener, open_batch
from ikedecode.esp.outcome import (
    CODE,
    FAILED,
    ICV_OK,
    OUTCOME_NO_KEYS,
    OUTCOME_OPENED,
    PAYLOAD,
    SA_INDEX,
    Outcome,
)
from ikedecode.esp.sa_plan import SaPlan
from ikedecode.esp.sadb import SaDatabase

# One ESP packet of stage 2: (frame in the file, time_ns, ESP bytes, outcome, extra). ``extra`` is
# the packed (src, dst) for an outcome without keys, the packet's Datagram when the outcome
# carries an inner ESP/AH layer still to open, else None.
EspPacket = tuple[int, int, int, Outcome, Any]


@dataclass(slots=True)
class FileScan:
    """Stage 1's answer for one file; frame numbers count from 1 within the file."""

    index: int
    name: str
    format: str
    compressed: bool
    version: str = __version__
    frames: int = 0
    first_ns: int | None = None  # time of the file's first and last record
    last_ns: int | None = None
    min_ns: int | None = None  # earliest and latest time anywhere in the file
    max_ns: int | None = None
    time_ordered: bool = True  # every record's time >= the previous one's
    stats: CaptureStats = field(default_factory=CaptureStats)
    datagrams: list[Datagram] = field(default_factory=list)  # IKE and AH, in the file's order
    malformed_at: list[int] = field(default_factory=list)  # frame being read when each malformed entry came
    reasons_at: dict[str, int] = field(default_factory=dict)  # malformed reason -> frame it was first counted
    links_at: dict[str, int] = field(default_factory=dict)  # link type -> frame it was first counted
    fragment_times: list[int] = field(default_factory=list)  # time_ns of every IP-fragment frame
    times: Any = None  # time_ns of every record (array('q'), a list when a time exceeds 64 bits)

    def without_times(self) -> FileScan:
        return replace(self, times=None)


class _Observed:
    """The file's records, passed through unchanged, noting what reading each one changed.

    The reader handles record N completely before it asks for record N+1, so whatever appeared in
    ``stats`` between two requests was caused while reading record N. ``truncated`` and
    ``format_name`` are the file's, as the reader expects of its record source.
    """

    def __init__(self, records: Any, stats: CaptureStats, scan: FileScan) -> None:
        self._records = records
        self._stats = stats
        self._scan = scan
        self.format_name = records.format_name

    @property
    def truncated(self) -> str | None:
        return self._records.truncated

    def __iter__(self) -> Iterator[Record]:
        stats, scan = self._stats, self._scan
        times: Any = array("q")
        append = times.append
        reasons, links, kept = stats.malformed_reasons, stats.link_types, stats.malformed_frames
        counts = [0, 0, 0, 0]  # reasons, link types, malformed entries kept, IP fragments: seen so far

        def note(frame: int, time_ns: int) -> None:
            if len(reasons) != counts[0]:
                for reason in list(reasons)[counts[0] :]:
                    scan.reasons_at[reason] = frame
                counts[0] = len(reasons)
            if len(links) != counts[1]:
                for link in list(links)[counts[1] :]:
                    scan.links_at[link] = frame
                counts[1] = len(links)
            if len(kept) != counts[2]:
                scan.malformed_at.extend([frame] * (len(kept) - counts[2]))
                counts[2] = len(kept)
            if stats.ip_fragments != counts[3]:
                scan.fragment_times.append(time_ns)
                counts[3] = stats.ip_fragments

        frame = 0
        previous = 0
        ordered = True
        low = high = 0  # set by the first record
        for record in self._records:
            if frame:
                note(frame, previous)
            frame += 1
            time_ns = record[1]
            try:
                append(time_ns)
            except OverflowError:  # pcapng times can exceed 64 bits
                times = list(times)
                append = times.append
                append(time_ns)
            if frame == 1:
                scan.first_ns = low = high = time_ns
            else:
                if time_ns < previous:
                    ordered = False
                if time_ns < low:
                    low = time_ns
                elif time_ns > high:
                    high = time_ns
            previous = time_ns
            yield record
        if frame:
            note(frame, previous)
            scan.last_ns = previous
        scan.frames, scan.min_ns, scan.max_ns = frame, (low if frame else None), (high if frame else None)
        scan.time_ordered = ordered
        scan.times = times


def scan_file(path: str, index: int, name: str, reader_options: dict[str, Any]) -> FileScan:
    """Stage 1: read one capture file; IKE/AH datagrams, statistics and record times."""
    reader = open_capture(path, **reader_options)
    scan = FileScan(index, name, reader.format, bool(reader.compressed))
    reader.records = _Observed(reader.records, reader.stats, scan)
    with reader:
        for item in reader.items():
            if not isinstance(item, EspBatch) and item.kind in (Kind.IKE, Kind.AH):
                scan.datagrams.append(item)
    scan.stats = reader.stats
    if scan.times is None:  # the reader stopped before the end (it does not today)
        scan.times = array("q")
    return scan


def open_file_esp(
    path: str, reader_options: dict[str, Any], plan: Sequence[tuple[int, dict[str, Any]]]
) -> bytes:
    """Stage 2 as a task: ``esp_outcomes`` pickled into one bytes object.

    One object travels much faster than a list of a million tuples, which Dask's serialisation
    would walk element by element. ``packets_of`` unpacks it.
    """
    return pickle.dumps(esp_outcomes(path, reader_options, plan), protocol=pickle.HIGHEST_PROTOCOL)


def packets_of(answer: bytes) -> list[EspPacket]:
    """The packets of a stage-2 answer (data from our own workers, which the client trusts)."""
    return pickle.loads(answer)  # noqa: S301 - produced by open_file_esp on the cluster's workers


def esp_outcomes(
    path: str, reader_options: dict[str, Any], plan: Sequence[tuple[int, dict[str, Any]]]
) -> list[EspPacket]:
    """Stage 2: open every ESP packet of one file.

    ``plan`` lists the IPsec SAs in the client's SA-database order, each with a threshold: the SA
    may open the file's packets whose frame (within the file) is above it. Thresholds never
    decrease along the plan, so the SAs a packet may use are always a prefix of the database and
    SA indexes mean the same here as at the client (``esp/sa_plan.py``).

    An ICV failure carries its packet (SPI onward) when it is the file's first for its SA and
    other candidates (``FAILED``): the client keeps an SA's first failure in merged order for the
    ESN diagnosis (``esp/diagnose.py``). The client charges a failure to that SA only while no
    candidate has verified a packet (``EspProcessor._blame``), and an SA that verified none is the
    only kind diagnosed, so for it those packets are a prefix of each file's: the first is enough.
    (Not carried: a packet of an ESN SA that verified here with high bits the client's window
    infers otherwise, failed only there; the SA's first carried failure is kept instead.)
    """
    planned = SaPlan(EspOpener(SaDatabase(), check_padding=True, want_plaintext=False), plan)
    opener = planned.opener
    out: list[EspPacket] = []
    sampled: set[tuple[int, tuple[int, ...] | None]] = set()  # (SA index, FAILED) with a failure carried
    reader = open_capture(path, **reader_options)
    with reader:
        for item in reader.items():
            if type(item) is not EspBatch:
                continue
            meta = item.meta
            for start, end in planned.spans(meta, item.count):
                outcomes = open_batch(opener, item.blob, meta[start * 6 : end * 6])
                for offset, outcome in enumerate(outcomes):
                    i = start + offset
                    at = i * 6
                    extra: Any = None
                    if outcome[CODE] == OUTCOME_NO_KEYS:
                        extra = item.addresses(i)
                    elif outcome[CODE] == OUTCOME_OPENED:
                        if outcome[PAYLOAD] is not None:
                            extra = item.datagram(i)
                        elif outcome[ICV_OK] is False and (outcome[SA_INDEX], outcome[FAILED]) not in sampled:
                            sampled.add((outcome[SA_INDEX], outcome[FAILED]))
                            extra = bytes(item.blob[meta[at + 4] : meta[at + 5]])
                    out.append((meta[at], meta[at + 1], meta[at + 5] - meta[at + 4], outcome, extra))
    return out


def record_times(scan: FileScan) -> Any:
    """The record times of a scanned file (fetched only for files that overlap another in time)."""
    return scan.times


def scan_summary(scan: FileScan) -> FileScan:
    """A scan without its record times: what the client always needs."""
    return scan.without_times()


def readable(path: str) -> bool:
    """Whether a worker can read ``path`` (shared storage check)."""
    return os.access(path, os.R_OK)
