"""IKE benchmark: many IKE SAs with their keys, analysed with g^xy secrets and with --dh-private.

    python bench/ike_bench.py [--version 1|2] [--sas 10000] [--group 14] [--exponent-bits N]
                              [--concurrent K] [--dh-jobs 1 2] [--repeat N] [--keep DIR] [--json]
                              [--cli] [--format json text] [--tshark]

Generates (or reuses, with ``--keep DIR``) a deterministic capture of ``--sas`` complete IKEv1
main + quick mode negotiations (``ike_capture_gen``), or with ``--version 2`` IKEv2 IKE_SA_INIT +
IKE_AUTH negotiations with one Child SA each (``ikev2_capture_gen``), and times the whole analysis
(``ikedecode.pipeline.analyze``, key files read included) in a fresh process per run: once with
the g^xy of every SA (a key file tying each to its cookies), then with the private DH values
(``[[dh_private]]``) computed on each number of processes of ``--dh-jobs`` (1: in-line, in the
analysing process; N: N worker processes while the engine reads ahead). It checks that every SA
was established with every encrypted message verified (and, for IKEv2, counts the AUTH payloads
that verify), and prints seconds, IKE SAs/s, CPU
seconds of the analysing process and of the DH workers, the peak RSS of the analysing process
(before any rendering), and whether every run found the same (a digest of SAs, keys, messages
and findings; ``--json`` also renders and compares the JSON reports, which takes minutes at
10,000 SAs). ``--cli`` also times the ``ikedecode`` command, analysis and rendering, with each
``--format`` (``json``, ``text``; default ``json``). ``--tshark``
checks one SA with tshark. A script, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ikev2_capture_gen  # noqa: E402
from ike_capture_gen import GeneratedCapture, Settings, capture_name, generate, negotiate  # noqa: E402

from ikedecode import pipeline  # noqa: E402
from ikedecode.analysis.report import Report  # noqa: E402
from ikedecode.capture import open_capture  # noqa: E402
from ikedecode.keys.cli_inputs import parse_psk_file  # noqa: E402
from ikedecode.keys.keyring import KeyRing  # noqa: E402
from ikedecode.keys.loader import load_key_file  # noqa: E402
from ikedecode.parallel.dh_pool import DEFAULT_WINDOW  # noqa: E402
from ikedecode.render.json_report import render_json  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def load_keys(psk_file: Path, key_file: Path) -> KeyRing:
    ring = load_key_file(str(key_file))
    ring.psks.extend(parse_psk_file(psk_file.read_text(), str(psk_file)))
    return ring


def analyze_file(capture: Path, keyring: KeyRing, dh_jobs: int, window: int = DEFAULT_WINDOW) -> Report:
    """``pipeline.analyze`` with the engine's DH work on ``dh_jobs`` processes (1: in-line).

    The pipeline reads ahead with ``compute_dh_ahead`` itself (``--jobs``), with its own window:
    ``window`` is kept for the callers and not used.
    """
    with open_capture(str(capture)) as reader:
        if dh_jobs == 1:
            return pipeline.analyze(reader, keyring)
        return pipeline.analyze(reader, keyring, pipeline.Options(jobs=dh_jobs))


def report_summary(report: Report) -> dict[str, object]:
    """Counts that say whether every SA decoded: established, verified messages, keyed child SAs."""
    protections = Counter(m.protection.value for sa in report.ike_sas for m in sa.messages)
    auths = Counter(
        m.auth_verified for sa in report.ike_sas for m in sa.messages if m.auth_verified is not None
    )
    return {
        "ike_sas": len(report.ike_sas),
        "established": sum(1 for sa in report.ike_sas if sa.established and sa.authenticated),
        "messages": dict(protections),
        "auth_verified": auths[True],  # IKEv2 AUTH payloads (RFC 7296 2.15) that verify / do not
        "auth_failed": auths[False],
        "child_sas_keyed": sum(1 for sa in report.ipsec_sas if sa.encryption_key),
    }


def report_digest(report: Report, with_key_origins: bool) -> str:
    """SHA-256 of what the analysis found, for comparing runs without rendering JSON (which takes
    minutes at 10,000 SAs): every SA's cookies, state, keys and messages (label, protection, hash,
    note, payloads), every IPsec SA's keys and counters, every finding. Without key origins, runs
    with the two kinds of key files compare equal."""
    out = hashlib.sha256()
    for sa in report.ike_sas:
        keys = sa.keys
        origins = (keys.psk_origin, keys.dh_origin, keys.key_origin) if keys and with_key_origins else ()
        secrets = tuple(keys.to_dict().values()) if keys else ()  # SKEYID* (IKEv1) or SKEYSEED, SK_* (IKEv2)
        out.update(repr((sa.cookies, sa.state, sa.established, sa.authenticated, secrets, origins)).encode())
        for m in sa.messages:
            payloads = [p.to_dict() for p in m.payloads]
            label = str(m.label)  # the text: a Label and the string it equals digest alike
            out.update(repr((m.frame, label, m.protection, m.hash_verified, m.note, payloads)).encode())
        out.update(repr([(f.code, f.message) for f in sa.findings]).encode())
    for ipsec in report.ipsec_sas:
        counters = (ipsec.counters.packets, ipsec.counters.verified, ipsec.counters.icv_failed)
        out.update(repr((ipsec.spi, ipsec.src, ipsec.encryption_key, ipsec.integrity_key, counters)).encode())
    out.update(repr([(f.code, f.message) for f in report.findings if with_key_origins]).encode())
    return out.hexdigest()[:16]


def one_run(capture: Path, psk_file: Path, key_file: Path, dh_jobs: int, json_out: Path | None) -> dict:
    """Time key loading + analysis in this process; the JSON report goes to ``json_out`` if given."""
    started, cpu = time.perf_counter(), time.process_time()
    keyring = load_keys(psk_file, key_file)
    loaded = time.perf_counter()
    report = analyze_file(capture, keyring, dh_jobs)
    finished = time.perf_counter()
    result = {
        **report_summary(report),
        "seconds": finished - started,
        "key_loading_seconds": loaded - started,
        "cpu_seconds": time.process_time() - cpu,
        "worker_cpu_seconds": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime,
        "peak_rss_mib": peak_rss_mib(),  # before any rendering
        "digest": report_digest(report, with_key_origins=True),
        "digest_without_key_origins": report_digest(report, with_key_origins=False),
    }
    if json_out is not None:
        json_out.write_text(render_json(report))
    return result


def run_in_subprocess(
    capture: Path, psk_file: Path, key_file: Path, dh_jobs: int, json_out: Path | None
) -> dict:
    command = [
        sys.executable,
        __file__,
        "--one-run",
        str(capture),
        str(psk_file),
        str(key_file),
        str(dh_jobs),
    ]
    done = subprocess.run([*command, str(json_out or "-")], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"run failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cli(
    capture: Path, psk_file: Path, key_file: Path, out: Path, fmt: str = "json"
) -> tuple[float, float]:
    """The ``ikedecode`` command, report (``--format fmt``) to a file: (seconds, peak RSS MiB of the
    child and its own children, the DH and rendering workers)."""
    command = [
        sys.executable,
        "-m",
        "ikedecode",
        str(capture),
        "--psk-file",
        str(psk_file),
        "--keys",
        str(key_file),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([*command, "--format", fmt, "--output", str(out)], check=True)
    seconds = time.perf_counter() - started
    return seconds, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def tshark_check(made: GeneratedCapture, settings: Settings) -> str:
    """Decrypt the first SA with tshark given only its cookie and phase-1 cipher key (computed by
    the generator): MM5/MM6 must show their ID payloads and QM1/QM2 their two client IDs."""
    if shutil.which("tshark") is None:
        return "tshark not installed: skipped"
    first = negotiate(0, settings.group, settings.exponent_bits)
    with tempfile.TemporaryDirectory() as config:
        table = Path(config, "ikev1_decryption_table")
        table.write_text(f"{first.initiator_cookie.hex()},{first.encryption_key.hex()}\n")
        command = ["tshark", "-n", "-r", str(made.capture), "-c", "9", "-T", "fields", "-e", "isakmp.id.type"]
        env = {**os.environ, "WIRESHARK_CONFIG_DIR": config}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    if done.returncode:
        return f"tshark failed: {done.stderr.strip()[:200]}"
    ids = [line.strip() for line in done.stdout.splitlines()]
    expected = ["", "", "", "", "1", "1", "4,4", "4,4", ""]  # ID_IPV4_ADDR; ID_IPV4_ADDR_SUBNET x2
    verdict = "OK" if ids == expected else "MISMATCH"
    return f"{verdict}: tshark decrypted SA 0 with the generator's key, ID types per message {ids}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one-run"]:
        capture, psk_file, key_file, jobs, out = argv[1:6]
        json_out = None if out == "-" else Path(out)
        print(json.dumps(one_run(Path(capture), Path(psk_file), Path(key_file), int(jobs), json_out)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", type=int, choices=[1, 2], default=1, help="IKE version (default 1)")
    parser.add_argument("--sas", type=int, default=10_000)
    parser.add_argument("--group", type=int, default=14)
    parser.add_argument(
        "--exponent-bits", type=int, default=None, help="MODP private exponent (default full)"
    )
    parser.add_argument("--concurrent", type=int, default=1, help="negotiations interleaved in the capture")
    parser.add_argument(
        "--dh-jobs",
        type=int,
        nargs="*",
        default=[1, 2],
        help="processes for DH (1: in-line; none: g^xy only)",
    )
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the capture and keys in")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind (the fastest is shown)")
    parser.add_argument("--json", action="store_true", help="also render and compare the JSON reports (slow)")
    parser.add_argument("--cli", action="store_true", help="also time the ikedecode command")
    parser.add_argument(
        "--format",
        nargs="+",
        choices=["json", "text"],
        default=["json"],
        help="report formats the timed ikedecode command writes (--cli)",
    )
    parser.add_argument("--tshark", action="store_true", help="check one SA with tshark")
    args = parser.parse_args(argv)
    ikev2 = args.version == 2
    settings = (ikev2_capture_gen.Settings if ikev2 else Settings)(args.group, args.exponent_bits)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ike-bench-"))
    name = (ikev2_capture_gen.capture_name if ikev2 else capture_name)(args.sas, settings, args.concurrent)
    if args.keep and (folder / f"{name}.pcap").exists():
        made = GeneratedCapture(
            folder / f"{name}.pcap",
            folder / f"{name}.psk",
            folder / f"{name}.dh-private.toml",
            folder / f"{name}.dh-secret.toml",
            args.sas,
            0,
        )
        print(f"reusing {made.capture}")
    else:
        started = time.perf_counter()
        make = ikev2_capture_gen.generate if ikev2 else generate
        made = make(folder, args.sas, settings, concurrent=args.concurrent, jobs=os.cpu_count() or 1)  # type: ignore[arg-type]
        print(f"generated {made.capture} ({made.frames} frames) in {time.perf_counter() - started:.1f} s")
    if args.tshark and not ikev2:
        print(tshark_check(made, settings))
    print(
        f"{'keys':<28} {'seconds':>8} {'SAs/s':>6} {'CPU main+workers':>17} {'peak RSS':>9} "
        f"{'established':>12} {'verified':>12} {'child SAs':>9} {'AUTH ok/bad':>11}  digest"
    )
    runs = [("g^xy key file", made.dh_secret_keys, 1)] + [
        (f"--dh-private, {jobs} process{'es' if jobs > 1 else ''}", made.dh_private_keys, jobs)
        for jobs in args.dh_jobs
    ]
    digests, json_digests = set(), set()
    for label, key_file, jobs in runs:
        out = folder / f"{name}.{key_file.name.split('.')[-2]}.{jobs}.json" if args.json else None
        tries = [
            run_in_subprocess(made.capture, made.psk_file, key_file, jobs, out) for _ in range(args.repeat)
        ]
        result = min(tries, key=lambda r: r["seconds"])
        messages = result["messages"]
        verified = f"{messages.get('verified', 0)}/{sum(messages.values()) - messages.get('clear', 0)}"
        digests.add(result["digest_without_key_origins"])
        if out is not None:
            normalized = json.loads(out.read_text())
            for sa in normalized["ike_sas"]:  # which key file gave g^xy differs between the two kinds
                sa["key_source"]["dh_secret"] = None
            json_digests.add(hashlib.sha256(json.dumps(normalized, sort_keys=True).encode()).hexdigest())
        times = ", ".join(f"{r['seconds']:.2f}" for r in tries)
        print(
            f"{label:<28} {result['seconds']:8.2f} {result['ike_sas'] / result['seconds']:6.0f} "
            f"{result['cpu_seconds']:7.1f} + {result['worker_cpu_seconds']:5.1f} s "
            f"{result['peak_rss_mib']:5.0f} MiB {result['established']:>6}/{result['ike_sas']:<5} "
            f"{verified:>12} {result['child_sas_keyed']:>9} "
            f"{result['auth_verified']:>6}/{result['auth_failed']:<4}  {result['digest']}"
            + (f"  (runs: {times})" if len(tries) > 1 else "")
        )
    print("same SAs, keys, messages and findings in every run:", "yes" if len(digests) == 1 else "NO")
    if args.json:
        print("JSON identical across runs (key origins aside):", "yes" if len(json_digests) == 1 else "NO")
    if args.cli:
        for label, key_file in (("g^xy", made.dh_secret_keys), ("--dh-private", made.dh_private_keys)):
            for fmt in args.format:
                out = folder / f"{name}.cli.{fmt}"
                seconds, rss = run_cli(made.capture, made.psk_file, key_file, out, fmt)
                print(f"ikedecode command, {label}, --format {fmt}: {seconds:.2f} s, peak RSS {rss:.0f} MiB")
    if not args.keep:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
