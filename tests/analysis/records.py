"""Engine records built by hand, for diagnosis behaviours no lab capture shows (INVALID-SPI, a NAT
without NAT-T, oversized messages, a responder-lowered lifetime...). Only the fields the checks
read are filled; payload objects are the decoder's own classes."""

from __future__ import annotations

from typing import Any

from ikedecode.analysis.report import Report
from ikedecode.capture.datagram import CaptureStats
from ikedecode.ike.records import IkeMessage, IkeSa, Phase2Exchange, Protection
from ikedecode.ike.v1.attributes import IKE_CONTEXT, IPSEC_CONTEXT, Attribute
from ikedecode.ike.v1.payloads import (
    DeletePayload,
    IdPayload,
    KePayload,
    NatDPayload,
    NotifyPayload,
    Proposal,
    SaPayload,
    Transform,
    VendorIdPayload,
)

INIT, RESP = "192.0.2.1", "192.0.2.2"
EXCHANGE_TYPES = {"main": 2, "aggressive": 4, "informational": 5, "quick": 32}


def isakmp_transform(*attributes: tuple[int, int]) -> Transform:
    """An ISAKMP transform (KEY_IKE, RFC 2409 Appendix A attributes as (type, value) pairs)."""
    return Transform(1, 1, [Attribute(t, v, True, IKE_CONTEXT) for t, v in attributes])


# AES-CBC-128, SHA, Pre-shared key, group 14, 28800 seconds
PSK_SHA1_GROUP14 = isakmp_transform((1, 7), (14, 128), (2, 2), (4, 14), (3, 1), (11, 1), (12, 28800))


def _common(type_: int) -> dict[str, Any]:
    return {"type": type_, "offset": 28, "raw": b"\0\0\0\x08abcd", "next_payload": 0}


def notify(notify_type: int, protocol_id: int = 3, spi: bytes = b"", data: bytes = b"") -> NotifyPayload:
    return NotifyPayload(
        **_common(11), doi=1, protocol_id=protocol_id, spi=spi, notify_type=notify_type, data=data
    )


def delete(protocol_id: int, *spis: bytes) -> DeletePayload:
    return DeletePayload(
        **_common(12), doi=1, protocol_id=protocol_id, spi_size=len(spis[0]), spis=list(spis)
    )


def ke(size: int) -> KePayload:
    return KePayload(**_common(4), data=bytes(size))


def ipv4_subnet(text: str) -> IdPayload:
    return IdPayload(**_common(5), id_type=4, protocol_id=0, port=0, data=b"", text=text)


def ipv4_address(text: str) -> IdPayload:
    return IdPayload(**_common(5), id_type=1, protocol_id=0, port=0, data=b"", text=text)


def natd(digest: bytes) -> NatDPayload:
    return NatDPayload(**_common(20), data=digest)


def vendor(name: str) -> VendorIdPayload:
    return VendorIdPayload(**_common(13), data=b"\x01", vendor=name)


def esp_sa(
    *attributes: tuple[int, int], transform_id: int = 12, spi: bytes = b"\x11\x22\x33\x44"
) -> SaPayload:
    attrs = [Attribute(t, v, True, IPSEC_CONTEXT) for t, v in attributes]
    transform = Transform(1, transform_id, attrs, protocol_id=3)
    return SaPayload(**_common(1), doi=1, situation=1, proposals=[Proposal(1, 3, spi, [transform])])


def msg(
    frame: int,
    time: float,
    label: str,
    sender: str = INIT,
    *payloads: Any,
    exchange: str = "main",
    message_id: int = 0,
    retransmission_of: int | None = None,
    length: int = 100,
    protection: Protection = Protection.CLEAR,
    frames: tuple[int, ...] = (),
    sport: int = 500,
) -> IkeMessage:
    receiver = RESP if sender == INIT else INIT
    return IkeMessage(
        frame=frame,
        time=time,
        sender=sender,
        receiver=receiver,
        sport=sport,
        dport=500,
        length=length,
        exchange_type=EXCHANGE_TYPES[exchange],
        exchange=exchange,
        message_id=message_id,
        label=label,
        flags=1 if protection is not Protection.CLEAR else 0,
        encrypted=protection is not Protection.CLEAR,
        retransmission_of=retransmission_of,
        protection=protection,
        payloads=list(payloads),
        frames=frames or (frame,),
    )


def ike_sa(
    *messages: IkeMessage, exchange: str = "main", chosen: Transform | None = PSK_SHA1_GROUP14, **kw: Any
) -> IkeSa:
    sa = IkeSa(
        version=1,
        initiator_cookie=bytes.fromhex("1111111111111111"),
        responder_cookie=bytes.fromhex("2222222222222222"),
        initiator=INIT,
        responder=RESP,
        exchange=exchange,
        offered=[PSK_SHA1_GROUP14],
        chosen=chosen,
        messages=list(messages),
        first_time=messages[0].time if messages else 0.0,
        last_time=messages[-1].time if messages else 0.0,
        **kw,
    )
    for m in messages:
        if m.message_id and m.exchange in ("quick", "informational"):
            ex = sa.phase2.setdefault(m.message_id, Phase2Exchange(m.message_id, m.exchange, m.exchange_type))
            ex.frames.append(m.frame)
            ex.labels.append(m.label)
    return sa


def established_main_mode(start: float = 0.0) -> list[IkeMessage]:
    done = Protection.VERIFIED
    return [
        msg(1, start, "MM1"),
        msg(2, start + 0.01, "MM2", RESP),
        msg(3, start + 0.02, "MM3"),
        msg(4, start + 0.03, "MM4", RESP),
        msg(5, start + 0.04, "MM5", INIT, ipv4_address(INIT), protection=done),
        msg(6, start + 0.05, "MM6", RESP, ipv4_address(RESP), protection=done),
    ]


def report(*sas: IkeSa, last_time: float | None = None) -> Report:
    stats = CaptureStats(last_time=last_time if last_time is not None else max(s.last_time for s in sas))
    return Report("synthetic", stats, list(sas))
