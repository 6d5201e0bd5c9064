"""What the capture layer hands to the protocol engines.

The capture layer (pcap/pcapng reading, link layers, IP reassembly, classification) turns every
frame of a capture into exactly one accounting bucket and, for IPsec traffic, a ``Datagram``.
Everything behind this module (``ike/``, ``esp/``) sees only ``Datagram`` objects: bytes,
addresses and a timestamp, never files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from .icmp import PortUnreachable


class Kind(StrEnum):
    """Accounting buckets: every frame of a capture lands in exactly one."""

    IKE = "ike"  # ISAKMP/IKE message (UDP 500, UDP 4500 with non-ESP marker, --ike-port), NAT-T keepalive
    ESP = "esp"  # IP protocol 50, or ESP in UDP 4500 (RFC 3948)
    AH = "ah"  # IP protocol 51
    OTHER = "other"  # readable, but not IPsec
    MALFORMED = "malformed"  # could not be read as far as classification needs (reason recorded)


@dataclass(slots=True)
class Datagram:
    """One IPsec-relevant datagram, after IP reassembly.

    ``payload`` is, for IKE, the ISAKMP message (non-ESP marker removed); for ESP, the ESP packet
    starting at the SPI; for AH, the AH header and what follows. ``ip_header`` is the outer IP
    header bytes (needed for AH ICVs and for rebuilding transport-mode packets); ``frames`` lists
    the capture frame numbers (1-based) that carried it (more than one when IP-fragmented).
    """

    frame: int  # number of the frame that completed the datagram (1-based, capture order)
    time: float  # capture timestamp of that frame, seconds since the epoch
    kind: Kind
    src: str  # source IP address, text form
    dst: str
    sport: int  # UDP ports; 0 when not carried in UDP
    dport: int
    payload: bytes
    ip_version: int = 4
    ip_header: bytes = b""
    udp_encapsulated: bool = False  # ESP in UDP (RFC 3948) or IKE on 4500 behind a non-ESP marker
    nat_keepalive: bool = False  # the single 0xFF byte of RFC 3948 section 2.3
    frames: tuple[int, ...] = ()
    time_ns: int = 0  # the same timestamp in nanoseconds, exact

    @property
    def flow(self) -> tuple[str, int, str, int]:
        return (self.src, self.sport, self.dst, self.dport)


@dataclass(slots=True)
class CaptureStats:
    """Per-capture accounting. ``packets`` always equals the sum of the five buckets."""

    packets: int = 0
    ike: int = 0
    esp: int = 0
    ah: int = 0
    other: int = 0
    malformed: int = 0
    nat_keepalives: int = 0  # included in ``ike``
    ip_fragments: int = 0  # frames that were IP fragments (counted in the bucket of their datagram)
    fragment_sets_evicted: int = 0  # datagrams dropped unfinished: the reassembly buffer cap was hit
    malformed_reasons: Counter[str] = field(default_factory=Counter)
    malformed_frames: list[tuple[int, str]] = field(default_factory=list)  # first few, for the report
    link_types: Counter[str] = field(default_factory=Counter)
    truncated: str | None = None  # set when the file ended mid-record: where and why
    first_time: float | None = None
    last_time: float | None = None
    # ICMP port unreachable quoting a datagram to UDP 500/4500 (capture/icmp.py): counted as "other"
    port_unreachable: list[PortUnreachable] = field(default_factory=list)  # the first MAX_KEPT
    port_unreachable_count: int = 0

    def add(self, kind: Kind, count: int = 1) -> None:
        setattr(self, kind.value, getattr(self, kind.value) + count)

    def as_dict(self) -> dict[str, int]:
        return {
            "packets": self.packets,
            "ike": self.ike,
            "esp": self.esp,
            "ah": self.ah,
            "other": self.other,
            "malformed": self.malformed,
        }
