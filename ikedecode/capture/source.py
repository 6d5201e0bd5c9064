"""Buffered, streaming access to the bytes of a capture file.

Readers pull the file in fixed-size chunks and parse records with ``struct.unpack_from`` straight
out of the chunk, so memory stays bounded by one chunk plus the largest record, whatever the file
size. Gzip input is detected by its magic bytes and decompressed on the fly.
"""

from __future__ import annotations

import gzip
import zlib
from typing import BinaryIO, cast

from .errors import CaptureError

CHUNK_SIZE = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
# Decompression problems that mean "the data stops being readable here", not "the file cannot be opened".
GZIP_DATA_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


class _Prefixed:
    """A read-only file object that first returns ``prefix``, then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size is None or size < 0:
                data, self._prefix = self._prefix + self._stream.read(), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)


class ByteSource:
    """A window ``buf[pos:]`` over the stream; ``base`` is the file offset of ``buf[0]``.

    Readers parse directly from ``buf`` and advance ``pos``; ``fill()`` appends the next chunk.
    After a decompression failure ``error`` holds the reason and the source behaves as if at EOF.
    """

    __slots__ = (
        "_stream",
        "buf",
        "pos",
        "base",
        "eof",
        "error",
        "compressed",
        "_name",
        "_seekable",
        "_end_error",
    )

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self._name = name
        self.error: str | None = None
        self.eof = False
        head = self._read_raw(stream, len(GZIP_MAGIC))
        self.compressed = head == GZIP_MAGIC
        if self.compressed:
            stream = cast(BinaryIO, gzip.GzipFile(fileobj=cast(BinaryIO, _Prefixed(head, stream)), mode="rb"))
            head = b""
        self._stream = stream
        self._seekable = not self.compressed and _seekable(stream)
        self.buf = head
        self.pos = 0
        self.base = 0
        self._end_error: str | None = None

    @classmethod
    def in_memory(cls, data: bytes, name: str) -> ByteSource:
        """A source whose whole content is ``data`` already (a chunk's prefix; ``continue_with``)."""
        source = cls.__new__(cls)
        source._name = name
        source._stream = None  # type: ignore[assignment]  # never read: at end of data
        source.error = None
        source.eof = True
        source.compressed = False
        source._seekable = False
        source.buf = data
        source.pos = 0
        source.base = 0
        source._end_error = None
        return source

    def continue_with(self, data: bytes, pos: int, offset: int, end_error: str | None = None) -> None:
        """Go on reading ``data[pos:]``, the rest of the data, found at file offset ``offset``; the
        readers' slices of ``data`` must be ``bytes`` (bytes, mmap). ``end_error`` is the reason the
        stream the data came from stopped being readable (gzip), known to the reader only once it
        reaches the end, as when reading the stream."""
        self.buf, self.pos, self.base = data, pos, offset - pos
        self.eof = True
        self._end_error = end_error

    def _read_raw(self, stream: BinaryIO, size: int) -> bytes:
        """Read ``size`` bytes, fewer only at end of data (raw streams and pipes return short reads).

        Gzip data is read with ``read1`` so that a decompression failure loses nothing that was
        decompressed before it: the bytes up to the failure are returned and ``error`` is set.
        """
        read = getattr(stream, "read1", None) if isinstance(stream, gzip.GzipFile) else None
        read = read or stream.read
        parts = []
        try:
            while size > 0:
                part = read(size)
                if not part:
                    break
                parts.append(part)
                size -= len(part)
        except GZIP_DATA_ERRORS as exc:
            self.error = f"gzip decompression failed: {exc}"
            self.eof = True
        except OSError as exc:
            raise CaptureError(f"{self._name}: read error: {exc.strerror or exc}") from None
        return b"".join(parts)

    def available(self) -> int:
        return len(self.buf) - self.pos

    def offset(self) -> int:
        """File offset (of the decompressed data, for gzip) of ``buf[pos]``."""
        return self.base + self.pos

    def fill(self, want: int = 0) -> bool:
        """Append at least one chunk (more if needed to hold ``want`` bytes from ``pos``); False at EOF."""
        if self.eof:
            if self._end_error is not None:
                self.error, self._end_error = self._end_error, None
            return False
        size = max(CHUNK_SIZE, want - self.available())
        if self._seekable and self.pos:
            return self._reread(size)
        data = self._read_raw(self._stream, size)
        if not data:
            self.eof = True
            return False
        if self.pos:
            self.base += self.pos
            self.buf = self.buf[self.pos :] + data
            self.pos = 0
        else:
            self.buf += data
        if len(data) < size:
            self.eof = True
        return True

    def _reread(self, size: int) -> bool:
        """``fill`` for a plain file: read the unparsed rest of the buffer again with the next chunk
        (seek back to ``buf[pos]``) instead of joining it to the chunk, which copies the whole
        chunk once more (measured: a third of the reading time of a capture of 1,400-byte ESP)."""
        rest = self.available()
        start = self.base + self.pos
        try:
            self._stream.seek(start)
        except OSError as exc:
            raise CaptureError(f"{self._name}: read error: {exc.strerror or exc}") from None
        data = self._read_raw(self._stream, rest + size)
        if len(data) <= rest:  # nothing new: at the end (buf is unchanged)
            self.eof = True
            return False
        self.base, self.buf, self.pos = start, data, 0
        if len(data) < rest + size:
            self.eof = True
        return True

    def ensure(self, size: int) -> bool:
        """Make ``size`` bytes available from ``pos``; False when the file ends first."""
        while self.available() < size:
            if not self.fill(size):
                return False
        return True

    def skip(self, size: int) -> int:
        """Advance ``size`` bytes without keeping them; returns how many were actually skipped."""
        skipped = 0
        while True:
            step = min(size - skipped, self.available())
            self.pos += step
            skipped += step
            if skipped == size:
                return skipped
            # Drop the consumed window before reading on, so skipping a huge block stays bounded.
            self.base += self.pos
            self.buf, self.pos = b"", 0
            if not self.fill(min(size - skipped, CHUNK_SIZE)):
                return skipped


def _seekable(stream: BinaryIO) -> bool:
    """A stream ``fill`` may seek back in (a regular file; not a pipe or a decompressor)."""
    try:
        return bool(stream.seekable()) and stream.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False
