"""One capture on a Dask cluster (``--dask`` with one file): time, CPU and where it goes.

    python bench/dask_chunks_bench.py CAPTURE KEYS [--workers 2] [--scheduler tcp://HOST:8786]
                                      [--chunk-size 4M 16M ...] [--repeat N] [--walk-only]

CAPTURE: e.g. one written by ``bench/esp_bench.py --keep DIR`` (or ``bench/esp_capture_gen.py``),
with its key file. It prints

* the header walk the client makes to cut the capture into chunks (``plan_chunks`` over an mmap
  of the file): seconds of CPU per GB, and the chunks it found;
* per chunk size, the whole analysis on the cluster (a ``LocalCluster`` of ``--workers`` single-
  threaded worker processes on this machine, or ``--scheduler``): wall seconds, MB/s, the
  client's CPU seconds (walk, IKE engine, accounting) and the workers' (from their own
  ``resource.getrusage``), checking that every ESP packet verified;
* for comparison, the local sequential run (``--jobs 1``) in this process (CPU seconds).

A script, not a test: speed is measured here, never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import logging
import mmap
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ikedecode.capture import open_capture  # noqa: E402
from ikedecode.capture.chunks import plan_chunks  # noqa: E402
from ikedecode.cli import ByteSize  # noqa: E402
from ikedecode.distributed.client import analyze_on_dask, dask_client  # noqa: E402
from ikedecode.keys.loader import load_key_file  # noqa: E402
from ikedecode.pipeline import Options, analyze  # noqa: E402


def parse_size(text: str) -> int:
    return ByteSize().convert(text, None, None)


def walk_seconds(path: Path, chunk_bytes: int) -> tuple[float, int]:
    """CPU seconds of the client's header walk over the whole file, and the chunks it found."""
    started = time.process_time()
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
        chunks = sum(1 for _ in plan_chunks(view, chunk_bytes))  # type: ignore[arg-type]
    return time.process_time() - started, chunks


def _worker_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def verified(report) -> tuple[int, int]:  # noqa: ANN001
    return sum(sa.counters.verified + sa.counters.decrypted for sa in report.ipsec_sas), report.stats.esp


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("capture", type=Path)
    parser.add_argument("keys", type=Path)
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers (without --scheduler)")
    parser.add_argument("--scheduler", default="local")
    parser.add_argument("--chunk-size", nargs="+", default=["4M", "16M"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per chunk size; fastest shown")
    parser.add_argument("--walk-only", action="store_true")
    parser.add_argument("--no-local", action="store_true", help="skip the local --jobs 1 run")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    size = args.capture.stat().st_size
    keyring = load_key_file(str(args.keys))
    print(f"{args.capture.name}: {size / 1e6:.1f} MB, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for text in args.chunk_size:
        seconds, chunks = walk_seconds(args.capture, parse_size(text))
        print(
            f"walk, chunks of {text}: {chunks} chunks, {seconds:.3f} s CPU = {seconds / size * 1e9:.2f} s/GB"
        )
    if args.walk_only:
        return
    if not args.no_local:
        started = time.process_time()
        report = analyze(open_capture(args.capture), keyring, Options(jobs=1))
        cpu = time.process_time() - started
        print(
            f"local --jobs 1: {cpu:.2f} s CPU, {size / 1e6 / cpu:.1f} MB/s per CPU second, {verified(report)}"
        )
    with dask_client(args.scheduler, workers=args.workers) as client:
        client.wait_for_workers(1)
        workers = len(client.scheduler_info()["workers"])
        for text in args.chunk_size:
            best = None
            for _ in range(args.repeat):
                before = sum(client.run(_worker_cpu).values())
                cpu0, wall0 = time.process_time(), time.perf_counter()
                report = analyze_on_dask(
                    client, [str(args.capture.resolve())], keyring, Options(chunk_bytes=parse_size(text))
                )
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                worker_cpu = sum(client.run(_worker_cpu).values()) - before
                run = (wall, cpu, worker_cpu, verified(report))
                best = run if best is None or run[0] < best[0] else best
            assert best is not None
            wall, cpu, worker_cpu, (good, esp) = best
            print(
                f"dask, {workers} workers, chunks of {text}: {wall:.2f} s wall, "
                f"{size / 1e6 / wall:.1f} MB/s, "
                f"client {cpu:.2f} s CPU, workers {worker_cpu:.2f} s CPU, verified {good}/{esp}"
            )


if __name__ == "__main__":
    main()
