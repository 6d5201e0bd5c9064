"""Reading a word list: one candidate per line, bytes as they are (no decoding), newline removed.

This is the package's only file I/O. Lines are counted first so a progress bar knows its length;
the words are then streamed, never held in memory all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

READ_SIZE = 1 << 20


class WordListError(OSError):
    """The word list cannot be read (one line for the user)."""


def count_lines(path: str | Path) -> int:
    count, last = 0, b"\n"
    try:
        with open(path, "rb") as f:
            while block := f.read(READ_SIZE):
                count += block.count(b"\n")
                last = block[-1:]
    except OSError as exc:
        raise WordListError(f"{path}: cannot read the word list: {exc.strerror or exc}") from None
    return count + (0 if last == b"\n" else 1)


def read_words(path: str | Path) -> Iterator[bytes]:
    """Every line of ``path`` without its line ending (\\n or \\r\\n)."""
    try:
        with open(path, "rb") as f:
            for line in f:
                yield line.rstrip(b"\r\n")
    except OSError as exc:
        raise WordListError(f"{path}: cannot read the word list: {exc.strerror or exc}") from None
