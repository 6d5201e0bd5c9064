"""Runs of ESP datagrams kept as one buffer plus offsets, not one object per packet.

Captures at a VPN concentrator are mostly ESP. ``CaptureReader.items`` hands consecutive ESP
datagrams over as an ``EspBatch``: the captured bytes of each packet appended to one list of
buffers (joined once, when the batch is sealed) and six integers per packet in one flat list. A batch is
cheap to send to another process (two objects to pickle) and a ``Datagram`` is only built for the
few packets that need one (``EspBatch.datagram``).
"""

from __future__ import annotations

import socket

from .datagram import Datagram, Kind

# Per packet, in ``meta``: frame, capture time (ns), then offsets into ``blob`` of the outer IP
# header, the IP payload (the UDP header for ESP in UDP), the ESP packet (SPI) and its end.
META_FIELDS = 6
FRAME, TIME_NS, IP_START, IP_PAYLOAD, ESP_START, ESP_END = range(META_FIELDS)
ADDRESS_AT = {4: (12, 16, 4), 6: (8, 24, 16)}  # IP version -> (src offset, dst offset, length)


class EspBatch:
    """Consecutive ESP datagrams of a capture (IKE and AH datagrams end a batch)."""

    __slots__ = ("blob", "meta", "_parts", "size")

    def __init__(self) -> None:
        self.blob = b""
        self.meta: list[int] = []  # a list, not an array: pcapng times can exceed 64 bits
        self._parts: list[bytes] = []
        self.size = 0  # bytes added so far: where the next packet's bytes will start in ``blob``

    def __len__(self) -> int:
        return len(self.meta) // META_FIELDS

    @property
    def count(self) -> int:
        """Packets in the batch."""
        return len(self.meta) // META_FIELDS

    def add(
        self,
        frame: int,
        time_ns: int,
        data: bytes,
        ip_start: int,
        ip_payload: int,
        esp_start: int,
        esp_end: int,
    ) -> None:
        """One ESP datagram: ``data`` (a captured frame, or rebuilt IP packet) and where its parts lie."""
        base = self.size
        self._parts.append(data)
        self.size = base + len(data)
        self.meta.extend(
            (frame, time_ns, base + ip_start, base + ip_payload, base + esp_start, base + esp_end)
        )

    def add_span(self, data: bytes) -> None:
        """Bytes whose packets the caller has already entered in ``meta``, offsets counted from
        ``size`` before the call (the pcap and pcapng fast scans: a run of frames copied out of the
        file buffer at once)."""
        self._parts.append(data)
        self.size += len(data)

    def add_datagram(self, datagram: Datagram) -> None:
        """An ESP ``Datagram`` from the reader's general path (reassembled, IPv6 extension headers...)."""
        header = datagram.ip_header
        udp = b""
        if datagram.udp_encapsulated:
            udp = (
                datagram.sport.to_bytes(2, "big")
                + datagram.dport.to_bytes(2, "big")
                + (len(datagram.payload) + 8).to_bytes(2, "big")
                + b"\x00\x00"
            )
        data = header + udp + datagram.payload
        start = len(header) + len(udp)
        self.add(datagram.frame, datagram.time_ns, data, 0, len(header), start, len(data))

    def seal(self) -> EspBatch:
        """Join the parts into ``blob``; no packets can be added afterwards."""
        self.blob = b"".join(self._parts)
        self._parts = []
        return self

    def addresses(self, index: int) -> tuple[bytes, bytes]:
        """Packed source and destination address of packet ``index``."""
        ip_start = self.meta[index * META_FIELDS + IP_START]
        src_at, dst_at, length = ADDRESS_AT[self.blob[ip_start] >> 4]
        return (
            self.blob[ip_start + src_at : ip_start + src_at + length],
            self.blob[ip_start + dst_at : ip_start + dst_at + length],
        )

    def datagram(self, index: int) -> Datagram:
        """Packet ``index`` as the ``Datagram`` the reader's general path would have made."""
        at = index * META_FIELDS
        frame, time_ns, ip_start, ip_payload, esp_start, esp_end = self.meta[at : at + META_FIELDS]
        blob = self.blob
        version = blob[ip_start] >> 4
        src, dst = self.addresses(index)
        family = socket.AF_INET if version == 4 else socket.AF_INET6
        encapsulated = esp_start != ip_payload
        sport = dport = 0
        if encapsulated:
            sport = int.from_bytes(blob[ip_payload : ip_payload + 2], "big")
            dport = int.from_bytes(blob[ip_payload + 2 : ip_payload + 4], "big")
        return Datagram(
            frame,
            time_ns / 1e9,
            Kind.ESP,
            socket.inet_ntop(family, src),
            socket.inet_ntop(family, dst),
            sport,
            dport,
            blob[esp_start:esp_end],
            version,
            blob[ip_start:ip_payload],
            encapsulated,
            False,
            (frame,),
            time_ns,
        )


def hand_on(
    batch: EspBatch, datagram: Datagram, batch_packets: int
) -> tuple[EspBatch, tuple[Datagram | EspBatch, ...]]:
    """A datagram of the reader's general path while ESP is batched, kept in capture order: an ESP
    datagram joins ``batch``, which is handed on once it holds ``batch_packets``; any other datagram
    ends the batch first (IKE and AH come between the batches, never inside one). Returns the
    batch to go on with and what to hand on now; a new batch only when something is handed on."""
    if datagram.kind is Kind.ESP:
        batch.add_datagram(datagram)
        if batch.count >= batch_packets:
            return EspBatch(), (batch.seal(),)
        return batch, ()
    if batch.count:
        return EspBatch(), (batch.seal(), datagram)
    return batch, (datagram,)
