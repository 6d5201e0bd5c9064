"""What the format readers yield: one tuple per captured frame.

``(linktype, time_ns, data, orig_len)``: the link-layer type of the interface, the capture time in
integer nanoseconds since the epoch, the captured bytes and the frame's length on the wire
(larger than ``len(data)`` when the snapshot length cut it). A negative ``linktype`` marks a frame
whose record is itself broken; ``BROKEN_RECORD_REASONS`` says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

Record = tuple[int, int, bytes, int]
RecordIterator = Iterator[Record]


class RecordSource(Protocol):
    """A format reader (``PcapReader``, ``PcapngReader``) or the merge of several."""

    format_name: str

    @property
    def truncated(self) -> str | None:
        """Why the records ended before the file did, once they have; None otherwise."""

    def __iter__(self) -> RecordIterator: ...


UNDEFINED_INTERFACE = -1
SHORT_PACKET_BLOCK = -2

BROKEN_RECORD_REASONS = {
    UNDEFINED_INTERFACE: "packet on an undefined pcapng interface",
    SHORT_PACKET_BLOCK: "pcapng packet block shorter than its captured length",
}

# Largest record or block accepted (Wireshark uses the same bound for pcapng blocks); a length field
# beyond it is treated as corruption rather than as a reason to buffer gigabytes.
MAX_RECORD_BYTES = 16 * 1024 * 1024
