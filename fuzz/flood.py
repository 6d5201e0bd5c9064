"""Floods: state that grows with hostile input stays bounded, and time stays linear.

    python -m fuzz.flood                 # every scenario at 100 000 packets
    python -m fuzz.flood --packets 20000 sa-flood rcky-flood

Each scenario runs in a fresh process and reports seconds, microseconds per packet, the peak
resident memory of that process, and what the caps left (docs/limits.md). Mutation fuzzing
cannot find these: they need many packets that are each well-formed. The responder-cookie flood
took quadratic time before the engine indexed SAs by cookie pair (2.7 s for 8 000 messages,
about 7 minutes projected for 100 000).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import resource
import struct
import time
from collections.abc import Callable, Iterator

from ikedecode.capture import CaptureReader
from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.ike.engine import IkeEngine
from ikedecode.ike.events import FindingRaised, IkeSaClosed
from ikedecode.keys.keyring import KeyRing
from ikedecode.pipeline import analyze

A, B = "198.51.100.1", "203.0.113.1"


def _isakmp(icky: bytes, rcky: bytes, exchange: int = 2, message_id: int = 0, flags: int = 0) -> bytes:
    return icky + rcky + struct.pack("!BBBBII", 0, 0x10, exchange, flags, message_id, 28)


def _datagram(frame: int, payload: bytes) -> Datagram:
    return Datagram(frame, 1_700_000_000.0 + frame / 1000, Kind.IKE, A, B, 500, 500, payload)


def _engine_run(messages: Iterator[bytes], **caps: int) -> str:
    engine = IkeEngine(KeyRing(), **caps)
    events = []
    for frame, message in enumerate(messages, 1):
        events += engine.receive(_datagram(frame, message))
    events += engine.finish()
    sas = [e.sa for e in events if type(e) is IkeSaClosed]
    phase2 = max((len(sa.phase2) for sa in sas), default=0)
    findings = [e.finding for e in events if type(e) is FindingRaised]
    caps_hit = [f.evidence.get("dropped") for f in findings if f.code == "state-cap"]
    caps_hit += [f.evidence.get("dropped") for sa in sas for f in sa.findings if f.code == "state-cap-phase2"]
    return f"{len(sas)} SAs kept, largest phase-2 table {phase2}, dropped at caps: {caps_hit or 0}"


def sa_flood(n: int) -> str:
    """MM1 from n initiator cookies (a scanner's half-open SAs), with a cap of n/10."""
    return _engine_run(
        (_isakmp(struct.pack("!Q", i + 1), bytes(8)) for i in range(n)), max_sas=max(1, n // 10)
    )


def rcky_flood(n: int) -> str:
    """One initiator cookie answered with n responder cookies."""
    return _engine_run(_isakmp(b"A" * 8, struct.pack("!Q", i + 1)) for i in range(n))


def phase2_flood(n: int) -> str:
    """One IKE SA, n informational exchanges with distinct message IDs (default cap 10 000)."""
    icky, rcky = b"I" * 8, b"R" * 8
    first = [_isakmp(icky, bytes(8))]
    return _engine_run(iter(first + [_isakmp(icky, rcky, 5, i + 1, 1) + bytes(16) for i in range(n)]))


def _pcap(frames: Iterator[bytes]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)]  # raw IP
    for i, frame in enumerate(frames):
        out.append(
            struct.pack("<IIII", 1_700_000_000 + i // 1000, i % 1000 * 1000, len(frame), len(frame)) + frame
        )
    return b"".join(out)


def _ipv4(proto: int, payload: bytes, ident: int = 0, more: bool = False) -> bytes:
    addresses = bytes([198, 51, 100, 1, 203, 0, 113, 1])
    flags = 0x2000 if more else 0
    return (
        struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), ident, flags, 64, proto, 0) + addresses + payload
    )


def fragment_flood(n: int) -> str:
    """n first IP fragments that never complete (default cap 1 024 datagrams under reassembly)."""
    udp = struct.pack("!HHHH", 500, 500, 8 + 64, 0) + bytes(64)
    data = _pcap(_ipv4(17, udp[:48], ident=i & 0xFFFF, more=True) for i in range(n))
    report = analyze(CaptureReader(io.BytesIO(data)), KeyRing())
    stats = report.stats
    return f"malformed {dict(stats.malformed_reasons)}, evicted at the cap: {stats.fragment_sets_evicted}"


def spi_flood(n: int) -> str:
    """n ESP packets with distinct SPIs and no keys (flows beyond 10 000 are summed)."""
    data = _pcap(_ipv4(50, struct.pack("!II", i + 1, 1) + bytes(32)) for i in range(n))
    report = analyze(CaptureReader(io.BytesIO(data)), KeyRing())
    return f"{report.stats.esp} ESP packets, {len(report.unknown_spis)} flows listed"


SCENARIOS: dict[str, Callable[[int], str]] = {
    "sa-flood": sa_flood,
    "rcky-flood": rcky_flood,
    "phase2-flood": phase2_flood,
    "fragment-flood": fragment_flood,
    "spi-flood": spi_flood,
}


def _measure(name: str, n: int, results: multiprocessing.Queue) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    outcome = SCENARIOS[name](n)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results.put((name, n, seconds, before / 1024, peak / 1024, outcome))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fuzz.flood", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], default=[])
    parser.add_argument("--packets", type=int, default=100_000)
    args = parser.parse_args(argv)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    for name in args.scenarios or list(SCENARIOS):
        process = context.Process(target=_measure, args=(name, args.packets, results))
        process.start()
        row = results.get()
        process.join()
        name, n, seconds, before, peak, outcome = row
        print(
            f"{name:15} {n} packets: {seconds:6.2f} s ({seconds / n * 1e6:5.1f} us/packet), "
            f"peak RSS {peak:.0f} MB (start {before:.0f} MB); {outcome}"
        )


if __name__ == "__main__":
    main()
