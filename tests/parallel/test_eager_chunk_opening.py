"""A chunk's ESP opened as it is read ("eager", parallel/chunk_stages.py): its residues are taken
only where no SA was keyed in between, the chunk is read again from the file otherwise, and the
report is the sequential run's either way."""

from __future__ import annotations

from pathlib import Path

import pytest

import ikedecode.parallel.chunk_work as chunk_work
import ikedecode.pipeline as pipeline
from ikedecode.capture.chunks import plan_chunks
from ikedecode.capture.errors import CaptureError
from tests.conftest import CAPTURES_DIR, KEYS_DIR
from tests.parallel.test_chunked_runs_report_like_the_sequential_run import (
    ONE_RECORD,
    _chunked,
    _ring,
    _run,
    chunk_runs,  # noqa: F401 - a fixture
)

DEFAULT_PART = pipeline.DEFAULT_PART_BYTES


@pytest.fixture
def eager_counts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(taken, missed) of every ChunkWork: chunks whose ESP a worker opened right after the scan,
    with the residues taken, or opened again in frame order (an SA keyed in between)."""
    counts: list[tuple[int, int]] = []
    close = chunk_work.ChunkWork.close

    def counted(self) -> None:  # noqa: ANN001
        if self._processes or self._local is not None:
            counts.append((self.eager_taken, self.eager_missed))
        close(self)

    monkeypatch.setattr(chunk_work.ChunkWork, "close", counted)
    return counts


@pytest.mark.parametrize("processes", [0, None], ids=["in-process", "workers"])
def test_esp_opened_right_after_its_scan_is_taken_only_where_no_sa_keyed_in_between(  # noqa: ANN201
    processes,  # noqa: ANN001
    eager_counts,  # noqa: ANN001
    chunk_runs,  # noqa: ANN001, F811 - the fixture imported above
):
    # a rekey amid the ESP: the chunks handed out before the engine keyed the new SAs were opened
    # at once without them (missed: opened again), the chunks after it with them (taken)
    capture, keys = CAPTURES_DIR / "esp-rekey-delete.pcap", KEYS_DIR / "esp-rekey-delete.toml"
    ring = _ring([keys])
    sequential = _run(capture, ring, jobs=1)
    for chunk_bytes, part_bytes in ((1, 0), (300, 1), (ONE_RECORD, DEFAULT_PART)):
        assert (
            _chunked(capture, ring, chunk_bytes, chunk_processes=processes, part_bytes=part_bytes)
            == sequential
        )
    assert sum(taken for taken, _ in eager_counts) > 0 and sum(missed for _, missed in eager_counts) > 0
    assert len(chunk_runs) == 3


def test_a_chunk_opened_at_once_is_read_again_for_its_batches_and_a_changed_file_is_one_error(
    tmp_path: Path,
) -> None:
    raw = (CAPTURES_DIR / "esp-rekey-delete.pcap").read_bytes()
    path = tmp_path / "changing.pcap"
    path.write_bytes(raw)
    chunk = next(c for c in plan_chunks(raw, 4000) if c.index == 1)
    stages = chunk_work._Stages(chunk_work.ChunkSettings(str(path)), [], None)
    try:
        stages.scan(chunk, None, None, eager=True)
        assert stages.opened[chunk.index]  # opened at once, the batches let go
        alone = chunk_work._Stages(chunk_work.ChunkSettings(str(path)), [], None)
        alone.scan(chunk, None, None)  # not eager: batches kept
        expected = alone.take_batches(chunk.index)
        alone.close()
        assert [b.blob for b in stages.take_batches(chunk.index)] == [b.blob for b in expected]
        stages.scan(chunk, None, None, eager=True)
        path.write_bytes(raw[: chunk.start + 100])  # cut inside the chunk
        with pytest.raises(CaptureError, match="changed while it was read"):
            stages.open(chunk.index, 0)
    finally:
        stages.close()
