"""The debug log being written: timestamped lines in IOS form, with their continuation lines.

IOS stamps each debug line with ``service timestamps debug datetime msec`` as ``*Mar  1
00:27:23.279:`` (the seed's Examples 13-9 and 13-12); continuation lines (``Old State = ...``, the
``(key eng. msg.)`` blocks) carry no stamp. A block is one stamped line and its continuations; the
blocks of several IKE SAs are merged by time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ikedecode.render.clock import utc_moment

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ios_timestamp(time: float) -> str:
    """``*Nov 22 08:00:55.011`` (UTC, capture clock); month names do not depend on the locale."""
    moment = utc_moment(time)
    return (
        f"*{MONTHS[moment.month - 1]} {moment.day:2d} {moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond // 1000:03d}"
    )


def signed32(value: int) -> int:
    """IOS prints message IDs and outbound SPIs as signed 32-bit numbers (seed: ``-538880964``)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


@dataclass(slots=True)
class Block:
    time: float
    sa_order: int
    sequence: int
    lines: list[str]


@dataclass(slots=True)
class DebugLog:
    """Blocks of one IKE SA's debug output, written in order."""

    conn_id: int
    sa_order: int = 0
    blocks: list[Block] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"ISAKMP (0:{self.conn_id}): "

    def say(self, time: float, text: str, *continuation: str) -> None:
        self.blocks.append(Block(time, self.sa_order, len(self.blocks), [text, *continuation]))

    def isakmp(self, time: float, text: str, *continuation: str) -> None:
        self.say(time, self.prefix + text, *continuation)

    def attribute(self, time: float, text: str) -> None:
        """``ISAKMP:      encryption 3DES-CBC`` (no connection id, text indented as IOS does)."""
        self.say(time, "ISAKMP: " + text)

    def state(self, time: float, event: str, old: str, new: str, node: int | None = None) -> None:
        """``Input = IKE_MSG_FROM_PEER, IKE_MM_EXCH`` / ``Old State = X New State = Y`` and a blank line."""
        node_text = f"Node {signed32(node)}, " if node is not None else ""
        self.isakmp(time, f"{node_text}Input = {event}", f"Old State = {old} New State = {new}", "")


def merge(logs: list[DebugLog]) -> list[str]:
    """All blocks in time order (stable per SA), each stamped line with its IOS timestamp."""
    blocks = sorted((b for log in logs for b in log.blocks), key=lambda b: (b.time, b.sa_order, b.sequence))
    out: list[str] = []
    for block in blocks:
        out.append(f"{ios_timestamp(block.time)}: {block.lines[0]}")
        out.extend(block.lines[1:])
    return out
