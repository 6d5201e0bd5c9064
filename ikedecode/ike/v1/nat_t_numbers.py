"""Which payload numbers an IKE SA's NAT-T uses: RFC 3947's, or a draft's.

RFC 3947 numbers NAT-D and NAT-OA 20 and 21. Before it, the drafts used 130 and 131 (-01 to -03,
decoded as such everywhere: no other payload has those numbers) and then 15 and 16, which GDOI
(RFC 3547) also assigns (SA KEK, SA TEK). Cisco IOS still sends NAT-D as type 15 when the NAT-T
vendor ID both peers sent is a draft one (PacketLife's IOS capture in tests/corpus/tcpdump). So
15 and 16 are read as NAT-D and NAT-OA only in an SA whose two sides both sent a draft NAT-T
vendor ID (draft-ietf-ipsec-nat-t-ike-NN) and not both RFC 3947's: the vendor IDs come in the
first two messages, before any NAT-D.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ikedecode.ike.payload_chain import PayloadHeader
from ikedecode.ike.registries import NAT_T_DRAFT_PAYLOAD_TYPES
from ikedecode.ike.v1.payloads import Payload, UnknownPayload
from ikedecode.ike.v1.payloads.base import BodyError
from ikedecode.ike.v1.payloads.decode import DECODERS

DRAFT_VENDOR_ID_PREFIX = "draft-ietf-ipsec-nat-t-ike"
RFC_VENDOR_ID = "RFC 3947 NAT-T"
RFC_NUMBER_OF = {15: 20, 16: 21}  # draft type -> the RFC 3947 type it stands for
assert set(RFC_NUMBER_OF) == set(NAT_T_DRAFT_PAYLOAD_TYPES)


def uses_draft_numbers(vendor_ids: Mapping[str, Sequence[str]]) -> bool:
    """Both sides sent a draft NAT-T vendor ID, and not both RFC 3947's (``IkeSa.vendor_ids``)."""
    sides = list(vendor_ids.values())
    if len(sides) < 2:
        return False
    if all(RFC_VENDOR_ID in names for names in sides):
        return False
    return all(any(name.startswith(DRAFT_VENDOR_ID_PREFIX) for name in names) for names in sides)


def with_draft_numbers(payloads: list[Payload], problems: list[str]) -> list[Payload]:
    """``payloads`` with types 15 and 16 decoded as the NAT-D and NAT-OA they are in a draft SA."""
    if not any(type(p) is UnknownPayload and p.type in RFC_NUMBER_OF for p in payloads):
        return payloads
    out: list[Payload] = []
    for payload in payloads:
        if type(payload) is UnknownPayload and payload.type in RFC_NUMBER_OF:
            header = PayloadHeader(
                payload.type, payload.offset, payload.raw, payload.next_payload, payload.reserved
            )
            try:
                payload = DECODERS[RFC_NUMBER_OF[payload.type]](header, payload.body, problems)
            except BodyError as error:  # too short for a NAT-OA: kept as it was
                problems.append(f"{payload.name} payload at offset {payload.offset}: {error}")
        out.append(payload)
    return out


__all__ = ["uses_draft_numbers", "with_draft_numbers"]
