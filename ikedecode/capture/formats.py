"""Recognise a capture file by its first bytes and pick the reader for its format."""

from __future__ import annotations

from .errors import CaptureError
from .pcap import PCAP_MAGICS, PcapReader
from .pcapng import SHB_TYPE, PcapngReader
from .source import ByteSource

PCAPNG_MAGIC = SHB_TYPE.to_bytes(4, "big")  # 0a 0d 0d 0a reads the same in both byte orders


def open_format(source: ByteSource, name: str) -> PcapReader | PcapngReader:
    """Return the record reader for ``source``; raise ``CaptureError`` for anything else."""
    source.ensure(4)
    head = bytes(source.buf[source.pos : source.pos + 4])
    if not head:
        if source.error:
            raise CaptureError(f"{name}: {source.error}")
        raise CaptureError(f"{name}: empty file" + (" (after decompression)" if source.compressed else ""))
    if head in PCAP_MAGICS:
        return PcapReader(source, name)
    if head == PCAPNG_MAGIC:
        return PcapngReader(source, name)
    if len(head) < 4 and source.error:
        raise CaptureError(f"{name}: {source.error}")
    shown = " ".join(f"{byte:02x}" for byte in head)
    compressed = "gzip-compressed data that is " if source.compressed else ""
    raise CaptureError(f"{name}: {compressed}not a pcap or pcapng file (starts with {shown})")
