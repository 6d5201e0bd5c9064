"""Several parts' ``CaptureStats`` as one read of them all would have counted them.

Used where a capture is read in parts: the chunks of one capture (``ChunkJoiner``) and the files
of a ``--dask`` merge (``distributed/client.py``). Counts add up; a Counter's keys come in the
order one read would have met them (each part says where it first counted a key); the kept
malformed frames and ICMP notes come in the order one read would have kept them, as many as it
keeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

from .accounting import MAX_MALFORMED_FRAMES_KEPT
from .datagram import CaptureStats
from .icmp import MAX_KEPT as MAX_ICMP_KEPT
from .icmp import PortUnreachable

# CaptureStats fields that add up over parts
SUMMED_STATS: tuple[str, ...] = (
    "packets",
    "ike",
    "esp",
    "ah",
    "other",
    "malformed",
    "nat_keepalives",
    "ip_fragments",
    "fragment_sets_evicted",
)


def add_counts(total: CaptureStats, part: CaptureStats) -> None:
    """Add ``part``'s counts (``SUMMED_STATS``) to ``total``."""
    for name in SUMMED_STATS:
        setattr(total, name, getattr(total, name) + getattr(part, name))


def note_earliest(first_seen: dict[str, Any], seen: Mapping[str, Any]) -> None:
    """Keep in ``first_seen`` the earliest place (any ordered value) each key was seen."""
    for key, where in seen.items():
        if key not in first_seen or where < first_seen[key]:
            first_seen[key] = where


def counter_in_order(counters: Iterable[Counter[str]], first_seen: Mapping[str, Any]) -> Counter[str]:
    """The counters summed, keys in the order of the places they were first seen."""
    summed: Counter[str] = Counter()
    for counter in counters:
        summed.update(counter)
    ordered: Counter[str] = Counter()
    for key in sorted(first_seen, key=first_seen.__getitem__):
        ordered[key] = summed[key]
    return ordered


def entries_in_order(entries: Iterable[tuple[Any, int, str]]) -> list[tuple[int, str]]:
    """``(place, frame, description)`` of the parts' kept malformed frames -> the first
    ``MAX_MALFORMED_FRAMES_KEPT`` in place order (a part's entries of one place keep their order)."""
    ordered = sorted(entries, key=itemgetter(0))
    return [(frame, text) for _place, frame, text in ordered[:MAX_MALFORMED_FRAMES_KEPT]]


def notes_in_order(notes: Iterable[PortUnreachable]) -> list[PortUnreachable]:
    """ICMP port unreachable notes of the parts (frame numbers of the whole): the first kept."""
    return sorted(notes, key=lambda note: note.frame)[:MAX_ICMP_KEPT]
