"""The cyclic collector runs at pipeline.ANALYSIS_GC_THRESHOLDS while a capture is analysed, and at
the caller's thresholds again afterwards (pipeline.collector_tuned)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ikedecode.capture.reader import open_capture
from ikedecode.keys.keyring import KeyRing
from ikedecode.pipeline import ANALYSIS_GC_THRESHOLDS, analyze, collector_tuned

CAPTURE = Path(__file__).parent.parent / "captures" / "am-aes128-sha1-modp2048.pcap"


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's defaults
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def test_the_block_runs_at_the_analysis_thresholds_and_restores_the_callers(default_thresholds: None) -> None:
    with collector_tuned():
        assert gc.get_threshold() == ANALYSIS_GC_THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


def test_a_callers_higher_threshold_is_kept(default_thresholds: None) -> None:
    gc.set_threshold(50_000, 10, 1_000)
    with collector_tuned():
        assert gc.get_threshold() == (50_000, ANALYSIS_GC_THRESHOLDS[1], 1_000)
    assert gc.get_threshold() == (50_000, 10, 1_000)


def test_analyze_runs_under_the_thresholds_and_restores_them_after_an_error(
    default_thresholds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int, int]] = []

    def failing(*args: object) -> None:
        seen.append(gc.get_threshold())
        raise RuntimeError("stop")

    monkeypatch.setattr("ikedecode.pipeline._analyze", failing)
    reader = open_capture(CAPTURE)
    try:
        with pytest.raises(RuntimeError):
            analyze(reader, KeyRing())
    finally:
        reader.close()
    assert seen == [ANALYSIS_GC_THRESHOLDS]
    assert gc.get_threshold() == (700, 10, 10)
