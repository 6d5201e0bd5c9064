"""ESP decryption benchmark: generate large ESP captures with known keys, check, time.

    python bench/esp_bench.py [--packets 200000] [--suite NAME ...] [--size 1400] [--keep DIR]

For each suite it writes a deterministic capture (``esp_capture_gen``), checks with tshark
(when installed) that a sample of it decrypts and authenticates in Wireshark with the same keys,
then times ikedecode on it: the ESP processor alone over datagrams already in memory, and the
whole path from the file (capture reader + processor). It prints MB/s (ESP bytes from the SPI
on), packets/s and the peak RSS of the process. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esp_capture_gen import SUITES, generate_frames, suite_sas, wireshark_uat_lines, write_pcap  # noqa: E402

from ikedecode.capture import open_capture  # noqa: E402
from ikedecode.esp import EspProcessor, EspStatus, SaDatabase  # noqa: E402

TSHARK_SAMPLE = 2000
PREFERENCES = ("-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def tshark_check(path: Path, suite_name: str) -> str:
    """Decrypt the first packets with tshark and the suite's keys; a one-line verdict."""
    if shutil.which("tshark") is None:
        return "tshark not installed: skipped"
    suite = SUITES[suite_name]
    command = ["tshark", "-n", "-r", str(path), "-c", str(TSHARK_SAMPLE), *PREFERENCES]
    for line in wireshark_uat_lines(suite, suite_sas(suite)):
        command += ["-o", f"uat:esp_sa:{line}"]
    command += ["-T", "fields", "-e", "esp.icv_good", "-e", "udp.dstport"]
    output = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if output.returncode:
        return f"tshark failed: {output.stderr.strip()[:200]}"
    rows = [line.split("\t") for line in output.stdout.splitlines()]
    decrypted = sum(1 for row in rows if row[-1] == "9999")  # the inner UDP port of the generator
    icv_good = sum(1 for row in rows if row[0] == "1")
    verdict = "OK" if rows and decrypted == icv_good == len(rows) else "MISMATCH"
    return f"{verdict}: tshark decrypted {decrypted}/{len(rows)}, ICV good {icv_good}/{len(rows)}"


def prepare_suite(suite_name: str, packets: int, size: int, folder: Path) -> Path:
    path = folder / f"esp-{suite_name}.pcap"
    started = time.perf_counter()
    with path.open("wb") as stream:
        written = write_pcap(stream, generate_frames(SUITES[suite_name], packets, size))
    generated = time.perf_counter() - started
    megabytes = path.stat().st_size / 1e6
    print(f"{suite_name}: {written} packets, {megabytes:.1f} MB file, generated in {generated:.1f} s")
    print(f"   check: {tshark_check(path, suite_name)}")
    return path


def _report(label: str, processor: EspProcessor, esp_bytes: int, packets: int, elapsed: float) -> None:
    verified = sum(sa.counters.verified for sa in processor.sadb)
    print(
        f"   {label}: {esp_bytes / elapsed / 1e6:7.1f} MB/s {packets / elapsed:9.0f} packets/s"
        f"   ({verified}/{packets} verified)   peak RSS so far {peak_rss_mib():.0f} MiB"
    )


def time_streaming(suite_name: str, path: Path) -> None:
    """Whole path from the file: capture reader + processor, one datagram at a time."""
    processor = EspProcessor(SaDatabase(suite_sas(SUITES[suite_name])))
    esp_bytes = packets = 0
    started = time.perf_counter()
    for datagram in open_capture(str(path)):
        esp_bytes += len(datagram.payload)
        packets += 1
        processor.process(datagram)
    _report(f"{suite_name:30s} file -> results", processor, esp_bytes, packets, time.perf_counter() - started)


def time_processor(suite_name: str, path: Path) -> None:
    """The ESP processor alone, over datagrams read into memory beforehand."""
    datagrams = list(open_capture(str(path)))
    esp_bytes = sum(len(datagram.payload) for datagram in datagrams)
    processor = EspProcessor(SaDatabase(suite_sas(SUITES[suite_name])))
    gc.collect()
    started = time.perf_counter()
    for datagram in datagrams:
        processor.process(datagram)
    elapsed = time.perf_counter() - started
    _report(f"{suite_name:30s} processor only ", processor, esp_bytes, len(datagrams), elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=1400, help="outer IP packet size in bytes")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="default: all suites")
    parser.add_argument("--keep", type=Path, help="write the captures here and keep them")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {args.packets} packets of {args.size} bytes per suite")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        folder_context = None
        folder = args.keep
    else:
        folder_context = tempfile.TemporaryDirectory(prefix="esp-bench-")
        folder = Path(folder_context.name)
    try:
        suites = args.suite or list(SUITES)
        paths = {name: prepare_suite(name, args.packets, args.size, folder) for name in suites}
        # streaming runs first: the peak RSS they show is not inflated by the in-memory runs
        print("\nstreaming (memory stays flat):")
        for name in suites:
            time_streaming(name, paths[name])
        print("\nprocessor alone (all datagrams held in memory):")
        for name in suites:
            time_processor(name, paths[name])
    finally:
        if folder_context is not None:
            folder_context.cleanup()


if __name__ == "__main__":
    main()
