"""Real lab captures, edited: frames dropped, duplicated, moved or re-timed, written to a new pcap.

The packets stay byte-for-byte what strongSwan sent; only which of them arrive, and when, changes.
That is how a path misbehaves (loss, duplication, delay), so findings about such paths can be
tested on real traffic where no dedicated capture exists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dpkt

Frame = tuple[float, bytes]  # (timestamp, link-layer bytes)


def read_frames(path: Path) -> tuple[int, list[Frame]]:
    with open(path, "rb") as f:
        reader = dpkt.pcap.Reader(f)
        return reader.datalink(), [(ts, bytes(buf)) for ts, buf in reader]


def write_frames(path: Path, linktype: int, frames: list[Frame]) -> Path:
    with open(path, "wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=linktype, nano=False)
        for ts, buf in frames:
            writer.writepkt(buf, ts=ts)
    return path


def edited(src: Path, dst: Path, edit: Callable[[list[Frame]], list[Frame]]) -> Path:
    """``dst`` holding ``edit(frames of src)``; frame numbers in the list are 0-based."""
    linktype, frames = read_frames(src)
    return write_frames(dst, linktype, edit(frames))
