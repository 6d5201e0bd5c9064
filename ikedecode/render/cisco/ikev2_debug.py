"""``--format cisco`` for IKEv2: ``debug crypto ikev2`` (+ ``debug crypto ikev2 internal`` state
machine lines) and ``debug crypto ipsec`` as IOS XE prints them on one peer.

Each IKEv2 SA is walked message by message from the local router's side (``--as``): the packet
lines with SPIs, message ID, exchange and payload contents, what IOS says while processing them
(NAT discovery, the proposal, IDs, AUTH and its verification, notifies, deletes, liveness), its
state machine and the IPsec SAs it creates and deletes. docs/cisco.md ("IKEv2") lists which line
shapes follow which Cisco document and which are synthesised; session/SA/conn ids are IOS state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ikedecode.ike.records import IkeMessage, IkeSa, Protection
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v2.payloads.notify import Ikev2NotifyPayload
from ikedecode.ike.v2.payloads.records import (
    Ikev2AuthPayload,
    Ikev2DeletePayload,
    Ikev2EapPayload,
    Ikev2FragmentPayload,
    Ikev2IdPayload,
)
from ikedecode.ike.v2.payloads.sa import Ikev2SaPayload
from ikedecode.ike.v2.payloads.selectors import Ikev2ConfigPayload
from ikedecode.render.cisco import ikev2_words as w
from ikedecode.render.cisco.ikev2_child import PROTO_IKE, Ikev2LocalChild, build_ikev2_children, is_fragment
from ikedecode.render.cisco.ikev2_ipsec import key_engine, sa_lines
from ikedecode.render.cisco.lines import DebugLog
from ikedecode.render.cisco.perspective import addresses

NAT_SOURCE, NAT_DESTINATION = 16388, 16389
REKEY_SA = 16393


@dataclass(slots=True)
class V2Context:
    sa: IkeSa
    role: Role
    local: str
    remote: str
    log: DebugLog
    session: int
    children: list[Ikev2LocalChild]
    state: str = "IDLE"
    up: bool = False
    liveness: set[int] = field(default_factory=set)  # message IDs of empty INFORMATIONAL requests
    everyone: list[Ikev2LocalChild] = field(default_factory=list)  # children of every local SA
    gone: set[int] = field(default_factory=set)  # id() of children whose delete_sa was printed

    @property
    def prefix(self) -> str:
        return f"IKEv2:(SESSION ID = {self.session},SA ID = {self.session}):"

    @property
    def letter(self) -> str:
        return "I" if self.role is Role.INITIATOR else "R"

    def say(self, time: float, text: str, *more: str) -> None:
        self.log.say(time, self.prefix + text, *more)

    def spis(self) -> tuple[str, str]:
        rc = self.sa.responder_cookie or bytes(8)
        return self.sa.initiator_cookie.hex().upper(), rc.hex().upper()

    def sm(self, time: float, m: IkeMessage, event: str, next_state: str | None = None) -> None:
        """``SM Trace->`` (debug crypto ikev2 internal): the state the SA is in and the event."""
        ispi, rspi = self.spis()
        self.say(
            time,
            f"SM Trace-> SA: I_SPI={ispi} R_SPI={rspi} ({self.letter}) MsgID = {m.message_id:08X} "
            f"CurState: {self.state} Event: {event}",
        )
        if next_state is not None:
            self.state = next_state


def local_children(sas: list[tuple[IkeSa, Role]], all_sas: list[IkeSa]) -> dict[str, list[Ikev2LocalChild]]:
    """Each local IKEv2 SA's children, with IPsec conn ids from 2000 in creation order."""
    out = {sa.cookies: build_ikev2_children(sa, addresses(sa, role)[0], all_sas) for sa, role in sas}
    made = sorted(
        (c for children in out.values() for c in children),
        key=lambda c: (c.created is None, c.created or 0.0),
    )
    for n, child in enumerate(made):
        child.conn_in = w.FIRST_IPSEC_CONN_ID + 2 * n
        child.conn_out = child.conn_in + 1
    return out


def walk_ikev2(
    sa: IkeSa, role: Role, session: int, order: int, children: dict[str, list[Ikev2LocalChild]]
) -> DebugLog:
    """One IKEv2 SA's debug output from the router in ``role``."""
    local, remote = addresses(sa, role)
    log = DebugLog(session, order)
    ctx = V2Context(sa, role, local, remote, log, session, children.get(sa.cookies, []))
    ctx.everyone = [c for group in children.values() for c in group]
    if sa.ikev2 is not None and sa.ikev2.rekeyed_from:
        ctx.state, ctx.up = "READY", True
    for m in sa.messages:
        sent = m.sender == local
        if m.retransmission_of is not None:
            what = "Retransmitting packet" if sent else "Received retransmitted packet, answering it again"
            ctx.say(m.time, f"{what} (frame {m.frame} repeats frame {m.retransmission_of})")
            continue
        fragment = next((p for p in m.payloads if isinstance(p, Ikev2FragmentPayload)), None)
        if fragment is not None and is_fragment(m):  # RFC 7383: wait for the last fragment
            _packet(ctx, m, sent=sent)
            verb = "Sent" if sent else "Received"
            ctx.say(m.time, f"{verb} fragment {fragment.number} of {fragment.total}")
            continue
        if sent:
            _before_send(ctx, m)
            _packet(ctx, m, sent=True)
            _after_send(ctx, m)
        else:
            _packet(ctx, m, sent=False)
            _after_receive(ctx, m)
    return log


# -- packets -----------------------------------------------------------------------------------


def payload_tokens(m: IkeMessage) -> str:
    """``SA KE N VID NOTIFY(NAT_DETECTION_SOURCE_IP)``: the payloads in wire order."""
    out: list[str] = []
    for p in m.payloads:
        token = w.PAYLOAD_TOKENS.get(p.type, p.short)
        if isinstance(p, Ikev2NotifyPayload):
            token = f"NOTIFY({p.type_name})"
        out.append(token)
    return " ".join(out)


def _packet(ctx: V2Context, m: IkeMessage, *, sent: bool) -> None:
    if sent:
        where = f"Sending Packet [To {ctx.remote}:{m.dport}/From {ctx.local}:{m.sport}/{w.VRF}]"
    else:
        where = f"Received Packet [From {ctx.remote}:{m.sport}/To {ctx.local}:{m.dport}/{w.VRF}]"
    ispi, rspi = ctx.spis()
    if m.exchange == "IKE_SA_INIT" and not m.response:
        rspi = "0" * 16
    kind = "RESPONSE" if m.response else "REQUEST"
    readable = not m.encrypted or m.decrypted
    contents = payload_tokens(m) if readable else "ENCR"
    ctx.say(
        m.time,
        where,
        f"Initiator SPI : {ispi} - Responder SPI : {rspi} Message id: {m.message_id}",
        f"IKEv2 {m.exchange} Exchange {kind} ",
        "Payload contents: ",
        f" {contents} " if contents else " ",
        "",
    )
    if not readable:
        why = "no keys" if m.protection is Protection.NO_KEYS else "the keys given do not decrypt it"
        ctx.log.say(m.time, f"(encrypted: {why}) {m.label} contents not shown")


def _notifies(m: IkeMessage) -> list[Ikev2NotifyPayload]:
    return [p for p in m.payloads if isinstance(p, Ikev2NotifyPayload)]


def _error_notifies(m: IkeMessage) -> list[Ikev2NotifyPayload]:
    return [n for n in _notifies(m) if n.is_error]


def _proposal_lines(ctx: V2Context, time: float, m: IkeMessage) -> None:
    for p in m.payloads:
        if not isinstance(p, Ikev2SaPayload):
            continue
        for proposal in p.proposals:
            spi = len(proposal.spi)
            why = " (initial negotiation)" if proposal.protocol_id == PROTO_IKE and not spi else ""
            words = "   ".join(w.transform_word(t) for t in proposal.transforms)
            ctx.say(
                time,
                f"IKE Proposal: {proposal.number}, SPI size: {spi}{why}, ",
                f"Num. transforms: {len(proposal.transforms)}",
                f"   {words}",
            )


def _nat(ctx: V2Context, m: IkeMessage) -> None:
    kinds = {n.notify_type for n in _notifies(m)}
    if NAT_SOURCE not in kinds and NAT_DESTINATION not in kinds:
        return
    facts = ctx.sa.ikev2
    ctx.say(m.time, "Checking NAT discovery")
    if facts is None or (not facts.initiator_nat_detected and not facts.responder_nat_detected):
        ctx.say(m.time, "NAT not found")
        return
    local_behind = (
        facts.initiator_nat_detected if ctx.role is Role.INITIATOR else facts.responder_nat_detected
    )
    remote_behind = (
        facts.responder_nat_detected if ctx.role is Role.INITIATOR else facts.initiator_nat_detected
    )
    if local_behind:
        ctx.say(m.time, "NAT detected float to init port 4500, remote port 4500")
    if remote_behind:
        ctx.say(m.time, "NAT OUTSIDE")


def _id_text(m: IkeMessage, cls_type: int) -> str | None:
    for p in m.payloads:
        if isinstance(p, Ikev2IdPayload) and p.type == cls_type:
            return p.text
    return None


def _auth(m: IkeMessage) -> Ikev2AuthPayload | None:
    return next((p for p in m.payloads if isinstance(p, Ikev2AuthPayload)), None)


def _auth_word(a: Ikev2AuthPayload) -> str:
    return w.AUTH_METHODS.get(a.method, a.short)


# -- what IOS says around a message it sends ---------------------------------------------------


def _before_send(ctx: V2Context, m: IkeMessage) -> None:
    t = m.time
    if m.exchange == "IKE_SA_INIT" and not m.response:
        ctx.sm(t, m, "EV_INIT_SA" if ctx.state == "IDLE" else "EV_RE_INIT", "I_BLD_INIT")
        ctx.say(t, "Generating IKE_SA_INIT message")
        _proposal_lines(ctx, t, m)
    elif m.exchange == "IKE_SA_INIT":
        ctx.say(t, "Generating IKE_SA_INIT message")
        _proposal_lines(ctx, t, m)
    elif m.exchange == "IKE_AUTH" and (not m.encrypted or m.decrypted):
        own = _id_text(m, 35 if not m.response else 36)
        auth = _auth(m)
        if own is not None:
            ctx.say(t, f"Constructing {'IDi' if not m.response else 'IDr'} payload: '{own}'")
        if auth is not None:
            ctx.say(t, "Get my authentication method")
            ctx.say(t, f"My authentication method is '{_auth_word(auth)}'")
            ctx.say(t, "Generating auth data")
        if not m.response:
            ctx.say(t, "Generating IKE_AUTH message")
        _proposal_lines(ctx, t, m)
    elif m.exchange == "CREATE_CHILD_SA" and not m.response:
        ctx.say(t, "Generating CREATE_CHILD_SA message")
        _proposal_lines(ctx, t, m)
    elif m.exchange == "INFORMATIONAL" and not m.response and (not m.encrypted or m.decrypted):
        if not m.payloads:
            ctx.liveness.add(m.message_id)
            ctx.say(t, "Sending DPD/liveness query")
        for d in _deletes(m):
            ctx.say(t, f"Building packet for encryption; contents are: DELETE {_delete_text(d)}")


def _after_send(ctx: V2Context, m: IkeMessage) -> None:
    t = m.time
    errors = _error_notifies(m)
    _refused(ctx, t, m, "Sending")
    if m.exchange == "IKE_SA_INIT" and not m.response:
        ctx.state = "I_WAIT_INIT"
    elif m.exchange == "IKE_SA_INIT":
        # INVALID_KE_PAYLOAD / COOKIE ask for a new IKE_SA_INIT (RFC 7296 1.2, 2.6); others end it
        retry = any(n.type_name in ("INVALID_KE_PAYLOAD", "COOKIE") for n in errors)
        ctx.state = ("IDLE" if retry else "EXIT") if errors else "R_WAIT_AUTH"
    elif m.exchange == "IKE_AUTH" and not m.response:
        ctx.state = "I_WAIT_AUTH"
    elif m.exchange == "IKE_AUTH":
        if any(n.type_name == "AUTHENTICATION_FAILED" for n in _error_notifies(m)):
            ctx.say(t, "Auth exchange failed")
            ctx.state = "EXIT"
        elif ctx.sa.established and not ctx.up:
            _session_up(ctx, t)
        _child_made(ctx, m)
    elif m.exchange == "CREATE_CHILD_SA" and m.response:
        _child_made(ctx, m)
    elif m.exchange == "INFORMATIONAL" and m.response:
        _deleted(ctx, m)


def _refused(ctx: V2Context, time: float, m: IkeMessage, verb: str) -> None:
    for n in _error_notifies(m):
        ctx.say(time, f"{verb} NOTIFY {n.type_name} ({n.notify_type})")


# -- what IOS says on receipt ------------------------------------------------------------------


def _after_receive(ctx: V2Context, m: IkeMessage) -> None:
    t = m.time
    readable = not m.encrypted or m.decrypted
    if m.exchange == "IKE_SA_INIT":
        ctx.sm(t, m, "EV_RECV_INIT", "R_INIT" if not m.response else "I_PROC_INIT")
        ctx.say(t, "Processing IKE_SA_INIT message")
        errors = _error_notifies(m)
        if errors:
            _refused(ctx, t, m, "Received")
            ctx.state = (
                "I_WAIT_INIT"
                if any(n.type_name in ("INVALID_KE_PAYLOAD", "COOKIE") for n in errors)
                else "EXIT"
            )
            return
        if any(n.type_name == "COOKIE" for n in _notifies(m)):
            ctx.say(t, "Received COOKIE: restarting IKE_SA_INIT with it")
            return
        if m.response:
            ctx.say(t, "Verify SA init message")
        _proposal_lines(ctx, t, m)
        _nat(ctx, m)
        if not m.response:
            ctx.state = "R_BLD_INIT"
        return
    if m.exchange == "IKE_AUTH":
        ctx.sm(t, m, "EV_RECV_AUTH", "R_VERIFY_AUTH" if not m.response else "I_PROC_AUTH")
        if not readable:
            return
        ctx.say(t, "Processing IKE_AUTH message")
        errors = _error_notifies(m)
        if errors:
            _refused(ctx, t, m, "Received")
        peer_id = _id_text(m, 36 if m.response else 35)
        if peer_id is not None:
            ctx.say(t, f"Peer's IKE ID: '{peer_id}'")
        _eap(ctx, m)
        _cp(ctx, m)
        auth = _auth(m)
        if auth is not None:
            ctx.say(t, "Get peer's authentication method")
            ctx.say(t, f"Peer's authentication method is '{_auth_word(auth)}'")
            if m.auth_verified is True:
                ctx.say(t, "Verification of peer's authentication data PASSED")
            elif m.auth_verified is False:
                ctx.say(t, "Verification of peer's authentication data FAILED")
                ctx.say(t, "Auth exchange failed")
        if any(n.type_name == "AUTHENTICATION_FAILED" for n in errors):
            ctx.say(t, "Auth exchange failed")
            ctx.state = "EXIT"
            return
        if m.response:
            if ctx.sa.established and not ctx.up:
                _session_up(ctx, t)
            _child_made(ctx, m)
        else:
            _validate_proposal(ctx, m)
        return
    if m.exchange == "CREATE_CHILD_SA":
        ctx.sm(t, m, "EV_RECV_CREATE_CHILD")
        if not readable:
            return
        ctx.say(t, "Processing CREATE_CHILD_SA exchange")
        for n in _notifies(m):
            if n.notify_type == REKEY_SA:
                ctx.say(t, f"Rekey request for IPsec SA: {n.type_name} SPI 0x{n.spi.hex().upper()}")
        _refused(ctx, t, m, "Received")
        if m.response:
            _child_made(ctx, m)
        else:
            _validate_proposal(ctx, m)
        return
    if m.exchange == "INFORMATIONAL":
        ctx.sm(t, m, "EV_RECV_INFO")
        if not readable:
            return
        if not m.response and not m.payloads:
            ctx.say(t, "Received DPD/liveness query")
        elif m.response and not m.payloads and m.message_id in ctx.liveness:
            ctx.say(t, "Received DPD/liveness query response")
        for d in _deletes(m):
            ctx.say(t, f"Processing DELETE INFO message for {_delete_text(d)}")
        if m.response:  # what the local router asked to delete is gone once answered
            request = _request_of(ctx, m)
            if request is not None and request.sender == ctx.local:
                _deleted(ctx, request, m.time)
        _deleted(ctx, m)
        return
    ctx.sm(t, m, f"EV_RECV_{m.exchange}")


def _eap(ctx: V2Context, m: IkeMessage) -> None:
    for p in m.payloads:
        if isinstance(p, Ikev2EapPayload):
            ctx.say(m.time, f"Processing EAP: {p.detail()}")


def _cp(ctx: V2Context, m: IkeMessage) -> None:
    for p in m.payloads:
        if isinstance(p, Ikev2ConfigPayload):
            ctx.say(m.time, f"Processing config payload: {p.detail()}")


def _session_up(ctx: V2Context, time: float) -> None:
    ids = ctx.sa.identities
    mine = ids.get("initiator" if ctx.role is Role.INITIATOR else "responder", ctx.local)
    peer = ids.get("responder" if ctx.role is Role.INITIATOR else "initiator", ctx.remote)
    ctx.say(time, f"Session with IKE ID PAIR ({peer}, {mine}) is UP")
    ctx.log.say(time, f"IKEv2:IKEv2 MIB tunnel started, tunnel index {ctx.session}")
    ctx.say(time, "Load IPSEC key material")
    ctx.up = True
    ctx.state = "READY"


# -- debug crypto ipsec --------------------------------------------------------------------------


def _child_of(ctx: V2Context, m: IkeMessage) -> Ikev2LocalChild | None:
    return next((c for c in ctx.children if c.message_id == m.message_id and c.exchange == m.exchange), None)


def _validate_proposal(ctx: V2Context, m: IkeMessage) -> None:
    child = _child_of(ctx, m)
    if child is None or not any(isinstance(p, Ikev2SaPayload) for p in m.payloads):
        return
    ctx.log.say(m.time, "IPSEC(validate_proposal_request): proposal part #1")
    ctx.log.say(
        m.time,
        "IPSEC(validate_proposal_request): proposal part #1,",
        *key_engine(ctx.local, ctx.remote, child, "INBOUND", 0, 0),
    )


def _request_of(ctx: V2Context, m: IkeMessage) -> IkeMessage | None:
    return next(
        (
            x
            for x in ctx.sa.messages
            if x.message_id == m.message_id
            and x.exchange == m.exchange
            and not x.response
            and x.sender == m.receiver
        ),
        None,
    )


def _ike_rekeyed(ctx: V2Context, m: IkeMessage) -> None:
    """A CREATE_CHILD_SA with an IKE proposal replaced the IKE SA (RFC 7296 1.3.2, 2.18)."""
    for ex in ctx.sa.phase2.values():
        if ex.message_id == m.message_id and ex.exchange == m.exchange and ex.summary.get("ike_rekey"):
            ctx.say(m.time, f"IKE SA rekeyed: {ex.summary['ike_rekey']}")


def _child_made(ctx: V2Context, m: IkeMessage) -> None:
    if m.exchange == "CREATE_CHILD_SA":
        _ike_rekeyed(ctx, m)
    child = _child_of(ctx, m)
    if child is None:
        return
    if child.rekey_of is not None:
        ctx.say(m.time, f"Rekeyed IPsec SA 0x{child.rekey_of:08X}: new SA {child.name}")
    for dest, spi, conn in (
        (ctx.local, child.inbound_spi, child.conn_in),
        (ctx.remote, child.outbound_spi, child.conn_out),
    ):
        ctx.log.say(m.time, "IPSEC(create_sa): sa created,", *sa_lines(child, dest, spi, conn))


def _deletes(m: IkeMessage) -> list[Ikev2DeletePayload]:
    return [p for p in m.payloads if isinstance(p, Ikev2DeletePayload)]


def _delete_text(d: Ikev2DeletePayload) -> str:
    if d.protocol_id == PROTO_IKE:
        return "IKEv2 SA"
    spis = ", ".join(f"0x{s.hex().upper()}" for s in d.spis)
    return f"IPsec SA [SPI: {spis}]"


def _deleted(ctx: V2Context, m: IkeMessage, time: float | None = None) -> None:
    """After a Delete exchange: the IPsec SAs torn down; the IKE SA when it was named."""
    when = m.time if time is None else time
    for d in _deletes(m):
        if d.protocol_id == PROTO_IKE:
            ctx.say(when, "Deleting SA")
            ctx.state = "EXIT"
            continue
        for raw in d.spis:
            spi = int.from_bytes(raw, "big")
            for child in ctx.everyone:
                if spi in (child.inbound_spi, child.outbound_spi) and id(child) not in ctx.gone:
                    ctx.gone.add(id(child))
                    for dest, s, conn in (
                        (ctx.local, child.inbound_spi, child.conn_in),
                        (ctx.remote, child.outbound_spi, child.conn_out),
                    ):
                        ctx.log.say(m.time, "IPSEC(delete_sa): deleting SA,", *sa_lines(child, dest, s, conn))
