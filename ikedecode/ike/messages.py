"""Message records and the guard's records, shared by the version dispatcher and both engines.

An ``IkeMessage`` takes its addressing from the datagram that carried it; a datagram that could not
be decoded (not even an ISAKMP header, or a bug in ikedecode) still becomes a record, listed apart
from the IKE SAs (the ``attached=False`` of ``MessageDecoded``), with a finding.
"""

from __future__ import annotations

from typing import Any

from ikedecode.capture.datagram import Datagram
from ikedecode.findings import Finding, finding
from ikedecode.ike.events import FindingRaised, IkeEvent, MessageDecoded
from ikedecode.ike.header import FLAG_ENCRYPTION, IsakmpHeader
from ikedecode.ike.records import IkeMessage, Protection
from ikedecode.stored_fields import stores_every_field

DEFAULT_MAX_SAS = 100_000  # IKE SAs kept per engine; beyond it the oldest are dropped (state-cap)
CLEAR = Protection.CLEAR  # (an enum class attribute costs ten times a module name to read, CPython 3.11)
UNKNOWN_LABEL = "?"  # the label of a message beyond any exchange's shape, or not decoded at all


def message_record(datagram: Datagram, **fields: Any) -> IkeMessage:
    """An IkeMessage with the datagram's addressing filled in."""
    return IkeMessage(
        frame=datagram.frame,
        time=datagram.time,
        sender=datagram.src,
        receiver=datagram.dst,
        sport=datagram.sport,
        dport=datagram.dport,
        length=len(datagram.payload),
        frames=datagram.frames or (datagram.frame,),
        udp_encapsulated=datagram.udp_encapsulated,
        **fields,
    )


def header_record(
    datagram: Datagram, header: IsakmpHeader, exchange: str, label: str, **fields: Any
) -> IkeMessage:
    """The record of a message whose header was read: exchange, message ID, label and flags
    (``encrypted`` from the header's E flag unless ``fields`` say otherwise, as IKEv2 does)."""
    encrypted = fields.pop("encrypted") if "encrypted" in fields else header.encrypted
    return IkeMessage(  # the fields of message_record, written out: one record per datagram
        datagram.frame,
        datagram.time,
        datagram.src,
        datagram.dst,
        datagram.sport,
        datagram.dport,
        len(datagram.payload),
        header.exchange_type,
        exchange,
        header.message_id,
        label,
        header.flags,
        encrypted,
        frames=datagram.frames or (datagram.frame,),
        udp_encapsulated=datagram.udp_encapsulated,
        **fields,
    )


def payload_record(
    datagram: Datagram,
    header: IsakmpHeader,
    exchange: str,
    label: str,
    payloads: list[Any],
    problems: list[str],
) -> IkeMessage:
    """``header_record`` for an engine that has the message's payload and problem lists at hand
    (IKEv1's): every field stored after ``object.__new__``, which is what the dataclass ``__init__``
    does, without its call (0.64 -> 0.37 us a record, one per datagram; ``_MESSAGE_FIELDS`` is
    checked against the dataclass at import)."""
    # (at most three names to a line: four or more make and unpack a tuple of the values)
    msg = _new(IkeMessage)
    msg.frame, msg.time = datagram.frame, datagram.time
    msg.sender, msg.receiver = datagram.src, datagram.dst
    msg.sport, msg.dport, msg.length = datagram.sport, datagram.dport, len(datagram.payload)
    msg.exchange_type, msg.exchange, msg.message_id = header.exchange_type, exchange, header.message_id
    msg.label, msg.flags, msg.encrypted = label, header.flags, bool(header.flags & FLAG_ENCRYPTION)
    msg.retransmission_of, msg.protection = None, CLEAR
    msg.hash_verified, msg.hash_name = None, None
    msg.payloads, msg.problems = payloads, problems
    msg.frames, msg.udp_encapsulated = datagram.frames or (datagram.frame,), datagram.udp_encapsulated
    msg.note, msg.version, msg.response = "", 1, None
    msg.integrity_verified, msg.auth_verified, msg.key_stage = None, None, None
    return msg


_new = object.__new__
# the fields ``payload_record`` stores, in the dataclass's order (a field added to ``IkeMessage``
# must be stored there too: the import fails until it is)
_MESSAGE_FIELDS = (
    *("frame", "time", "sender", "receiver", "sport", "dport", "length", "exchange_type", "exchange"),
    *("message_id", "label", "flags", "encrypted", "retransmission_of", "protection", "hash_verified"),
    *("hash_name", "payloads", "problems", "frames", "udp_encapsulated", "note", "version", "response"),
    *("integrity_verified", "auth_verified", "key_stage"),
)
stores_every_field(IkeMessage, _MESSAGE_FIELDS)


def malformed_record(datagram: Datagram, reason: str, **fields: Any) -> IkeMessage:
    return message_record(
        datagram,
        exchange_type=0,
        exchange="unknown",
        message_id=0,
        label=UNKNOWN_LABEL,
        flags=0,
        encrypted=False,
        protection=Protection.MALFORMED,
        problems=[reason],
        **fields,
    )


def malformed_events(datagram: Datagram, reason: str) -> list[IkeEvent]:
    """A datagram on an IKE port that is no ISAKMP message: an unattached record and a finding."""
    raised = finding(
        "malformed-message",
        f"IKE message from {datagram.src} failed its sanity check: {reason}",
        {"frame": datagram.frame, "src": datagram.src, "dst": datagram.dst},
    )
    return [MessageDecoded(malformed_record(datagram, reason), attached=False), FindingRaised(raised)]


def decoder_error_events(datagram: Datagram, exc: Exception, **fields: Any) -> list[IkeEvent]:
    """The guard's record of a message ikedecode failed on: a finding, never an exception."""
    msg = malformed_record(datagram, f"ikedecode failed on this message: {type(exc).__name__}", **fields)
    return [MessageDecoded(msg, attached=False), FindingRaised(decoder_error_finding(datagram.frame, exc))]


def decoder_error_finding(frame: int, exc: Exception) -> Finding:
    return finding(
        "decoder-error",
        f"frame {frame}: ikedecode failed to decode this IKE message ({type(exc).__name__}); "
        "the rest of the capture was decoded",
        {"frame": frame, "exception": type(exc).__name__},
    )
