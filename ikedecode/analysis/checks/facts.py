"""What the checks read from a Report, worked out once: per-SA message views and evidence helpers.

A check never walks raw records twice for the same fact: ``SaFacts`` knows each message's role,
its retransmissions, the notifications and deletes it carried, and the accepted phase-1 policy;
``evidence_of`` turns a message into the evidence every finding shows (label, frame, time, who).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ikedecode.analysis.report import Report
from ikedecode.findings import Finding
from ikedecode.ike.records import IkeMessage, IkeSa, Phase2Exchange, ProposalRecord
from ikedecode.ike.registries import (
    AUTHENTICATION_METHOD,
    BASE_AUTHENTICATION_METHOD,
    ENCRYPTION_ALGORITHM,
    GROUP_DESCRIPTION,
    HASH_ALGORITHM,
    KEY_LENGTH,
    LIFE_DURATION,
    LIFE_TYPE,
)
from ikedecode.ike.v1.exchanges import Label, Role
from ikedecode.ike.v1.payloads import DeletePayload, IdPayload, KePayload, NotifyPayload, SaPayload, Transform

INITIATOR, RESPONDER = Role.INITIATOR, Role.RESPONDER
PHASE1_EXCHANGES = ("main", "aggressive")
PRESHARED_BASE_METHOD = 1  # RFC 2409 Appendix A: authentication method 1
# The attributes that make an ISAKMP policy (RFC 2409 Appendix A); lifetimes are compared apart.
POLICY_ATTRIBUTES = (
    ENCRYPTION_ALGORITHM,
    KEY_LENGTH,
    HASH_ALGORITHM,
    AUTHENTICATION_METHOD,
    GROUP_DESCRIPTION,
)
REFUSAL_WINDOW = 2.0  # seconds: an unreadable informational this soon after QM2 is its refusal
LIFE_UNITS = {1: "seconds", 2: "kilobytes"}  # Life-Type / SA-Life-Type values (RFC 2407 4.5, RFC 2409 App. A)


def evidence_of(msg: IkeMessage, **extra: Any) -> dict[str, Any]:
    """A message as evidence: label, frame(s), time, sender and receiver."""
    out: dict[str, Any] = {
        "label": msg.label,
        "frame": msg.frame,
        "time": msg.time,
        "sender": msg.sender,
        "receiver": msg.receiver,
    }
    if len(msg.frames) > 1:
        out["frames"] = list(msg.frames)  # IP fragments
    if msg.message_id:
        out["message_id"] = f"0x{msg.message_id:08x}"
    out.update(extra)
    return out


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


LISTED_FRAMES = 6  # frames named in a sentence; "and N more" after them


def frames_text(messages: Iterable[IkeMessage]) -> str:
    frames = [str(m.frame) for m in messages]
    more = f" and {len(frames) - LISTED_FRAMES} more" if len(frames) > LISTED_FRAMES else ""
    return ("frame " if len(frames) == 1 else "frames ") + ", ".join(frames[:LISTED_FRAMES]) + more


def attribute_values(transform: ProposalRecord | None) -> dict[int, Any]:
    """Attribute type -> value of an IKEv1 transform, byte values in hex as the JSON report shows
    them; empty for anything else (an IKEv2 proposal, none)."""
    if not isinstance(transform, Transform):
        return {}
    return {a.type: a.value.hex() if isinstance(a.value, bytes) else a.value for a in transform.attributes}


def policy_key(transform: ProposalRecord) -> tuple[Any, ...]:
    values = attribute_values(transform)
    return tuple(values.get(t) for t in POLICY_ATTRIBUTES)


def lifetimes(transform: ProposalRecord | None, life_type: int, life_duration: int) -> dict[str, int]:
    """{"seconds": n, "kilobytes": m} from an IKEv1 transform's Life-Type/Life-Duration pairs, in
    order (RFC 2409 Appendix A, RFC 2407 4.5: each duration follows the type it measures)."""
    out: dict[str, int] = {}
    if not isinstance(transform, Transform):
        return out
    current: int | bytes | None = None
    for attribute in transform.attributes:
        if attribute.type == life_type:
            current = attribute.value
        elif attribute.type == life_duration and isinstance(attribute.value, int):
            if current is None:
                unit: str | None = "seconds"  # the RFCs' default
            else:
                unit = LIFE_UNITS.get(current) if isinstance(current, int) else None  # a TLV type: none
            if unit:
                out[unit] = attribute.value
    return out


@dataclass(slots=True)
class Notification:
    msg: IkeMessage
    payload: NotifyPayload

    @property
    def evidence(self) -> dict[str, Any]:
        spi = self.payload.spi.hex() if self.payload.spi else None
        return evidence_of(
            self.msg,
            notify=self.payload.notify_name,
            notify_type=self.payload.notify_type,
            protocol=self.payload.protocol_id,
            spi=spi,
        )


@dataclass
class SaFacts:
    """One IKE SA seen through the questions the checks ask."""

    sa: IkeSa
    originals: list[IkeMessage] = field(default_factory=list)  # first copies, capture order
    copies: dict[int, list[IkeMessage]] = field(default_factory=dict)  # original frame -> all copies

    @classmethod
    def of(cls, sa: IkeSa) -> SaFacts:
        facts = cls(sa)
        for msg in sa.messages:
            if msg.retransmission_of is None:
                facts.originals.append(msg)
                facts.copies[msg.frame] = [msg]
            else:
                facts.copies.setdefault(msg.retransmission_of, []).append(msg)
        return facts

    @property
    def cookies(self) -> str:
        return self.sa.cookies

    def role(self, msg: IkeMessage) -> str:
        sa = self.sa
        if msg.sender == sa.initiator and msg.sender != sa.responder:
            return INITIATOR
        if msg.sender == sa.responder and msg.sender != sa.initiator:
            return RESPONDER
        return INITIATOR if msg.receiver == sa.responder else RESPONDER

    def peer(self, role: str) -> str:
        return self.sa.initiator if role == INITIATOR else self.sa.responder

    def all_copies(self, msg: IkeMessage) -> list[IkeMessage]:
        return self.copies.get(msg.frame, [msg])

    def sent_count(self, msg: IkeMessage) -> int:
        return len(self.all_copies(msg))

    def first(self, label: str) -> IkeMessage | None:
        return next((m for m in self.originals if m.label == label), None)

    def after(self, msg: IkeMessage, role: str | None = None) -> list[IkeMessage]:
        """Messages (first copies) later than ``msg``, optionally only those ``role`` sent."""
        return [
            m
            for m in self.originals
            if (m.time, m.frame) > (msg.time, msg.frame) and (role is None or self.role(m) == role)
        ]

    @cached_property
    def phase1(self) -> list[IkeMessage]:
        return [m for m in self.originals if m.exchange in PHASE1_EXCHANGES]

    @cached_property
    def notifications(self) -> list[Notification]:
        return [
            Notification(m, p) for m in self.originals for p in m.payloads if isinstance(p, NotifyPayload)
        ]

    @cached_property
    def notifications_by_type(self) -> dict[int, list[Notification]]:
        out: dict[int, list[Notification]] = {}
        for n in self.notifications:
            out.setdefault(n.payload.notify_type, []).append(n)
        return out

    @cached_property
    def deletes(self) -> list[tuple[IkeMessage, DeletePayload]]:
        return [(m, p) for m in self.originals for p in m.payloads if isinstance(p, DeletePayload)]

    @cached_property
    def informationals(self) -> list[IkeMessage]:
        return [m for m in self.originals if m.exchange == "informational"]

    @cached_property
    def chosen(self) -> dict[int, Any]:
        return attribute_values(self.sa.chosen)

    @property
    def hash_algorithm(self) -> int | None:
        value = self.chosen.get(HASH_ALGORITHM)
        return value if isinstance(value, int) else None

    @property
    def preshared(self) -> bool | None:
        """True for pre-shared-key authentication (XAUTH variants included), None when unknown."""
        method = self.chosen.get(AUTHENTICATION_METHOD)
        if not isinstance(method, int):
            return None
        return BASE_AUTHENTICATION_METHOD.get(method, method) == PRESHARED_BASE_METHOD

    @property
    def established(self) -> bool:
        return self.sa.established

    @staticmethod
    def phase1_lifetimes(transform: ProposalRecord | None) -> dict[str, int]:
        return lifetimes(transform, LIFE_TYPE, LIFE_DURATION)

    @cached_property
    def quick_modes(self) -> list[QuickModeFacts]:
        by_id: dict[int, list[IkeMessage]] = {}
        for m in self.originals:
            if m.exchange == "quick":
                by_id.setdefault(m.message_id, []).append(m)
        out = [
            QuickModeFacts(exchange, by_id[exchange.message_id])
            for exchange in self.sa.phase2.values()
            if exchange.exchange == "quick" and exchange.message_id in by_id
        ]
        return sorted(out, key=lambda q: (q.messages[0].time, q.messages[0].frame))

    @cached_property
    def _opener_times(self) -> list[float]:
        return sorted(q.opener.time for q in self.quick_modes)

    def next_quick_mode_after(self, time: float) -> float:
        """When the next quick mode (by anyone) starts after ``time``; infinity when none does."""
        i = bisect.bisect_right(self._opener_times, time)
        return self._opener_times[i] if i < len(self._opener_times) else float("inf")

    @cached_property
    def _infos_by_sender(self) -> dict[str, tuple[list[float], list[IkeMessage]]]:
        out: dict[str, tuple[list[float], list[IkeMessage]]] = {}
        for m in sorted(self.informationals, key=lambda m: (m.time, m.frame)):
            times, msgs = out.setdefault(m.sender, ([], []))
            times.append(m.time)
            msgs.append(m)
        return out

    def informationals_from(self, sender: str, start: float, until: float = float("inf")) -> list[IkeMessage]:
        """Informationals ``sender`` sent at ``start`` <= time < ``until`` (bisect, not a scan)."""
        times, msgs = self._infos_by_sender.get(sender, ([], []))
        return msgs[bisect.bisect_left(times, start) : bisect.bisect_left(times, until)]

    @cached_property
    def _notifications_by_message(self) -> dict[int, list[Notification]]:
        out: dict[int, list[Notification]] = {}
        for n in self.notifications:
            out.setdefault(id(n.msg), []).append(n)
        return out

    def error_notifies_in(self, messages: list[IkeMessage]) -> list[Notification]:
        found = (n for m in messages for n in self._notifications_by_message.get(id(m), []))
        return [n for n in found if n.payload.is_error]

    @cached_property
    def quick_modes_by_initiator(self) -> dict[str, list[QuickModeFacts]]:
        out: dict[str, list[QuickModeFacts]] = {}
        for q in self.quick_modes:
            out.setdefault(q.initiator, []).append(q)
        return out

    def identity_address(self, role: str) -> str | None:
        """The phase-1 ID of ``role`` when it is an IP address (ID_IPV4_ADDR / ID_IPV6_ADDR)."""
        for m in self.phase1:
            if self.role(m) != role:
                continue
            for p in m.payloads:
                if isinstance(p, IdPayload) and p.id_type in (1, 5):  # RFC 2407 4.6.2.1
                    return p.text
        return None


@dataclass
class QuickModeFacts:
    """One quick mode: its messages by label and what they carried (decrypted payloads). What it
    asks of its IKE SA's other messages takes the SA's facts as an argument: a reference back to
    them would make each SA's facts a reference cycle, garbage only a full collection frees."""

    exchange: Phase2Exchange
    messages: list[IkeMessage]

    @property
    def message_id(self) -> str:
        return f"0x{self.exchange.message_id:08x}"

    def label(self, label: str) -> IkeMessage | None:
        """The first message of this label (QM1, QM2, QM3), None when the capture has none."""
        return self._first_by_label.get(label)

    @cached_property
    def _first_by_label(self) -> dict[str, IkeMessage]:
        out: dict[str, IkeMessage] = {}
        for m in self.messages:
            out.setdefault(m.label, m)
        return out

    @property
    def opener(self) -> IkeMessage:
        return self.label(Label.QM1) or self.messages[0]

    @property
    def initiator(self) -> str:
        return self.opener.sender

    @property
    def responder(self) -> str:
        return self.opener.receiver

    def sa_payload(self, label: str) -> SaPayload | None:
        msg = self.label(label)
        if msg is None:
            return None
        return next((p for p in msg.payloads if isinstance(p, SaPayload)), None)

    def has_ke(self, label: str) -> bool | None:
        """Whether QM1/QM2 carried a KE payload (PFS); None when the message is not readable."""
        msg = self.label(label)
        if msg is None or not msg.payloads:
            return None
        return any(isinstance(p, KePayload) for p in msg.payloads)

    def ke_length(self, label: str) -> int | None:
        msg = self.label(label)
        if msg is None:
            return None
        return next((len(p.data) for p in msg.payloads if isinstance(p, KePayload)), None)

    def proxy_ids(self, label: str) -> dict[str, str] | None:
        """IDci/IDcr of QM1 or QM2 as {"local", "remote"} seen from the quick-mode initiator."""
        msg = self.label(label)
        if msg is None:
            return None
        ids = [p for p in msg.payloads if isinstance(p, IdPayload)]
        if len(ids) >= 2:
            return {"local": ids[0].text, "remote": ids[1].text}
        if msg.payloads and not ids:
            # RFC 2409 5.5: without client IDs the proxies are the ISAKMP peers themselves
            return {"local": self.initiator, "remote": self.responder}
        return None

    def refusal(self, facts: SaFacts) -> list[Notification]:
        """Error notifications the quick-mode responder sent after QM1 and before QM2 / the next QM1."""
        qm1 = self.label(Label.QM1)
        if qm1 is None or self.label(Label.QM2) is not None:
            return []
        infos = facts.informationals_from(self.responder, qm1.time, facts.next_quick_mode_after(qm1.time))
        return facts.error_notifies_in(infos)

    def rejection_of_qm2(self, facts: SaFacts) -> list[Notification]:
        """Error notifications the quick-mode initiator sent after QM2 instead of QM3."""
        qm2 = self.label(Label.QM2)
        if qm2 is None or self.label(Label.QM3) is not None:
            return []
        infos = facts.informationals_from(self.initiator, qm2.time, facts.next_quick_mode_after(qm2.time))
        return facts.error_notifies_in(infos)

    def unreadable_answers_to_qm2(self, facts: SaFacts) -> list[IkeMessage]:
        """Encrypted informationals nobody can read that the initiator sent right after QM2 instead of
        QM3 (within REFUSAL_WINDOW, before QM2 came again): taken for its refusal of QM2."""
        qm2 = self.label(Label.QM2)
        if qm2 is None or self.label(Label.QM3) is not None or self.label(Label.QM1) is None:
            return []
        copies = facts.all_copies(qm2)
        until = min(
            copies[1].time if len(copies) > 1 else float("inf"),  # a refusal stops QM2's retransmissions
            qm2.time + REFUSAL_WINDOW,
            facts.next_quick_mode_after(qm2.time),
        )
        infos = facts.informationals_from(self.initiator, qm2.time, until)
        return [m for m in infos if m.encrypted and not m.decrypted]

    def informational_answers(self, facts: SaFacts) -> list[IkeMessage]:
        """Informationals from the responder after QM1 while no QM2 came (readable or not)."""
        qm1 = self.label(Label.QM1)
        if qm1 is None or self.label(Label.QM2) is not None:
            return []
        return facts.informationals_from(self.responder, qm1.time, facts.next_quick_mode_after(qm1.time))


def facts_of(report: Report) -> list[SaFacts]:
    return [SaFacts.of(sa) for sa in report.ike_sas if sa.version == 1]


@dataclass
class Context:
    """Everything a check sees: the report, the per-SA facts, and which error notifications a
    specific finding already explains (so the generic ``error-notify`` check skips them)."""

    report: Report
    sas: list[SaFacts]
    explained: set[tuple[int, int]] = field(default_factory=set)  # (frame, notify type)

    @classmethod
    def of(cls, report: Report) -> Context:
        return cls(report, facts_of(report))

    @property
    def capture_end(self) -> float | None:
        return self.report.stats.last_time

    def explain(self, *notifications: Notification) -> None:
        for n in notifications:
            self.explained.add((n.msg.frame, n.payload.notify_type))


MAX_LISTED = 20  # evidence lists beyond this are cut (with a count) so one finding stays readable


def merge_repeats(findings: list[Finding], key: Callable[[Finding], Hashable]) -> list[Finding]:
    """One finding per key: a quick mode refused (or left unanswered) again and again is one story.

    The first finding stays; it learns how often it happened and which quick modes repeated it.
    """
    groups: dict[Hashable, list[Finding]] = {}
    for f in findings:
        groups.setdefault(key(f), []).append(f)
    out = []
    for group in groups.values():
        first = group[0]
        if len(group) > 1:
            others = [f.evidence.get("quick_mode") for f in group[1:]]
            first.evidence["repeated"] = len(group)
            first.evidence["also_quick_modes"] = others[:MAX_LISTED]
            first.message += f" (the same for {len(group) - 1} more quick mode(s), the last {others[-1]})"
        out.append(first)
    return out
