"""Classic libpcap files: both byte orders, microsecond and nanosecond timestamps.

Layout (pcap file format, draft-ietf-opsawg-pcap): a 24-byte file header (magic, version, zone,
sigfigs, snaplen, link type), then records of a 16-byte header (seconds, fraction, captured
length, original length) followed by the captured bytes.
"""

from __future__ import annotations

import struct

from .errors import CaptureError
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
                    self._stop(
                        f"corrupt record {self.records_read + 1} at byte offset {source.offset()}: "
                        f"captured length {caplen} exceeds {MAX_RECORD_BYTES}"
                    )
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
