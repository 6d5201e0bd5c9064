"""Cost of reading one capture in chunks (not collected by pytest; never a timed test).

Run: ``python -m tests.capture.bench_chunks`` from the project root. Prints, in CPU time
(``time.process_time``, best of a few rounds; the machine may be shared):

* the header walk (``plan_chunks``), per record: the main process's part of cutting a capture;
* one sequential ``CaptureReader.items()`` read, per frame;
* the same capture cut into 4 MiB chunks: ``scan_chunk`` over every chunk (the workers' part,
  summed) and ``ChunkJoiner.join`` of the summaries (the main process's part), per frame.

The capture is ``bench_reader``'s synthetic mix (70% ESP, 20% ESP in UDP 4500, 8.5% IKE, 1.5%
TCP, 64-1,400 bytes) and one of 1,400-byte ESP packets only.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from ikedecode.capture import CaptureReader
from ikedecode.capture.chunk_join import ChunkJoiner
from ikedecode.capture.chunk_scan import scan_chunk
from ikedecode.capture.chunks import plan_chunks

from .bench_reader import synthetic_frames
from .builders import epb, esp, ethernet, idb, ipv4, pcap, shb

FRAMES = 100_000
CHUNK_BYTES = 4 << 20


def best_cpu(work: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    mixed = synthetic_frames(FRAMES)
    esp_only = [
        (
            1_700_000_000_000_000_000 + i * 1000,
            ethernet(ipv4("10.0.0.1", "10.0.0.2", 50, esp(seq=i, body=bytes(1372)))),
        )
        for i in range(FRAMES)
    ]
    captures = {
        "mixed pcap": pcap(mixed, nanosecond=True),
        "mixed pcapng": shb() + idb(1, tsresol=9) + b"".join(epb(0, t, data) for t, data in mixed),
        "1400-byte ESP pcap": pcap(esp_only, nanosecond=True),
    }
    for name, data in captures.items():
        walk = best_cpu(lambda data=data: sum(1 for _ in plan_chunks(data, 1 << 40, chunk_records=1 << 40)))
        chunks = list(plan_chunks(data, CHUNK_BYTES))

        def sequential(data: bytes = data) -> None:
            for _item in CaptureReader(io.BytesIO(data)).items():
                pass

        summaries: list = []

        def scans(data: bytes = data, chunks: list = chunks, summaries: list = summaries) -> None:
            summaries.clear()
            for chunk in chunks:
                summaries.append(scan_chunk(data[chunk.start : chunk.end], chunk).summary())

        def join(summaries: list = summaries) -> None:
            joiner = ChunkJoiner()
            for summary in summaries:
                for _item in joiner.join(summary):
                    pass
            joiner.stats()

        us = 1e6 / FRAMES
        print(
            f"{name} ({len(data) >> 20} MiB, {len(chunks)} chunks): walk {walk * us:.2f} us/record, "
            f"sequential items() {best_cpu(sequential) * us:.2f} us/frame, "
            f"scan_chunk {best_cpu(scans) * us:.2f} us/frame, join {best_cpu(join) * us:.3f} us/frame"
        )


if __name__ == "__main__":
    main()
