"""IKEv2 Child SAs seen from one router: inbound/outbound SPIs, traffic selectors, transforms.

RFC 7296 3.3.1: the SPI a side puts in its SA payload is the one it receives on, so the local
router's inbound SPI is the one it proposed (request or response). The engine's child record
names SPIs by IKE SA role (``spi_initiator`` is the IKE SA initiator's) and selectors by exchange
(``ts_initiator`` is the TSi of the exchange, i.e. the requester's side, RFC 7296 2.9).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.v2.payloads.records import Ikev2DeletePayload, Ikev2FragmentPayload
from ikedecode.ike.v2.payloads.sa import Ikev2SaPayload, Ikev2Transform

PROTO_IKE, PROTO_AH, PROTO_ESP = 1, 2, 3


@dataclass(slots=True)
class Ikev2LocalChild:
    cookies: str
    exchange: str  # IKE_AUTH / CREATE_CHILD_SA
    message_id: int
    protocol: str  # "esp" / "ah"
    requester: str
    local_is_requester: bool
    inbound_spi: int | None
    outbound_spi: int | None
    local_ts: str
    remote_ts: str
    mode: str = "tunnel"
    transforms: list[Ikev2Transform] = field(default_factory=list)
    created: float | None = None
    created_frame: int | None = None
    rekey_of: int | None = None
    deleted: float | None = None
    deleted_by: str | None = None  # address that sent the Delete
    conn_in: int = 0
    conn_out: int = 0

    @property
    def name(self) -> str:
        """The exchange that made it: ``IKE_AUTH 0x00000001`` / ``CREATE_CHILD_SA 0x00000002``."""
        return f"{self.exchange} 0x{self.message_id:08x}"


def exchange_messages(
    sa: IkeSa, message_id: int, exchange: str
) -> tuple[IkeMessage | None, IkeMessage | None]:
    """(request, response) of one exchange, first copies only; message IDs count per requester
    (RFC 7296 2.2), so a response pairs with the request its receiver sent."""
    copies = [
        m
        for m in sa.messages
        if m.message_id == message_id and m.exchange == exchange and m.retransmission_of is None
    ]
    # RFC 7383: of a fragmented response, the message that carries the reassembled payloads
    responses = [m for m in copies if m.response]
    response = next((m for m in responses if not is_fragment(m)), responses[0] if responses else None)
    requests = [m for m in copies if not m.response]
    if response is not None:
        return next((m for m in requests if m.sender == response.receiver), None), response
    return (requests[0] if requests else None), None


def is_fragment(m: IkeMessage) -> bool:
    """A message that is only an RFC 7383 fragment (the others are carried by the last one)."""
    return bool(m.payloads) and all(isinstance(p, Ikev2FragmentPayload) for p in m.payloads)


def _transforms(m: IkeMessage | None) -> list[Ikev2Transform]:
    if m is None:
        return []
    for p in m.payloads:
        if isinstance(p, Ikev2SaPayload) and p.proposals:
            return list(p.proposals[0].transforms)
    return []


def _hex(text: object) -> int | None:
    try:
        return int(str(text), 16)
    except ValueError:
        return None


def build_ikev2_children(sa: IkeSa, local: str, all_sas: list[IkeSa]) -> list[Ikev2LocalChild]:
    """The Child SAs ``sa`` made (refused ones left out), in the order they were created."""
    out: list[Ikev2LocalChild] = []
    if sa.ikev2 is None:
        return out
    local_is_ike_initiator = local == sa.initiator
    for record in sa.ikev2.child_sas:
        if "refused" in record:
            continue
        message_id = int(record["message_id"], 16)
        request, response = exchange_messages(sa, message_id, record["exchange"])
        requester = request.sender if request else (response.receiver if response else sa.initiator)
        mine = record.get("spi_initiator") if local_is_ike_initiator else record.get("spi_responder")
        theirs = record.get("spi_responder") if local_is_ike_initiator else record.get("spi_initiator")
        ts_requester, ts_other = str(record.get("ts_initiator", "")), str(record.get("ts_responder", ""))
        local_is_requester = requester == local
        child = Ikev2LocalChild(
            cookies=sa.cookies,
            exchange=record["exchange"],
            message_id=message_id,
            protocol=str(record.get("protocol", "ESP")).lower(),
            requester=requester,
            local_is_requester=local_is_requester,
            inbound_spi=_hex(mine) if mine else None,
            outbound_spi=_hex(theirs) if theirs else None,
            local_ts=ts_requester if local_is_requester else ts_other,
            remote_ts=ts_other if local_is_requester else ts_requester,
            mode=str(record.get("mode", "tunnel")),
            transforms=_transforms(response),
            created=response.time if response else None,
            created_frame=response.frame if response else None,
            rekey_of=_hex(record["rekey_of"]) if record.get("rekey_of") else None,
        )
        out.append(child)
    _find_deletes(out, all_sas)
    out.sort(key=lambda c: (c.created is None, c.created or 0.0))
    return out


def _find_deletes(children: list[Ikev2LocalChild], all_sas: list[IkeSa]) -> None:
    """A Child SA is gone with the first Delete naming either of its SPIs (RFC 7296 1.4.1), in
    whichever IKE SA it was sent (a rekeyed IKE SA inherits the children, 2.18)."""
    by_spi: dict[int, Ikev2LocalChild] = {}
    for child in children:
        for spi in (child.inbound_spi, child.outbound_spi):
            if spi is not None:
                by_spi.setdefault(spi, child)
    if not by_spi:
        return
    for sa in all_sas:
        for m in sa.messages:
            if m.exchange != "INFORMATIONAL" or m.retransmission_of is not None:
                continue
            for p in m.payloads:
                if not isinstance(p, Ikev2DeletePayload) or p.protocol_id == PROTO_IKE:
                    continue
                for raw in p.spis:
                    named = by_spi.get(int.from_bytes(raw, "big"))
                    if named is not None and named.deleted is None:
                        named.deleted, named.deleted_by = m.time, m.sender


def delete_payloads(m: IkeMessage) -> list[Ikev2DeletePayload]:
    return [p for p in m.payloads if isinstance(p, Ikev2DeletePayload)]
