"""IKEv2 arrows and sentences of the ladder (render/ladder.py): what each exchange carries, in
plain words, from the decrypted payloads (RFC 7296 1.2-1.5): IDs, AUTH method and its check,
proposals, TSi/TSr, configuration (CP) addresses, notifies, deletes, liveness checks. A response
names the request it answers, so request/response arrows read as pairs."""

from __future__ import annotations

from ikedecode.ike.records import IkeMessage, IkeSa, Protection
from ikedecode.ike.v2.payloads.notify import Ikev2NotifyPayload
from ikedecode.ike.v2.payloads.records import (
    Ikev2AuthPayload,
    Ikev2DeletePayload,
    Ikev2EapPayload,
    Ikev2IdPayload,
    Ikev2KePayload,
)
from ikedecode.ike.v2.payloads.sa import Ikev2SaPayload
from ikedecode.ike.v2.payloads.selectors import Ikev2ConfigPayload, Ikev2TsPayload

ID_INITIATOR, ID_RESPONDER, TS_INITIATOR = 35, 36, 44
PROTO_IKE = 1
REKEY_SA = 16393
QUIET_NOTIFIES = frozenset(
    {"NAT_DETECTION_SOURCE_IP", "NAT_DETECTION_DESTINATION_IP", "SIGNATURE_HASH_ALGORITHMS"}
)


def _role(sa: IkeSa, address: str) -> str:
    return "initiator" if address == sa.initiator else "responder"


def _readable(m: IkeMessage) -> bool:
    return not m.encrypted or bool(m.decrypted)


def _auth_result(m: IkeMessage) -> str:
    return {True: "verified", False: "does NOT verify", None: "not checked"}[m.auth_verified]


def arrow_text(m: IkeMessage) -> str:
    """``IKE_AUTH request 0x00000001: IDi 192.0.2.1, AUTH PSK verified, SA ..., TSi ..., N(...)``."""
    label = f"{m.label} 0x{m.message_id:08x}"
    if not _readable(m):
        why = "no keys" if m.protection is Protection.NO_KEYS else "cannot decrypt"
        return f"{label} (encrypted, {why})"
    parts: list[str] = []
    for p in m.payloads:
        if isinstance(p, Ikev2IdPayload):
            parts.append(f"{p.short} {p.text}")
        elif isinstance(p, Ikev2AuthPayload):
            parts.append(f"AUTH {p.detail().split(',')[0]} {_auth_result(m)}")
        elif isinstance(p, Ikev2SaPayload):
            parts.append(
                "SA "
                + "; ".join(x.text() for x in p.proposals[:2])
                + (" ..." if len(p.proposals) > 2 else "")
            )
        elif isinstance(p, Ikev2TsPayload | Ikev2ConfigPayload | Ikev2KePayload):
            parts.append(p.summary())
        elif isinstance(p, Ikev2NotifyPayload):
            if p.is_error or p.type_name not in QUIET_NOTIFIES:
                parts.append(f"N({p.type_name})")
        elif isinstance(p, Ikev2DeletePayload):
            parts.append(p.summary())
        else:
            parts.append(p.short)
    return f"{label}: " + ", ".join(parts) if parts else f"{label} (empty)"


def sentence(sa: IkeSa, m: IkeMessage) -> str:
    """One plain sentence (or a few, joined by '; ') on what an IKEv2 message says."""
    role = _role(sa, m.sender)
    kind = "response" if m.response else "request"
    said: list[str] = []
    request = None
    if m.response:
        # message IDs count per requester (RFC 7296 2.2): the request came from this response's receiver
        request = next(
            (
                x
                for x in sa.messages
                if x.message_id == m.message_id
                and x.exchange == m.exchange
                and not x.response
                and x.sender == m.receiver
            ),
            None,
        )
        said.append(
            f"the {role} answers {m.exchange} request 0x{m.message_id:08x}"
            + (f" (frame {request.frame})" if request else "")
        )
    else:
        article = "an" if m.exchange[:1] in "AEIOU" else "a"
        said.append(f"the {role} sends {article} {m.exchange} {kind} (message ID {m.message_id})")
    if not _readable(m):
        said.append("encrypted: its contents cannot be read without its keys")
        return "; ".join(said)
    if m.exchange == "INFORMATIONAL" and not m.payloads:
        if not m.response:
            said.append("an empty INFORMATIONAL: a liveness check")
        elif request is not None and not request.payloads:
            said.append("empty: the peer is alive")
        else:
            said.append("empty: acknowledged")
    status: list[str] = []
    for p in m.payloads:
        if isinstance(p, Ikev2NotifyPayload) and not p.is_error and p.notify_type != REKEY_SA:
            if p.type_name not in QUIET_NOTIFIES:
                status.append(p.detail())
            continue
        text = _payload_words(m, p, role)
        if text:
            said.append(text)
    if status:
        said.append("notifies " + ", ".join(status))
    return "; ".join(said)


def _payload_words(m: IkeMessage, p: object, role: str) -> str | None:
    if isinstance(p, Ikev2IdPayload):
        who = (
            "its own identity"
            if (p.type == ID_INITIATOR) == (role == "initiator")
            else "the identity it wants to reach"
        )
        return f"{who}: {p.detail()}"
    if isinstance(p, Ikev2AuthPayload):
        return f"authenticates with {p.detail()}: {_auth_result(m)}"
    if isinstance(p, Ikev2SaPayload):
        what = "IKE SA" if p.proposals and p.proposals[0].protocol_id == PROTO_IKE else "Child SA"
        verb = "accepts" if m.response else "offers"
        return f"{verb} {what} " + "; ".join(x.text() for x in p.proposals)
    if isinstance(p, Ikev2KePayload):
        return f"key exchange {p.detail()}"
    if isinstance(p, Ikev2TsPayload):
        side = "initiator's" if p.type == TS_INITIATOR else "responder's"
        return f"traffic selectors of the {side} side {p.detail()}"
    if isinstance(p, Ikev2ConfigPayload):
        return f"configuration {p.detail()}"
    if isinstance(p, Ikev2EapPayload):
        return f"EAP {p.detail()}"
    if isinstance(p, Ikev2DeletePayload):
        if p.protocol_id == PROTO_IKE:
            return "deletes the IKE SA"
        return f"deletes {p.detail()}"
    if isinstance(p, Ikev2NotifyPayload):
        if p.is_error:
            return f"refuses with the error {p.detail()}"
        return f"rekeys the Child SA of {p.detail().replace('REKEY_SA ', '')}"
    return None
