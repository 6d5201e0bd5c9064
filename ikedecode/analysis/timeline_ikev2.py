"""The IKEv2 side of the timeline (``analysis/timeline.py``): when an IKEv2 SA was established and
which Child SAs (IKE_AUTH, CREATE_CHILD_SA) it made, with the ESP/AH directions they keyed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ikedecode.analysis.timeline_records import ChildSaTimeline, DeleteRecord, Direction, IkeSaTimeline
from ikedecode.ike.records import IkeMessage, IkeSa, Phase2Exchange

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
    rekeys: dict[int, Any] = {}
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
        timeline.exchange = str(child["exchange"])
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
        keyed_sa = next((d.sa for d in timeline.directions if d.sa is not None), None)
        if keyed_sa is not None:  # spelled as the IPsec SA table spells it (esp.transforms.transform_text)
            timeline.transform = keyed_sa.transform
        out.append(timeline)
        rekeys[id(timeline)] = child.get("rekey_of")
    out.sort(key=lambda c: (c.created is None, c.created or 0.0))
    _link_rekeys(out, rekeys)
    return out


def _link_rekeys(children: list[ChildSaTimeline], rekeys: dict[int, Any]) -> None:
    """REKEY_SA (RFC 7296 2.8) names an SPI of the Child SA a CREATE_CHILD_SA replaces."""
    for new in children:
        old_spi = rekeys.get(id(new))
        if not old_spi:
            continue
        spi = int(str(old_spi), 16)
        old = next((c for c in children if c is not new and any(d.spi == spi for d in c.directions)), None)
        if old is not None and old.message_id is not None and new.message_id is not None:
            old.replaced_by.append(new.message_id)
            new.replaces.append(old.message_id)


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


def _role(sa: IkeSa, address: str) -> str:
    return "initiator" if address == sa.initiator else "responder"


def _first_copies(sa: IkeSa, ex: Phase2Exchange) -> list[IkeMessage]:
    """The exchange's own messages (by frame: message IDs count per requester, RFC 7296 2.2)."""
    frames = set(ex.frames)
    return [m for m in sa.messages if m.frame in frames and m.retransmission_of is None]


def ikev2_events(sa: IkeSa, ike: IkeSaTimeline, add: Any) -> None:
    """Child SAs made and refused, IKE SA rekeys, deletes and liveness checks (RFC 7296 1.3-1.5,
    2.4, 2.18) as timeline events; deletes are also kept on the children they name."""
    ike.version = 2
    if sa.ikev2 is not None:
        ike.rekeyed_from, ike.rekeyed_into = sa.ikev2.rekeyed_from, list(sa.ikev2.rekeyed_into)
    for child in ike.children:
        if child.created is not None and child.exchange == "IKE_AUTH":
            add(
                child.created,
                "quick-mode",
                f"Child SA {child.name} installed: {child.spis_text}",
                frame=child.created_frame,
                details={"child_sa": child.name},
            )
    for ex in sa.phase2.values():
        messages = _first_copies(sa, ex)
        if not messages:
            continue
        request = next((m for m in messages if not m.response), messages[0])
        last = messages[-1]
        role = _role(sa, request.sender)
        mid = f"0x{ex.message_id:08x}"
        summary = ex.summary
        if ex.exchange == "CREATE_CHILD_SA":
            _create_child_event(ike, ex.message_id, summary, role, last, add, ex.complete)
        elif ex.exchange == "INFORMATIONAL":
            response = next((m for m in messages if m.response), None)
            if summary.get("deleted_spis"):
                spis = ", ".join(summary["deleted_spis"])
                add(
                    request.time,
                    "delete",
                    f"Delete by the {role} (INFORMATIONAL {mid}): {spis}",
                    frame=request.frame,
                    sender=role,
                )
            if summary.get("deletes_ike_sa"):
                add(
                    request.time,
                    "delete",
                    f"the {role} deletes the IKE SA (INFORMATIONAL {mid})",
                    frame=request.frame,
                    sender=role,
                )
            elif summary.get("liveness_check") and not request.payloads and request.decrypted is not False:
                if response is not None:
                    rtt = (response.time - request.time) * 1000
                    text = f"liveness check by the {role} (INFORMATIONAL {mid}) answered in {rtt:.1f} ms"
                else:
                    text = f"liveness check by the {role} (INFORMATIONAL {mid}) unanswered in the capture"
                add(request.time, "dpd", text, frame=request.frame, sender=role)


def _create_child_event(
    ike: IkeSaTimeline,
    message_id: int,
    summary: dict[str, Any],
    role: str,
    last: IkeMessage,
    add: Any,
    complete: bool,
) -> None:
    mid = f"0x{message_id:08x}"
    if summary.get("refused"):
        add(
            last.time,
            "notify",
            f"CREATE_CHILD_SA {mid} by the {role} refused: {', '.join(summary['refused'])}",
            frame=last.frame,
            sender=role,
        )
        return
    if summary.get("ike_rekey"):
        new = str(summary["ike_rekey"]).rsplit(" ", 1)[-1]
        add(
            last.time,
            "rekey",
            f"IKE SA rekeyed by the {role} (CREATE_CHILD_SA {mid}): {summary['ike_rekey']}",
            frame=last.frame,
            sender=role,
            details={"new_ike_sa": new},
        )
        return
    child = next(
        (c for c in ike.children if c.message_id == message_id and c.exchange == "CREATE_CHILD_SA"), None
    )
    if child is None or not complete:
        add(
            last.time,
            "quick-mode-incomplete",
            f"CREATE_CHILD_SA {mid} by the {role} did not complete",
            frame=last.frame,
            sender=role,
        )
        return
    text = f"Child SA {child.name} by the {role} installed: {child.spis_text}"
    if summary.get("rekey_of"):
        text += f"; rekeys the Child SA of ESP 0x{summary['rekey_of']}"
    if summary.get("pfs_group"):
        text += f" (PFS: {summary['pfs_group']})"
    add(last.time, "rekey" if summary.get("rekey_of") else "quick-mode", text, frame=last.frame, sender=role)


def attach_ikev2_deletes(report_sas: list[IkeSa], timelines: list[IkeSaTimeline]) -> None:
    """Each Delete of an ESP/AH SPI goes to the child that has it, in whichever IKE SA it was sent:
    a rekeyed IKE SA takes over the old one's Child SAs (RFC 7296 2.18)."""
    by_spi = {d.spi: c for t in timelines if t.version == 2 for c in t.children for d in c.directions}
    for sa in report_sas:
        if sa.version != 2:
            continue
        for ex in sa.phase2.values():
            if ex.exchange != "INFORMATIONAL" or not ex.summary.get("deleted_spis"):
                continue
            for m in _first_copies(sa, ex):
                spis = _deleted_in(m)
                for protocol, spi in spis:
                    child = by_spi.get(int(spi, 16))
                    if child is not None and not any(d.frame == m.frame for d in child.deletes):
                        child.deletes.append(
                            DeleteRecord(
                                m.time,
                                m.frame,
                                m.sender,
                                _role(sa, m.sender),
                                protocol,
                                [s for _, s in spis],
                                m.message_id,
                            )
                        )


def _deleted_in(m: IkeMessage) -> list[tuple[str, str]]:
    """(protocol, SPI hex) of the ESP/AH SAs a message deletes (RFC 7296 3.11)."""
    from ikedecode.ike.v2.payloads.records import Ikev2DeletePayload  # for IKEv2 SAs only

    out: list[tuple[str, str]] = []
    for p in m.payloads:
        if isinstance(p, Ikev2DeletePayload) and p.protocol_id in (2, 3):
            out.extend(("ESP" if p.protocol_id == 3 else "AH", raw.hex()) for raw in p.spis)
    return out
