"""Quick mode, informational and transaction exchanges as ``debug crypto isakmp`` prints them."""

from __future__ import annotations

from collections.abc import Callable

from ikedecode.capture.ip import PROTO_AH as IP_PROTO_AH
from ikedecode.capture.ip import PROTO_ESP as IP_PROTO_ESP
from ikedecode.ike.records import IkeMessage
from ikedecode.ike.registries import (
    INVALID_ID_INFORMATION,
    NO_PROPOSAL_CHOSEN,
    PROTO_IPSEC_AH,
    PROTO_ISAKMP,
    R_U_THERE,
    R_U_THERE_ACK,
)
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.payloads import (
    ConfigAttributePayload,
    DeletePayload,
    HashPayload,
    NotifyPayload,
    SaPayload,
)
from ikedecode.render.cisco import ipsec
from ikedecode.render.cisco import vocabulary as v
from ikedecode.render.cisco.attributes import (
    SA_LIFE_DURATION,
    SA_LIFE_TYPE,
    ios_transform_name,
    ipsec_attribute_lines,
    matching_transform,
)
from ikedecode.render.cisco.child import LocalChild, offered_parts
from ikedecode.render.cisco.context import Readable, SaContext, bad_message
from ikedecode.render.cisco.lines import signed32
from ikedecode.render.cisco.phase1 import exchange_word, notify_line, process_payloads

# what the router does on sending or receiving one quick-mode message
QuickModeStep = Callable[[SaContext, IkeMessage, LocalChild], None]


def no_sa(ctx: SaContext, m: IkeMessage) -> None:
    ctx.log.say(
        m.time,
        f"%CRYPTO-4-IKMP_NO_SA: IKE message from {ctx.remote} has no SA and is not an initialization offer",
    )


def _unreadable(ctx: SaContext, m: IkeMessage, what: str) -> bool:
    """Print why the payloads are not shown; True when they are not."""
    readable = ctx.readable(m)
    if readable is Readable.OK:
        return False
    if readable is Readable.BAD:
        ctx.log.say(
            m.time,
            bad_message(ctx.remote),
        )
    else:
        ctx.cannot_follow(m.time, m, what)
    return True


def retransmission(ctx: SaContext, m: IkeMessage) -> None:
    mid = ctx.mid(m)
    if ctx.sent(m):
        ctx.log.isakmp(m.time, f"retransmitting phase 2 {mid} {ctx.tag} ...")
        ctx.log.isakmp(m.time, "incrementing error counter on node: retransmit phase 2")
        ctx.log.isakmp(m.time, f"retransmitting phase 2 {mid} {ctx.tag}")
        ctx.log.isakmp(m.time, ctx.send_line(m))
    else:
        ctx.log.isakmp(m.time, ctx.receive_line())
        ctx.log.isakmp(m.time, "phase 2 packet is a duplicate of a previous packet.")


# --- quick mode ---------------------------------------------------------------------------------


def quick_mode(ctx: SaContext, m: IkeMessage) -> None:
    if m.retransmission_of is not None:
        retransmission(ctx, m)
        return
    if ctx.deleted and not ctx.sent(m):
        no_sa(ctx, m)
        return
    child = ctx.children.get(m.message_id)
    if child is None:
        return
    handlers: dict[tuple[str, bool], QuickModeStep] = {
        (Label.QM1, True): _qm1_sent,
        (Label.QM2, True): _qm2_received,
        (Label.QM3, True): _qm3_sent,
        (Label.QM1, False): _qm1_received,
        (Label.QM2, False): _qm2_sent,
        (Label.QM3, False): _qm3_received,
    }
    handler = handlers.get((m.label, child.local_initiated))
    if handler is not None:
        handler(ctx, m, child)


def _qm1_sent(ctx: SaContext, m: IkeMessage, child: LocalChild) -> None:
    t, mid = m.time, ctx.mid(m)
    if child.message_id not in ctx.requested and child.offered is not None:
        ipsec.sa_request(ctx, t, child)
        ctx.requested.add(child.message_id)
    ctx.log.isakmp(t, f"beginning Quick Mode exchange, M-ID of {mid}")
    if ctx.readable(m) is not Readable.OK:
        ctx.cannot_follow(t, m, "proposal, nonce and proxy IDs")
    ctx.log.isakmp(t, ctx.send_line(m))
    ctx.log.state(t, "IKE_MSG_INTERNAL, IKE_INIT_QM", "IKE_QM_READY", "IKE_QM_I_QM1", node=m.message_id)
    if not ctx.phase1_announced:
        ctx.log.state(t, "IKE_MSG_INTERNAL, IKE_PHASE1_COMPLETE", "IKE_P1_COMPLETE", "IKE_P1_COMPLETE")
        ctx.phase1_announced = True


def accepted_transforms(offered: SaPayload, accepted: SaPayload | None) -> set[int]:
    """ids of the offered transforms the responder's SA payload accepted (matched by content)."""
    if accepted is None:
        return set()
    out: set[int] = set()
    for chosen_proposal in accepted.proposals:
        for chosen in chosen_proposal.transforms:
            candidates = [
                t for p in offered.proposals if p.number == chosen_proposal.number for t in p.transforms
            ]
            found = matching_transform(
                candidates or offered.transforms, chosen, (SA_LIFE_TYPE, SA_LIFE_DURATION)
            )
            if found is not None:
                out.add(id(found))
    return out


def _ipsec_checks(
    ctx: SaContext,
    m: IkeMessage,
    payload: SaPayload,
    accepted: set[int] | None,
    verdict: bool = True,
) -> None:
    """``Checking IPsec proposal N``, ``transform N, ESP_3DES``, its attributes and the verdict.

    ``accepted``: ids of the transforms the local router takes; None when it rejects all.
    ``verdict`` False: the capture does not show the outcome, so none is printed.
    """
    for proposal in payload.proposals:
        for transform in proposal.transforms:
            ctx.log.isakmp(m.time, f"Checking IPsec proposal {proposal.number}")
            ctx.log.say(
                m.time,
                f"ISAKMP: transform {transform.number}, "
                f"{ios_transform_name(proposal.protocol_id, transform)}",
            )
            ctx.log.say(m.time, "ISAKMP:   attributes in transform:")
            for line in ipsec_attribute_lines(payload, transform):
                ctx.log.attribute(m.time, line)
            if not verdict:
                continue
            if accepted is not None and id(transform) in accepted:
                ctx.log.isakmp(m.time, "atts are acceptable.")
                break
            ctx.log.isakmp(m.time, "atts are not acceptable.")


def _qm2_received(ctx: SaContext, m: IkeMessage, child: LocalChild) -> None:
    t, mid = m.time, ctx.mid(m)
    ctx.log.isakmp(t, ctx.receive_line())
    if _unreadable(ctx, m, "accepted proposal, nonce and proxy IDs"):
        return
    ctx.log.isakmp(t, f"processing HASH payload. message ID = {mid}")
    ctx.log.isakmp(t, f"processing SA payload. message ID = {mid}")
    if child.accepted is not None:
        _ipsec_checks(ctx, m, child.accepted, accepted_transforms(child.accepted, child.accepted))
    ipsec.validate_proposal(ctx, t, child)
    process_payloads(ctx, m, skip=(HashPayload, SaPayload))
    if child.readable:
        ipsec.creating_sas(ctx, t, child)
        ipsec.initialize_sas(ctx, t, child)


def _qm3_sent(ctx: SaContext, m: IkeMessage, child: LocalChild) -> None:
    t, mid = m.time, ctx.mid(m)
    ctx.log.isakmp(t, ctx.send_line(m))
    ctx.log.isakmp(t, f'deleting node {mid} error FALSE reason ""')
    ctx.log.state(
        t, "IKE_MSG_FROM_PEER, IKE_QM_EXCH", "IKE_QM_I_QM1", "IKE_QM_PHASE2_COMPLETE", node=m.message_id
    )


def _local_rejection(ctx: SaContext, child: LocalChild) -> int | None:
    """The notify type the local router sent in answer to this quick mode, if it refused it."""
    if child.complete or any(x.label == Label.QM2 for x in child.messages):
        return None
    # the local router's next message after QM1 is its answer
    position = ctx.positions.get(id(child.messages[0]), len(ctx.sa.messages))
    messages = ctx.sa.messages
    answer = next((messages[i] for i in range(position + 1, len(messages)) if ctx.sent(messages[i])), None)
    if answer is None or answer.exchange != "informational":
        return None
    for p in answer.payloads:
        if isinstance(p, NotifyPayload) and p.is_error:
            return p.notify_type
    return None


def _qm1_received(ctx: SaContext, m: IkeMessage, child: LocalChild) -> None:
    t, mid = m.time, ctx.mid(m)
    ctx.log.isakmp(t, ctx.receive_line())
    answered = any(x.label == Label.QM2 for x in child.messages)
    if _unreadable(ctx, m, "proposal, nonce and proxy IDs"):
        if answered:
            ctx.log.state(
                t, "IKE_MSG_FROM_PEER, IKE_QM_EXCH", "IKE_QM_READY", "IKE_QM_SPI_STARVE", node=m.message_id
            )
        return
    ctx.log.isakmp(t, f"processing HASH payload. message ID = {mid}")
    ctx.log.isakmp(t, f"processing SA payload. message ID = {mid}")
    rejection = _local_rejection(ctx, child)
    if child.offered is not None:
        accepted: set[int] | None = None
        if child.accepted is not None:
            accepted = accepted_transforms(child.offered, child.accepted)
        elif rejection == INVALID_ID_INFORMATION:
            accepted = {id(p.transforms[0]) for p in child.offered.proposals[:1] if p.transforms}
        _ipsec_checks(ctx, m, child.offered, accepted, verdict=answered or rejection is not None)
    if answered:
        ipsec.validate_proposal(ctx, t, child)
    elif rejection == INVALID_ID_INFORMATION:
        for n, part in enumerate(offered_parts(child)[:1], 1):
            ctx.log.say(
                t,
                f"IPSEC(validate_proposal_request): proposal part #{n},",
                *ipsec._key_engine(ctx, child, part, "INBOUND", "0s and 0kb", 0, 0, "0x4"),
            )
        ctx.log.say(t, "IPSEC(validate_transform_proposal): proxy identities not supported")
        ctx.log.isakmp(t, "IPSec policy invalidated proposal")
    if rejection is not None:
        ctx.log.isakmp(t, f"phase 2 SA policy not acceptable! (local {ctx.local} remote {ctx.remote})")
    process_payloads(ctx, m, skip=(HashPayload, SaPayload))
    if answered and child.readable:
        ipsec.spi_response(ctx, t, child)
        ctx.log.state(
            t, "IKE_MSG_FROM_PEER, IKE_QM_EXCH", "IKE_QM_READY", "IKE_QM_SPI_STARVE", node=m.message_id
        )
        ipsec.spi_response_from_ipsec(ctx, t, child)


def _qm2_sent(ctx: SaContext, m: IkeMessage, child: LocalChild) -> None:
    ctx.log.isakmp(m.time, ctx.send_line(m))
    ctx.log.state(
        m.time, "IKE_MSG_FROM_IPSEC, IKE_SPI_REPLY", "IKE_QM_SPI_STARVE", "IKE_QM_R_QM2", node=m.message_id
    )


def _qm3_received(ctx: SaContext, m: IkeMessage, child: LocalChild) -> None:
    t, mid = m.time, ctx.mid(m)
    ctx.log.isakmp(t, ctx.receive_line())
    if _unreadable(ctx, m, "HASH(3)") and ctx.readable(m) is Readable.BAD:
        return
    if child.readable:
        ipsec.creating_sas(ctx, t, child)
    ctx.log.isakmp(t, f'deleting node {mid} error FALSE reason "quick mode done (await())"')
    ctx.log.state(
        t, "IKE_MSG_FROM_PEER, IKE_QM_EXCH", "IKE_QM_R_QM2", "IKE_QM_PHASE2_COMPLETE", node=m.message_id
    )
    if child.readable:
        ipsec.initialize_sas(ctx, t, child)
    ctx.log.isakmp(t, f"purging node {mid}")


# --- informational ------------------------------------------------------------------------------


def _child_with_spi(ctx: SaContext, spi: int) -> LocalChild | None:
    for child in ctx.children.values():
        for part in child.parts:
            if spi in (part.inbound_spi, part.outbound_spi):
                return child
    return None


def informational(ctx: SaContext, m: IkeMessage) -> None:
    if m.retransmission_of is not None:
        retransmission(ctx, m)
        return
    if ctx.sent(m):
        _informational_sent(ctx, m)
        return
    if ctx.deleted:
        no_sa(ctx, m)
        return
    t, mid = m.time, ctx.mid(m)
    ctx.log.isakmp(t, ctx.receive_line())
    if _unreadable(ctx, m, "notification or delete"):
        return
    for p in m.payloads:
        if isinstance(p, HashPayload):
            ctx.log.isakmp(t, f"processing HASH payload. message ID = {mid}")
        elif isinstance(p, NotifyPayload):
            notify_line(ctx, m, p)
            sequence = f"0x{p.sequence or 0:X}"
            if p.notify_type == R_U_THERE:
                ctx.log.isakmp(t, f"DPD/R_U_THERE received from peer {ctx.remote}, sequence {sequence}")
            elif p.notify_type == R_U_THERE_ACK:
                ctx.log.isakmp(t, f"Received DPD/R_U_THERE_ACK from peer {ctx.remote}, sequence {sequence}")
        elif isinstance(p, DeletePayload):
            ctx.log.isakmp(t, f"processing DELETE payload. message ID = {mid}, spi size = {p.spi_size}")
    if ctx.phase1_done:
        ctx.log.isakmp(t, f'deleting node {mid} error FALSE reason "Informational (in) state 1"')
    for p in m.payloads:
        if isinstance(p, DeletePayload):
            _delete_received(ctx, m, p)


def _delete_received(ctx: SaContext, m: IkeMessage, p: DeletePayload) -> None:
    t = m.time
    if p.protocol_id == PROTO_ISAKMP:
        ctx.log.isakmp(t, "peer does not do paranoid keepalives.")
        ctx.log.isakmp(
            t,
            f'deleting SA reason "P1 delete notify (in)" state ({ctx.letter}) {ctx.tag} (peer {ctx.remote})',
        )
        ctx.log.state(t, "IKE_MSG_FROM_PEER, IKE_PHASE1_DEL", "IKE_P1_COMPLETE", "IKE_DEST_SA")
        ctx.deleted = True
        return
    ctx.log.say(t, "IPSEC(key_engine): got a queue event...")
    ctx.log.say(t, "IPSEC(key_engine_delete_sas): rec'd delete notify from ISAKMP")
    protocol = IP_PROTO_AH if p.protocol_id == PROTO_IPSEC_AH else IP_PROTO_ESP  # "spi .../50"
    for raw in p.spis:
        spi = int.from_bytes(raw, "big")
        ctx.log.say(t, f"IPSEC(key_engine_delete_sas): delete SA with spi {spi}/{protocol} for {ctx.remote}")
        child = _child_with_spi(ctx, spi)
        if child is not None:
            ipsec.delete_sas(ctx, t, child)


def _informational_sent(ctx: SaContext, m: IkeMessage) -> None:
    t, mid = m.time, ctx.mid(m)
    readable = ctx.readable(m) is Readable.OK
    ike_delete = False
    after: list[str] = []
    if readable:
        for p in m.payloads:
            if isinstance(p, NotifyPayload):
                after.extend(_notify_sent(ctx, m, p))
            elif isinstance(p, DeletePayload):
                if p.protocol_id == PROTO_ISAKMP:
                    ike_delete = True
                    continue
                for raw in p.spis:
                    child = _child_with_spi(ctx, int.from_bytes(raw, "big"))
                    if child is not None:
                        ipsec.delete_sas(ctx, t, child)
                ctx.log.say(t, "ISAKMP: received ke message (3/1)")
    else:
        ctx.cannot_follow(t, m, "notification or delete")
    if ctx.phase1_done or m.encrypted:
        ctx.log.say(t, f"ISAKMP: set new node {mid} to {ctx.tag}")
    ctx.log.isakmp(t, ctx.send_line(m))
    if ctx.phase1_done:
        ctx.log.isakmp(t, f"purging node {mid}")
    for line in after:
        ctx.log.isakmp(t, line)
    if ike_delete:
        ctx.log.state(t, "IKE_MSG_INTERNAL, IKE_PHASE1_DEL", "IKE_P1_COMPLETE", "IKE_DEST_SA")
        ctx.log.isakmp(
            t, f'deleting SA reason "No reason" state ({ctx.letter}) {ctx.tag} (peer {ctx.remote})'
        )
        ctx.deleted = True


def _notify_sent(ctx: SaContext, m: IkeMessage, p: NotifyPayload) -> list[str]:
    """Lines before sending a notification; returns the lines that come after the packet."""
    t = m.time
    name = v.notify_name(p.notify_type, p.notify_name)
    sequence = f"0x{p.sequence or 0:X}"
    if p.notify_type == R_U_THERE:
        return [f"DPD/R_U_THERE sent to peer {ctx.remote}, sequence {sequence}"]
    if p.notify_type == R_U_THERE_ACK:
        return [f"DPD/R_U_THERE_ACK sent to peer {ctx.remote}, sequence {sequence}"]
    if p.notify_type == NO_PROPOSAL_CHOSEN and p.protocol_id == PROTO_ISAKMP and not ctx.phase1_done:
        phase1 = next((x for x in ctx.sa.messages if x.exchange in ("main", "aggressive")), m)
        ctx.log.say(
            t,
            f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of {exchange_word(phase1)} mode failed with peer at "
            f"{ctx.remote}",
        )
    spi = int.from_bytes(p.spi, "big") if len(p.spi) == 4 else 0
    ctx.log.isakmp(
        t, f"sending NOTIFY {name} protocol {p.protocol_id}", f"        spi {spi}, message ID = {ctx.mid(m)}"
    )
    after: list[str] = []
    if p.is_error and ctx.phase1_done:
        refused = next(
            (
                c
                for c in ctx.children.values()
                if not c.local_initiated and not c.complete and c.messages and c.messages[0].time <= t
            ),
            None,
        )
        if refused is not None:
            after.append(f'deleting node {signed32(refused.message_id)} error TRUE reason "QM rejected"')
    return after


# --- transaction (mode-config / XAUTH) ----------------------------------------------------------


def transaction(ctx: SaContext, m: IkeMessage) -> None:
    t, mid = m.time, ctx.mid(m)
    if ctx.sent(m):
        ctx.log.isakmp(t, ctx.send_line(m))
        return
    ctx.log.isakmp(t, ctx.receive_line())
    if _unreadable(ctx, m, "attributes"):
        return
    ctx.log.isakmp(t, f"processing transaction payload from {ctx.remote}. message ID = {mid}")
    for p in m.payloads:
        if isinstance(p, ConfigAttributePayload):
            ctx.log.say(t, f"ISAKMP: Config payload {p.cfg_type_name}")
            for attribute in p.attributes:  # names only: XAUTH values may be secrets
                ctx.log.say(t, f"ISAKMP:    attribute {attribute.name}")
