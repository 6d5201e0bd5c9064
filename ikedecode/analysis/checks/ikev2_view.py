"""An IKEv2 SA seen once for the three IKEv2 checks (``ikev2_failures``, ``ikev2_posture``,
``ikev2``): one pass over its messages and their payloads instead of one per check. Each check
walked every payload of every SA again, after the other SAs had pushed them out of the cache.
Imported with the IKEv2 checks, for a report with an IKEv2 SA.
"""

from __future__ import annotations

from ikedecode.analysis.checks.facts import Context
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads import Ikev2NotifyPayload, Ikev2SaPayload, Ikev2TsPayload

CHILD_EXCHANGES = (reg.IKE_AUTH, reg.CREATE_CHILD_SA)  # the exchanges whose selectors are checked
TS_TYPES = (reg.PT_TSI, reg.PT_TSR)


class Ikev2View:
    """What the IKEv2 checks ask of every SA, from one pass."""

    __slots__ = (
        "sa",
        "retransmitted",
        "notify_types",
        "errors",
        "init_request",
        "init_response",
        "accepted",
        "selectors",
    )

    def __init__(self, sa: IkeSa) -> None:
        self.sa = sa
        self.retransmitted = False  # whether any message came again
        self.notify_types: set[int] = set()  # of every message, copies included
        # error notifications of the first copies, capture order
        self.errors: list[tuple[IkeMessage, Ikev2NotifyPayload]] = []
        # the last IKE_SA_INIT request and response (first copies)
        self.init_request: IkeMessage | None = None
        self.init_response: IkeMessage | None = None
        # the SA payloads of responses (first copies): what the responder accepted
        self.accepted: list[tuple[IkeMessage, Ikev2SaPayload]] = []
        # id of an IKE_AUTH / CREATE_CHILD_SA message (first copy) -> its first TSi and TSr payloads
        self.selectors: dict[int, list[Ikev2TsPayload | None]] = {}
        notify_types, errors, accepted = self.notify_types, self.errors, self.accepted
        for msg in sa.messages:
            if msg.retransmission_of is not None:
                self.retransmitted = True
                for p in msg.payloads:
                    if type(p) is Ikev2NotifyPayload:  # no payload class has subclasses: not isinstance
                        notify_types.add(p.notify_type)
                continue
            response = msg.response
            exchange_type = msg.exchange_type
            if exchange_type == reg.IKE_SA_INIT:
                if response is False:
                    self.init_request = msg
                elif response:
                    self.init_response = msg
            selectors: list[Ikev2TsPayload | None] | None = None
            if exchange_type in CHILD_EXCHANGES:
                selectors = self.selectors[id(msg)] = [None, None]
            for p in msg.payloads:
                kind = type(p)
                if kind is Ikev2NotifyPayload:
                    notify_types.add(p.notify_type)
                    if p.is_error:
                        errors.append((msg, p))
                elif response and kind is Ikev2SaPayload:
                    accepted.append((msg, p))
                elif selectors is not None and kind is Ikev2TsPayload and p.type in TS_TYPES:
                    i = 0 if p.type == reg.PT_TSI else 1
                    if selectors[i] is None:
                        selectors[i] = p


def ikev2_views(ctx: Context) -> list[Ikev2View]:
    """The report's IKEv2 SAs, in report order, each seen once per diagnosis."""
    if ctx.ikev2 is None:
        ctx.ikev2 = [Ikev2View(sa) for sa in ctx.report.ike_sas if sa.version == 2]
    return ctx.ikev2
