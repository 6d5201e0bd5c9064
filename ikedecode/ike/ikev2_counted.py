"""IKEv2 until its engine lands (ike/v2/): messages recognised and counted, not decoded.

Each IKEv2 message becomes a record in the IKE SA its SPIs name (the IKEv1 SA table, so the report
keeps one order of first appearance), with the clear payload headers up to the Encrypted payload,
and each such SA one ``ikev2-not-decoded`` finding.
"""

from __future__ import annotations

from ikedecode.capture.datagram import Datagram
from ikedecode.findings import finding
from ikedecode.ike import messages
from ikedecode.ike.events import IkeEvent, MessageDecoded
from ikedecode.ike.header import HEADER_LENGTH, IsakmpHeader
from ikedecode.ike.messages import header_record
from ikedecode.ike.records import Protection
from ikedecode.ike.registries import EXCHANGE_TYPES, IKEV2_PAYLOAD_ENCRYPTED, name
from ikedecode.ike.v1.payloads import parse_payloads
from ikedecode.ike.v1.sa_table import SaTable


class Ikev2Counted:
    def __init__(self, table: SaTable) -> None:
        self._table = table

    def receive(self, datagram: Datagram, header: IsakmpHeader) -> list[IkeEvent]:
        out: list[IkeEvent] = []
        try:
            self._receive(datagram, header, out)
        except Exception as exc:  # noqa: BLE001 - one bad message must not end the analysis
            out.extend(messages.decoder_error_events(datagram, exc))
        return out

    def _receive(self, datagram: Datagram, header: IsakmpHeader, out: list[IkeEvent]) -> None:
        state = self._table.state_for(datagram, header, out)
        sa = state.sa
        if sa.version != 2:
            sa.version, sa.state = 2, ""
            sa.findings.append(
                finding(
                    "ikev2-not-decoded",
                    f"IKEv2 SA with initiator SPI {sa.initiator_cookie.hex()}: messages are recognised and "
                    "counted, not decoded yet",
                    {"cookies": sa.cookies, "frame": datagram.frame},
                )
            )
        sa.last_time = max(sa.last_time, datagram.time)
        msg = header_record(datagram, header, "ikev2:" + name(EXCHANGE_TYPES, header.exchange_type), "IKEv2")
        chain = parse_payloads(
            header.next_payload, datagram.payload[HEADER_LENGTH : header.length], HEADER_LENGTH
        )
        encrypted_at = next(
            (i for i, p in enumerate(chain.payloads) if p.type == IKEV2_PAYLOAD_ENCRYPTED), None
        )
        if encrypted_at is not None:
            # RFC 7296 3.14: what follows the SK payload's header is ciphertext; stop there.
            msg.payloads, msg.problems = chain.payloads[: encrypted_at + 1], []
            msg.encrypted, msg.protection = True, Protection.NO_KEYS
        else:
            msg.payloads, msg.problems = chain.payloads, list(chain.problems)
        sa.messages.append(msg)
        out.append(MessageDecoded(msg, attached=True))

    def finish(self) -> list[IkeEvent]:
        return []  # its SAs are in the IKEv1 table: the IKEv1 engine closes them
