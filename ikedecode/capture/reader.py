"""CaptureReader: a capture file in, IPsec datagrams and exact per-frame accounting out.

Every frame read lands in exactly one bucket of ``CaptureStats``; IP fragments land in the bucket
of the datagram they belong to once it is reassembled (or in ``malformed`` when it never is).
Speed (``python -m tests.capture.bench_reader``): a synthetic 100k-frame capture (Ethernet/IPv4:
70% ESP, 20% ESP in UDP 4500, 8.5% IKE, 1.5% TCP) reads at about 4.1 us per frame as pcap and
4.9 us as pcapng, file to ``Datagram`` (CPython 3.11.7, one core of an AMD EPYC VM).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Self, cast

from ikedecode.stored_fields import stores_every_field

from .accounting import (
    DEFAULT_FRAGMENT_BUFFERS,
    MAX_CACHED_ADDRESSES,
    MAX_MALFORMED_FRAMES_KEPT,
    DeferredFragment,
    FrameAccounting,
)
from .batch import EspBatch, hand_on
from .classify import IKE_PORT, NAT_T_PORT, ike_rule, nat_t_rule
from .datagram import Datagram, Kind
from .errors import CaptureError
from .fastpath import plain_esp
from .formats import open_format
from .icmp import PROTO_ICMP, PROTO_ICMPV6
from .ip import IP_PARSERS, IPV6_WALKED_HEADERS
from .linklayer import FAST_LINKS, LINK_TYPES, NOT_IP, unknown_link_type_name
from .malformed import Malformed
from .pcap import PcapReader
from .pcapng import PcapngReader
from .records import BROKEN_RECORD_REASONS, RecordSource
from .source import ByteSource

DEFAULT_BATCH_PACKETS = 512  # ESP datagrams per EspBatch (CaptureReader.items)
IKE = Kind.IKE  # a global is found in 0.02 us, an enum member in 0.15 (the attribute lookup)
__all__ = [  # the limits live with the accounting; importers of this module keep finding them here
    "DEFAULT_BATCH_PACKETS",
    "DEFAULT_FRAGMENT_BUFFERS",
    "MAX_MALFORMED_FRAMES_KEPT",
    "CaptureReader",
    "open_capture",
]


# ``ike_frame``'s 12 bytes of a flow not seen before (IPv4 addresses and UDP ports), in one call
_unpack_flow = struct.Struct("!4s4sHH").unpack_from

# ``ike_frame`` makes its Datagram by storing these fields after ``object.__new__``, which is what the
# dataclass ``__init__`` does, without its call (one Datagram per IKE frame): a field added to
# ``Datagram`` must be stored there too, and the import fails until it is.
_new = object.__new__
_IKE_FRAME_FIELDS = (
    *("frame", "time", "kind", "src", "dst", "sport", "dport", "payload", "ip_version", "ip_header"),
    *("udp_encapsulated", "nat_keepalive", "frames", "time_ns"),
)
stores_every_field(Datagram, _IKE_FRAME_FIELDS)


class CaptureReader(FrameAccounting):
    """Reads a pcap or pcapng stream (gzip-compressed or not) and yields IKE/ESP/AH ``Datagram``s.

    The header is read, and a file that is no capture rejected with ``CaptureError``, at
    construction. Iteration yields datagrams in capture order; ``stats`` is complete once the
    iteration has ended (or the iterator was closed). ``anomalies`` counts things worth telling the
    user that are not malformed frames (overlapping or duplicate IP fragments), with the first
    frames in ``anomaly_frames``.
    """

    def __init__(
        self,
        stream: BinaryIO,
        name: str = "<stream>",
        *,
        ike_ports: Iterable[int] = (500, 4500),
        max_fragment_buffers: int = DEFAULT_FRAGMENT_BUFFERS,
        fragment_timeout: float = 30.0,
    ) -> None:
        super().__init__(ike_ports, max_fragment_buffers, fragment_timeout)
        self.name = name
        source = ByteSource(stream, name)
        self._start(source, open_format(source, name))

    @classmethod
    def over_records(
        cls,
        source: ByteSource,
        records: RecordSource,
        name: str,
        *,
        frames_before: int = 0,
        ike_ports: Iterable[int] = (500, 4500),
        max_fragment_buffers: int = DEFAULT_FRAGMENT_BUFFERS,
        fragment_timeout: float = 30.0,
    ) -> Self:
        """A reader of ``records`` (a format reader over ``source``, already past its header) whose
        first frame is number ``frames_before + 1``: one chunk of a capture (capture/chunk_scan.py)."""
        reader = cls.__new__(cls)
        FrameAccounting.__init__(reader, ike_ports, max_fragment_buffers, fragment_timeout)
        reader.name = name
        reader._start(source, records)
        reader._frames = frames_before
        return reader

    def _start(self, source: ByteSource, records: RecordSource) -> None:
        self._source = source
        self._records = records
        self.format = records.format_name
        self.compressed = source.compressed
        self._frames = 0
        self._iterator: Iterator[Datagram | EspBatch] | None = None
        self._flows: dict[bytes, tuple[str, str, int, int]] = {}  # ike_frame's
        self._owned_stream: BinaryIO | None = None
        self._finished = False

    @property
    def records(self) -> RecordSource:
        """The format reader the frames come from (its ``truncated`` says why a file ended early)."""
        return self._records

    @records.setter
    def records(self, records: RecordSource) -> None:
        """Read from ``records`` instead (before iterating: a wrapper that watches each record)."""
        self._records = records

    @property
    def owned_file(self) -> BinaryIO | None:
        """The file ``open_capture`` opened for this reader (None for a caller's stream): what a
        chunked read may map or re-read."""
        return self._owned_stream

    def detach_stream(self) -> BinaryIO | None:
        """Hand over the file ``open_capture`` opened (the caller closes it); None when there is none."""
        stream, self._owned_stream = self._owned_stream, None
        return stream

    def frames_read(self) -> int:
        """Frames read from the file so far."""
        return self._frames

    def bytes_read(self) -> int:
        """Bytes of the file consumed so far (compressed bytes for gzip), for progress reports."""
        stream = self._owned_stream
        if stream is not None:
            try:
                return stream.tell()
            except (OSError, ValueError):
                pass
        return self._source.offset()

    def __iter__(self) -> Iterator[Datagram]:
        if self._iterator is None:
            self._iterator = iter(()) if self._finished else self._datagrams()
        return cast(Iterator[Datagram], self._iterator)  # without batch_packets: datagrams only

    def items(self, batch_packets: int = DEFAULT_BATCH_PACKETS) -> Iterator[Datagram | EspBatch]:
        """Like iterating, but consecutive ESP datagrams come as ``EspBatch``es of at most
        ``batch_packets`` packets (IKE and AH datagrams come alone, in order between them).

        Plain ESP over Ethernet/IPv4 (the bulk of a concentrator's capture) takes a fast path that
        builds no per-packet object; every other frame goes through the general path and is
        accounted exactly as when iterating.
        """
        if batch_packets < 1:
            raise ValueError("batch_packets must be at least 1")
        if self._iterator is None:
            self._iterator = iter(()) if self._finished else self._datagrams(batch_packets)
        return self._iterator

    def close(self) -> None:
        """Stop reading: pending fragments are accounted as malformed, an owned file is closed."""
        if self._iterator is not None:
            self._iterator.close()  # type: ignore[attr-defined]
        self._finish()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the per-frame loop ----------------------------------------------------------------------

    def _datagrams(self, batch_packets: int = 0) -> Iterator[Datagram | EspBatch]:
        stats = self.stats
        reassembler = self._reassembler
        general = self._general_frame
        batch = EspBatch() if batch_packets else None
        nat_t = self._classifier.udp_rules.get(NAT_T_PORT, (None, None))[1] is nat_t_rule
        ike_500 = self._classifier.udp_rules.get(IKE_PORT, (None, None))[1] is ike_rule
        pending = reassembler.pending
        try:
            records = self._records
            if batch is not None and isinstance(records, PcapReader):
                fast = FAST_LINKS.get(records.linktype)
                if fast is not None:
                    yield from records.esp_batches(fast, nat_t, ike_500, batch_packets, pending, self)
                    return
            elif batch is not None and isinstance(records, PcapngReader):
                yield from records.esp_batches(FAST_LINKS, nat_t, ike_500, batch_packets, pending, self)
                return
            for linktype, time_ns, data, orig_len in self._records:
                self._frames = frame = self._frames + 1
                stats.packets += 1
                time = time_ns / 1e9
                if stats.first_time is None:
                    stats.first_time = time
                stats.last_time = time
                if reassembler.pending:
                    reassembler.expire(time_ns)
                    if reassembler.dropped:
                        self._account_dropped()
                if batch is not None:
                    fast = FAST_LINKS.get(linktype)
                    if fast is not None and len(data) >= fast[0] + 28 and data[fast[0]] == 0x45:
                        ip = fast[0]
                        ip_end, esp_start = plain_esp(data, 0, len(data), ip, fast[1], nat_t)
                        if esp_start:
                            stats.link_types[fast[2]] += 1
                            stats.esp += 1
                            batch.add(frame, time_ns, data, ip, ip + 20, esp_start, ip_end)
                            if batch.count >= batch_packets:
                                yield batch.seal()
                                batch = EspBatch()
                            continue
                datagram = general(frame, time_ns, linktype, data, orig_len)
                if datagram is None:
                    continue
                if batch is None:
                    yield datagram
                else:
                    batch, ready = hand_on(batch, datagram, batch_packets)
                    yield from ready
            if batch is not None and batch.count:
                yield batch.seal()
        finally:
            self._finish()

    # -- the fast scans' sink (fastpath.FastPathSink) ---------------------------------------------

    def fast_frames(
        self, frame: int, count: int, first_time_ns: int, last_time_ns: int, link_name: str
    ) -> None:
        """Book ``count`` ESP frames the fast scan batched, the last of them ``frame``."""
        stats = self.stats
        if stats.first_time is None:
            stats.first_time = first_time_ns / 1e9
        stats.packets += count
        stats.esp += count
        stats.link_types[link_name] += count
        stats.last_time = last_time_ns / 1e9
        self._frames = frame

    def expire_fragments(self, frame: int, time_ns: int) -> None:
        """Drop the fragment sets that timed out by frame ``frame``, read at ``time_ns``."""
        self._frames = frame
        self.expire_at(time_ns)

    def other_frame(
        self, frame: int, time_ns: int, linktype: int, data: bytes, orig_len: int
    ) -> Datagram | None:
        """Book a frame the fast scan did not batch and take it through the general path."""
        self._frames = frame
        stats = self.stats
        stats.packets += 1
        time = time_ns / 1e9
        if stats.first_time is None:
            stats.first_time = time
        stats.last_time = time
        return self._general_frame(frame, time_ns, linktype, data, orig_len)

    def ike_frame(
        self, frame: int, time_ns: int, buf: bytes, ip: int, start: int, end: int, link_name: str
    ) -> Datagram:
        """Book an IKE frame the fast scan recognised (``fastpath.udp_fast``) and make its
        ``Datagram``, as ``_general_frame`` would have."""
        self._frames = frame
        stats = self.stats
        stats.packets += 1
        stats.ike += 1
        stats.link_types[link_name] += 1
        time = time_ns / 1e9
        if stats.first_time is None:
            stats.first_time = time
        stats.last_time = time
        ports = buf[ip + 12 : ip + 24]  # addresses and ports: the flow, text addresses made once
        flow = self._flows.get(ports)
        if flow is None:
            flow = self._flow(ports)
        # Datagram(frame, time, IKE, *flow, payload, 4, ip_header, udp_encapsulated, False, (frame,),
        # time_ns), its fields stored (``_IKE_FRAME_FIELDS``; at most three names to a line but for
        # the flow's four, unpacked from its tuple)
        datagram = _new(Datagram)
        datagram.frame, datagram.time, datagram.kind = frame, time, IKE
        datagram.src, datagram.dst, datagram.sport, datagram.dport = flow
        datagram.payload, datagram.ip_version, datagram.ip_header = buf[start:end], 4, buf[ip : ip + 20]
        datagram.udp_encapsulated = start - ip == 32  # behind the non-ESP marker
        datagram.nat_keepalive, datagram.frames, datagram.time_ns = False, (frame,), time_ns
        return datagram

    def _flow(self, ports: bytes) -> tuple[str, str, int, int]:
        src, dst, sport, dport = _unpack_flow(ports)
        flow = (self._address(src), self._address(dst), sport, dport)
        if len(self._flows) < MAX_CACHED_ADDRESSES:
            self._flows[ports] = flow
        return flow

    def _general_frame(
        self, frame: int, time_ns: int, linktype: int, data: bytes, orig_len: int
    ) -> Datagram | None:
        """One frame through link layer, IP (with reassembly) and classification; the IKE, ESP or
        AH datagram it completes, or None (counted as other, malformed, or held as a fragment)."""
        stats = self.stats
        link = LINK_TYPES.get(linktype)
        if link is None:
            self._unknown_link(frame, linktype)
            return None
        stats.link_types[link[0]] += 1
        try:
            version, offset = link[1](data)
            if version == NOT_IP:
                stats.other += 1
                return None
            src, dst, proto, header_start, payload_start, payload_end, missing, fragment = IP_PARSERS[
                version
            ](data, offset)
            if missing and orig_len <= len(data):
                captured = payload_end - header_start
                raise Malformed(
                    "IP total length beyond the frame",
                    f"{captured + missing} bytes claimed, {captured} present",
                )
            if fragment is not None:
                return self._fragment(
                    frame,
                    time_ns,
                    version,
                    data,
                    (src, dst, proto, header_start, payload_start, payload_end, missing, fragment),
                )
            handler = self._classifier.by_proto.get(proto)
            if handler is None:
                stats.other += 1
                if proto in (PROTO_ICMP, PROTO_ICMPV6):
                    self._icmp(frame, time_ns, version, src, data[payload_start:payload_end])
                return None
            kind, sport, dport, payload, encapsulated, keepalive = handler(
                data, payload_start, payload_end, missing
            )
        except Malformed as problem:
            self._malformed((frame,), problem)
            return None
        if kind is Kind.ESP:
            stats.esp += 1
        elif kind is Kind.OTHER:
            stats.other += 1
            return None
        elif kind is Kind.IKE:
            stats.ike += 1
            if keepalive:
                stats.nat_keepalives += 1
        else:
            stats.ah += 1
        # Positional, in the field order of Datagram.
        return Datagram(
            frame,
            time_ns / 1e9,
            kind,
            self._address(src),
            self._address(dst),
            sport,
            dport,
            payload,
            version,
            data[header_start:payload_start],
            encapsulated,
            keepalive,
            (frame,),
            time_ns,
        )

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.flush_fragments()
        if self.stats.truncated is None:
            self.stats.truncated = self._records.truncated
        if self._owned_stream is not None:
            self._owned_stream.close()
            self._owned_stream = None

    # -- fragments --------------------------------------------------------------------------------

    def _fragment(self, frame: int, time_ns: int, version: int, data: bytes, info: tuple) -> Datagram | None:
        src, dst, proto, header_start, payload_start, payload_end, missing, fragment = info
        ident, offset, more, fragment_header_start, next_header_pos = fragment
        self.stats.ip_fragments += 1
        if not self._classifier.wants(proto) and not (version == 6 and proto in IPV6_WALKED_HEADERS):
            self.stats.other += 1  # ICMP, TCP, ...: no need to hold the pieces to know the bucket
            return None
        if missing:
            captured = payload_end - payload_start
            raise Malformed(
                "truncated by snaplen", f"IP fragment, {captured} of {captured + missing} bytes captured"
            )
        first: bytes | tuple[bytes, int]
        if version == 4:
            first = data[header_start:payload_start]
        else:
            first = (data[header_start:fragment_header_start], next_header_pos - header_start)
        return self._pass_fragment(
            DeferredFragment(
                frame,
                time_ns,
                version,
                src,
                dst,
                proto,
                ident,
                offset,
                more,
                data[payload_start:payload_end],
                first,
            )
        )

    def _pass_fragment(self, fragment: DeferredFragment) -> Datagram | None:
        """Where a checked fragment goes: the reassembler (a chunk's scan hands it on instead)."""
        return self.reassemble(fragment)

    # -- accounting helpers -----------------------------------------------------------------------

    def _unknown_link(self, frame: int, linktype: int) -> None:
        reason = BROKEN_RECORD_REASONS.get(linktype)
        if reason is not None:
            self._malformed((frame,), Malformed(reason))
            return
        self.stats.link_types[unknown_link_type_name(linktype)] += 1
        self.stats.other += 1


def open_capture(path: str | os.PathLike[str], **kwargs: object) -> CaptureReader:
    """Open a capture file (gzip-compressed or not) for reading; ``kwargs`` go to ``CaptureReader``.

    Raises ``CaptureError`` with a one-line message when the file cannot be opened or is no capture.
    """
    name = os.fsdecode(path)
    if os.path.isdir(name):
        raise CaptureError(f"{name}: is a directory, not a capture file")
    try:
        stream = open(name, "rb")  # noqa: SIM115 - owned by the reader, closed when iteration ends
    except FileNotFoundError:
        raise CaptureError(f"{name}: no such file") from None
    except PermissionError:
        raise CaptureError(f"{name}: permission denied") from None
    except OSError as exc:
        raise CaptureError(f"{name}: cannot open ({exc.strerror or exc})") from None
    try:
        reader = CaptureReader(stream, name, **kwargs)  # type: ignore[arg-type]
    except BaseException:
        stream.close()
        raise
    reader._owned_stream = stream
    return reader
