"""pcapng files: several sections, byte orders, interfaces, link types and timestamp resolutions.

Blocks (draft-ietf-opsawg-pcapng): every block is ``type, total length, body, total length``.
Read here: Section Header (SHB), Interface Description (IDB, with ``if_tsresol`` and ``if_tsoffset``),
Enhanced Packet (EPB), Simple Packet (SPB) and the obsolete Packet Block (PB). Every other block
type is skipped by its length. A new SHB starts a new section with its own byte order and its
own interface list.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Mapping, Sized
from dataclasses import dataclass
from typing import cast

from .batch import META_FIELDS, EspBatch, hand_on
from .datagram import Datagram
from .errors import CaptureError
from .fastpath import FastLink, FastPathSink, ipv4_test, udp_fast
from .records import MAX_RECORD_BYTES, SHORT_PACKET_BLOCK, UNDEFINED_INTERFACE, Record, RecordIterator
from .source import ByteSource

SHB_TYPE = 0x0A0D0D0A
IDB_TYPE = 0x00000001
PB_TYPE = 0x00000002  # obsolete Packet Block
SPB_TYPE = 0x00000003
EPB_TYPE = 0x00000006

BLOCK_NAMES = {
    SHB_TYPE: "section header",
    IDB_TYPE: "interface description",
    PB_TYPE: "packet",
    SPB_TYPE: "simple packet",
    EPB_TYPE: "enhanced packet",
}

BYTE_ORDER_MAGICS = {b"\x1a\x2b\x3c\x4d": ">", b"\x4d\x3c\x2b\x1a": "<"}
SHB_MIN_LEN = 28  # type, length, byte-order magic, version, section length, trailing length
BLOCK_HEADER_LEN = 8

OPT_ENDOFOPT = 0
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14
DEFAULT_TSRESOL = 6  # microseconds when the IDB has no if_tsresol option

# EPB and PB share their layout after the interface field: ts_high, ts_low, caplen, original length.
PACKET_FIELDS_LEN = 16
NS_PER_SECOND = 1_000_000_000
EPB_DATA_OFFSET = BLOCK_HEADER_LEN + 4 + PACKET_FIELDS_LEN
EPB_MIN_LEN = EPB_DATA_OFFSET + 4  # no packet data, trailing length

_STOP = object()  # _next_block: the file ended or is corrupt from here on


@dataclass(slots=True, frozen=True)
class Interface:
    linktype: int
    snaplen: int
    ts_mul: int  # time_ns = (timestamp * ts_mul) // ts_div + offset_ns
    ts_div: int
    offset_ns: int


def timestamp_scale(tsresol: int) -> tuple[int, int]:
    """(multiplier, divisor) turning an ``if_tsresol`` timestamp into nanoseconds, exactly.

    The most significant bit selects a power of two, otherwise a power of ten (pcapng 4.2).
    """
    exponent = tsresol & 0x7F
    units_per_second = (2 if tsresol & 0x80 else 10) ** exponent
    common = math.gcd(NS_PER_SECOND, units_per_second)
    return NS_PER_SECOND // common, units_per_second // common


FastInterface = tuple[int, str, int, int, int, int, int, int, int, int]


def _fast_interface(interface: Interface, links: Mapping[int, FastLink]) -> FastInterface:
    """What ``PcapngReader.esp_batches`` needs of an interface: link type, its name, the minimum
    captured length for the fast path (none: beyond any), ``fastpath.ipv4_test``'s four values (from the
    block's start), and the timestamp's scale."""
    link = links.get(interface.linktype)
    scale = interface.ts_mul, interface.ts_div, interface.offset_ns
    if link is None:
        return (interface.linktype, "", 1 << 62, EPB_DATA_OFFSET, 0, 1, -1, *scale)
    ip_at, mask, word, ether_at = ipv4_test(link, EPB_DATA_OFFSET)
    return (interface.linktype, link[2], link[0] + 28, ip_at, mask, word, ether_at, *scale)


class PcapngReader:
    """Streams the packets of a pcapng file; ``truncated`` is set when the file ends mid-block."""

    format_name = "pcapng"

    def __init__(self, source: ByteSource, name: str) -> None:
        self._source = source
        self.records_read = 0
        self.sections = 0
        self.truncated: str | None = None
        self.interfaces: list[Interface] = []
        self._last_time_ns = 0
        if not source.ensure(12):
            raise CaptureError(f"{name}: truncated pcapng section header ({source.available()} bytes)")
        order = BYTE_ORDER_MAGICS.get(bytes(source.buf[source.pos + 8 : source.pos + 12]))
        if order is None:
            raise CaptureError(f"{name}: pcapng section header with an unknown byte-order magic")
        block_len = struct.unpack_from(order + "I", source.buf, source.pos + 4)[0]
        if block_len < SHB_MIN_LEN or block_len % 4 or block_len > MAX_RECORD_BYTES:
            raise CaptureError(f"{name}: pcapng section header with a bad length ({block_len})")
        if not source.ensure(block_len):
            raise CaptureError(
                f"{name}: truncated pcapng section header ({source.available()} of {block_len} bytes)"
            )
        problem = self._start_section(order, block_len)
        if problem:
            raise CaptureError(f"{name}: {problem}")
        source.pos += block_len

    def _start_section(self, order: str, block_len: int) -> str | None:
        buf, pos = self._source.buf, self._source.pos
        major, minor = struct.unpack_from(order + "HH", buf, pos + 12)
        if major != 1:
            return f"unsupported pcapng version {major}.{minor}"
        if struct.unpack_from(order + "I", buf, pos + block_len - 4)[0] != block_len:
            return "corrupt pcapng section header (trailing length differs)"
        self._order = order
        self._block_header = struct.Struct(order + "II").unpack_from
        # EPB after the block header: interface id, timestamp high and low, captured and original length
        self._epb_fields = struct.Struct(order + "IIIII").unpack_from
        self._u32 = struct.Struct(order + "I").unpack_from
        self.interfaces = []
        self.sections += 1
        return None

    def _add_interface(self, buf: bytes, pos: int, block_len: int) -> None:
        order = self._order
        linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
        tsresol, offset_seconds = DEFAULT_TSRESOL, 0
        option = pos + 16
        options_end = pos + block_len - 4
        while option + 4 <= options_end:
            code, length = struct.unpack_from(order + "HH", buf, option)
            value = option + 4
            if code == OPT_ENDOFOPT or value + length > options_end:
                break
            if code == OPT_IF_TSRESOL and length >= 1:
                tsresol = buf[value]
            elif code == OPT_IF_TSOFFSET and length >= 8:
                offset_seconds = struct.unpack_from(order + "q", buf, value)[0]
            option = value + ((length + 3) & ~3)
        ts_mul, ts_div = timestamp_scale(tsresol)
        self.interfaces.append(Interface(linktype, snaplen, ts_mul, ts_div, offset_seconds * NS_PER_SECOND))

    def read_prefix(self) -> None:
        """Read the blocks left in the source's buffer: a chunk's prefix (capture/chunks.py), the
        interface descriptions of its section. They define interfaces; no record comes of them."""
        while self._source.available():
            self._next_block()

    def __iter__(self) -> RecordIterator:
        source = self._source
        while True:
            # Fast path: Enhanced Packet Blocks that are complete in the buffer, on defined interfaces.
            # Anything else (other blocks, a block crossing the buffer end, oddities) takes the general
            # path below, one block at a time.
            buf, pos = source.buf, source.pos
            end = len(buf)
            block_header, epb_fields, u32 = self._block_header, self._epb_fields, self._u32
            interfaces = self.interfaces
            while pos + BLOCK_HEADER_LEN <= end:
                block_type, block_len = block_header(buf, pos)
                if (
                    block_type != EPB_TYPE
                    or block_len < EPB_MIN_LEN
                    or block_len & 3
                    or pos + block_len > end
                    or u32(buf, pos + block_len - 4)[0] != block_len
                ):
                    break
                interface_id, ts_high, ts_low, caplen, orig_len = epb_fields(buf, pos + BLOCK_HEADER_LEN)
                if interface_id >= len(interfaces) or EPB_MIN_LEN + caplen > block_len:
                    break
                interface = interfaces[interface_id]
                time_ns = (
                    (ts_high << 32 | ts_low) * interface.ts_mul
                ) // interface.ts_div + interface.offset_ns
                self._last_time_ns = time_ns
                self.records_read += 1
                data = buf[pos + EPB_DATA_OFFSET : pos + EPB_DATA_OFFSET + caplen]
                pos += block_len
                yield interface.linktype, time_ns, data, orig_len
            source.pos = pos
            outcome = self._next_block()
            if outcome is _STOP:
                return
            if outcome is not None:
                self.records_read += 1
                yield outcome  # type: ignore[misc]

    def esp_batches(  # noqa: C901, PLR0912, PLR0915 - one loop, kept flat for speed (docs/architecture.md)
        self,
        links: Mapping[int, FastLink],
        nat_t: bool,
        ike_500: bool,
        batch_packets: int,
        pending_fragments: Sized,
        sink: FastPathSink,
    ) -> Iterator[Datagram | EspBatch]:
        """``PcapReader.esp_batches`` over pcapng: plain ESP over IPv4 in Enhanced Packet Blocks
        complete in the buffer, on interfaces whose link type is in ``links``
        (``linklayer.FAST_LINKS``), is batched right in the file buffer, and the commonest IKE packet
        goes to ``sink.ike_frame``, as there; every other packet of an EPB is sliced out for
        ``sink.other_frame``, and every other block (another block type, one
        crossing the buffer's end, an EPB of an undefined interface, anything odd) is read by the
        general path (``_next_block``) exactly as when iterating."""
        source = self._source
        unpack_ip = struct.Struct("!IHxxHxB").unpack_from  # as in PcapReader.esp_batches
        fast_frames_done = sink.fast_frames
        other_frame = sink.other_frame
        ike_frame = sink.ike_frame
        frame = self.records_read
        batch = EspBatch()
        meta = batch.meta
        meta_limit = batch_packets * META_FIELDS
        section: list[Interface] | None = None  # the interface list the parameters below are for
        defined = 0
        while True:
            buf, pos = source.buf, source.pos
            end = len(buf)
            if self.interfaces is not section or len(self.interfaces) != defined:
                section, defined = self.interfaces, len(self.interfaces)
                # EPB: type, total length, interface, timestamp high and low, captured length
                unpack_epb = struct.Struct(self._order + "IIIIII").unpack_from
                u32 = self._u32
                per_interface = [_fast_interface(interface, links) for interface in section]
            current = -1  # the interface whose parameters are loaded below
            high = -1  # the timestamp's high word whose part of the time ``high_ns`` is
            time_ns = self._last_time_ns
            span_start = -1  # as in PcapReader.esp_batches
            shift = run_first_frame = run_full_frame = run_first_ns = 0
            run_link = ""
            record: Record | None = None  # an EPB's packet for the general path
            while True:  # as in PcapReader.esp_batches
                if pos + EPB_MIN_LEN > end:
                    break
                block_type, block_len, interface_id, ts_high, ts_low, caplen = unpack_epb(buf, pos)
                if (
                    block_type != EPB_TYPE
                    or EPB_MIN_LEN + caplen > block_len
                    or block_len & 3
                    or pos + block_len > end
                    or u32(buf, pos + block_len - 4)[0] != block_len
                ):
                    break
                if interface_id != current:
                    if interface_id >= defined:
                        break
                    (linktype, link_name, min_caplen, ip_at, ipv4_mask, ipv4_word, ether_at,
                     ts_mul, ts_div, offset_ns) = per_interface[interface_id]  # fmt: skip
                    if span_start >= 0 and link_name != run_link:
                        batch.add_span(buf[span_start:pos])
                        span_start = -1
                        fast_frames_done(frame, frame - run_first_frame + 1, run_first_ns, meta[-5], run_link)
                    current, high = interface_id, -1
                frame += 1
                if ts_div == 1:  # the high word's part of the time only when it changes
                    if ts_high != high:
                        high = ts_high
                        high_ns = (ts_high << 32) * ts_mul + offset_ns
                    time_ns = high_ns + ts_low * ts_mul
                else:
                    time_ns = ((ts_high << 32 | ts_low) * ts_mul) // ts_div + offset_ns
                if pending_fragments:
                    sink.expire_fragments(frame, time_ns)
                data_end = pos + EPB_DATA_OFFSET + caplen
                ip = pos + ip_at
                esp_start = protocol = 0
                if caplen >= min_caplen:  # never on an interface without a fast path
                    word, ip_length, fragment, protocol = unpack_ip(buf, ip - 2)
                    if not (  # the fast paths' IPv4 (jumps kept short: their tests stay specialised)
                        word & ipv4_mask == ipv4_word
                        and not fragment & 0x3FFF
                        and 28 <= ip_length <= data_end - ip
                        and (ether_at < 0 or (buf[pos + ether_at] == 8 and buf[pos + ether_at + 1] == 0))
                    ):
                        protocol = 0  # the general path reads it
                if protocol == 50:
                    # plain_esp's commonest case inlined (IP protocol 50: ESP right after IPv4)
                    if span_start < 0:
                        span_start = pos
                        shift = batch.size - pos
                        run_first_frame = frame
                        run_full_frame = frame + (meta_limit - len(meta)) // META_FIELDS - 1
                        run_first_ns = time_ns
                        run_link = link_name
                    ip += shift
                    esp_start = ip + 20
                    meta += (frame, time_ns, ip, esp_start, esp_start, ip + ip_length)
                    pos += block_len
                    if frame == run_full_frame:
                        batch.add_span(buf[span_start:pos])
                        span_start = -1
                        fast_frames_done(frame, frame - run_first_frame + 1, run_first_ns, time_ns, link_name)
                        yield batch.seal()
                        batch = EspBatch()
                        meta = batch.meta
                    continue
                if protocol == 17:
                    esp_start, ike_start, ike_end = udp_fast(buf, ip, ip_length, nat_t, ike_500)
                    if ike_start:  # as in PcapReader.esp_batches
                        if span_start >= 0:
                            batch.add_span(buf[span_start:pos])
                            span_start = -1
                            fast_frames_done(
                                frame - 1, frame - run_first_frame, run_first_ns, meta[-5], run_link
                            )
                        self.records_read = frame
                        ike = ike_frame(frame, time_ns, buf, ip, ike_start, ike_end, link_name)
                        pos += block_len
                        if meta:  # the batch so far goes first
                            yield batch.seal()
                            batch = EspBatch()
                            meta = batch.meta
                        yield ike
                        continue
                    ip_end = ip + ip_length
                if esp_start:  # plain ESP of another kind (NAT-T)
                    if span_start < 0:
                        span_start = pos
                        shift = batch.size - pos
                        run_first_frame = frame
                        run_full_frame = frame + (meta_limit - len(meta)) // META_FIELDS - 1
                        run_first_ns = time_ns
                        run_link = link_name
                    ip += shift
                    meta += (frame, time_ns, ip, ip + 20, esp_start + shift, ip_end + shift)
                    pos += block_len
                    if frame == run_full_frame:
                        batch.add_span(buf[span_start:pos])
                        span_start = -1
                        fast_frames_done(frame, frame - run_first_frame + 1, run_first_ns, time_ns, link_name)
                        yield batch.seal()
                        batch = EspBatch()
                        meta = batch.meta
                    continue
                record = linktype, time_ns, buf[pos + EPB_DATA_OFFSET : data_end], u32(buf, pos + 24)[0]
                pos += block_len
                frame -= 1  # counted again below, with the general path's blocks
                break
            if span_start >= 0:
                batch.add_span(buf[span_start:pos])
                fast_frames_done(frame, frame - run_first_frame + 1, run_first_ns, meta[-5], run_link)
            source.pos = pos
            self.records_read = frame
            self._last_time_ns = time_ns
            if record is None:
                outcome = self._next_block()
                if outcome is _STOP:
                    break
                if outcome is None:
                    continue
                record = cast(Record, outcome)
                frame += 1
                if pending_fragments:
                    sink.expire_fragments(frame, record[1])
            else:
                frame += 1
            self.records_read = frame
            record_link, record_ns, data, record_orig_len = record
            datagram = other_frame(frame, record_ns, record_link, data, record_orig_len)
            if datagram is not None:
                batch, ready = hand_on(batch, datagram, batch_packets)
                if ready:
                    meta = batch.meta
                    yield from ready
        if batch.count:
            yield batch.seal()

    def _next_block(self) -> Record | None | object:
        """Process the block at the current position: a packet record, None, or ``_STOP`` at the end."""
        source = self._source
        if not source.ensure(BLOCK_HEADER_LEN):
            self._at_end(None, 0)
            return _STOP
        buf, pos = source.buf, source.pos
        block_type, block_len = self._block_header(buf, pos)
        order = self._order
        if block_type == SHB_TYPE:
            if not source.ensure(12):
                self._at_end(block_type, 12)
                return _STOP
            buf = source.buf
            section_order = BYTE_ORDER_MAGICS.get(bytes(buf[pos + 8 : pos + 12]))
            if section_order is None:
                self._corrupt("pcapng section header with an unknown byte-order magic")
                return _STOP
            order = section_order
            block_len = struct.unpack_from(order + "I", buf, pos + 4)[0]
        if block_len < 12 or block_len % 4 or block_len > MAX_RECORD_BYTES:
            self._corrupt(f"pcapng block of type 0x{block_type:08x} with a bad length ({block_len})")
            return _STOP
        if block_type not in BLOCK_NAMES:
            if source.skip(block_len) < block_len:
                self._at_end(block_type, block_len, already_skipped=True)
                return _STOP
            return None
        if not source.ensure(block_len):
            self._at_end(block_type, block_len)
            return _STOP
        buf, pos = source.buf, source.pos
        record = None
        if block_type == SHB_TYPE:
            problem = (
                f"pcapng section header with a bad length ({block_len})" if block_len < SHB_MIN_LEN else None
            )
            problem = problem or self._start_section(order, block_len)
            if problem:
                self._corrupt(problem)
                return _STOP
        elif self._u32(buf, pos + block_len - 4)[0] != block_len:
            self._corrupt(f"corrupt pcapng {BLOCK_NAMES[block_type]} block (trailing length differs)")
            return _STOP
        elif block_type == IDB_TYPE:
            if block_len >= 20:
                self._add_interface(buf, pos, block_len)
        else:
            record = self._packet(block_type, buf, pos, block_len)
        source.pos = pos + block_len
        return record

    def _packet(self, block_type: int, buf: bytes, pos: int, block_len: int) -> Record | None:
        order = self._order
        if block_type == SPB_TYPE:
            if block_len < 16:
                return None
            orig_len = struct.unpack_from(order + "I", buf, pos + 8)[0]
            if not self.interfaces:
                return UNDEFINED_INTERFACE, self._last_time_ns, b"", orig_len
            interface = self.interfaces[0]
            caplen = min(orig_len, block_len - 16)
            if interface.snaplen:
                caplen = min(caplen, interface.snaplen)
            # An SPB has no timestamp; it inherits the previous packet's time (pcapng 4.4).
            return interface.linktype, self._last_time_ns, buf[pos + 12 : pos + 12 + caplen], orig_len
        if block_len < EPB_MIN_LEN:
            return None
        if block_type == EPB_TYPE:
            interface_id = struct.unpack_from(order + "I", buf, pos + 8)[0]
        else:  # obsolete Packet Block: 16-bit interface id, 16-bit drops count
            interface_id = struct.unpack_from(order + "H", buf, pos + 8)[0]
        ts_high, ts_low, caplen, orig_len = struct.unpack_from(order + "IIII", buf, pos + 12)
        if interface_id >= len(self.interfaces):
            return UNDEFINED_INTERFACE, self._last_time_ns, b"", orig_len
        interface = self.interfaces[interface_id]
        time_ns = ((ts_high << 32 | ts_low) * interface.ts_mul) // interface.ts_div + interface.offset_ns
        self._last_time_ns = time_ns
        data_start = pos + EPB_DATA_OFFSET
        if data_start + caplen > pos + block_len - 4:
            return SHORT_PACKET_BLOCK, time_ns, b"", orig_len
        return interface.linktype, time_ns, buf[data_start : data_start + caplen], orig_len

    def _at_end(self, block_type: int | None, block_len: int, already_skipped: bool = False) -> None:
        source = self._source
        have = 0 if already_skipped else source.available()
        if block_type is None and have == 0:
            if source.error:
                self.truncated = f"{source.error} at byte offset {source.offset()}"
            return
        where = f"byte offset {source.offset()}"
        if block_type in (EPB_TYPE, PB_TYPE, SPB_TYPE):
            what = f"record {self.records_read + 1} at {where}"
        elif block_type is None:
            what = f"a block header at {where}"
        else:
            what = f"a pcapng {BLOCK_NAMES.get(block_type, 'unknown')} block at {where}"
        if already_skipped:
            message = f"file ends inside {what}: block header says {block_len} bytes"
        elif block_type is None:
            message = f"file ends inside {what}: {have} of {BLOCK_HEADER_LEN} block header bytes present"
        else:
            message = f"file ends inside {what}: block header says {block_len} bytes, {have} present"
        if source.error:
            message += f" ({source.error})"
        self.truncated = message

    def _corrupt(self, problem: str) -> None:
        source = self._source
        message = f"{problem} at byte offset {source.offset()} (after record {self.records_read})"
        if source.error:
            message += f" ({source.error})"
        self.truncated = message
