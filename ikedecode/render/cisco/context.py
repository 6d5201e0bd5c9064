"""What the debug walk of one IKE SA knows about the local router while it goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ikedecode.analysis.timeline import keys_disagree
from ikedecode.ike.records import IkeMessage, IkeSa, Protection
from ikedecode.ike.v1.exchanges import Role
from ikedecode.render.cisco.child import LocalChild
from ikedecode.render.cisco.ids import LocalView
from ikedecode.render.cisco.lines import DebugLog, signed32


class Readable(StrEnum):
    """Whether the local router could read a message, and whether ikedecode can show it."""

    OK = "ok"  # clear, or decrypted
    BAD = "bad"  # the local router could not decrypt it (the peers' keys differ): IKMP_BAD_MESSAGE
    NO_KEYS = "no-keys"  # the router could; ikedecode had no keys
    WRONG_KEYS = "wrong-keys"  # the router could; the keys given do not decrypt it


@dataclass(slots=True)
class SaContext:
    sa: IkeSa
    role: Role
    local: str
    remote: str
    log: DebugLog
    view: LocalView
    children: dict[int, LocalChild] = field(default_factory=dict)
    keys_disagree: bool = False
    tag: str = "MM_NO_STATE"  # state printed with "sending/received packet"
    phase1_done: bool = False
    phase1_announced: bool = False
    deleted: bool = False
    duplicate_pending: bool = False  # last received message was a phase-1 duplicate
    requested: set[int] = field(default_factory=set)  # quick modes whose IPSEC(sa_request) was shown
    positions: dict[int, int] = field(default_factory=dict)  # id(message) -> its index in sa.messages

    @property
    def letter(self) -> str:
        return "I" if self.role is Role.INITIATOR else "R"

    def sent(self, m: IkeMessage) -> bool:
        return m.sender == self.local

    def send_line(self, m: IkeMessage, tag: str | None = None) -> str:
        return f"sending packet to {self.remote} ({self.letter}) {tag or self.tag}"

    def receive_line(self, tag: str | None = None) -> str:
        return f"received packet from {self.remote} ({self.letter}) {tag or self.tag}"

    @staticmethod
    def mid(m: IkeMessage | int) -> int:
        return signed32(m if isinstance(m, int) else m.message_id)

    def readable(self, m: IkeMessage) -> Readable:
        if not m.encrypted:
            return Readable.OK
        if self.keys_disagree and not self.sent(m):
            return Readable.BAD
        if m.decrypted:
            return Readable.OK
        return Readable.NO_KEYS if m.protection is Protection.NO_KEYS else Readable.WRONG_KEYS

    def cannot_follow(self, time: float, m: IkeMessage, what: str) -> None:
        """Where ikedecode cannot follow: ``(encrypted: no keys)`` instead of the payload lines."""
        why = "no keys" if m.protection is Protection.NO_KEYS else "the keys given do not decrypt it"
        self.log.isakmp(time, f"(encrypted: {why}) {m.label} {what} not shown")


def bad_message(peer: str) -> str:
    """What IOS logs when it cannot decrypt or parse an IKE message from ``peer``."""
    return f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {peer} failed its sanity check or is malformed"


__all__ = ["Readable", "SaContext", "bad_message", "keys_disagree"]
