"""Per-SA timelines: what happened to each IKE SA and each IPsec SA, in order, from the Report.

For every IKE SA: each message (time relative to the SA's first packet and direction),
retransmissions with the gap before each copy, phase 1 complete, every phase-2 exchange, rekeys,
deletes (who sent them, for which SPIs), DPD probes and answers, the first and last ESP packet of
each of its IPsec SAs, and where the capture ends relative to the negotiated lifetimes.

For every IPsec SA (one quick mode's pair of directions): the quick mode that made it, first and
last packet, packets/bytes per direction, ICV failures, sequence gaps, the SA that replaced it and
its delete. Lifetimes come from the SA attributes (RFC 2409 Appendix A Life-Type/Life-Duration,
RFC 2407 4.5 SA-Life-Type/SA-Life-Duration). Times are kept absolute (capture clock); ``offset``
is relative to the start of the IKE SA (or of the capture for SAs without one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ikedecode.analysis.report import Report
from ikedecode.analysis.timeline_ikev2 import ikev2_children, ikev2_established
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import UnknownSpi
from ikedecode.ike.records import IkeMessage, IkeSa, Phase2Exchange, Protection
from ikedecode.ike.v1.exchanges import SHAPES_BY_TYPE, Role
from ikedecode.ike.v1.payloads import DeletePayload, NotifyPayload

# RFC 2409 Appendix A (IKE) and RFC 2407 4.5 (IPsec): (life type, life duration) attribute numbers
IKE_LIFETIME_ATTRIBUTES = (11, 12)
IPSEC_LIFETIME_ATTRIBUTES = (1, 2)
LIFE_TYPE_SECONDS = 1
LIFE_TYPE_KILOBYTES = 2
# RFC 3706 section 5: DPD notify types
R_U_THERE = 36136
R_U_THERE_ACK = 36137
PHASE1_FINAL_LABELS = ("MM6", "AM3")
PHASE1_EXCHANGE_TYPES = frozenset({2, 4})  # main, aggressive (RFC 2408 4.4, 4.7)
# Quick modes created closer together than this are one generation (a rekey collision).
REKEY_COLLISION_WINDOW = 2.0
# Order of events that share a timestamp.
KIND_ORDER = {
    "message": 0,
    "retransmission": 0,
    "phase1-complete": 1,
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

    @property
    def expires(self) -> float | None:
        if self.created is None or self.lifetime_seconds is None:
            return None
        return self.created + self.lifetime_seconds

    @property
    def name(self) -> str:
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
        }


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
        }


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


# ---------------------------------------------------------------------------------------------
# building


def build_timeline(report: Report) -> Timeline:
    """Every IKE SA's and IPsec SA's story, from the records the pipeline produced."""
    stats = report.stats
    capture_end = stats.last_time
    timeline = Timeline(stats.first_time, capture_end)
    directions = _directions(report)
    lookup = _DirectionIndex.of(directions)
    used: set[int] = set()
    for sa in report.ike_sas:
        ike = _ike_sa_timeline(sa, directions, used, capture_end, lookup)
        timeline.ike_sas.append(ike)
    for key, direction in directions.items():
        if key in used:
            continue
        child = ChildSaTimeline(
            None,
            None,
            direction.protocol,
            directions=[direction],
            origin=direction.sa.origin if direction.sa is not None else "ESP without keys",
        )
        if direction.sa is not None:
            child.transform = f"{direction.sa.encryption}/{direction.sa.integrity}"
        timeline.unattached.append(child)
    return timeline


def lifetimes(attributes: Iterable[dict[str, Any]], pair: tuple[int, int]) -> tuple[int | None, int | None]:
    """(seconds, kilobytes) from decoded attribute dicts; a duration without a type is seconds."""
    type_id, duration_id = pair
    seconds = kilobytes = None
    unit = LIFE_TYPE_SECONDS
    for attribute in attributes:
        value = attribute.get("value")
        if attribute.get("type") == type_id and isinstance(value, int):
            unit = value
        elif attribute.get("type") == duration_id and isinstance(value, int):
            if unit == LIFE_TYPE_KILOBYTES:
                kilobytes = value
            else:
                seconds = value
    return seconds, kilobytes


def _directions(report: Report) -> dict[int, Direction]:
    """Every IPsec SA direction of the report, keyed by object identity of its source."""
    out: dict[int, Direction] = {}
    for sa in report.ipsec_sas:
        if sa.spi is None:
            continue
        c = sa.counters
        out[id(sa)] = Direction(
            sa.protocol,
            sa.spi,
            sa.src,
            sa.dst,
            True,
            packets=c.packets,
            bytes=c.bytes,
            first_seen=c.first_seen,
            last_seen=c.last_seen,
            icv_failed=c.icv_failed,
            gaps=c.gaps,
            replays=c.replays,
            verified=c.verified,
            decrypted=c.decrypted,
            sa=sa,
        )
    for unknown in report.unknown_spis:
        out[id(unknown)] = _unknown_direction(unknown)
    return out


def _unknown_direction(u: UnknownSpi) -> Direction:
    return Direction(
        u.protocol,
        u.spi,
        u.src,
        u.dst,
        False,
        packets=u.packets,
        bytes=u.bytes,
        first_seen=u.first_seen,
        last_seen=u.last_seen,
    )


def _role_of(sa: IkeSa, address: str) -> str | None:
    if address == sa.initiator:
        return Role.INITIATOR.value
    if address == sa.responder:
        return Role.RESPONDER.value
    return None


def _arrow(sa: IkeSa, m: IkeMessage) -> str:
    return "I->R" if m.sender == sa.initiator else "R->I"


@dataclass(slots=True)
class _SaIndex:
    """Lookups built once per IKE SA, so that long captures stay linear."""

    by_message_id: dict[int, list[IkeMessage]] = field(default_factory=dict)  # phase-2 messages
    dpd_acks: dict[tuple[str, int | None], float] = field(default_factory=dict)  # (sender, seq) -> last time

    @classmethod
    def of(cls, sa: IkeSa) -> _SaIndex:
        index = cls()
        for m in sa.messages:
            if m.exchange_type in PHASE1_EXCHANGE_TYPES:
                continue
            index.by_message_id.setdefault(m.message_id, []).append(m)
            for p in m.payloads:
                if isinstance(p, NotifyPayload) and p.notify_type == R_U_THERE_ACK:
                    key = (m.sender, p.sequence)
                    index.dpd_acks[key] = max(m.time, index.dpd_acks.get(key, m.time))
        return index

    def messages_of(self, message_id: int) -> list[IkeMessage]:
        return self.by_message_id.get(message_id, [])


@dataclass(slots=True)
class _DirectionIndex:
    """The IPsec SA directions by the quick mode that keyed them and by SPI, built once per
    timeline: each IKE SA then looks up its own instead of scanning all (10,000 IKE SAs took
    minutes when every one scanned every direction)."""

    by_quick_mode: dict[tuple[str | None, int | None], list[int]] = field(default_factory=dict)
    by_spi: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, directions: dict[int, Direction]) -> _DirectionIndex:
        index = cls()
        for key, d in directions.items():  # in the directions' order, as the scans went
            index.by_spi.setdefault(d.spi, []).append(key)
            if d.sa is not None:
                index.by_quick_mode.setdefault((d.sa.ike_cookies, d.sa.message_id), []).append(key)
        return index


def _ike_sa_timeline(
    sa: IkeSa,
    directions: dict[int, Direction],
    used: set[int],
    capture_end: float | None,
    lookup: _DirectionIndex | None = None,
) -> IkeSaTimeline:
    start = sa.messages[0].time if sa.messages else sa.first_time
    end = sa.messages[-1].time if sa.messages else sa.last_time
    ike = IkeSaTimeline(sa.cookies, sa.initiator, sa.responder, sa.exchange, start, end, sa.established)
    if sa.chosen:
        ike.lifetime_seconds, ike.lifetime_kilobytes = lifetimes(
            sa.chosen.get("attributes", []), IKE_LIFETIME_ATTRIBUTES
        )
    events = ike.events

    def add(time: float, kind: str, text: str, **kw: Any) -> None:
        events.append(TimelineEvent(time, time - start, kind, text, **kw))

    index = _SaIndex.of(sa)
    _message_events(sa, add)
    if sa.version == 2:  # IKE_AUTH instead of phase 1, Child SAs instead of quick modes
        ike.phase1_complete = ikev2_established(sa)
        if ike.phase1_complete is not None:
            add(ike.phase1_complete, "phase1-complete", "IKE SA established (IKE_AUTH done or rekeyed in)")
        ike.children = ikev2_children(sa, directions, used, lookup or _DirectionIndex.of(directions))
    else:
        ike.phase1_complete = _phase1_complete(sa)
        if ike.phase1_complete is not None:
            text = "phase 1 complete: the IKE SA is established (QM_IDLE)"
            add(ike.phase1_complete, "phase1-complete", text)
        ike.children = _children(sa, directions, used, index, lookup or _DirectionIndex.of(directions))
    _link_generations(ike.children)
    _phase2_events(sa, ike, add, index)
    _esp_events(ike, add)
    _lifetime_events(ike, capture_end, add)
    events.sort(key=lambda e: (e.time, KIND_ORDER.get(e.kind, 8)))
    return ike


def _message_events(sa: IkeSa, add: Any) -> None:
    last_copy: dict[int, float] = {}
    copies: dict[int, int] = {}
    for m in sa.messages:
        role = _role_of(sa, m.sender)
        arrow = _arrow(sa, m)
        base = {"label": m.label, "message_id": f"0x{m.message_id:08x}", "direction": arrow}
        if m.retransmission_of is not None:
            first = m.retransmission_of
            copies[first] = copies.get(first, 1) + 1
            gap = m.time - last_copy.get(first, m.time)
            last_copy[first] = m.time
            add(
                m.time,
                "retransmission",
                f"{m.label} {arrow} retransmitted by the {role or m.sender} (copy {copies[first]}, "
                f"{gap:.3f} s after the previous copy)",
                frame=m.frame,
                sender=role,
                details={**base, "gap": round(gap, 6), "copy": copies[first], "retransmission_of": first},
            )
            continue
        last_copy[m.frame] = m.time
        add(
            m.time,
            "message",
            f"{m.label} {arrow} {message_summary(m)}",
            frame=m.frame,
            sender=role,
            details={**base, "protection": m.protection.value},
        )


def message_summary(m: IkeMessage) -> str:
    """The payloads of a message in a few words, or why they cannot be shown."""
    if m.encrypted and not m.decrypted:
        return "(encrypted: no keys)" if m.protection is Protection.NO_KEYS else "(encrypted: cannot decrypt)"
    return " ".join(p.short for p in m.payloads) or "(no payloads)"


def _phase1_complete(sa: IkeSa) -> float | None:
    for m in sa.messages:
        if m.label in PHASE1_FINAL_LABELS and m.retransmission_of is None:
            return m.time
    if sa.established:
        for m in sa.messages:
            shape = SHAPES_BY_TYPE.get(m.exchange_type)
            if shape is not None and shape.phase == 2:
                return m.time
    return None


def _children(
    sa: IkeSa, directions: dict[int, Direction], used: set[int], index: _SaIndex, lookup: _DirectionIndex
) -> list[ChildSaTimeline]:
    out: list[ChildSaTimeline] = []
    # per SPI a quick mode of this SA names, the first direction no earlier IKE SA took
    by_spi: dict[int, tuple[int, Direction]] = {}
    for ex in sa.phase2.values():
        for spi_hex in (
            *ex.summary.get("spis", {}).get("initiator", []),
            *ex.summary.get("spis", {}).get("responder", []),
        ):
            spi = int(spi_hex, 16)
            if spi not in by_spi:
                for key in lookup.by_spi.get(spi, ()):
                    if key not in used:
                        by_spi[spi] = (key, directions[key])
                        break
    for ex in sa.phase2.values():
        if ex.exchange != "quick":
            continue
        first = [m for m in index.messages_of(ex.message_id) if m.retransmission_of is None]
        child = ChildSaTimeline(sa.cookies, ex.message_id, "esp", complete=ex.complete)
        if first:
            child.initiated_by = first[0].sender
            if ex.complete:
                child.created, child.created_frame = first[-1].time, first[-1].frame
        accepted = ex.summary.get("accepted") or ex.summary.get("proposals") or []
        if accepted:
            proposal = accepted[0]
            child.protocol = str(proposal.get("protocol", "ESP")).lower()
            transforms = proposal.get("transforms") or []
            if transforms:
                child.lifetime_seconds, child.lifetime_kilobytes = lifetimes(
                    transforms[0].get("attributes", []), IPSEC_LIFETIME_ATTRIBUTES
                )
                child.transform = _transform_text(transforms[0])
        proxies = ex.summary.get("proxy_ids", {})
        side = proxies.get("initiator") or proxies.get("responder")
        if side:
            child.proxies = (side["local"], side["remote"])
        _attach_directions(sa, ex, child, directions, by_spi, used, lookup)
        out.append(child)
    out.sort(key=lambda c: (c.created is None, c.created or 0.0))
    return out


def _transform_text(transform: dict[str, Any]) -> str:
    parts = [str(transform.get("transform_name", ""))]
    for attribute in transform.get("attributes", []):
        if attribute.get("name") == "Authentication-Algorithm":
            parts.append(str(attribute.get("value_name", attribute.get("value"))))
        elif attribute.get("name") == "Key-Length":
            parts[0] += f"-{attribute.get('value')}"
    return "/".join(p for p in parts if p)


def _attach_directions(
    sa: IkeSa,
    ex: Phase2Exchange,
    child: ChildSaTimeline,
    directions: dict[int, Direction],
    by_spi: dict[int, tuple[int, Direction]],
    used: set[int],
    lookup: _DirectionIndex,
) -> None:
    keyed = [
        (key, directions[key])
        for key in lookup.by_quick_mode.get((sa.cookies, ex.message_id), ())
        if key not in used
    ]
    for key, d in keyed:
        used.add(key)
        child.directions.append(d)
    if keyed:
        child.directions.sort(key=lambda d: d.src != sa.initiator)
        return
    # no keys for this quick mode's SAs: its SPIs (when decrypted) still name the ESP flows
    spis = ex.summary.get("spis", {})
    initiator_side = child.initiated_by or sa.initiator
    responder_side = sa.responder if initiator_side == sa.initiator else sa.initiator
    for side, receiver, sender in (
        ("initiator", initiator_side, responder_side),
        ("responder", responder_side, initiator_side),
    ):
        for spi_hex in spis.get(side, []):
            spi = int(spi_hex, 16)
            found = by_spi.get(spi)
            if found is not None and found[0] not in used:
                used.add(found[0])
                child.directions.append(found[1])
            else:
                child.directions.append(Direction(child.protocol, spi, sender, receiver, False))
    child.directions.sort(key=lambda d: d.src != sa.initiator)


def _proxy_key(child: ChildSaTimeline) -> frozenset[str] | None:
    return frozenset(child.proxies) if child.proxies else None


def _link_generations(children: list[ChildSaTimeline]) -> None:
    """A quick mode with the same proxy identities created later replaces an earlier one (a rekey).

    Quick modes created within REKEY_COLLISION_WINDOW of each other are one generation (both
    peers rekeyed at once); each SA is replaced by the whole next generation.
    """
    created = [c for c in children if c.created is not None and c.complete]
    for i, old in enumerate(created):
        key = _proxy_key(old)
        later = [
            c
            for c in created[i + 1 :]
            if _proxy_key(c) == key and (c.created or 0) - (old.created or 0) > REKEY_COLLISION_WINDOW
        ]
        if not later:
            continue
        first = later[0].created or 0.0
        generation = [c for c in later if (c.created or 0) - first <= REKEY_COLLISION_WINDOW]
        for new in generation:
            if new.message_id is not None:
                old.replaced_by.append(new.message_id)
            if old.message_id is not None:
                new.replaces.append(old.message_id)


def _phase2_events(sa: IkeSa, ike: IkeSaTimeline, add: Any, index: _SaIndex) -> None:
    children = {c.message_id: c for c in ike.children}
    for ex in sa.phase2.values():
        messages = [m for m in index.messages_of(ex.message_id) if m.retransmission_of is None]
        if not messages:
            continue
        last = messages[-1]
        sender_role = _role_of(sa, messages[0].sender)
        if ex.exchange == "quick":
            _quick_mode_event(ex, children[ex.message_id], last, sender_role, add)
        elif ex.exchange == "informational":
            for m in messages:
                _informational_events(sa, ike, ex, m, add, index)


def _quick_mode_event(
    ex: Phase2Exchange, child: ChildSaTimeline, last: IkeMessage, role: str | None, add: Any
) -> None:
    mid = f"0x{ex.message_id:08x}"
    if not ex.complete:
        add(
            last.time,
            "quick-mode-incomplete",
            f"quick mode {mid} started by the {role} did not complete ({' '.join(ex.labels)} seen)",
            frame=last.frame,
            sender=role,
            details={"message_id": mid},
        )
        return
    what = f"IPsec SAs {child.spis_text}"
    if child.lifetime_seconds is not None:
        what += f", lifetime {child.lifetime_seconds} s"
    if child.replaces:
        replaced = ", ".join(f"0x{m:08x}" for m in child.replaces)
        add(
            last.time,
            "rekey",
            f"rekey: quick mode {mid} by the {role} replaces quick mode {replaced}: {what}",
            frame=last.frame,
            sender=role,
            details={"message_id": mid, "replaces": [f"0x{m:08x}" for m in child.replaces]},
        )
    else:
        add(
            last.time,
            "quick-mode",
            f"quick mode {mid} by the {role} complete: {what}",
            frame=last.frame,
            sender=role,
            details={"message_id": mid},
        )


def _informational_events(
    sa: IkeSa, ike: IkeSaTimeline, ex: Phase2Exchange, m: IkeMessage, add: Any, index: _SaIndex
) -> None:
    role = _role_of(sa, m.sender)
    mid = f"0x{ex.message_id:08x}"
    base = {"message_id": mid}
    if m.encrypted and not m.decrypted:
        add(
            m.time,
            "notify",
            f"informational {mid} from the {role} {message_summary(m)}",
            frame=m.frame,
            sender=role,
            details=base,
        )
        return
    for p in m.payloads:
        if isinstance(p, NotifyPayload):
            _notify_event(sa, m, p, role, base, add, index)
        elif isinstance(p, DeletePayload):
            _delete_event(sa, ike, ex, m, p, role, add)


def _notify_event(
    sa: IkeSa,
    m: IkeMessage,
    p: NotifyPayload,
    role: str | None,
    base: dict[str, Any],
    add: Any,
    index: _SaIndex,
) -> None:
    if p.notify_type in (R_U_THERE, R_U_THERE_ACK):
        seq = p.sequence
        answered = None
        if p.notify_type == R_U_THERE:
            peer = sa.responder if m.sender == sa.initiator else sa.initiator
            answered = index.dpd_acks.get((peer, seq), float("-inf")) >= m.time
        what = "R-U-THERE (are you alive?)" if p.notify_type == R_U_THERE else "R-U-THERE-ACK (alive)"
        text = f"DPD {what} from the {role}, sequence {seq}"
        if answered is False:
            text += ": no answer in the capture"
        add(
            m.time,
            "dpd",
            text,
            frame=m.frame,
            sender=role,
            details={**base, "notify": p.notify_name, "sequence": seq, "answered": answered},
        )
        return
    spi = f" SPI {p.spi.hex()}" if p.spi and len(p.spi) == 4 else ""
    add(
        m.time,
        "notify",
        f"{p.notify_name} ({'error' if p.is_error else 'status'}) notified by the {role} for "
        f"{_protocol_name(p.protocol_id)}{spi}",
        frame=m.frame,
        sender=role,
        details={**base, "notify": p.notify_name, "notify_type": p.notify_type},
    )


def _protocol_name(protocol_id: int) -> str:
    return {1: "ISAKMP", 2: "AH", 3: "ESP", 4: "IPCOMP"}.get(protocol_id, f"protocol {protocol_id}")


def _delete_event(
    sa: IkeSa,
    ike: IkeSaTimeline,
    ex: Phase2Exchange,
    m: IkeMessage,
    p: DeletePayload,
    role: str | None,
    add: Any,
) -> None:
    protocol = _protocol_name(p.protocol_id)
    spis = [s.hex() for s in p.spis]
    record = DeleteRecord(m.time, m.frame, m.sender, role, protocol, spis, ex.message_id)
    details = {"message_id": f"0x{ex.message_id:08x}", "protocol": protocol, "spis": spis}
    if p.protocol_id == 1:
        ike.deleted = ike.deleted or record
        add(m.time, "delete", f"the {role} deletes the IKE SA", frame=m.frame, sender=role, details=details)
        return
    named = []
    for child in ike.children:
        if any(f"{d.spi:08x}" in spis for d in child.directions):
            child.deletes.append(record)
            named.append(child.name)
    which = f" of {', '.join(named)}" if named else ""
    spi_text = ", ".join(f"0x{s}" for s in spis)
    add(
        m.time,
        "delete",
        f"the {role} deletes {protocol} SA {spi_text}{which} (its inbound SPI; both directions go)",
        frame=m.frame,
        sender=role,
        details=details,
    )


def _esp_events(ike: IkeSaTimeline, add: Any) -> None:
    for child in ike.children:
        for d in child.directions:
            if not d.packets or d.first_seen is None or d.last_seen is None:
                continue
            arrow = "I->R" if d.src == ike.initiator else "R->I"
            base = {"spi": f"0x{d.spi:08x}", "direction": arrow, "quick_mode": child.name}
            add(d.first_seen, "esp-first", f"first {d.label} packet {arrow}", details=base)
            add(
                d.last_seen,
                "esp-last",
                f"last {d.label} packet {arrow}: {d.packets} packets, {d.bytes} bytes"
                + (f", {d.icv_failed} ICV failures" if d.icv_failed else "")
                + (f", {d.gaps} sequence gaps" if d.gaps else ""),
                details={**base, "packets": d.packets, "bytes": d.bytes},
            )
    by_id = {c.message_id: c for c in ike.children}
    for old in ike.children:
        for d in old.directions:
            if not d.packets or d.last_seen is None:
                continue
            successors = [
                n
                for mid in old.replaced_by
                for n in by_id[mid].directions
                if n.src == d.src and n.packets and n.first_seen is not None
            ]
            if not successors:
                continue
            new = min(successors, key=lambda n: n.first_seen or 0.0)
            arrow = "I->R" if d.src == ike.initiator else "R->I"
            add(
                new.first_seen or 0.0,
                "traffic-switch",
                f"traffic {arrow} moves from {d.label} to {new.label} "
                f"(last packet on the old SA at +{d.last_seen - ike.start:.3f} s)",
                details={"from": f"0x{d.spi:08x}", "to": f"0x{new.spi:08x}", "direction": arrow},
            )


def _lifetime_events(ike: IkeSaTimeline, capture_end: float | None, add: Any) -> None:
    if capture_end is None:
        return
    for child in ike.children:
        expires = child.expires
        if expires is not None and expires <= capture_end and not _deleted_before(child, expires):
            add(
                expires,
                "ipsec-expiry",
                f"lifetime of {child.name} ({child.lifetime_seconds} s) ends",
                details={"quick_mode": child.name},
            )
    if ike.expires is not None and ike.expires <= capture_end and ike.deleted is None:
        add(ike.expires, "ike-expiry", f"IKE SA lifetime ({ike.lifetime_seconds} s) ends")
    parts = [f"capture ends {capture_end - ike.start:.3f} s after the SA's first packet"]
    if ike.deleted is not None:
        parts.append(f"the IKE SA was deleted at +{ike.deleted.time - ike.start:.3f} s")
    elif ike.expires is not None:
        parts.append(f"IKE SA lifetime {ike.lifetime_seconds} s, {_left(ike.expires - capture_end)}")
    elif not ike.established:
        parts.append("phase 1 never completed")
    for child in ike.children:
        if not child.complete:
            continue
        if child.deletes:
            parts.append(f"{child.name} deleted at +{child.deletes[0].time - ike.start:.3f} s")
        elif child.expires is not None:
            parts.append(
                f"{child.name} lifetime {child.lifetime_seconds} s, {_left(child.expires - capture_end)}"
            )
    add(capture_end, "capture-end", "; ".join(parts))


def _deleted_before(child: ChildSaTimeline, time: float) -> bool:
    return any(d.time <= time for d in child.deletes)


def _left(seconds: float) -> str:
    if seconds >= 0:
        return f"{seconds:.1f} s left"
    return f"expired {-seconds:.1f} s before the capture ended"


def keys_disagree(sa: IkeSa) -> bool:
    """True when the peers encrypt with different keys (a PSK mismatch): each then fails to
    decrypt what the other sends. Seen as a ``psk-mismatch`` finding, or as encrypted messages of
    one peer decrypting while the other peer's do not decrypt with the same keys."""
    if any(f.code == "psk-mismatch" for f in sa.findings):
        return True
    readable: dict[str, set[bool]] = {}
    for m in sa.messages:
        if (
            m.encrypted
            and m.protection is not Protection.NO_KEYS
            and m.protection is not Protection.MALFORMED
        ):
            readable.setdefault(m.sender, set()).add(bool(m.decrypted))
    senders = list(readable.values())
    return len(senders) == 2 and any(True in s for s in senders) and any(s == {False} for s in senders)
