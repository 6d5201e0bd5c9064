"""The events of an IKE SA's timeline: each message and retransmission, quick modes and rekeys,
notifies, DPD probes and answers, deletes, the first and last ESP packet of each IPsec SA, traffic
moving to a rekeyed SA, lifetimes ending and where the capture ends (``analysis/timeline.py``
calls these once the SA's IPsec SAs are known).

Each event goes through ``add(time, kind, text, frame=..., sender=..., details=...)``, which makes
the ``TimelineEvent``; ``kind`` is one of ``timeline_records.KIND_ORDER``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ikedecode.analysis.timeline_records import ChildSaTimeline, DeleteRecord, IkeSaTimeline
from ikedecode.ike.records import IkeMessage, IkeSa, Phase2Exchange, Protection
from ikedecode.ike.registries import PROTO_ISAKMP, R_U_THERE, R_U_THERE_ACK
from ikedecode.ike.v1.exchanges import PHASE1_TYPES, Role
from ikedecode.ike.v1.payloads import DeletePayload, NotifyPayload


def _role_of(sa: IkeSa, address: str) -> str | None:
    if address == sa.initiator:
        return Role.INITIATOR.value
    if address == sa.responder:
        return Role.RESPONDER.value
    return None


def _arrow(sa: IkeSa, m: IkeMessage) -> str:
    return "I->R" if m.sender == sa.initiator else "R->I"


@dataclass(slots=True)
class SaIndex:
    """Lookups built once per IKE SA, so that long captures stay linear."""

    by_message_id: dict[int, list[IkeMessage]] = field(default_factory=dict)  # phase-2 messages
    dpd_acks: dict[tuple[str, int | None], float] = field(default_factory=dict)  # (sender, seq) -> last time

    @classmethod
    def of(cls, sa: IkeSa) -> SaIndex:
        index = cls()
        for m in sa.messages:
            if m.exchange_type in PHASE1_TYPES:
                continue
            index.by_message_id.setdefault(m.message_id, []).append(m)
            for p in m.payloads:
                if isinstance(p, NotifyPayload) and p.notify_type == R_U_THERE_ACK:
                    key = (m.sender, p.sequence)
                    index.dpd_acks[key] = max(m.time, index.dpd_acks.get(key, m.time))
        return index

    def messages_of(self, message_id: int) -> list[IkeMessage]:
        return self.by_message_id.get(message_id, [])


def message_events(sa: IkeSa, add: Any) -> None:
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


def phase2_events(sa: IkeSa, ike: IkeSaTimeline, add: Any, index: SaIndex) -> None:
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
    sa: IkeSa, ike: IkeSaTimeline, ex: Phase2Exchange, m: IkeMessage, add: Any, index: SaIndex
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
    index: SaIndex,
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
    spi = f" SPI 0x{p.spi.hex()}" if p.spi and len(p.spi) == 4 else ""
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
    if p.protocol_id == PROTO_ISAKMP:
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


def esp_events(ike: IkeSaTimeline, add: Any) -> None:
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


def lifetime_events(ike: IkeSaTimeline, capture_end: float | None, add: Any) -> None:
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
