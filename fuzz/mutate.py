"""A byte mutator in the AFL/libFuzzer tradition, with a bias for what breaks dissectors.

Length fields are what a hostile packet lies about, so besides bit flips and random bytes the
mutator writes boundary values as 8/16/32-bit integers in both byte orders, nudges existing
16/32-bit values up and down a little (a length off by one, a count one too many), duplicates
and deletes ranges (payload chains that repeat or stop short), truncates, and splices in
pieces of other seeds. The first ``protect`` bytes of an input select what a target does with
it (a session, a message): they are changed only rarely.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

INTERESTING_8 = (0, 1, 2, 3, 4, 7, 8, 16, 27, 28, 29, 32, 46, 64, 127, 128, 132, 200, 254, 255)
INTERESTING_16 = (0, 1, 3, 4, 5, 8, 27, 28, 29, 255, 256, 512, 1000, 1500, 4096, 32767, 32768, 65535)
INTERESTING_32 = (
    0,
    1,
    24,
    27,
    28,
    29,
    65535,
    65536,
    (1 << 24),
    16 * 1024 * 1024 + 1,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFE,
    0xFFFFFFFF,
)
STACKING = (1, 1, 1, 1, 2, 2, 3, 4, 6, 10)


class Mutator:
    def __init__(self, rng: random.Random, pool: Sequence[bytes] = (), max_size: int = 1 << 16) -> None:
        self.rng = rng
        self.pool = pool
        self.max_size = max_size
        self._operations = (
            self._flip_bit,
            self._random_byte,
            self._interesting_8,
            self._interesting_16,
            self._interesting_32,
            self._nudge_16,
            self._nudge_32,
            self._insert_bytes,
            self._delete_range,
            self._duplicate_range,
            self._copy_within,
            self._truncate,
            self._splice,
            self._flip_bit,
            self._nudge_16,
            self._interesting_16,
        )

    def mutate(self, data: bytes, protect: int = 0) -> bytes:
        rng = self.rng
        buf = bytearray(data)
        start = 0 if rng.random() < 0.05 else min(protect, len(buf))
        for _ in range(rng.choice(STACKING)):
            rng.choice(self._operations)(buf, start)
        del buf[self.max_size :]
        return bytes(buf)

    # -- helpers ------------------------------------------------------------------------------

    def _position(self, buf: bytearray, start: int, width: int = 1) -> int | None:
        if len(buf) - start < width:
            return None
        return self.rng.randrange(start, len(buf) - width + 1)

    def _range(self, buf: bytearray, start: int) -> tuple[int, int] | None:
        if len(buf) <= start:
            return None
        a = self.rng.randrange(start, len(buf))
        length = min(self.rng.choice((1, 2, 4, 8, 16, 64, 256, 4096)), len(buf) - a)
        return a, a + self.rng.randint(1, length)

    # -- operations ---------------------------------------------------------------------------

    def _flip_bit(self, buf: bytearray, start: int) -> None:
        at = self._position(buf, start)
        if at is not None:
            buf[at] ^= 1 << self.rng.randrange(8)

    def _random_byte(self, buf: bytearray, start: int) -> None:
        at = self._position(buf, start)
        if at is not None:
            buf[at] = self.rng.randrange(256)

    def _interesting_8(self, buf: bytearray, start: int) -> None:
        at = self._position(buf, start)
        if at is not None:
            buf[at] = self.rng.choice(INTERESTING_8)

    def _write(self, buf: bytearray, start: int, fmt: str, value: int) -> None:
        width = struct.calcsize(fmt)
        at = self._position(buf, start, width)
        if at is not None:
            order = self.rng.choice("<>>")  # network order is the common case
            struct.pack_into(order + fmt, buf, at, value)

    def _interesting_16(self, buf: bytearray, start: int) -> None:
        self._write(buf, start, "H", self.rng.choice(INTERESTING_16))

    def _interesting_32(self, buf: bytearray, start: int) -> None:
        self._write(buf, start, "I", self.rng.choice(INTERESTING_32))

    def _nudge(self, buf: bytearray, start: int, fmt: str, mask: int) -> None:
        width = struct.calcsize(fmt)
        at = self._position(buf, start, width)
        if at is None:
            return
        order = self.rng.choice("<>>")
        (value,) = struct.unpack_from(order + fmt, buf, at)
        delta = self.rng.choice((-8, -4, -2, -1, 1, 2, 4, 8, 16, -16, 28, 100, -100))
        struct.pack_into(order + fmt, buf, at, (value + delta) & mask)

    def _nudge_16(self, buf: bytearray, start: int) -> None:
        self._nudge(buf, start, "H", 0xFFFF)

    def _nudge_32(self, buf: bytearray, start: int) -> None:
        self._nudge(buf, start, "I", 0xFFFFFFFF)

    def _insert_bytes(self, buf: bytearray, start: int) -> None:
        at = self.rng.randint(min(start, len(buf)), len(buf))
        count = self.rng.choice((1, 2, 4, 8, 16, 100))
        fill = self.rng.choice((None, 0, 0xFF))
        data = self.rng.randbytes(count) if fill is None else bytes([fill]) * count
        buf[at:at] = data

    def _delete_range(self, buf: bytearray, start: int) -> None:
        span = self._range(buf, start)
        if span is not None:
            del buf[span[0] : span[1]]

    def _duplicate_range(self, buf: bytearray, start: int) -> None:
        span = self._range(buf, start)
        if span is not None:
            piece = bytes(buf[span[0] : span[1]])
            times = self.rng.choice((1, 1, 2, 8))
            buf[span[1] : span[1]] = piece * times

    def _copy_within(self, buf: bytearray, start: int) -> None:
        span = self._range(buf, start)
        if span is not None:
            piece = bytes(buf[span[0] : span[1]])
            at = self._position(buf, start)
            if at is not None:
                buf[at : at + len(piece)] = piece

    def _truncate(self, buf: bytearray, start: int) -> None:
        if len(buf) > start:
            del buf[self.rng.randint(start, len(buf)) :]

    def _splice(self, buf: bytearray, start: int) -> None:
        if not self.pool:
            return
        other = self.rng.choice(self.pool)
        if not other:
            return
        a = self.rng.randrange(len(other))
        piece = other[a : a + self.rng.choice((4, 16, 64, 512))]
        at = self.rng.randint(min(start, len(buf)), len(buf))
        if self.rng.random() < 0.5:
            buf[at : at + len(piece)] = piece
        else:
            buf[at:at] = piece
