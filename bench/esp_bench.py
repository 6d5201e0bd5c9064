"""ESP benchmark: ikedecode against tshark on the same generated captures.

    python bench/esp_bench.py [--packets 100000] [--suite NAME ...] [--jobs 1 2 4 ...]
                              [--size 1400] [--keep DIR] [--no-tshark] [--repeat N]

For each cipher suite it writes a deterministic capture of ESP tunnel packets with known keys
(``esp_capture_gen``; kept and reused with ``--keep DIR``) and the matching key file, checks with
tshark (when installed) that a sample decrypts and authenticates in Wireshark with the same keys,
then runs, each as a separate process on the whole file:

* ``ikedecode FILE --keys KEYS --format json --jobs J`` for every ``--jobs`` value (default: 1 and
  all cores), checking from the JSON that every packet verified;
* ``tshark`` decrypting and checking the ICV of every packet (``-T fields -e esp.icv_good``).

It prints, per run: seconds (wall), MB/s (capture file bytes per wall second), packets/s, peak
RSS (of the largest process of the run), the ratio to tshark's time on the same file, and the
share of OpenSSL's ceiling reached: MB/s divided by what OpenSSL alone decrypts and authenticates
on the run's cores (``bench/machine.py``, ``openssl speed`` on 1,408-byte buffers), so suites of
different cost can be compared. It also times the first output ikedecode writes when stderr is
a terminal (its progress bar), and a scaling table: per ``--jobs`` value the speedup over
``--jobs 1``, the efficiency (speedup / jobs), the CPU seconds of all its processes, and the peak
RSS of the main process and of its largest worker, apart. With ``--repeat N`` each ikedecode run
is made N times and the fastest is shown (other jobs on a shared host only ever slow a run down);
a CPU check before and after says how quiet the machine was. This is a script, not a test: speed
is measured here, never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esp_capture_gen import (  # noqa: E402
    SUITES,
    generate_frames,
    key_file_toml,
    suite_sas,
    wireshark_uat_lines,
    write_pcap,
)
from machine import cpu_check, openssl_ceiling  # noqa: E402

TSHARK_SAMPLE = 2000
PREFERENCES = ("-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE")


@dataclass
class Run:
    label: str
    seconds: float
    peak_rss_mib: float
    verified: int
    packets: int
    jobs: int = 1
    cpu_seconds: float = 0.0  # user + sys of the main process and every worker
    main_rss_mib: float = 0.0  # peak RSS of the main process alone
    worker_rss_mib: float = 0.0  # peak RSS of the largest worker process (0: none)
    main_cpu_seconds: float = 0.0  # user + sys of the main process alone


# ikedecode run through this wrapper writes its own peak RSS, its workers' (RUSAGE_CHILDREN: the
# largest waited-for child) and its own CPU seconds to the file named by IKEDECODE_BENCH_USAGE at exit
USAGE_WRAPPER = """
import atexit, os, resource, runpy, sys
def note():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.environ["IKEDECODE_BENCH_USAGE"], "w") as out:
        out.write(f"{me.ru_maxrss} {kids.ru_maxrss} {me.ru_utime + me.ru_stime}")
atexit.register(note)
sys.argv[0] = "ikedecode"
runpy.run_module("ikedecode", run_name="__main__", alter_sys=True)
"""


def measure(command: list[str], stdout_path: Path | None = None) -> tuple[float, float, int, float]:
    """Run ``command``; (wall seconds, peak RSS in MiB of its largest process, exit status, CPU
    seconds of it and its children)."""
    with open(stdout_path or os.devnull, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, process.returncode, usage.ru_utime + usage.ru_stime


def first_output_seconds(command: list[str]) -> float | None:
    """Seconds until the command first writes to its stderr when stderr is a terminal."""
    controller, terminal = pty.openpty()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    first = None
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                if first is None:
                    first = time.perf_counter() - started
            elif process.poll() is not None:
                break
    finally:
        process.wait()
        os.close(controller)
    return first


def _seconds(run: Run) -> float:
    return run.seconds


def ikedecode_command(path: Path, keys: Path, jobs: int, wrapped: bool = False) -> list[str]:
    return [
        sys.executable,
        *(["-c", USAGE_WRAPPER] if wrapped else ["-m", "ikedecode"]),
        str(path),
        "--keys",
        str(keys),
        "--format",
        "json",
        "--jobs",
        str(jobs),
    ]


def run_ikedecode(path: Path, keys: Path, jobs: int, folder: Path) -> Run:
    report_path = folder / f"report-{path.stem}-{jobs}.json"
    usage_path = folder / "usage.txt"
    os.environ["IKEDECODE_BENCH_USAGE"] = str(usage_path)
    seconds, rss, status, cpu = measure(ikedecode_command(path, keys, jobs, wrapped=True), report_path)
    if status:
        raise SystemExit(f"ikedecode failed on {path} (exit {status})")
    main_kib, worker_kib, main_cpu = (float(field) for field in usage_path.read_text().split())
    report = json.loads(report_path.read_text())
    verified = sum(sa["verified"] + sa["decrypted"] for sa in report["ipsec_sas"])
    packets = report["capture"]["esp"]
    report_path.unlink()
    return Run(
        f"ikedecode --jobs {jobs}", seconds, rss, verified, packets, jobs, cpu,
        main_kib / 1024, worker_kib / 1024, main_cpu,
    )  # fmt: skip


def tshark_arguments(suite_name: str) -> list[str]:
    suite = SUITES[suite_name]
    arguments = list(PREFERENCES)
    for line in wireshark_uat_lines(suite, suite_sas(suite)):
        arguments += ["-o", f"uat:esp_sa:{line}"]
    return arguments


def run_tshark(path: Path, suite_name: str, folder: Path) -> Run:
    out = folder / "tshark.txt"
    command = [
        "tshark",
        "-n",
        "-r",
        str(path),
        *tshark_arguments(suite_name),
        "-T",
        "fields",
        "-e",
        "esp.icv_good",
    ]
    seconds, rss, status, _cpu = measure(command, out)
    rows = out.read_text().splitlines()
    out.unlink()
    return Run("tshark", seconds, rss, sum(1 for row in rows if row == "1"), len(rows))


def tshark_check(path: Path, suite_name: str) -> str:
    """Decrypt the first packets with tshark and the suite's keys; a one-line verdict."""
    command = ["tshark", "-n", "-r", str(path), "-c", str(TSHARK_SAMPLE), *tshark_arguments(suite_name)]
    command += ["-T", "fields", "-e", "esp.icv_good", "-e", "udp.dstport"]
    output = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if output.returncode:
        return f"tshark failed: {output.stderr.strip()[:200]}"
    rows = [line.split("\t") for line in output.stdout.splitlines()]
    decrypted = sum(1 for row in rows if row[-1] == "9999")  # the inner UDP port of the generator
    icv_good = sum(1 for row in rows if row[0] == "1")
    verdict = "OK" if rows and decrypted == icv_good == len(rows) else "MISMATCH"
    return f"{verdict}: tshark decrypted {decrypted}/{len(rows)}, ICV good {icv_good}/{len(rows)}"


def prepare_suite(suite_name: str, packets: int, size: int, folder: Path) -> tuple[Path, Path]:
    path = folder / f"esp-{suite_name}-{packets}x{size}.pcap"
    keys = folder / f"esp-{suite_name}.toml"
    keys.write_text(key_file_toml(suite_sas(SUITES[suite_name])))
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        with partial.open("wb") as stream:
            write_pcap(stream, generate_frames(SUITES[suite_name], packets, size))
        partial.rename(path)
        print(f"  generated {path.name} in {time.perf_counter() - started:.1f} s")
    return path, keys


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=1400, help="outer IP packet size in bytes")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="default: all suites")
    parser.add_argument(
        "--jobs", type=int, nargs="+", action="extend", help="e.g. --jobs 1 2 4 (default: 1 and all cores)"
    )
    parser.add_argument("--keep", type=Path, help="write the captures here and reuse them")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark runs")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each ikedecode command; fastest shown")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    jobs_values = args.jobs or sorted({1, cores})
    tshark = shutil.which("tshark") is not None and not args.no_tshark
    print(
        f"Python {sys.version.split()[0]}, {cores} cores, "
        f"{args.packets} packets of {args.size} bytes per suite"
    )
    print(cpu_check())
    folder_context = None
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        folder = args.keep
    else:
        folder_context = tempfile.TemporaryDirectory(prefix="esp-bench-")
        folder = Path(folder_context.name)
    rows = []
    scaling = []
    try:
        for suite_name in args.suite or list(SUITES):
            path, keys = prepare_suite(suite_name, args.packets, args.size, folder)
            megabytes = path.stat().st_size / 1e6
            print(f"{suite_name}: {megabytes:.1f} MB")
            if tshark:
                print(f"  check: {tshark_check(path, suite_name)}")
            runs = [
                min((run_ikedecode(path, keys, jobs, folder) for _ in range(args.repeat)), key=_seconds)
                for jobs in jobs_values
            ]
            ceiling = openssl_ceiling(suite_name)
            first = first_output_seconds(ikedecode_command(path, keys, max(jobs_values)))
            print(
                f"  first output (progress bar on a terminal) after {first:.2f} s" if first else "  no output"
            )
            reference = run_tshark(path, suite_name, folder) if tshark else None
            processes_of = {id(run): jobs for run, jobs in zip(runs, jobs_values, strict=True)}
            for run in runs + ([reference] if reference else []):
                processes = processes_of.get(id(run), 1)
                ratio = f"{reference.seconds / run.seconds:5.1f}x" if reference else "   - "
                share = (
                    f"{megabytes * 1e6 / run.seconds / (ceiling * min(processes, cores)):.1%}"
                    if ceiling
                    else "-"
                )
                rows.append(
                    f"| {suite_name} | {megabytes:.0f} | {run.label} | {run.seconds:.2f} | "
                    f"{megabytes / run.seconds:.1f} | {run.packets / run.seconds:,.0f} | "
                    f"{run.peak_rss_mib:.0f} | "
                    f"{ratio} | {share} | {run.verified}/{run.packets} |"
                )
                print("  " + rows[-1])
            scaling.extend(scaling_rows(suite_name, megabytes, runs))
    finally:
        if folder_context is not None:
            folder_context.cleanup()
    print(cpu_check())
    print("\n| suite | MB | run | s | MB/s | packets/s | peak RSS MiB | vs tshark | of OpenSSL | verified |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\nScaling (speedup over --jobs 1, efficiency = speedup / jobs, CPU: user + sys, all processes):")
    print("| suite | jobs | s | MB/s | speedup | efficiency | CPU s (main) | RSS MiB main | largest worker |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(scaling))


def scaling_rows(suite_name: str, megabytes: float, runs: list[Run]) -> list[str]:
    """One row per --jobs value: MB/s, speedup and efficiency against the --jobs 1 run (if any)."""
    one = next((run for run in runs if run.jobs == 1), None)
    rows = []
    for run in runs:
        speedup = one.seconds / run.seconds if one else None
        rows.append(
            f"| {suite_name} | {run.jobs} | {run.seconds:.2f} | {megabytes / run.seconds:.1f} | "
            + (f"{speedup:.2f}x | {speedup / run.jobs:.0%} | " if speedup else "- | - | ")
            + f"{run.cpu_seconds:.1f} ({run.main_cpu_seconds:.1f}) | {run.main_rss_mib:.0f} | "
            + (f"{run.worker_rss_mib:.0f} |" if run.worker_rss_mib else "- |")
        )
    return rows


if __name__ == "__main__":
    main()
