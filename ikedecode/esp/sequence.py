"""Sequence-number bookkeeping of one SA: replays, gaps and ESN high-bit inference.

Only packets whose ICV verified (or that have no ICV) are recorded, as RFC 4303 section 3.4.3
requires for the receiver's anti-replay window. The window is a bitmap of the ``WINDOW`` numbers
below the highest one seen; older numbers are counted as ``out_of_window`` (neither replays nor new).
"""

from __future__ import annotations

WINDOW = 4096
_WINDOW_MASK = (1 << WINDOW) - 1
_SEQ_MASK = 0xFFFFFFFF


class SequenceTracker:
    __slots__ = ("highest", "lowest", "unique", "replays", "out_of_window", "_bitmap")

    def __init__(self) -> None:
        self.highest: int | None = None  # full (64-bit with ESN) sequence number
        self.lowest: int | None = None
        self.unique = 0
        self.replays = 0
        self.out_of_window = 0
        self._bitmap = 0  # bit i set: number (highest - i) was seen

    def infer_high_bits(self, seq_low: int, initial_high: int = 0) -> int:
        """The high 32 bits of an ESN packet carrying ``seq_low`` (RFC 4303 Appendix A2.2)."""
        if self.highest is None:
            return initial_high
        top_high = self.highest >> 32
        top_low = self.highest & _SEQ_MASK
        if top_low >= WINDOW - 1:
            # Case A: the window lies within one sub-space
            return top_high if seq_low >= top_low - WINDOW + 1 else top_high + 1
        # Case B: the window spans two sub-spaces
        if seq_low >= (top_low - WINDOW + 1) & _SEQ_MASK:
            return max(top_high - 1, 0)
        return top_high

    def record(self, seq: int) -> bool:
        """Note an authenticated sequence number; True when it was already seen (a replay)."""
        if self.highest is None:
            self.highest = self.lowest = seq
            self._bitmap = 1
            self.unique = 1
            return False
        if seq > self.highest:
            shift = seq - self.highest
            self._bitmap = ((self._bitmap << shift) | 1) & _WINDOW_MASK if shift < WINDOW else 1
            self.highest = seq
            self.unique += 1
            return False
        offset = self.highest - seq
        if offset >= WINDOW:
            self.out_of_window += 1
            if self.lowest is not None and seq < self.lowest:
                self.lowest = seq
            self.unique += 1
            return False
        bit = 1 << offset
        if self._bitmap & bit:
            self.replays += 1
            return True
        self._bitmap |= bit
        self.unique += 1
        if self.lowest is not None and seq < self.lowest:
            self.lowest = seq
        return False

    def record_run(self, sequences: list[int]) -> int:
        """``record`` each number in order; returns how many were replays. A run that simply
        continues the window (highest + 1, + 2, ...: the usual case) is taken in one step; any
        other run (replays, numbers below the window: a capture with every packet twice, or
        merged captures) by ``record``'s rules with the tracker's fields in local variables, in
        one loop: the main process accounts every packet of every chunk worker this way."""
        count = len(sequences)
        if not count:
            return 0
        if self.highest is not None:
            first = sequences[0]
            if (
                first == self.highest + 1
                and sequences[-1] == first + count - 1
                and sequences == list(range(first, first + count))
            ):
                self._bitmap = ((self._bitmap << count) | ((1 << count) - 1)) & _WINDOW_MASK
                self.highest = sequences[-1]
                self.unique += count
                return 0
            rest = sequences
        else:
            self.record(sequences[0])  # the first number starts the window
            rest = sequences[1:]
        highest, lowest, bitmap = self.highest, self.lowest, self._bitmap
        assert highest is not None and lowest is not None  # (both set with the first number)
        unique, below, replays = self.unique, self.out_of_window, 0
        for seq in rest:  # ``record``, step for step
            if seq > highest:
                shift = seq - highest
                bitmap = ((bitmap << shift) | 1) & _WINDOW_MASK if shift < WINDOW else 1
                highest = seq
                unique += 1
                continue
            offset = highest - seq
            if offset >= WINDOW:
                below += 1
            else:
                bit = 1 << offset
                if bitmap & bit:
                    replays += 1
                    continue
                bitmap |= bit
            unique += 1
            if seq < lowest:
                lowest = seq
        self.highest, self.lowest, self._bitmap = highest, lowest, bitmap
        self.unique, self.out_of_window = unique, below
        self.replays += replays
        return replays

    @property
    def gaps(self) -> int:
        """Sequence numbers between the lowest and highest seen that never arrived."""
        if self.highest is None or self.lowest is None:
            return 0
        return max(self.highest - self.lowest + 1 - self.unique, 0)
