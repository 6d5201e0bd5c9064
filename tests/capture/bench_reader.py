"""Throughput of CaptureReader on a synthetic 100k-frame capture (not collected by pytest).

Run: ``python -m tests.capture.bench_reader`` from the project root. Frames are Ethernet/IPv4:
70% ESP, 20% ESP in UDP 4500, 8.5% IKE on UDP 500, 1.5% TCP.
"""

from __future__ import annotations

import io
import random
import time

from ikedecode.capture import CaptureReader

from .builders import epb, esp, ethernet, idb, ipv4, isakmp, pcap, shb, udp

FRAMES = 100_000


def synthetic_frames(count: int = FRAMES, seed: int = 1) -> list[tuple[int, bytes]]:
    rng = random.Random(seed)
    frames = []
    for index in range(count):
        draw = rng.random()
        if draw < 0.70:
            packet = ipv4("10.0.0.1", "10.0.0.2", 50, esp(seq=index, body=bytes(rng.randrange(64, 1400))))
        elif draw < 0.90:
            packet = ipv4(
                "10.0.0.1", "10.0.0.2", 17, udp(4500, 4500, esp(body=bytes(rng.randrange(64, 1400))))
            )
        elif draw < 0.985:
            packet = ipv4("10.0.0.1", "10.0.0.2", 17, udp(500, 500, isakmp(body=bytes(200))))
        else:
            packet = ipv4("10.0.0.1", "10.0.0.2", 6, bytes(40))
        frames.append((1_700_000_000_000_000_000 + index * 1000, ethernet(packet)))
    return frames


def microseconds_per_frame(data: bytes, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        reader = CaptureReader(io.BytesIO(data))
        for _datagram in reader:
            pass
        best = min(best, time.perf_counter() - started)
    return best / reader.stats.packets * 1e6


def main() -> None:
    frames = synthetic_frames()
    files = {
        "pcap": pcap(frames, nanosecond=True),
        "pcapng": shb() + idb(1, tsresol=9) + b"".join(epb(0, time_ns, data) for time_ns, data in frames),
    }
    for name, data in files.items():
        speed = microseconds_per_frame(data)
        print(f"{name}: {speed:.2f} us per frame ({FRAMES} frames, {len(data) >> 20} MiB)")


if __name__ == "__main__":
    main()
