"""Decrypted IPsec traffic as a classic pcap file (LINKTYPE_RAW: raw IPv4/IPv6 packets).

The file uses the nanosecond-resolution pcap magic (0xa1b23c4d), which tcpdump, tshark and
dpkt read, so the original capture timestamps are kept exactly. Each written packet is what a
decrypting gateway would forward: the inner IP packet (tunnel mode) or the outer IP header
rebuilt around the payload (transport mode), see ``ikedecode.esp.inner``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import BinaryIO

from ikedecode.esp.inner import decrypted_ip_packet, trim_ip_packet
from ikedecode.esp.processor import EspResult

PCAP_MAGIC_NANOSECONDS = 0xA1B23C4D
PCAP_VERSION = (2, 4)
LINKTYPE_RAW = 101  # raw IPv4 or IPv6, version from the first nibble
DEFAULT_SNAPLEN = 262144

_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")
_NS_PER_SECOND = 1_000_000_000


class DecryptedPcapWriter:
    """Writes decrypted packets to ``stream`` (a binary file object opened by the caller)."""

    def __init__(self, stream: BinaryIO, snaplen: int = DEFAULT_SNAPLEN) -> None:
        self._stream = stream
        self.snaplen = snaplen
        self.packets_written = 0
        stream.write(_FILE_HEADER.pack(PCAP_MAGIC_NANOSECONDS, *PCAP_VERSION, 0, 0, snaplen, LINKTYPE_RAW))

    def write_packet(self, time_ns: int, packet: bytes) -> None:
        """One raw IP packet with its timestamp in nanoseconds since the epoch."""
        seconds, nanoseconds = divmod(max(time_ns, 0), _NS_PER_SECOND)
        captured = packet[: self.snaplen]
        self._stream.write(_RECORD_HEADER.pack(seconds & 0xFFFFFFFF, nanoseconds, len(captured), len(packet)))
        self._stream.write(captured)
        self.packets_written += 1

    def write_tunnel_packet(self, time_ns: int, inner_packet: bytes) -> None:
        """The inner IP packet of a tunnel-mode SA (TFC padding cut, as ``write_result`` does)."""
        self.write_packet(time_ns, trim_ip_packet(bytes(inner_packet)))

    def write_result(self, result: EspResult) -> bool:
        """Write the packet an opened ESP/AH datagram carries; False when there is none to write.

        Only results whose plaintext can be trusted are written (verified, decrypted without an
        ICV, bad padding, replay); ICV failures and packets without keys are skipped.
        """
        if not result.has_plaintext:
            return False
        packet = decrypted_ip_packet(result)
        if packet is None:
            return False
        dg = result.datagram
        self.write_packet(dg.time_ns or round(dg.time * _NS_PER_SECOND), packet)
        return True

    def write_layers(self, layers: Sequence[EspResult]) -> bool:
        """For nested SAs (``EspProcessor.process_nested``): write the innermost opened layer."""
        for result in reversed(layers):
            if result.has_plaintext:
                return self.write_result(result)
        return False
