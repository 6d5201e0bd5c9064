"""IKEv1 fragmentation: gather the pieces of one large IKE message and return it whole.

Cisco's IKE fragmentation (payload type 132, also spoken by strongSwan and libreswan for IKEv1):
each fragment carries a fragment ID, its number (from 1) and a flag on the last one; the data of
fragments 1..N, joined, is the original ISAKMP message. Bounded: at most ``max_sets`` messages
being gathered, ``max_fragments`` pieces and ``max_bytes`` per message.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

MAX_PROBLEMS_KEPT = 20  # problems described one by one; the rest are only counted


class FragmentCollector:
    def __init__(self, max_sets: int = 256, max_fragments: int = 64, max_bytes: int = 256 * 1024) -> None:
        self.max_sets, self.max_fragments, self.max_bytes = max_sets, max_fragments, max_bytes
        self._sets: OrderedDict[tuple[bytes, bytes, int], dict[int, bytes]] = OrderedDict()
        self._last: dict[tuple[bytes, bytes, int], int] = {}
        self.dropped: list[str] = []  # the first MAX_PROBLEMS_KEPT problems
        self.problems = 0  # every problem, counted

    def add(self, initiator_cookie: bytes, responder_cookie: bytes, fragment: Any) -> bytes | None:
        """Store one fragment; return the whole message once every piece is there."""
        key = (initiator_cookie, responder_cookie, fragment.fragment_id)
        number = fragment.number
        if not 1 <= number <= self.max_fragments:
            self._problem(f"IKE fragment number {number} out of range (1..{self.max_fragments})")
            return None
        pieces = self._sets.get(key)
        if pieces is None:
            if len(self._sets) >= self.max_sets:
                old_key, old = self._sets.popitem(last=False)
                self._last.pop(old_key, None)
                self._problem(f"IKE fragment set {old_key[2]} dropped: more than {self.max_sets} pending")
            pieces = self._sets[key] = {}
        pieces.setdefault(number, bytes(fragment.data))
        if fragment.last:
            self._last[key] = number
        if sum(len(v) for v in pieces.values()) > self.max_bytes:
            del self._sets[key]
            self._last.pop(key, None)
            self._problem(f"IKE fragment set {fragment.fragment_id} exceeds {self.max_bytes} bytes")
            return None
        total = self._last.get(key)
        if total is None or any(n not in pieces for n in range(1, total + 1)):
            return None
        del self._sets[key]
        del self._last[key]
        return b"".join(pieces[n] for n in range(1, total + 1))

    def _problem(self, text: str) -> None:
        self.problems += 1
        if len(self.dropped) < MAX_PROBLEMS_KEPT:
            self.dropped.append(text)

    def incomplete(self) -> list[str]:
        out = list(self.dropped)
        if self.problems > len(self.dropped):
            out.append(f"{self.problems - len(self.dropped)} more IKE fragment problems not listed")
        for (icky, _rcky, fid), pieces in self._sets.items():
            last = self._last.get((icky, _rcky, fid))
            have = ",".join(str(n) for n in sorted(pieces))
            out.append(
                f"IKE message {fid} of SA {icky.hex()} incomplete: fragments {have} of "
                f"{last if last else '?'}"
            )
        return out
