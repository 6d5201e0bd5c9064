"""What each IKEv2 exchange does to its IKE SA (RFC 7296 1.2-1.5, 2.6, 2.18, 2.23).

``handle`` is called by the engine with a message's readable payloads (clear ones, and the inner
ones of an SK payload that opened). IKE_SA_INIT: offered/chosen proposals, nonces, KE, restarts
after COOKIE / INVALID_KE_PAYLOAD, NAT detection. IKE_AUTH: identities, AUTH, the first Child SA.
CREATE_CHILD_SA: Child SAs and IKE SA rekeys. INFORMATIONAL: deletes, liveness checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ikedecode.capture.datagram import Datagram
from ikedecode.ike.events import IpsecSaKeyed
from ikedecode.ike.header import FLAG_IKEV2_INITIATOR
from ikedecode.ike.natd import IKEV2_NATD_HASH, natd_hash
from ikedecode.ike.records import IkeMessage, Phase2Exchange
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2 import intermediate, stages
from ikedecode.ike.v2.authentication import read_ike_auth, verify_message_auth
from ikedecode.ike.v2.payloads import (
    Ikev2DeletePayload,
    Ikev2KePayload,
    Ikev2NoncePayload,
    Ikev2NotifyPayload,
    Ikev2Payload,
    Ikev2SaPayload,
    Ikev2TsPayload,
    Ikev2VendorIdPayload,
)
from ikedecode.ike.v2.sa_state import ExchangeState, Ikev2SaState

if TYPE_CHECKING:
    from ikedecode.ike.v2.engine import Ikev2Engine

PHASE2_KEY_RESPONDER = 1 << 32  # sa.phase2 key of an exchange the original responder started


def handle(
    engine: Ikev2Engine,
    state: Ikev2SaState,
    msg: IkeMessage,
    exchange: ExchangeState,
    payloads: list[Ikev2Payload],
    types: tuple[int, ...],
    notifies: list[Ikev2NotifyPayload],
    data: bytes,
    datagram: Datagram,
    readable: bool,
) -> None:
    """``types``, ``notifies``: the payload types and Notify payloads of ``payloads`` (the engine's)."""
    sa = state.sa
    from_initiator = bool(msg.flags & FLAG_IKEV2_INITIATOR)  # RFC 7296 3.1 I flag
    if reg.PT_VENDOR_ID in types:
        _vendor_ids(state, payloads, from_initiator)
    errors = [n for n in notifies if n.is_error] if notifies else notifies
    if errors:
        msg.add_note("error: " + ", ".join(n.type_name for n in errors))
    kind = msg.exchange_type
    if kind == reg.IKE_SA_INIT:
        _ike_sa_init(engine, state, msg, payloads, notifies, data, datagram)
        return
    if not readable:
        if msg.response and kind == reg.IKE_AUTH and sa.state in ("IKE_SA_INIT done", "IKE_AUTH"):
            sa.state = "IKE_AUTH"
        return
    if kind == reg.IKE_AUTH:
        _ike_auth(engine, state, msg, exchange, payloads, errors, from_initiator)
    elif kind == reg.IKE_INTERMEDIATE:
        intermediate.ike_intermediate(engine.keying, state, msg, exchange, payloads)
    elif kind == reg.IKE_FOLLOWUP_KE:
        _ike_followup_ke(engine, state, msg, exchange, payloads)
    elif kind == reg.CREATE_CHILD_SA:
        _create_child_sa(engine, state, msg, exchange, payloads, errors)
    elif kind == reg.INFORMATIONAL:
        _informational(state, msg, exchange, payloads, notifies)


# -- IKE_SA_INIT -----------------------------------------------------------------------------


def _ike_sa_init(
    engine: Ikev2Engine,
    state: Ikev2SaState,
    msg: IkeMessage,
    payloads: list[Ikev2Payload],
    notifies: list[Ikev2NotifyPayload],
    data: bytes,
    datagram: Datagram,
) -> None:
    sa = state.sa
    facts = sa.ikev2
    assert facts is not None
    if notifies:  # RFC 7296 2.23: NAT_DETECTION_*_IP
        _nat_detection(state, msg, notifies, datagram)
    if not msg.response:
        if state.answered_with is not None:  # RFC 7296 2.6 (COOKIE), 1.2 (INVALID_KE_PAYLOAD)
            restart = (
                f"{state.answered_with} in frame {state.answered_frame}, new IKE_SA_INIT in frame {msg.frame}"
            )
            facts.restarts.append(restart)
            msg.add_note(f"restart after {state.answered_with} (frame {state.answered_frame})")
            state.answered_with = None
            engine.awaiting_restart.pop((sa.initiator, sa.responder), None)
        state.init_request = data
        for p in payloads:
            if isinstance(p, Ikev2SaPayload):
                state.offered = p.proposals
                sa.offered = list(p.proposals)
            elif isinstance(p, Ikev2KePayload):
                state.ke_i, state.ke_group = p.data, p.group
            elif isinstance(p, Ikev2NoncePayload):
                state.nonce_i = p.data
        sa.state = "IKE_SA_INIT sent"
        return
    answer = None
    for n in notifies:  # a loop, not next(generator): every IKE_SA_INIT response has NAT-D notifies
        if n.notify_type == reg.N_COOKIE or n.notify_type == reg.N_INVALID_KE_PAYLOAD:
            answer = n
            break
    if answer is not None:
        wanted = answer.decoded.get("group_name")
        state.answered_with = answer.type_name + (f" (wants {wanted})" if wanted else "")
        state.answered_frame = msg.frame
        engine.awaiting_restart[(sa.initiator, sa.responder)] = state
        sa.state = f"IKE_SA_INIT answered with {answer.type_name}"
        return
    errors = [n for n in notifies if n.is_error]
    if errors:
        sa.state = f"IKE_SA_INIT refused: {errors[0].type_name}"
        return
    state.init_response = data
    for p in payloads:
        if isinstance(p, Ikev2SaPayload) and p.proposals:
            state.chosen = p.proposals[0]
            sa.chosen = p.proposals[0]
            prf = p.proposals[0].prf
            facts.prf = prf.id_name if prf is not None else None
        elif isinstance(p, Ikev2KePayload):
            state.ke_r = p.data
        elif isinstance(p, Ikev2NoncePayload):
            state.nonce_r = p.data
    sa.state = "IKE_SA_INIT done"


def _nat_detection(
    state: Ikev2SaState, msg: IkeMessage, notifies: list[Ikev2NotifyPayload], datagram: Datagram
) -> None:
    sources = [n.data for n in notifies if n.notify_type == reg.N_NAT_DETECTION_SOURCE_IP]
    destinations = [n.data for n in notifies if n.notify_type == reg.N_NAT_DETECTION_DESTINATION_IP]
    if not sources and not destinations:
        return
    spi_i, spi_r = datagram.payload[:8], datagram.payload[8:16]
    sender_hash = natd_hash(IKEV2_NATD_HASH, spi_i, spi_r, datagram.src, datagram.sport)
    receiver_hash = natd_hash(IKEV2_NATD_HASH, spi_i, spi_r, datagram.dst, datagram.dport)
    sender_ok = sender_hash in sources if sources else None
    receiver_ok = receiver_hash in destinations if destinations else None
    facts = state.sa.ikev2
    assert facts is not None
    facts.nat_checks.append(
        {"frame": msg.frame, "source_matches": sender_ok, "destination_matches": receiver_ok}
    )
    # a hash that does not match the address the capture saw: that end's address was rewritten
    sender_natted = sender_ok is False
    receiver_natted = receiver_ok is False
    initiator_natted, responder_natted = (
        (sender_natted, receiver_natted) if not msg.response else (receiver_natted, sender_natted)
    )
    if sources:
        facts.initiator_nat_detected = bool(facts.initiator_nat_detected) or initiator_natted
    if destinations:
        facts.responder_nat_detected = bool(facts.responder_nat_detected) or responder_natted
    bits = [
        f"{what} {'matches' if ok else 'DOES NOT MATCH'}"
        for what, ok in (("NAT-D source", sender_ok), ("destination", receiver_ok))
        if ok is not None
    ]
    msg.add_note(", ".join(bits))


# -- IKE_AUTH ----------------------------------------------------------------------------------


def _ike_auth(
    engine: Ikev2Engine,
    state: Ikev2SaState,
    msg: IkeMessage,
    exchange: ExchangeState,
    payloads: list[Ikev2Payload],
    errors: list[Ikev2NotifyPayload],
    from_initiator: bool,
) -> None:
    sa = state.sa
    parts = read_ike_auth(state, payloads, from_initiator)
    if parts.notifies or state.ppk is not None:  # RFC 8784: PPK_IDENTITY notifies
        intermediate.ppk_in_ike_auth(engine.keying, state, msg, payloads)
    verify_message_auth(engine.keyring, state, msg, payloads, from_initiator, parts)  # no import per call
    if msg.response:
        exchange.response_payloads = payloads
        auth_failure = next((n for n in errors if n.notify_type in (24, 46)), None) if errors else None
        if auth_failure is not None:
            sa.state, sa.established, sa.authenticated = auth_failure.type_name, False, False
            return
        if parts.auth is not None:
            sa.state, sa.established = "ESTABLISHED", True
            child_errors = [n.type_name for n in errors]
            _child_sa(engine, state, msg, exchange, payloads, child_errors, "IKE_AUTH")
        elif sa.state not in ("ESTABLISHED",):
            sa.state = "IKE_AUTH"  # EAP rounds (RFC 7296 2.16)
    else:
        exchange.request_payloads = payloads
        if parts.sa:
            state.auth_material["child_request"] = payloads  # with EAP, the reply comes rounds later
        if sa.state != "ESTABLISHED":
            sa.state = "IKE_AUTH"


# -- Child SAs and IKE SA rekeys -------------------------------------------------------------


def _create_child_sa(
    engine: Ikev2Engine,
    state: Ikev2SaState,
    msg: IkeMessage,
    exchange: ExchangeState,
    payloads: list[Ikev2Payload],
    errors: list[Ikev2NotifyPayload],
) -> None:
    if not msg.response:
        exchange.request_payloads = payloads
        _phase2(state, msg, exchange).summary.update(_child_request_summary(payloads))
        return
    exchange.response_payloads = payloads
    record = _phase2(state, msg, exchange)
    if errors:
        record.summary["refused"] = [n.type_name for n in errors]
        record.complete = True
        return
    link = stages.has_notify(payloads, reg.N_ADDITIONAL_KEY_EXCHANGE)
    if link is not None:  # RFC 9370 2.2.4: the keys come after the IKE_FOLLOWUP_KE exchanges
        state.followup_links[bytes(link.data)] = exchange
        exchange.pending_response = msg
        record.summary["additional_key_exchanges"] = "IKE_FOLLOWUP_KE"
        return
    _create_child_sa_keyed(engine, state, msg, exchange, payloads)


def _ike_followup_ke(
    engine: Ikev2Engine,
    state: Ikev2SaState,
    msg: IkeMessage,
    exchange: ExchangeState,
    payloads: list[Ikev2Payload],
) -> None:
    """RFC 9370 2.2.4: one more key exchange of a pending CREATE_CHILD_SA, linked by the data of
    ADDITIONAL_KEY_EXCHANGE; the last one (no new link in its response) keys the new SA."""
    if not msg.response:
        exchange.request_payloads = payloads
        return
    link = stages.has_notify(exchange.request_payloads, reg.N_ADDITIONAL_KEY_EXCHANGE)
    origin = state.followup_links.pop(bytes(link.data), None) if link is not None else None
    if stages.has_notify(payloads, reg.N_STATE_NOT_FOUND) is not None:  # RFC 9370 2.2.4: state lost
        what = f"CREATE_CHILD_SA 0x{origin.message_id:08x}" if origin is not None else "the CREATE_CHILD_SA"
        msg.add_note(f"STATE_NOT_FOUND: the responder no longer holds {what}")
        if origin is not None and origin.record is not None:
            origin.record.summary["refused"] = ["STATE_NOT_FOUND"]
            origin.record.complete = True
        return
    pair = stages.ke_pair(exchange.request_payloads, payloads)
    if origin is None or pair is None or origin.pending_response is None:
        msg.add_note("IKE_FOLLOWUP_KE of no CREATE_CHILD_SA in the capture")
        return
    origin.followups.append((pair[0], pair[1], msg.message_id))
    n = len(origin.followups)
    msg.add_note(f"additional key exchange {n} of CREATE_CHILD_SA 0x{origin.message_id:08x}")
    more = stages.has_notify(payloads, reg.N_ADDITIONAL_KEY_EXCHANGE)
    if more is not None:
        state.followup_links[bytes(more.data)] = origin
        return
    _create_child_sa_keyed(engine, state, origin.pending_response, origin, origin.response_payloads)


def _create_child_sa_keyed(
    engine: Ikev2Engine,
    state: Ikev2SaState,
    msg: IkeMessage,
    exchange: ExchangeState,
    payloads: list[Ikev2Payload],
) -> None:
    request_sa = _first(exchange.request_payloads, Ikev2SaPayload)
    response_sa = _first(payloads, Ikev2SaPayload)
    record = exchange.record if exchange.record is not None else _phase2(state, msg, exchange)
    if (
        response_sa is not None
        and response_sa.proposals
        and response_sa.proposals[0].protocol_id == reg.PROTOCOL_IKE
    ):
        _ike_sa_rekey(engine, state, msg, exchange, request_sa, response_sa, record)
        return
    _child_sa(engine, state, msg, exchange, payloads, [], "CREATE_CHILD_SA")


def _ike_sa_rekey(
    engine: Ikev2Engine,
    state: Ikev2SaState,
    msg: IkeMessage,
    exchange: ExchangeState,
    request_sa: Ikev2SaPayload | None,
    response_sa: Ikev2SaPayload,
    record: Phase2Exchange,
) -> None:
    """RFC 7296 2.18: the rekey's requester is the new SA's initiator; the SPIs are the proposals'."""
    chosen = response_sa.proposals[0]
    offered = next(
        (p for p in (request_sa.proposals if request_sa else []) if p.number == chosen.number), None
    )
    if offered is None or len(offered.spi) != 8 or len(chosen.spi) != 8:
        record.summary["ike_rekey"] = "IKE SA rekey with unreadable SPIs"
        return
    sa = state.sa
    requester, responder = (
        (sa.initiator, sa.responder) if exchange.requester_is_initiator else (sa.responder, sa.initiator)
    )
    new = engine.new_sa(offered.spi, chosen.spi, requester, responder, msg.time, False)
    new.sa.state = "rekeyed in (no IKE_SA_INIT)"
    new.chosen = chosen
    new.sa.chosen = chosen
    swap = {"initiator": "responder", "responder": "initiator"}
    new.sa.identities = {
        (k if exchange.requester_is_initiator else swap.get(k, k)): v for k, v in sa.identities.items()
    }
    new.sa.auth_method = sa.auth_method
    new.sa.established = True
    verified = [m.auth_verified for m in sa.messages if m.auth_verified is not None]
    new.sa.authenticated = all(verified) if verified else sa.authenticated  # RFC 7296 2.18: inherited
    assert new.sa.ikev2 is not None and sa.ikev2 is not None
    new.sa.ikev2.rekeyed_from = sa.cookies
    prf = chosen.prf
    new.sa.ikev2.prf = prf.id_name if prf is not None else None
    sa.ikev2.rekeyed_into.append(new.sa.cookies)
    record.summary["ike_rekey"] = f"new IKE SA {new.sa.cookies}"
    record.complete = True
    engine.keying.rekey_ike_sa(state, new, exchange, exchange.request_payloads, exchange.response_payloads)


def _child_sa(
    engine: Ikev2Engine,
    state: Ikev2SaState,
    msg: IkeMessage,
    exchange: ExchangeState,
    payloads: list[Ikev2Payload],
    errors: list[str],
    kind: str,
) -> None:
    requested = exchange.request_payloads
    if kind == "IKE_AUTH":
        requested = state.auth_material.get("child_request", requested)
    response_sa = _first(payloads, Ikev2SaPayload)
    request_sa = _first(requested, Ikev2SaPayload)
    facts = state.sa.ikev2
    assert facts is not None
    if response_sa is None or not response_sa.proposals or request_sa is None:
        if errors:
            facts.child_sas.append(
                {"exchange": kind, "message_id": f"0x{msg.message_id:08x}", "refused": errors}
            )
        return
    chosen = response_sa.proposals[0]
    offered = next((p for p in request_sa.proposals if p.number == chosen.number), None)
    tsi = _first(payloads, Ikev2TsPayload, reg.PT_TSI)
    tsr = _first(payloads, Ikev2TsPayload, reg.PT_TSR)
    transport = (
        stages.has_notify(payloads, reg.N_USE_TRANSPORT_MODE) is not None
        and stages.has_notify(requested, reg.N_USE_TRANSPORT_MODE) is not None
    )
    rekey = stages.has_notify(requested, reg.N_REKEY_SA)
    child: dict[str, Any] = {
        "exchange": kind,
        "message_id": f"0x{msg.message_id:08x}",
        "protocol": reg.PROTOCOL_IDS.name(chosen.protocol_id),
        "proposal": chosen.text(),
        "spi_initiator": (offered.spi if exchange.requester_is_initiator else chosen.spi).hex()
        if offered
        else None,
        "spi_responder": (chosen.spi if exchange.requester_is_initiator else offered.spi).hex()
        if offered
        else None,
        "ts_initiator": tsi.detail() if tsi else None,
        "ts_responder": tsr.detail() if tsr else None,
        "mode": "transport" if transport else "tunnel",
    }
    if rekey is not None:
        child["rekey_of"] = rekey.spi.hex()
    if errors:
        child["notifies"] = errors
    facts.child_sas.append(child)
    if exchange.record is not None:
        exchange.record.summary.update(
            {k: v for k, v in child.items() if k not in ("exchange", "message_id")}
        )
        exchange.record.complete = True
    if offered is None:
        return
    keyed = engine.keying.child_sa_keys(state, msg, exchange, offered, chosen, transport, kind)
    for keys in keyed:
        engine.events.append(IpsecSaKeyed(keys))
    child["keyed"] = bool(keyed)


def _child_request_summary(payloads: list[Ikev2Payload]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sa_payload = _first(payloads, Ikev2SaPayload)
    if sa_payload is not None:
        out["proposals"] = [p.text() for p in sa_payload.proposals]
    ke = _first(payloads, Ikev2KePayload)
    if ke is not None:
        out["pfs_group"] = ke.group_name
    notify = [p.type_name for p in payloads if isinstance(p, Ikev2NotifyPayload)]
    if notify:
        out["notifies"] = notify
    return out


# -- INFORMATIONAL -----------------------------------------------------------------------------


def _informational(
    state: Ikev2SaState,
    msg: IkeMessage,
    exchange: ExchangeState,
    payloads: list[Ikev2Payload],
    notifies: list[Ikev2NotifyPayload],
) -> None:
    record = _phase2(state, msg, exchange)
    deletes = [p for p in payloads if isinstance(p, Ikev2DeletePayload)]
    if not payloads:
        record.summary["liveness_check"] = True  # RFC 7296 1.4: an empty INFORMATIONAL
    for p in deletes:
        if p.protocol_id == reg.PROTOCOL_IKE:
            state.deleted = True
            state.sa.state = "DELETED"
            record.summary["deletes_ike_sa"] = True
        else:
            spis = record.summary.setdefault("deleted_spis", [])
            spis.extend(f"{reg.PROTOCOL_IDS.short_name(p.protocol_id)} {s.hex()}" for s in p.spis)
    if notifies:
        record.summary.setdefault("notifies", []).extend(n.type_name for n in notifies)
    if msg.response:
        record.complete = True


# -- shared ------------------------------------------------------------------------------------


def _phase2(state: Ikev2SaState, msg: IkeMessage, exchange: ExchangeState) -> Phase2Exchange:
    record = exchange.record
    if record is None:
        key = msg.message_id | (0 if exchange.requester_is_initiator else PHASE2_KEY_RESPONDER)
        record = exchange.record = Phase2Exchange(msg.message_id, msg.exchange, msg.exchange_type)
        record.summary["started_by"] = "initiator" if exchange.requester_is_initiator else "responder"
        state.sa.phase2[key] = record
    record.frames.append(msg.frame)
    record.labels.append(msg.label)
    if msg.encrypted:
        ok = msg.decrypted
        record.decrypted = bool(ok) if record.decrypted in (None, True) else False
    if msg.integrity_verified is not None:
        record.hashes_verified = msg.integrity_verified if record.hashes_verified in (None, True) else False
    return record


def _first(payloads: list[Any], kind: type[Ikev2Payload], payload_type: int | None = None) -> Any:
    for p in payloads:  # a loop, not next(generator): called a dozen times per message
        if isinstance(p, kind) and (payload_type is None or p.type == payload_type):
            return p
    return None


def _vendor_ids(state: Ikev2SaState, payloads: list[Ikev2Payload], from_initiator: bool) -> None:
    for p in payloads:
        if isinstance(p, Ikev2VendorIdPayload):
            names = state.sa.vendor_ids.setdefault("initiator" if from_initiator else "responder", [])
            if p.vendor_name not in names:
                names.append(p.vendor_name)


def conclude(state: Ikev2SaState) -> None:
    """Final word on an SA at the end of the capture."""
    sa = state.sa
    verified = [m.auth_verified for m in sa.messages if m.auth_verified is not None and not m.retransmission]
    if verified and all(verified) and sa.established:
        sa.authenticated = True
    elif any(v is False for v in verified):
        sa.authenticated = False
