"""The parallel walk of a pcap file (capture/chunk_walk.py) gives exactly plan_chunks' chunks, for
any chunk and part size, even where its boundary guess is fooled, and on truncated or corrupt files."""

from __future__ import annotations

import gzip
import os
import random
import struct
from collections.abc import Iterable
from pathlib import Path

import pytest

from ikedecode.capture.chunk_walk import PartPlan, find_boundary, pcap_layout, walk_part
from ikedecode.capture.chunks import plan_chunks
from tests.conftest import CAPTURES_DIR, PROJECT_ROOT

from .builders import esp, ethernet, ethernet_pcap, ipv4, isakmp, pcap, udp

CORPUS_DIR = PROJECT_ROOT / "tests" / "corpus"
BUNDLED = sorted(CAPTURES_DIR.glob("*.pcap*")) + sorted(CORPUS_DIR.rglob("*.pcap*"))
# (chunk_bytes, part_bytes): a part per chunk, or several chunks per part
SIZES = [(1, None), (1, 1000), (300, None), (300, 4096), (65536, None), (65536, 1 << 20)]
A, B = "192.0.2.1", "192.0.2.2"


def _pcap_bytes(path: Path) -> bytes | None:
    """The capture's bytes (decompressed), when it is a whole pcap file."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError):
            return None
    return raw if len(raw) >= 24 and pcap_layout(raw[:4]) is not None else None


def assert_walked_as_planned(data: bytes, chunk_bytes: int, part_bytes: int | None) -> PartPlan:
    plan = PartPlan(data, chunk_bytes, part_bytes=part_bytes)
    assert list(plan.walk_here()) == list(plan_chunks(data, chunk_bytes)), (chunk_bytes, part_bytes)
    return plan


def _walk_every_pcap(paths: Iterable[Path]) -> int:
    """Each pcap of ``paths`` walked in parts of every size in SIZES; how many were pcaps."""
    walked = 0
    for path in paths:
        data = _pcap_bytes(path)
        if data is None:
            continue
        for chunk_bytes, part_bytes in SIZES:
            assert_walked_as_planned(data, chunk_bytes, part_bytes)
        walked += 1
    return walked


def test_every_bundled_pcap_walks_in_parts_into_the_planned_chunks() -> None:
    assert _walk_every_pcap(BUNDLED) > 40


def test_every_reference_pcap_walks_in_parts_into_the_planned_chunks(reference_dir: Path) -> None:
    paths = (p for p in sorted(reference_dir.rglob("*")) if p.is_file() and p.stat().st_size <= 64 << 20)
    assert _walk_every_pcap(paths) > 10


def _esp_capture(count: int, seed: int, *, nanosecond: bool = False, order: str = "<") -> bytes:
    rng = random.Random(seed)
    frames = []
    for i in range(count):
        if i % 50 == 0:
            packet = ipv4(A, B, 17, udp(500, 500, isakmp(body=bytes(rng.randrange(0, 200)))))
        else:
            packet = ipv4(A, B, 50, esp(seq=i, body=rng.randbytes(rng.randrange(16, 1500))))
        frames.append((1_700_000_000_000_000_000 + i * 1_000, ethernet(packet, 0x0800)))
    return pcap(frames, order=order, nanosecond=nanosecond)


@pytest.mark.parametrize(("nanosecond", "order"), [(False, "<"), (True, "<"), (False, ">"), (True, ">")])
def test_the_boundary_guess_finds_the_records_of_an_esp_capture(nanosecond: bool, order: str) -> None:
    data = _esp_capture(3000, 19, nanosecond=nanosecond, order=order)
    for chunk_bytes in (4096, 65536):
        plan = assert_walked_as_planned(data, chunk_bytes, None)
        assert plan.parts > 10
        assert plan.misses == 0 and plan.walked_here == 0  # every part's own walk was right


def _record(time_us: int, data: bytes) -> bytes:
    return struct.pack("<IIII", time_us // 1_000_000, time_us % 1_000_000, len(data), len(data)) + data


def test_a_payload_holding_pcap_records_fools_the_guess_but_not_the_chunks() -> None:
    # packets whose payload is a run of well-formed little pcap records (a pcap file sent over
    # the network): a part starting in such a payload guesses a boundary inside it
    inner = b"".join(_record(1_000_000 + i, bytes([i]) * 20) for i in range(40))
    packets = []
    for i in range(60):
        body = inner if i % 2 else os.urandom(300)
        packets.append(ipv4(A, B, 17, udp(4000, 4000, body)))
    data = ethernet_pcap(packets)
    misses = 0
    for chunk_bytes, part_bytes in [(1, 97), (200, None), (300, 900), (1000, None), (4096, None)]:
        misses += assert_walked_as_planned(data, chunk_bytes, part_bytes).misses
    assert misses > 0  # the guess was fooled, and the chunks are still plan_chunks'
    layout = pcap_layout(data[:24])
    assert layout is not None
    start = data.index(inner) + 1
    guess = find_boundary(data, layout, start, start + 500)
    assert 0 <= guess < data.index(inner) + len(inner)  # a "record" inside the payload


def test_truncated_files_walk_in_parts_as_planned() -> None:
    data = _esp_capture(30, 3)
    rng = random.Random(5)
    for cut in sorted({24, 25, 39, 40, len(data) - 1, *rng.sample(range(24, len(data)), 60)}):
        for chunk_bytes, part_bytes in [(1, None), (300, None), (300, 1000), (4096, None)]:
            assert_walked_as_planned(data[:cut], chunk_bytes, part_bytes)


def test_a_corrupt_record_length_walks_in_parts_as_planned() -> None:
    data = bytearray(_esp_capture(40, 4))
    starts = [chunk.start for chunk in plan_chunks(bytes(data), 1)]
    for record in (0, 1, 17, 39):
        corrupt = bytearray(data)
        struct.pack_into("<I", corrupt, starts[record] + 8, 0x7FFFFFFF)
        for chunk_bytes, part_bytes in [(1, None), (300, None), (300, 1000), (65536, None)]:
            plan = assert_walked_as_planned(bytes(corrupt), chunk_bytes, part_bytes)
            assert plan.done


def test_an_empty_capture_is_one_last_chunk() -> None:
    data = pcap([])
    for chunk_bytes in (1, 300):
        assert_walked_as_planned(data, chunk_bytes, None)


def test_a_record_larger_than_the_parts_leaves_parts_without_chunks() -> None:
    data = pcap([(i * 1000, bytes([i]) * (5000 if i == 3 else 60)) for i in range(10)])
    plan = assert_walked_as_planned(data, 100, None)
    assert plan.parts > len(list(plan_chunks(data, 100)))


def test_a_part_walk_starts_at_the_first_record_of_the_first_part() -> None:
    data = _esp_capture(10, 6)
    layout = pcap_layout(data[:24])
    assert layout is not None
    walked = walk_part(data, layout, 24, 24 + 300, 300)
    first = list(plan_chunks(data, 300))[0]
    assert (walked.start, walked.end, walked.whole) == (24, first.end, True)


def test_parts_are_accepted_in_order_only() -> None:
    plan = PartPlan(_esp_capture(100, 7), 1000)
    with pytest.raises(ValueError, match="out of order"):
        plan.accept(1, None)


def test_a_pcapng_file_is_not_walked_in_parts() -> None:
    data = (CORPUS_DIR / "unknown-blocks.pcapng").read_bytes()
    with pytest.raises(ValueError, match="pcap files only"):
        PartPlan(data, 1000)


def test_runs_of_zero_bytes_are_not_taken_for_records() -> None:
    # zero bytes read as headers of empty records: never a guess, so a part starting in a
    # zero-filled payload finds the next record
    packets = [ipv4(A, B, 17, udp(4000, 4000, bytes(4000 if i % 3 == 1 else 40))) for i in range(30)]
    data = ethernet_pcap(packets)
    layout = pcap_layout(data[:24])
    assert layout is not None
    records = [chunk.start for chunk in plan_chunks(data, 1)]
    zeros = data.index(bytes(4000))
    assert find_boundary(data, layout, zeros, zeros + 5000) == min(r for r in records if r >= zeros)
    plan = assert_walked_as_planned(data, 1000, None)
    assert plan.misses == 0


def test_a_part_with_too_many_candidates_is_left_to_the_main_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import ikedecode.capture.chunk_walk as chunk_walk

    inner = b"".join(_record(1_000_000 + i, bytes([i + 1]) * 20) for i in range(40))
    data = ethernet_pcap(
        [ipv4(A, B, 17, udp(4000, 4000, inner if i % 2 else os.urandom(300))) for i in range(20)]
    )
    monkeypatch.setattr(chunk_walk, "MAX_GUESSES", 0)
    layout = pcap_layout(data[:24])
    assert layout is not None
    assert find_boundary(data, layout, 100, 1000) == -1
    plan = assert_walked_as_planned(data, 300, None)
    assert plan.walked_here > 0 and plan.misses > 0
