"""The IKEv2 side of the timeline (``analysis/timeline.py``): when an IKEv2 SA was established and
which Child SAs (IKE_AUTH, CREATE_CHILD_SA) it made, with the ESP/AH directions they keyed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ikedecode.analysis.timeline_records import ChildSaTimeline, Direction
from ikedecode.ike.records import IkeSa

if TYPE_CHECKING:
    from ikedecode.analysis.timeline import _DirectionIndex

IKE_AUTH = 35


def ikev2_established(sa: IkeSa) -> float | None:
    """The IKE_AUTH response that carried the responder's AUTH (RFC 7296 1.2), or the first message
    of an SA a rekey made (RFC 7296 2.18)."""
    for m in sa.messages:
        if m.exchange_type == IKE_AUTH and m.response and m.retransmission_of is None:
            if any(p.short == "AUTH" for p in m.payloads) and sa.established:
                return m.time
    if sa.established and sa.ikev2 is not None and sa.ikev2.rekeyed_from and sa.messages:
        return sa.messages[0].time
    return None


def ikev2_children(
    sa: IkeSa, directions: dict[int, Direction], used: set[int], lookup: _DirectionIndex
) -> list[ChildSaTimeline]:
    out: list[ChildSaTimeline] = []
    if sa.ikev2 is None:
        return out
    for child in sa.ikev2.child_sas:
        if "refused" in child:
            continue
        message_id = int(child["message_id"], 16)
        made = _response(sa, message_id, child["exchange"])
        timeline = ChildSaTimeline(
            sa.cookies, message_id, str(child.get("protocol", "ESP")).lower(), complete=True
        )
        if made is not None:
            timeline.created, timeline.created_frame = made.time, made.frame
            timeline.initiated_by = made.receiver
        timeline.transform = str(child.get("proposal", "")).split(": ", 1)[-1]
        if child.get("ts_initiator") and child.get("ts_responder"):
            timeline.proxies = (child["ts_initiator"], child["ts_responder"])
        keyed = [key for key in lookup.by_quick_mode.get((sa.cookies, message_id), ()) if key not in used]
        for key in keyed:
            used.add(key)
            timeline.directions.append(directions[key])
        if not keyed:  # no keys: the SPIs still name the ESP flows
            requester = timeline.initiated_by or sa.initiator
            responder = sa.responder if requester == sa.initiator else sa.initiator
            for spi_hex, sender, receiver in (
                (child.get("spi_responder"), requester, responder),
                (child.get("spi_initiator"), responder, requester),
            ):
                if not spi_hex:
                    continue
                spi = int(spi_hex, 16)
                found = next((key for key in lookup.by_spi.get(spi, ()) if key not in used), None)
                if found is not None:
                    used.add(found)
                    timeline.directions.append(directions[found])
                else:
                    timeline.directions.append(Direction(timeline.protocol, spi, sender, receiver, False))
        timeline.directions.sort(key=lambda d: d.src != sa.initiator)
        out.append(timeline)
    out.sort(key=lambda c: (c.created is None, c.created or 0.0))
    return out


def _response(sa: IkeSa, message_id: int, exchange: Any) -> Any:
    return next(
        (
            m
            for m in sa.messages
            if m.message_id == message_id
            and m.exchange == exchange
            and m.response
            and m.retransmission_of is None
        ),
        None,
    )
