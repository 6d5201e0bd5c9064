"""One quick mode's facts for the checks: its messages by label and what each carried (SA, KE and
ID payloads, read once), and what it asks of its IKE SA's other messages (refusals, answers)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

from ikedecode.ike.records import IkeMessage, Phase2Exchange
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.payloads import IdPayload, KePayload, SaPayload

if TYPE_CHECKING:
    from ikedecode.analysis.checks.facts import Notification, SaFacts

QM1, QM2, QM3 = Label.QM1, Label.QM2, Label.QM3  # module names: an enum member read is ~1k instructions
REFUSAL_WINDOW = 2.0  # seconds: an unreadable informational this soon after QM2 is its refusal


class _Carried(NamedTuple):
    """What one quick-mode message carried, read from its payloads once."""

    sa: SaPayload | None  # the first SA payload
    ke: KePayload | None  # the first KE payload
    ids: list[IdPayload]
    readable: bool  # whether it has payloads at all (an unreadable message has none)


# ``_Carried(...)`` through ``tuple.__new__`` (every field given): a NamedTuple's own constructor is
# a Python function, and every quick mode reads two messages
_carried = functools.partial(tuple.__new__, _Carried)


def _read_carried(msg: IkeMessage) -> _Carried:
    sa: SaPayload | None = None
    ke: KePayload | None = None
    ids: list[IdPayload] = []
    for p in msg.payloads:
        kind = type(p)  # no subclasses: an identity test, not isinstance
        if kind is SaPayload:
            if sa is None:
                sa = p
        elif kind is KePayload:
            if ke is None:
                ke = p
        elif kind is IdPayload:
            ids.append(p)
    return _carried((sa, ke, ids, bool(msg.payloads)))


class QuickModeFacts:
    """One quick mode: its messages by label and what they carried (decrypted payloads). What it
    asks of its IKE SA's other messages takes the SA's facts as an argument: a reference back to
    them would make each SA's facts a reference cycle, garbage only a full collection frees."""

    __slots__ = ("exchange", "messages", "message_id", "_first_by_label", "_carried")

    def __init__(self, exchange: Phase2Exchange, messages: list[IkeMessage]) -> None:
        self.exchange = exchange
        self.messages = messages
        self.message_id = f"0x{exchange.message_id:08x}"
        first: dict[str, IkeMessage] = {}
        for m in messages:
            if m.label not in first:
                first[m.label] = m
        self._first_by_label = first
        self._carried: dict[str, _Carried] = {}

    def label(self, label: str) -> IkeMessage | None:
        """The first message of this label (QM1, QM2, QM3), None when the capture has none."""
        return self._first_by_label.get(label)

    def _carried_by(self, label: str) -> _Carried | None:
        carried = self._carried.get(label)
        if carried is None:
            msg = self._first_by_label.get(label)
            if msg is None:
                return None
            carried = _read_carried(msg)
            self._carried[label] = carried
        return carried

    @property
    def opener(self) -> IkeMessage:
        return self._first_by_label.get(QM1) or self.messages[0]

    @property
    def initiator(self) -> str:
        return self.opener.sender

    @property
    def responder(self) -> str:
        return self.opener.receiver

    def sa_payload(self, label: str) -> SaPayload | None:
        carried = self._carried_by(label)
        return carried.sa if carried is not None else None

    def has_ke(self, label: str) -> bool | None:
        """Whether QM1/QM2 carried a KE payload (PFS); None when the message is not readable."""
        carried = self._carried_by(label)
        if carried is None or not carried.readable:
            return None
        return carried.ke is not None

    def ke_length(self, label: str) -> int | None:
        carried = self._carried_by(label)
        if carried is None or carried.ke is None:
            return None
        return len(carried.ke.data)

    def proxy_ids(self, label: str) -> dict[str, str] | None:
        """IDci/IDcr of QM1 or QM2 as {"local", "remote"} seen from the quick-mode initiator."""
        carried = self._carried_by(label)
        if carried is None:
            return None
        ids = carried.ids
        if len(ids) >= 2:
            return {"local": ids[0].text, "remote": ids[1].text}
        if carried.readable and not ids:
            # RFC 2409 5.5: without client IDs the proxies are the ISAKMP peers themselves
            return {"local": self.initiator, "remote": self.responder}
        return None

    def _answers(self, facts: SaFacts, label: str, instead_of: str, sender: str) -> list[IkeMessage]:
        """Informationals ``sender`` sent after this quick mode's ``label`` message and before the
        next quick mode, when no ``instead_of`` message came (none when one did)."""
        sent = self.label(label)
        if sent is None or self.label(instead_of) is not None:
            return []
        return facts.informationals_from(sender, sent.time, facts.next_quick_mode_after(sent.time))

    def refusal(self, facts: SaFacts) -> list[Notification]:
        """Error notifications the quick-mode responder sent after QM1 and before QM2 / the next QM1."""
        return facts.error_notifies_in(self._answers(facts, QM1, QM2, self.responder))

    def rejection_of_qm2(self, facts: SaFacts) -> list[Notification]:
        """Error notifications the quick-mode initiator sent after QM2 instead of QM3."""
        return facts.error_notifies_in(self._answers(facts, QM2, QM3, self.initiator))

    def unreadable_answers_to_qm2(self, facts: SaFacts) -> list[IkeMessage]:
        """Encrypted informationals nobody can read that the initiator sent right after QM2 instead of
        QM3 (within REFUSAL_WINDOW, before QM2 came again): taken for its refusal of QM2."""
        qm2 = self.label(QM2)
        if qm2 is None or self.label(QM3) is not None or self.label(QM1) is None:
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
        return self._answers(facts, QM1, QM2, self.responder)
