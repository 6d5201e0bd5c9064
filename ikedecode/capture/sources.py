"""Which capture files a report was made from: one ``CaptureSource`` per input file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class CaptureSource:
    """One input file: what it is and which part of the analysis it contributed.

    ``frames`` counts the file's records (its share of the report's frames); ``first_time`` and
    ``last_time`` are the capture times of its first and last record (seconds since the epoch);
    ``truncated`` says where and why the file ended early (None when it ended cleanly).
    """

    name: str
    format: str  # "pcap" or "pcapng"
    compressed: bool = False  # gzip
    frames: int = 0
    first_time: float | None = None
    last_time: float | None = None
    truncated: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.format,
            "compressed": self.compressed,
            "frames": self.frames,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "truncated": self.truncated,
        }


def sources_of(reader: Any) -> list[CaptureSource]:
    """The sources of a finished reader: a merged reader lists its files, a plain one is its own file."""
    listed = getattr(reader, "sources", None)
    if listed is not None:
        return list(listed)
    stats = reader.stats
    return [
        CaptureSource(
            reader.name,
            reader.format,
            bool(reader.compressed),
            stats.packets,
            stats.first_time,
            stats.last_time,
            stats.truncated,
        )
    ]


def merged_name(names: list[str]) -> str:
    """The report's capture name for several files: all of them when few, else the first and a count."""
    if len(names) == 1:
        return names[0]
    if len(names) <= 3:
        return " + ".join(names)
    return f"{names[0]} + {len(names) - 1} more files"


def merged_truncation(pairs: list[tuple[str, str | None]]) -> str | None:
    """One line for every file of several that ended early: ``name: where and why; ...``."""
    cut = [f"{name}: {truncated}" for name, truncated in pairs if truncated]
    return "; ".join(cut) if cut else None
