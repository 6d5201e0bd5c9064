"""``SequenceTracker.record_run`` gives what ``record`` gives one number at a time (RFC 4303 3.4.3).

The accounting of ESP batches (the main process's share of every chunk worker's packets) takes
each flow's sequence numbers as runs; a run that is not the window's simple continuation (packets
captured twice, merged captures, reordering) goes through ``record_run``'s own loop, which must
count exactly as ``record`` does.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import dpkt

from ikedecode.capture import CaptureReader
from ikedecode.capture.datagram import Kind
from ikedecode.esp.sequence import WINDOW, SequenceTracker
from ikedecode.keys.loader import load_key_text
from ikedecode.pipeline import analyze
from ikedecode.render.json_report import render_json

ROOT = Path(__file__).resolve().parents[2]


def _one_at_a_time(tracker: SequenceTracker, sequences: list[int]) -> int:
    return sum(tracker.record(seq) for seq in sequences)


def _state(tracker: SequenceTracker) -> tuple:
    return (
        tracker.highest,
        tracker.lowest,
        tracker.unique,
        tracker.replays,
        tracker.out_of_window,
        tracker._bitmap,
        tracker.gaps,
    )


def _runs(rng: random.Random) -> list[list[int]]:
    """Runs of every shape the accounting meets: continuations, duplicates, restarts, jumps past
    the window, numbers below the lowest, reordering."""
    runs, top = [], rng.randrange(1, 50)
    for _ in range(60):
        shape = rng.randrange(6)
        size = rng.randrange(1, 40)
        if shape == 0:  # the window's continuation
            run = list(range(top + 1, top + 1 + size))
        elif shape == 1:  # every packet twice (a SPAN port seeing both directions of a device)
            run = [seq for seq in range(top + 1, top + 1 + size) for _ in (0, 1)]
        elif shape == 2:  # a merged copy starting again from the beginning
            run = list(range(1, 1 + size))
        elif shape == 3:  # a jump past the window, then on
            start = top + WINDOW + rng.randrange(1, 3 * WINDOW)
            run = list(range(start, start + size))
        elif shape == 4:  # reordered and repeated numbers around the top of the window
            run = [max(1, top + rng.randrange(-WINDOW - 20, 20)) for _ in range(size)]
        else:  # just below the window's lower edge, and just inside it
            run = [max(1, top - WINDOW + rng.randrange(-3, 4)) for _ in range(size)]
        runs.append(run)
        top = max(top, *run)
    return runs


def test_every_kind_of_run_counts_as_its_numbers_one_at_a_time():
    for seed in range(40):
        runs = _runs(random.Random(seed))
        in_runs, one_by_one = SequenceTracker(), SequenceTracker()
        for run in runs:
            assert in_runs.record_run(list(run)) == _one_at_a_time(one_by_one, run), seed
            assert _state(in_runs) == _state(one_by_one), seed
        assert in_runs.replays and in_runs.out_of_window  # the slow shapes were met


def test_a_run_that_starts_the_window_counts_its_own_replays():
    tracker = SequenceTracker()
    assert tracker.record_run([5, 5, 6, 4, 4]) == 2
    assert (tracker.highest, tracker.lowest, tracker.unique, tracker.replays) == (6, 4, 3, 2)
    assert tracker.record_run([]) == 0


def _every_esp_frame_twice(data: bytes) -> bytes:
    """The capture as a SPAN port sees a tunnel through a device: each ESP frame twice."""
    esp_frames = {d.frame for d in CaptureReader(io.BytesIO(data)) if d.kind is Kind.ESP}
    assert len(esp_frames) == 16  # the lab capture's ESP packets (UDP-encapsulated, NAT-T)
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, linktype=reader.datalink())
    for frame, (ts, raw) in enumerate(reader, start=1):
        for _ in range(2 if frame in esp_frames else 1):
            writer.writepkt(raw, ts)
    return out.getvalue()


def test_a_capture_with_every_esp_packet_twice_reports_as_one_number_at_a_time(monkeypatch):
    name = "mm-aes128-sha1-modp2048"
    data = _every_esp_frame_twice((ROOT / "captures" / f"{name}.pcap").read_bytes())
    ring = load_key_text((ROOT / "keys" / f"{name}.toml").read_text(), name)
    report = analyze(CaptureReader(io.BytesIO(data)), ring)
    assert sum(sa.counters.replays for sa in report.ipsec_sas) == 16
    assert sum(sa.counters.verified for sa in report.ipsec_sas) == 32
    monkeypatch.setattr(SequenceTracker, "record_run", _one_at_a_time)
    reference = analyze(CaptureReader(io.BytesIO(data)), ring)
    assert render_json(report) == render_json(reference)
