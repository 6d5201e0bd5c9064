"""The reader's buffer is refilled by seeking back on a plain file and by joining on a pipe or a
decompressor (``ByteSource.fill``); records cut by a chunk boundary must come out whole either
way. Tiny chunks put a boundary inside nearly every record and header."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ikedecode.capture import CaptureReader, source
from tests.capture.test_batched_reading import _capture_files, _flatten


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, returning short reads like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        chunk = self._data.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _read(stream, batched: bool) -> tuple:  # noqa: ANN001
    reader = CaptureReader(stream)
    items = _flatten(reader.items(64) if batched else reader)
    stats = reader.stats
    return items, (stats.packets, stats.esp, stats.ike, stats.other, stats.malformed), reader.bytes_read()


@pytest.mark.parametrize("path", _capture_files()[:40], ids=lambda p: p.name)
@pytest.mark.parametrize("chunk", [7, 300, 5000])
def test_small_chunks_read_the_same_from_a_file_and_from_a_pipe(path: Path, chunk: int, monkeypatch):
    data = path.read_bytes()
    expected = {batched: _read(io.BytesIO(data), batched) for batched in (False, True)}
    monkeypatch.setattr(source, "CHUNK_SIZE", chunk)
    for batched in (False, True):
        seeking = _read(io.BytesIO(data), batched)
        joining = _read(io.BufferedReader(_Pipe(data)), batched)
        assert seeking[:2] == expected[batched][:2]
        assert joining[:2] == expected[batched][:2]
        assert seeking[2] == joining[2] == expected[batched][2]


def test_a_file_is_refilled_by_seeking_and_a_pipe_by_joining(tmp_path: Path, monkeypatch):
    path = next(p for p in _capture_files() if p.suffix == ".pcap" and p.stat().st_size > 20_000)
    monkeypatch.setattr(source, "CHUNK_SIZE", 4096)
    with open(path, "rb") as file:
        assert source.ByteSource(file, "f")._seekable
    assert not source.ByteSource(io.BufferedReader(_Pipe(path.read_bytes())), "p")._seekable
    gz = tmp_path / "c.pcap.gz"
    import gzip

    gz.write_bytes(gzip.compress(path.read_bytes()))
    with open(gz, "rb") as file:
        assert not source.ByteSource(file, "gz")._seekable
