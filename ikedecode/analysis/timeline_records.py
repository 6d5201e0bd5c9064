"""The records of a per-SA timeline (``analysis/timeline.py`` builds them; the timeline, JSON,
Markdown and HTML renderers read them): ``Timeline`` of ``IkeSaTimeline``s, each with its
``TimelineEvent``s and ``ChildSaTimeline``s (IPsec SAs: their ``Direction``s and ``DeleteRecord``s).

Times are kept absolute (capture clock); ``offset`` is relative to the start of the IKE SA (or of
the capture for SAs without one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ikedecode.esp.sa import IpsecSa

# Order of events that share a timestamp.
KIND_ORDER = {
    "message": 0,
    "retransmission": 0,
    "phase1-complete": 1,
    "key-stage": 1,
    "quick-mode": 2,
    "rekey": 2,
    "quick-mode-incomplete": 2,
    "notify": 3,
    "dpd": 3,
    "delete": 3,
    "esp-first": 4,
    "traffic-switch": 5,
    "esp-last": 6,
    "ipsec-expiry": 7,
    "ike-expiry": 7,
    "capture-end": 9,
}


@dataclass(slots=True)
class TimelineEvent:
    time: float  # capture clock (seconds since the epoch)
    offset: float  # seconds since the start of the IKE SA (or of the capture)
    kind: str  # one of KIND_ORDER
    text: str  # one line saying what happened
    frame: int | None = None
    sender: str | None = None  # "initiator" / "responder" (IKE roles), None for derived events
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "offset": round(self.offset, 6),
            "kind": self.kind,
            "text": self.text,
            "frame": self.frame,
            "sender": self.sender,
            **self.details,
        }


@dataclass(slots=True)
class Direction:
    """One direction of an IPsec SA and what the capture saw on it."""

    protocol: str
    spi: int
    src: str | None
    dst: str | None
    keys_known: bool
    packets: int = 0
    bytes: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    icv_failed: int = 0
    gaps: int = 0
    replays: int = 0
    verified: int = 0
    decrypted: int = 0
    garbled: int = 0  # decrypted to noise (esp/plaintext.py): a wrong encryption key?
    sa: IpsecSa | None = None  # the keyed SA behind it, when there is one

    @property
    def label(self) -> str:
        return f"{self.protocol.upper()} 0x{self.spi:08x}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "spi": f"0x{self.spi:08x}",
            "src": self.src,
            "dst": self.dst,
            "keys_known": self.keys_known,
            "packets": self.packets,
            "bytes": self.bytes,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "icv_failed": self.icv_failed,
            "gaps": self.gaps,
            "replays": self.replays,
        }


@dataclass(slots=True)
class DeleteRecord:
    time: float
    frame: int
    sender: str  # address
    role: str | None  # "initiator" / "responder" of the IKE SA
    protocol: str
    spis: list[str]  # as on the wire (hex)
    message_id: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "frame": self.frame,
            "sender": self.sender,
            "role": self.role,
            "protocol": self.protocol,
            "spis": self.spis,
            "message_id": f"0x{self.message_id:08x}",
        }


@dataclass(slots=True)
class ChildSaTimeline:
    """The IPsec SAs one quick mode created (both directions), or a lone SA from a key file."""

    ike_cookies: str | None
    message_id: int | None
    protocol: str
    initiated_by: str | None = None  # address that sent QM1
    created: float | None = None  # time of the quick mode's last message (SAs installed)
    created_frame: int | None = None
    complete: bool = False
    transform: str = ""
    proxies: tuple[str, str] | None = None  # (IDci, IDcr), RFC 2409 5.5
    lifetime_seconds: int | None = None
    lifetime_kilobytes: int | None = None
    directions: list[Direction] = field(default_factory=list)
    replaces: list[int] = field(default_factory=list)  # message IDs of the quick modes it replaced
    replaced_by: list[int] = field(default_factory=list)
    deletes: list[DeleteRecord] = field(default_factory=list)
    origin: str = ""
    exchange: str | None = None  # IKEv2: the exchange that made it (IKE_AUTH / CREATE_CHILD_SA)

    @property
    def expires(self) -> float | None:
        if self.created is None or self.lifetime_seconds is None:
            return None
        return self.created + self.lifetime_seconds

    @property
    def name(self) -> str:
        if self.message_id is not None and self.exchange:
            return f"{self.exchange} 0x{self.message_id:08x}"
        if self.message_id is not None:
            return f"quick mode 0x{self.message_id:08x}"
        return self.origin or "key file"

    @property
    def spis_text(self) -> str:
        return ", ".join(d.label for d in self.directions) or "SPIs unknown"

    def to_dict(self, start: float) -> dict[str, Any]:
        return {
            "ike_sa": self.ike_cookies,
            "quick_mode": f"0x{self.message_id:08x}" if self.message_id is not None else None,
            "protocol": self.protocol,
            "initiated_by": self.initiated_by,
            "created": self.created,
            "created_offset": _offset(self.created, start),
            "created_frame": self.created_frame,
            "complete": self.complete,
            "transform": self.transform,
            "proxies": list(self.proxies) if self.proxies else None,
            "lifetime_seconds": self.lifetime_seconds,
            "lifetime_kilobytes": self.lifetime_kilobytes,
            "expires": self.expires,
            "directions": [d.to_dict() for d in self.directions],
            "replaces": [f"0x{m:08x}" for m in self.replaces],
            "replaced_by": [f"0x{m:08x}" for m in self.replaced_by],
            "deletes": [d.to_dict() for d in self.deletes],
        } | ({"exchange": self.exchange} if self.exchange else {})


@dataclass(slots=True)
class IkeSaTimeline:
    cookies: str
    initiator: str
    responder: str
    exchange: str | None
    start: float
    end: float  # last IKE message of the SA
    established: bool
    phase1_complete: float | None = None
    lifetime_seconds: int | None = None
    lifetime_kilobytes: int | None = None
    deleted: DeleteRecord | None = None
    events: list[TimelineEvent] = field(default_factory=list)
    children: list[ChildSaTimeline] = field(default_factory=list)
    version: int = 1
    rekeyed_from: str | None = None  # IKEv2 (RFC 7296 2.18): the IKE SA this one replaced
    rekeyed_into: list[str] = field(default_factory=list)

    @property
    def expires(self) -> float | None:
        if self.phase1_complete is None or self.lifetime_seconds is None:
            return None
        return self.phase1_complete + self.lifetime_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "cookies": self.cookies,
            "initiator": self.initiator,
            "responder": self.responder,
            "exchange": self.exchange,
            "start": self.start,
            "end": self.end,
            "established": self.established,
            "phase1_complete": self.phase1_complete,
            "phase1_complete_offset": _offset(self.phase1_complete, self.start),
            "lifetime_seconds": self.lifetime_seconds,
            "lifetime_kilobytes": self.lifetime_kilobytes,
            "expires": self.expires,
            "deleted": self.deleted.to_dict() if self.deleted else None,
            "events": [e.to_dict() for e in self.events],
            "ipsec_sas": [c.to_dict(self.start) for c in self.children],
        } | (
            {"version": 2, "rekeyed_from": self.rekeyed_from, "rekeyed_into": self.rekeyed_into}
            if self.version == 2
            else {}
        )


@dataclass(slots=True)
class Timeline:
    capture_start: float | None
    capture_end: float | None
    ike_sas: list[IkeSaTimeline] = field(default_factory=list)
    unattached: list[ChildSaTimeline] = field(default_factory=list)  # SAs no IKE SA in the capture made

    def to_dict(self, listing: Callable[[Iterator[Any]], Any] = list) -> dict[str, Any]:
        """The JSON form (docs/json.md "timeline"); ``listing`` makes its two lists from iterators
        (the JSON writer passes one that writes each SA as it is made)."""
        start = self.capture_start or 0.0
        return {
            "capture_start": self.capture_start,
            "capture_end": self.capture_end,
            "ike_sas": listing(t.to_dict() for t in self.ike_sas),
            "unattached_ipsec_sas": listing(c.to_dict(start) for c in self.unattached),
        }


def _offset(time: float | None, start: float) -> float | None:
    return None if time is None else round(time - start, 6)
