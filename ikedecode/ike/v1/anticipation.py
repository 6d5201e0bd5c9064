"""Diffie-Hellman work started early: the clear phase-1 values of datagrams ``receive`` gets later.

A caller that reads ahead (``ikedecode.parallel.dh_pool``) shows each IKE datagram to the engine's
``anticipate`` first: once an SA's clear-text phase-1 messages have shown the chosen DH group (the
responder's SA payload) and both KE payloads, g^xy for the key ring's private values is handed to
the DH provider, so it is ready when ``receive`` decrypts MM5. Changes nothing else: the output is
the same with or without it.
"""

from __future__ import annotations

import struct

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.ike.dh_work import DhPrivateSecrets
from ikedecode.ike.header import HEADER_LENGTH
from ikedecode.ike.registries import GROUP_DESCRIPTION, PAYLOAD_KE, PAYLOAD_SA
from ikedecode.ike.v1.exchanges import PHASE1_TYPES


class DhAnticipation:
    def __init__(self, private_secrets: DhPrivateSecrets) -> None:
        self._private_secrets = private_secrets
        self._anticipated: dict[bytes, _Anticipated] = {}  # initiator cookie -> clear phase-1 values

    def clear(self) -> None:
        self._anticipated.clear()

    def anticipate(self, datagram: Datagram) -> None:
        """Look at a datagram that ``receive`` will get later, to start its DH work early. Never raises."""
        if not self._private_secrets.privates or datagram.kind is not Kind.IKE or datagram.nat_keepalive:
            return
        try:
            clear = clear_phase1_values(datagram.payload)
        except (ValueError, struct.error):
            return
        if clear is None:
            return
        initiator_cookie, group, key_exchange = clear
        seen = self._anticipated.get(initiator_cookie)
        if seen is None:
            if len(self._anticipated) >= MAX_ANTICIPATED:
                del self._anticipated[next(iter(self._anticipated))]
            seen = self._anticipated[initiator_cookie] = _Anticipated()
        if group is not None:
            seen.group = group
        if key_exchange is not None and key_exchange not in seen.key_exchanges:
            seen.key_exchanges.append(key_exchange)
        if seen.group is not None and len(seen.key_exchanges) == 2:
            del self._anticipated[initiator_cookie]
            self._private_secrets.anticipate(seen.group, *seen.key_exchanges)


MAX_ANTICIPATED = 8192  # SAs whose clear phase-1 values ``anticipate`` keeps while waiting for both KEs


class _Anticipated:
    __slots__ = ("group", "key_exchanges")

    def __init__(self) -> None:
        self.group: int | None = None
        self.key_exchanges: list[bytes] = []


def clear_phase1_values(message: bytes) -> tuple[bytes, int | None, bytes | None] | None:
    """(initiator cookie, chosen DH group, KE data) of a clear-text IKEv1 main/aggressive mode
    message, or None for any other message; the group only from a message with a responder
    cookie (the responder's SA payload), read from its first transform (RFC 2408 3.4-3.6).

    A lean walk of the generic payload headers (RFC 2408 3.2) for ``DhAnticipation.anticipate``, which
    looks at every IKE datagram before ``receive`` decodes it in full: anything unexpected is
    None (or raises ``struct.error``/``ValueError``), never a finding.
    """
    if len(message) < HEADER_LENGTH:
        return None
    next_payload, version, exchange_type, flags = message[16], message[17], message[18], message[19]
    if version >> 4 != 1 or exchange_type not in PHASE1_TYPES or flags & 0x01:
        return None
    end = min(len(message), int.from_bytes(message[24:28], "big"))
    responder_known = message[8:16] != bytes(8)
    group: int | None = None
    key_exchange: bytes | None = None
    position, hops = HEADER_LENGTH, 0
    while next_payload and position + 4 <= end and hops < 64:
        this, (next_payload, length) = next_payload, struct.unpack_from("!BxH", message, position)
        if length < 4 or position + length > end:
            return None
        if this == PAYLOAD_KE:
            key_exchange = message[position + 4 : position + length]
        elif this == PAYLOAD_SA and responder_known:
            group = _first_transform_group(message[position + 4 : position + length])
        position += length
        hops += 1
    return message[:8], group, key_exchange


def _first_transform_group(sa_body: bytes) -> int | None:
    """The Group Description of the first transform of the first proposal (DOI IPsec, SIT 1)."""
    if len(sa_body) < 8 + 8 or struct.unpack_from("!II", sa_body) != (1, 1):
        return None
    spi_size = sa_body[8 + 6]  # proposal: next, reserved, length, number, protocol, SPI size, transforms
    transform_at = 8 + 8 + spi_size
    if transform_at + 8 > len(sa_body):
        return None
    _, transform_length = struct.unpack_from("!BxH", sa_body, transform_at)
    attributes = sa_body[transform_at + 8 : min(len(sa_body), transform_at + transform_length)]
    group = None
    at = 0
    while at + 4 <= len(attributes):
        kind, value = struct.unpack_from("!HH", attributes, at)
        if kind & 0x8000:  # TV: the value is in the header (RFC 2408 3.3)
            if kind & 0x7FFF == GROUP_DESCRIPTION:
                group = value
            at += 4
        else:  # TLV: ``value`` is the length
            if kind == GROUP_DESCRIPTION:
                group = int.from_bytes(attributes[at + 4 : at + 4 + value], "big") or None
            at += 4 + value
    return group
