"""Main and aggressive mode as ``debug crypto isakmp`` prints them (seed Examples 13-3 and 13-5)."""

from __future__ import annotations

from ikedecode.ike.records import IkeMessage
from ikedecode.ike.registries import AUTHENTICATION_METHOD, NO_PROPOSAL_CHOSEN, PROTO_ISAKMP
from ikedecode.ike.v1.exchanges import Label, Role
from ikedecode.ike.v1.payloads import (
    CertPayload,
    CertRequestPayload,
    DeletePayload,
    HashPayload,
    IdPayload,
    KePayload,
    NatDPayload,
    NatOaPayload,
    NoncePayload,
    NotifyPayload,
    SaPayload,
    SignaturePayload,
    Transform,
    VendorIdPayload,
)
from ikedecode.render.cisco import ipsec
from ikedecode.render.cisco import vocabulary as v
from ikedecode.render.cisco.attributes import (
    IKE_LIFE_DURATION,
    IKE_LIFE_TYPE,
    ike_attribute_lines,
    matching_transform,
)
from ikedecode.render.cisco.context import Readable, SaContext, bad_message

PSK_METHODS = frozenset({1, 65001, 65002})
# processed after the key exchange (Example 13-3: vendor IDs after "SKEYID state generated")
LATE_PAYLOADS = (VendorIdPayload, NatDPayload, NotifyPayload)
AGGRESSIVE = "aggressive"


def exchange_word(m: IkeMessage) -> str:
    return "Aggressive" if m.exchange == AGGRESSIVE else "Main"


def _auth_value(ctx: SaContext) -> int | bytes | None:
    """The chosen (else first offered) transform's Authentication Method, as decoded."""
    chosen = ctx.sa.chosen or (ctx.sa.offered[0] if ctx.sa.offered else None)
    return chosen.get(AUTHENTICATION_METHOD) if isinstance(chosen, Transform) else None


def auth_method(ctx: SaContext) -> int | None:
    value = _auth_value(ctx)
    return value if isinstance(value, int) else None


def auth_method_text(ctx: SaContext) -> str:
    """The Authentication Method for a log line: its number, a TLV-coded one in hex, 0 when unknown."""
    value = _auth_value(ctx)
    return value.hex() if isinstance(value, bytes) and value else str(value or 0)


def psk_line(ctx: SaContext, time: float) -> None:
    if auth_method(ctx) in PSK_METHODS:
        ctx.log.isakmp(time, f"found peer pre-shared key matching {ctx.remote}")


# --- payload processing -------------------------------------------------------------------------


def process_payloads(
    ctx: SaContext, m: IkeMessage, skip: tuple[type, ...] = (), only: tuple[type, ...] | None = None
) -> None:
    """``processing X payload. message ID = N`` for each payload, in message order."""
    t, mid = m.time, ctx.mid(m)
    for p in m.payloads:
        if isinstance(p, skip) or (only is not None and not isinstance(p, only)):
            continue
        if isinstance(p, SaPayload):
            ctx.log.isakmp(t, f"processing SA payload. message ID = {mid}")
        elif isinstance(p, KePayload):
            ctx.log.isakmp(t, f"processing KE payload. message ID = {mid}")
        elif isinstance(p, NoncePayload):
            ctx.log.isakmp(t, f"processing NONCE payload. message ID = {mid}")
        elif isinstance(p, IdPayload):
            ctx.log.isakmp(t, f"processing ID payload. message ID = {mid}")
        elif isinstance(p, HashPayload):
            ctx.log.isakmp(t, f"processing HASH payload. message ID = {mid}")
        elif isinstance(p, SignaturePayload):
            ctx.log.isakmp(t, f"processing SIG payload. message ID = {mid}")
        elif isinstance(p, CertPayload):
            ctx.log.isakmp(t, f"processing CERT payload. message ID = {mid}")
        elif isinstance(p, CertRequestPayload):
            ctx.log.isakmp(t, f"processing CERT_REQ payload. message ID = {mid}")
        elif isinstance(p, VendorIdPayload):
            ctx.log.isakmp(t, "processing vendor id payload")
            wording = v.vendor_wording(p.vendor)
            if wording:
                ctx.log.isakmp(t, wording)
        elif isinstance(p, NatDPayload | NatOaPayload):
            ctx.log.say(t, f"ISAKMP:received payload type {p.type}")
        elif isinstance(p, NotifyPayload):
            notify_line(ctx, m, p)
        elif isinstance(p, DeletePayload):
            ctx.log.isakmp(t, f"processing DELETE payload. message ID = {mid}, spi size = {p.spi_size}")
        else:
            ctx.log.isakmp(t, f"processing {p.short} payload. message ID = {mid}")


def notify_line(ctx: SaContext, m: IkeMessage, p: NotifyPayload) -> None:
    spi = int.from_bytes(p.spi, "big") if len(p.spi) == 4 else 0
    name = v.notify_name(p.notify_type, p.notify_name)
    ctx.log.isakmp(
        m.time,
        f"processing NOTIFY {name} protocol {p.protocol_id}",
        f"        spi {spi}, message ID = {ctx.mid(m)}",
    )


def transform_checks(ctx: SaContext, m: IkeMessage, chosen: Transform | None, rejected_all: bool) -> None:
    """``Checking ISAKMP transform N against priority 1 policy``, its attributes and the verdict."""
    sa_payload = next((p for p in m.payloads if isinstance(p, SaPayload)), None)
    if sa_payload is None:
        return
    transforms = [t for proposal in sa_payload.proposals for t in proposal.transforms]
    accepted = (
        matching_transform(transforms, chosen, (IKE_LIFE_TYPE, IKE_LIFE_DURATION))
        if chosen is not None
        else None
    )
    for i, transform in enumerate(transforms):
        ctx.log.isakmp(
            m.time,
            f"Checking ISAKMP transform {transform.number} against priority {v.POLICY_PRIORITY} policy",
        )
        for line in ike_attribute_lines(sa_payload, transform):
            ctx.log.attribute(m.time, line)
        next_payload = 0 if i == len(transforms) - 1 else 3
        if accepted is not None and transform is accepted:
            ctx.log.isakmp(m.time, f"atts are acceptable. Next payload is {next_payload}")
            return
        if accepted is not None or rejected_all:
            ctx.log.isakmp(m.time, f"atts are not acceptable. Next payload is {next_payload}")
    if rejected_all:
        ctx.log.isakmp(m.time, f"phase 1 SA policy not acceptable! (local {ctx.local} remote {ctx.remote})")


def chosen_transform(ctx: SaContext) -> Transform | None:
    for m in ctx.sa.messages:
        if m.label in (Label.MM2, Label.AM2):
            sa_payload = next((p for p in m.payloads if isinstance(p, SaPayload)), None)
            if sa_payload is not None:
                transforms = [t for proposal in sa_payload.proposals for t in proposal.transforms]
                if transforms:
                    return transforms[0]
    return None


def rejected_by_local(ctx: SaContext) -> bool:
    """The local responder answered the offer with NO-PROPOSAL-CHOSEN."""
    if ctx.sa.established:
        return False
    return any(
        ctx.sent(m)
        and isinstance(p, NotifyPayload)
        and p.notify_type == NO_PROPOSAL_CHOSEN
        and p.protocol_id == PROTO_ISAKMP
        for m in ctx.sa.messages
        if m.exchange == "informational"
        for p in m.payloads
    )


def id_block(ctx: SaContext, m: IkeMessage) -> None:
    """``SA is doing pre-shared key authentication using id type ID_IPV4_ADDR`` and the ID dump."""
    own_id = next((p for p in m.payloads if isinstance(p, IdPayload)), None)
    doing = v.AUTH_DOING.get(auth_method(ctx) or 0, "pre-shared key")
    if own_id is None:
        ctx.log.isakmp(m.time, f"SA is doing {doing} authentication")
        return
    ctx.log.isakmp(m.time, f"SA is doing {doing} authentication using id type {own_id.id_type_name}")
    ctx.log.say(
        m.time,
        f"ISAKMP ({ctx.log.conn_id}): ID payload",
        f"        next-payload : {own_id.next_payload}",
        f"        type         : {own_id.id_type}",
        f"        protocol     : {own_id.protocol_id}",
        f"        port         : {own_id.port}",
        f"        length       : {own_id.length - 4}",
    )
    ctx.log.say(m.time, f"ISAKMP ({ctx.log.conn_id}): Total payload length: {own_id.length}")


# --- the exchange -------------------------------------------------------------------------------


def handle(ctx: SaContext, m: IkeMessage) -> None:
    role = ctx.role
    tag = v.PACKET_STATE.get((m.label, role), ctx.tag)
    if ctx.sent(m):
        if m.retransmission_of is not None:
            retransmit(ctx, m, tag)
        else:
            _send(ctx, m, tag)
    elif m.retransmission_of is not None and ctx.readable(m) is not Readable.BAD:
        ctx.log.isakmp(m.time, ctx.receive_line())
        ctx.log.isakmp(m.time, "phase 1 packet is a duplicate of a previous packet.")
        ctx.duplicate_pending = True
    else:
        _receive(ctx, m, tag)


def retransmit(ctx: SaContext, m: IkeMessage, tag: str) -> None:
    if ctx.duplicate_pending:
        ctx.log.isakmp(m.time, "retransmitting due to retransmit phase 1")
    else:
        ctx.log.isakmp(m.time, f"retransmitting phase 1 {tag}...")
        ctx.log.isakmp(m.time, "incrementing error counter on sa: retransmit phase 1")
        ctx.log.isakmp(m.time, f"retransmitting phase 1 {tag}")
    ctx.duplicate_pending = False
    ctx.log.isakmp(m.time, ctx.send_line(m, tag))


def _port_float(ctx: SaContext, m: IkeMessage) -> None:
    earlier = [x for x in ctx.sa.messages if x.time < m.time and x.sender == m.sender]
    if m.sport == 4500 and earlier and earlier[-1].sport != 4500:
        ctx.log.isakmp(m.time, "Detected port,floating to port = 4500")


def _send(ctx: SaContext, m: IkeMessage, tag: str) -> None:
    t, role, label = m.time, ctx.role, m.label
    ctx.duplicate_pending = False
    if label in (Label.MM1, Label.AM1):
        _begin(ctx, m, tag)
        return
    readable = ctx.readable(m)
    if label == Label.AM2 or (label in (Label.MM5, Label.MM6) and readable is Readable.OK):
        id_block(ctx, m)
    elif label in (Label.MM5, Label.MM6):
        doing = v.AUTH_DOING.get(auth_method(ctx) or 0, "pre-shared key")
        ctx.log.isakmp(t, f"SA is doing {doing} authentication")
        ctx.cannot_follow(t, m, "ID and HASH")
    _port_float(ctx, m)
    ctx.tag = tag
    ctx.log.isakmp(t, ctx.send_line(m, tag))
    if label == Label.MM6 or (label == Label.AM3 and role is Role.INITIATOR):
        ctx.log.state(
            t,
            "IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE",
            v.ike_state(Label.MM5 if label == Label.MM6 else Label.AM2, role),
            "IKE_P1_COMPLETE",
        )
        _phase1_complete(ctx, t)
        return
    sent_after: dict[str, str] = {
        Label.MM2: Label.MM1,
        Label.MM3: Label.MM2,
        Label.MM4: Label.MM3,
        Label.MM5: Label.MM4,
        Label.AM2: Label.AM1,
    }
    previous = sent_after.get(label, label)
    ctx.log.state(
        t, "IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE", v.ike_state(previous, role), v.ike_state(label, role)
    )


def _begin(ctx: SaContext, m: IkeMessage, tag: str) -> None:
    """Example 13-3: the crypto map's request, then ``beginning Main Mode exchange``."""
    t = m.time
    first_qm = next((c for c in ctx.children.values() if c.local_initiated and c.offered is not None), None)
    if first_qm is not None:
        ipsec.sa_request(ctx, t, first_qm)
        ctx.requested.add(first_qm.message_id)
    ctx.log.say(t, "ISAKMP: received ke message (1/1)")
    ctx.log.say(t, f"ISAKMP: local port {m.sport}, remote port {m.dport}")
    request = "IKE_SA_REQ_AM" if m.exchange == AGGRESSIVE else "IKE_SA_REQ_MM"
    ctx.log.state(t, f"IKE_MSG_FROM_IPSEC, {request}", "IKE_READY", v.ike_state(m.label, ctx.role))
    ctx.log.isakmp(t, f"beginning {exchange_word(m)} Mode exchange")
    if m.exchange == AGGRESSIVE:
        id_block(ctx, m)
    ctx.tag = tag
    ctx.log.isakmp(t, ctx.send_line(m, tag))


def _receive(ctx: SaContext, m: IkeMessage, tag: str) -> None:
    t, role, label = m.time, ctx.role, m.label
    ctx.duplicate_pending = False
    exch = "IKE_AM_EXCH" if m.exchange == AGGRESSIVE else "IKE_MM_EXCH"
    if label in (Label.MM1, Label.AM1):
        ctx.log.say(t, f"ISAKMP (0:0): {ctx.receive_line('NEW SA').replace(f'({ctx.letter}) ', '(N) ')}")
        ctx.log.say(t, f"ISAKMP: local port {m.dport}, remote port {m.sport}")
        ctx.log.state(t, f"IKE_MSG_FROM_PEER, {exch}", "IKE_READY", v.ike_state(label, role))
    else:
        ctx.log.isakmp(t, ctx.receive_line(tag))
        readable = ctx.readable(m)
        if readable is Readable.BAD:
            ctx.log.say(
                t,
                bad_message(ctx.remote),
            )
            return
        before: dict[str, str] = {
            Label.MM2: Label.MM1,
            Label.MM4: Label.MM3,
            Label.MM6: Label.MM5,
            Label.MM3: Label.MM2,
            Label.MM5: Label.MM4,
            Label.AM2: Label.AM1,
            Label.AM3: Label.AM2,
        }
        ctx.log.state(
            t,
            f"IKE_MSG_FROM_PEER, {exch}",
            v.ike_state(before.get(label, label), role),
            v.ike_state(label, role),
        )
        if readable is not Readable.OK:
            ctx.cannot_follow(t, m, "payloads")
            ctx.tag = tag
            if ctx.sa.established and label in (Label.MM5, Label.MM6, Label.AM3):
                _authenticated(ctx, m)
                if label != Label.MM5:
                    ctx.log.state(
                        t,
                        "IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE",
                        v.ike_state(label, role),
                        "IKE_P1_COMPLETE",
                    )
                    _phase1_complete(ctx, t)
            return
    ctx.tag = "AG_NO_STATE" if label == Label.AM1 else "MM_NO_STATE" if label == Label.MM1 else tag
    _received_payloads(ctx, m)


def _received_payloads(ctx: SaContext, m: IkeMessage) -> None:
    t, role, label = m.time, ctx.role, m.label
    if label in (Label.MM1, Label.MM2, Label.AM1, Label.AM2):
        ctx.log.isakmp(t, "processing SA payload. message ID = 0")
        psk_line(ctx, t)
        rejected = role is Role.RESPONDER and label in (Label.MM1, Label.AM1) and rejected_by_local(ctx)
        chosen = None if rejected else chosen_transform(ctx)
        transform_checks(ctx, m, chosen, rejected)
        if rejected:
            return
        if label in (Label.AM1, Label.AM2):
            process_payloads(
                ctx, m, skip=(SaPayload, VendorIdPayload, NatDPayload, HashPayload, NotifyPayload)
            )
            psk_line(ctx, t)
            ctx.log.isakmp(t, "SKEYID state generated")
        process_payloads(ctx, m, skip=(SaPayload, KePayload, NoncePayload, IdPayload, HashPayload))
        if label == Label.AM2:
            ctx.log.isakmp(t, "processing HASH payload. message ID = 0")
            _authenticated(ctx, m)
        mode = "IKE_PROCESS_AGGRESSIVE_MODE" if label.startswith("AM") else "IKE_PROCESS_MAIN_MODE"
        ctx.log.state(t, f"IKE_MSG_INTERNAL, {mode}", v.ike_state(label, role), v.ike_state(label, role))
        return
    if label in (Label.MM3, Label.MM4):
        process_payloads(ctx, m, skip=LATE_PAYLOADS)
        psk_line(ctx, t)
        ctx.log.isakmp(t, "SKEYID state generated")
        process_payloads(ctx, m, only=LATE_PAYLOADS)
        ctx.log.state(
            t, "IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE", v.ike_state(label, role), v.ike_state(label, role)
        )
        return
    # MM5, MM6, AM3: identity and authentication
    process_payloads(ctx, m)
    _authenticated(ctx, m)
    if label == Label.MM5:
        ctx.log.state(
            t, "IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE", v.ike_state(label, role), v.ike_state(label, role)
        )
    else:
        if label == Label.MM6:
            ctx.log.state(
                t,
                "IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE",
                v.ike_state(label, role),
                v.ike_state(label, role),
            )
        ctx.log.state(
            t, "IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE", v.ike_state(label, role), "IKE_P1_COMPLETE"
        )
        _phase1_complete(ctx, t)


def _authenticated(ctx: SaContext, m: IkeMessage) -> None:
    if m.hash_verified is False:
        ctx.log.say(
            m.time,
            f"%CRYPTO-6-IKMP_AUTH_FAIL: Authentication method {auth_method_text(ctx)} failed with host "
            f"{ctx.remote}",
        )
        return
    ctx.log.isakmp(m.time, f"SA has been authenticated with {ctx.remote}")


def _phase1_complete(ctx: SaContext, time: float) -> None:
    ctx.phase1_done = True
    ctx.tag = "QM_IDLE"
    if ctx.role is Role.RESPONDER or not any(c.local_initiated for c in ctx.children.values()):
        ctx.log.state(time, "IKE_MSG_INTERNAL, IKE_PHASE1_COMPLETE", "IKE_P1_COMPLETE", "IKE_P1_COMPLETE")
        ctx.phase1_announced = True


def death_by_retransmission(ctx: SaContext) -> None:
    """Phase 1 never completed and the local router's last phase-1 message was retransmitted with no
    new answer: IOS gives up (``Death by retransmission P1``). Stamped with the SA's last packet;
    the capture cannot show when the router really gave up (docs/cisco.md)."""
    if ctx.phase1_done or ctx.deleted:
        return
    phase1 = [m for m in ctx.sa.messages if m.exchange in ("main", AGGRESSIVE)]
    mine = [m for m in phase1 if ctx.sent(m)]
    if not mine or mine[-1].retransmission_of is None:
        return
    first_copy = next((m for m in mine if m.frame == mine[-1].retransmission_of), mine[-1])
    answered = any(
        not ctx.sent(m) and m.retransmission_of is None and m.time > first_copy.time for m in phase1
    )
    if answered:
        return
    last = ctx.sa.messages[-1]
    ctx.log.isakmp(
        last.time,
        f'deleting SA reason "Death by retransmission P1" state ({ctx.letter}) {ctx.tag} (peer {ctx.remote})',
    )
