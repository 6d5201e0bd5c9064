"""Classic libpcap files: both byte orders, microsecond and nanosecond timestamps.

Layout (pcap file format, draft-ietf-opsawg-pcap): a 24-byte file header (magic, version, zone,
sigfigs, snaplen, link type), then records of a 16-byte header (seconds, fraction, captured
length, original length) followed by the captured bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sized

from .batch import META_FIELDS, EspBatch, hand_on
from .datagram import Datagram
from .errors import CaptureError
from .fastpath import FastLink, FastPathSink, ipv4_test, udp_fast
from .records import MAX_RECORD_BYTES, RecordIterator
from .source import ByteSource

FILE_HEADER_LEN = 24
RECORD_HEADER_LEN = 16

# magic as it appears on disk -> (struct byte order, nanoseconds per timestamp fraction unit)
PCAP_MAGICS: dict[bytes, tuple[str, int]] = {
    b"\xa1\xb2\xc3\xd4": (">", 1000),  # microsecond resolution, big-endian writer
    b"\xd4\xc3\xb2\xa1": ("<", 1000),  # microsecond resolution, little-endian writer
    b"\xa1\xb2\x3c\x4d": (">", 1),  # nanosecond resolution, big-endian writer
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanosecond resolution, little-endian writer
}

LINKTYPE_MASK = 0xFFFF  # the upper bits of the header's link type field carry FCS information


class PcapReader:
    """Streams the records of a pcap file; ``truncated`` is set when the file ends mid-record."""

    format_name = "pcap"

    def __init__(self, source: ByteSource, name: str) -> None:
        self._source = source
        if not source.ensure(FILE_HEADER_LEN):
            have = source.available()
            raise CaptureError(f"{name}: truncated pcap file header ({have} of {FILE_HEADER_LEN} bytes)")
        buf, pos = source.buf, source.pos
        self._order, self._fraction_ns = PCAP_MAGICS[bytes(buf[pos : pos + 4])]
        (self.version_major, self.version_minor, _zone, _sigfigs, self.snaplen, network) = struct.unpack_from(
            self._order + "HHiIII", buf, pos + 4
        )
        self.linktype = network & LINKTYPE_MASK
        self.nanosecond = self._fraction_ns == 1
        source.pos += FILE_HEADER_LEN
        self.records_read = 0
        self.truncated: str | None = None

    def __iter__(self) -> RecordIterator:
        source = self._source
        unpack_record_header = struct.Struct(self._order + "IIII").unpack_from
        fraction_ns = self._fraction_ns
        linktype = self.linktype
        while True:
            buf, pos = source.buf, source.pos
            end = len(buf)
            while pos + RECORD_HEADER_LEN <= end:
                seconds, fraction, caplen, orig_len = unpack_record_header(buf, pos)
                if caplen > MAX_RECORD_BYTES:
                    source.pos = pos
                    self._corrupt(caplen)
                    return
                data_end = pos + RECORD_HEADER_LEN + caplen
                if data_end > end:
                    break
                data = buf[pos + RECORD_HEADER_LEN : data_end]
                pos = data_end
                self.records_read += 1
                yield linktype, seconds * 1_000_000_000 + fraction * fraction_ns, data, orig_len
            source.pos = pos
            if not source.fill():
                self._at_end()
                return

    def esp_batches(  # noqa: C901 - one loop, kept flat for speed (docs/architecture.md)
        self,
        link: FastLink,
        nat_t: bool,
        ike_500: bool,
        batch_packets: int,
        pending_fragments: Sized,
        sink: FastPathSink,
    ) -> Iterator[Datagram | EspBatch]:
        """The records as ``CaptureReader.items`` hands them on: plain ESP over IPv4 (``plain_esp``;
        ``link`` from ``linklayer.FAST_LINKS`` for this file's link type) is recognised right in
        the file buffer and goes into ``EspBatch``es of at most ``batch_packets`` packets as
        offsets (no per-frame tuple, slice or object), and is booked with ``sink.fast_frames``;
        the commonest IKE frame (``fastpath.udp_fast``: UDP 500 when ``ike_500``, 4500 behind the
        non-ESP marker when ``nat_t``) is booked and made a ``Datagram`` by ``sink.ike_frame``
        straight from the buffer, and ends the batch; every other frame is sliced out and goes to
        ``sink.other_frame``, whose ESP datagrams join the batch and whose other datagrams end it.
        ``sink.expire_fragments`` is told of every frame read while ``pending_fragments`` is not
        empty."""
        source = self._source
        unpack_header = struct.Struct(self._order + "III").unpack_from  # the original length: below
        unpack_orig_len = struct.Struct(self._order + "I").unpack_from
        fraction_ns = self._fraction_ns
        linktype = self.linktype
        fast_frames_done = sink.fast_frames
        other_frame = sink.other_frame
        ike_frame = sink.ike_frame
        ip_offset, _type_offset, link_name = link  # the EtherType: tested with the IPv4 header
        min_caplen = ip_offset + 28  # IPv4 header + ESP's SPI and sequence number at least
        # One unpack per frame reads what the fast path tests (in network byte order, from two
        # bytes before the IPv4 header): those two bytes with version/IHL and TOS as one word
        # (fastpath.ipv4_test), total length, flags/fragment offset, protocol.
        unpack_ip = struct.Struct("!IHxxHxB").unpack_from
        ip_at, ipv4_mask, ipv4_word, ether_at = ipv4_test(link, RECORD_HEADER_LEN)
        frame = self.records_read
        second = second_ns = 0  # the last record's seconds, and them in nanoseconds
        batch = EspBatch()
        meta = batch.meta
        meta_limit = batch_packets * META_FIELDS
        while True:
            buf, pos = source.buf, source.pos
            end = len(buf)
            span_start = -1  # buffer position where the batch's current run of fast frames begins
            shift = 0  # from a buffer position to a batch position, in the current run
            run_first_frame = run_full_frame = run_first_ns = 0  # the run's first frame, the
            # frame that fills the batch if the run lasts, the capture time of the first frame
            while True:  # (a test in the loop, not its head: a short jump, a specialised compare)
                if pos + RECORD_HEADER_LEN > end:
                    break
                seconds, fraction, caplen = unpack_header(buf, pos)
                data_end = pos + RECORD_HEADER_LEN + caplen
                if data_end > end or caplen > MAX_RECORD_BYTES:
                    break  # the buffer is refilled below, or the record is corrupt: stopped below
                frame += 1
                if seconds != second:  # a new second: the multiplication only then
                    second = seconds
                    second_ns = seconds * 1_000_000_000
                time_ns = second_ns + fraction * fraction_ns
                if pending_fragments:
                    sink.expire_fragments(frame, time_ns)
                ip = pos + ip_at
                esp_start = protocol = 0
                if caplen >= min_caplen:
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
                    ip += shift
                    esp_start = ip + 20
                    meta += (frame, time_ns, ip, esp_start, esp_start, ip + ip_length)
                    pos = data_end
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
                    if ike_start:  # IKE on UDP 500, or on 4500 behind the non-ESP marker
                        if span_start >= 0:
                            batch.add_span(buf[span_start:pos])
                            span_start = -1
                            fast_frames_done(
                                frame - 1, frame - run_first_frame, run_first_ns, meta[-5], link_name
                            )
                        self.records_read = frame
                        ike = ike_frame(frame, time_ns, buf, ip, ike_start, ike_end, link_name)
                        pos = data_end
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
                    ip += shift
                    meta += (frame, time_ns, ip, ip + 20, esp_start + shift, ip_end + shift)
                    pos = data_end
                    if frame == run_full_frame:
                        batch.add_span(buf[span_start:pos])
                        span_start = -1
                        fast_frames_done(frame, frame - run_first_frame + 1, run_first_ns, time_ns, link_name)
                        yield batch.seal()
                        batch = EspBatch()
                        meta = batch.meta
                    continue
                # any other frame: the reader's general path, as when iterating
                if span_start >= 0:
                    batch.add_span(buf[span_start:pos])
                    span_start = -1
                    fast_frames_done(frame - 1, frame - run_first_frame, run_first_ns, meta[-5], link_name)
                self.records_read = frame
                datagram = other_frame(
                    frame,
                    time_ns,
                    linktype,
                    buf[pos + RECORD_HEADER_LEN : data_end],
                    unpack_orig_len(buf, pos + 12)[0],
                )
                pos = data_end
                if datagram is not None:
                    batch, ready = hand_on(batch, datagram, batch_packets)
                    if ready:
                        meta = batch.meta
                        yield from ready
            if span_start >= 0:
                batch.add_span(buf[span_start:pos])
                fast_frames_done(frame, frame - run_first_frame + 1, run_first_ns, meta[-5], link_name)
            source.pos = pos
            self.records_read = frame
            if pos + RECORD_HEADER_LEN <= end:
                caplen = unpack_header(buf, pos)[2]
                if caplen > MAX_RECORD_BYTES:
                    self._corrupt(caplen)
                    break
            if not source.fill():
                self._at_end()
                break
        if batch.count:
            yield batch.seal()

    def _corrupt(self, caplen: int) -> None:
        self._stop(
            f"corrupt record {self.records_read + 1} at byte offset {self._source.offset()}: "
            f"captured length {caplen} exceeds {MAX_RECORD_BYTES}"
        )

    def _at_end(self) -> None:
        source = self._source
        have = source.available()
        where = f"record {self.records_read + 1} at byte offset {source.offset()}"
        if have == 0:
            if source.error:
                self.truncated = f"{source.error} before {where}"
            return
        if have < RECORD_HEADER_LEN:
            message = f"file ends inside {where}: {have} of {RECORD_HEADER_LEN} record header bytes present"
        else:
            caplen = struct.unpack_from(self._order + "I", source.buf, source.pos + 8)[0]
            message = (
                f"file ends inside {where}: header says {caplen} bytes, {have - RECORD_HEADER_LEN} present"
            )
        self._stop(message)

    def _stop(self, message: str) -> None:
        if self._source.error:
            message += f" ({self._source.error})"
        self.truncated = message
