"""Fuzz campaigns over ikedecode's entry points (the targets in ``fuzz/targets.py``).

    python -m fuzz.run --list
    python -m fuzz.run --budget 'header=200000,payloads=200000,engine-keys=50000' --workers 2
    python -m fuzz.run --inputs 20000 --workers 2 --coverage          # every target, with coverage
    python -m fuzz.run --replay fuzz-out/crashes/engine-keys/1a2b3c.bin --target engine-keys
    python -m fuzz.run --atheris payloads -- -runs=1000000 -timeout=10  # needs: pip install atheris

The built-in engine mutates seeds taken from the real captures (``fuzz/corpus.py``) with
``fuzz/mutate.py``, in worker processes (one per core by default). Every input runs under a
timer: an input that takes longer than ``--timeout`` seconds is a *hang*; any exception (a
broken guarantee raises ``FuzzFailure``) is a *crash*; a worker's address space is limited to
``--memory-mb`` so runaway allocation is a crash too. Crashing and hanging inputs are saved under
``OUT/crashes/<target>/`` with their traceback, deduplicated by where they failed. The summary
(inputs per target, crashes, hangs, slowest input, peak memory, coverage) goes to stdout and to
``OUT/summary.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = PROJECT_ROOT / "ikedecode"
DECODING_PACKAGES = ("capture", "ike", "esp")  # "the decoding modules" of the closing note


class Hang(BaseException):  # noqa: N818 - BaseException: the engines' guards must not swallow it
    """Raised by the per-input timer."""


@dataclass
class ChunkResult:
    target: str
    inputs: int = 0
    seconds: float = 0.0
    crashes: dict[str, str] = field(default_factory=dict)  # signature -> saved input path
    crash_count: int = 0
    hangs: dict[str, str] = field(default_factory=dict)
    hang_count: int = 0
    slowest: float = 0.0
    slowest_size: int = 0
    peak_rss_mb: float = 0.0


# -- worker side ----------------------------------------------------------------------------------

_WORKER: dict[str, object] = {}


def _init_worker(memory_mb: int, coverage_file: str | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if coverage_file:
        import coverage

        cov = coverage.Coverage(data_file=coverage_file, data_suffix=True, source=[str(PACKAGE_DIR)])
        cov.start()
        _WORKER["coverage"] = cov
    from fuzz import targets  # after coverage has started, so module-level lines count

    targets.strict_guards()
    _WORKER["targets"] = targets


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang()


def _signature(exc: BaseException) -> str:
    """Where it failed: the innermost frame in ikedecode (else in fuzz/), and the exception type."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f for f in reversed(frames) if "/ikedecode/" in f.filename), None)
    where = where or next(
        (f for f in reversed(frames) if "/fuzz/" in f.filename), frames[-1] if frames else None
    )
    place = f"{Path(where.filename).name}:{where.lineno}" if where else "?"
    detail = str(exc).split(":")[0][:60] if type(exc).__name__ == "FuzzFailure" else ""
    return f"{type(exc).__name__}@{place}" + (f" {detail}" if detail else "")


def _save(out_dir: Path, kind: str, target: str, signature: str, data: bytes, exc: BaseException) -> str:
    folder = out_dir / kind / target
    folder.mkdir(parents=True, exist_ok=True)
    stem = hashlib.sha1(signature.encode()).hexdigest()[:12]
    path = folder / f"{stem}.bin"
    if not path.exists():
        path.write_bytes(data)
        text = "".join(traceback.format_exception(exc)) if kind == "crashes" else "timed out\n"
        (folder / f"{stem}.txt").write_text(f"{signature}\n\n{text}")
    return str(path)


def run_chunk(task: tuple[str, int, int, float, str, float]) -> ChunkResult:
    name, count, seed, timeout, out, deadline = task
    from fuzz.mutate import Mutator

    targets = _WORKER["targets"]
    target = targets.TARGETS[name]  # type: ignore[attr-defined]
    seeds = _seeds(name)
    rng = random.Random(seed)
    mutator = Mutator(rng, seeds, target.max_size)
    result = ChunkResult(name)
    signal.signal(signal.SIGALRM, _on_alarm)
    started = time.perf_counter()
    previous = None
    for _ in range(count):
        if deadline and time.time() > deadline:
            break
        if previous is not None and rng.random() < 0.3:
            data = mutator.mutate(previous, target.protect)  # walk further from the last mutant
        else:
            base = rng.choice(seeds)
            data = base if rng.random() < 0.02 else mutator.mutate(base, target.protect)
        previous = data
        began = time.perf_counter()
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                target.run(data)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except Hang as exc:
            result.hang_count += 1
            signature = f"hang in {name}"
            result.hangs.setdefault(signature, _save(Path(out), "hangs", name, signature, data, exc))
        except Exception as exc:  # noqa: BLE001 - every exception is a finding of the campaign
            result.crash_count += 1
            signature = _signature(exc)
            if signature not in result.crashes:
                result.crashes[signature] = _save(Path(out), "crashes", name, signature, data, exc)
        elapsed = time.perf_counter() - began
        if elapsed > timeout:  # stuck in C code where the timer could not interrupt it
            result.hang_count += 1
            result.hangs.setdefault(
                f"slow {name}", _save(Path(out), "hangs", name, f"slow {name}", data, Hang())
            )
        if elapsed > result.slowest:
            result.slowest, result.slowest_size = elapsed, len(data)
        result.inputs += 1
    result.seconds = time.perf_counter() - started
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cov = _WORKER.get("coverage")
    if cov is not None:
        cov.save()  # type: ignore[attr-defined]
    return result


_SEEDS: dict[str, list[bytes]] = {}


def _seeds(name: str) -> list[bytes]:
    if name not in _SEEDS:
        targets = _WORKER["targets"]
        _SEEDS[name] = targets.TARGETS[name].seeds() or [b""]  # type: ignore[attr-defined]
    return _SEEDS[name]


# -- parent side ----------------------------------------------------------------------------------

DEFAULT_SHARES = {  # relative share of --inputs per target, by cost and by how much code it reaches
    "capture": 1.0,
    "header": 1.0,
    "payloads": 1.0,
    "engine-clear": 1.0,
    "engine-keys": 1.0,
    "engine-plaintext": 1.0,
    "engine-random-keys": 1.0,
    "esp": 1.0,
    "esp-plaintext": 1.0,
    "esp-random-sa": 1.0,
    "v2-header": 1.0,
    "v2-payloads": 1.0,
    "v2-engine-clear": 1.0,
    "v2-engine-keys": 1.0,
    "v2-engine-plaintext": 1.0,
    "v2-fragments": 1.0,
    "key-file": 0.2,
    "key-log": 0.1,
    "pipeline": 0.2,
    "cli": 0.05,
}


def _budget(args: argparse.Namespace) -> dict[str, int]:
    if args.budget:
        out = {}
        for item in args.budget.split(","):
            name, _, count = item.partition("=")
            out[name.strip()] = int(count)
        return out
    names = args.targets.split(",") if args.targets else list(DEFAULT_SHARES)
    return {name: max(1, int(args.inputs * DEFAULT_SHARES.get(name, 1.0))) for name in names}


def _tasks(budget: dict[str, int], chunk: int, args: argparse.Namespace, deadline: float) -> Iterator[tuple]:
    rng = random.Random(args.seed)
    pending = {name: count for name, count in budget.items() if count > 0}
    while pending:  # interleave the targets so a time limit cuts all of them evenly
        for name in list(pending):
            size = min(chunk, pending[name])
            pending[name] -= size
            if not pending[name]:
                del pending[name]
            yield (name, size, rng.getrandbits(63), args.timeout, str(args.out), deadline)


def _merge(total: dict[str, ChunkResult], part: ChunkResult) -> None:
    into = total.setdefault(part.target, ChunkResult(part.target))
    into.inputs += part.inputs
    into.seconds += part.seconds
    into.crash_count += part.crash_count
    into.hang_count += part.hang_count
    for k, v in part.crashes.items():
        into.crashes.setdefault(k, v)
    for k, v in part.hangs.items():
        into.hangs.setdefault(k, v)
    if part.slowest > into.slowest:
        into.slowest, into.slowest_size = part.slowest, part.slowest_size
    into.peak_rss_mb = max(into.peak_rss_mb, part.peak_rss_mb)


def _coverage_report(coverage_file: Path) -> dict[str, object]:
    import coverage

    cov = coverage.Coverage(data_file=str(coverage_file))
    cov.combine(data_paths=[str(coverage_file.parent)])
    cov.save()
    data = cov.get_data()
    per_package: dict[str, list[int]] = {}
    per_module: dict[str, float] = {}
    for filename in sorted(data.measured_files()):
        _, statements, _, missing, _ = cov.analysis2(filename)
        relative = Path(filename).resolve().relative_to(PACKAGE_DIR)
        package = relative.parts[0] if len(relative.parts) > 1 else "(top)"
        run = len(statements) - len(missing)
        totals = per_package.setdefault(package, [0, 0])
        totals[0] += run
        totals[1] += len(statements)
        per_module[str(relative)] = round(100 * run / len(statements), 1) if statements else 100.0
    decoding = [per_package[p] for p in DECODING_PACKAGES if p in per_package]
    run, total = sum(r for r, _ in decoding), sum(t for _, t in decoding)
    return {
        "decoding_modules_percent": round(100 * run / total, 1) if total else 0.0,
        "decoding_modules_lines": [run, total],
        "packages_percent": {p: round(100 * r / t, 1) if t else 100.0 for p, (r, t) in per_package.items()},
        "modules_percent": per_module,
    }


def campaign(args: argparse.Namespace) -> int:
    import multiprocessing

    budget = _budget(args)
    from fuzz.targets import TARGETS

    unknown = set(budget) - set(TARGETS)
    if unknown:
        print(f"unknown targets: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    coverage_file = None
    if args.coverage:
        coverage_dir = out / "coverage"
        coverage_dir.mkdir(exist_ok=True)
        for old in coverage_dir.glob(".coverage*"):
            old.unlink()
        coverage_file = str(coverage_dir / ".coverage")
    deadline = time.time() + args.seconds if args.seconds else 0.0
    context = multiprocessing.get_context("spawn")

    def stop(signum: int, frame: object) -> None:  # SIGTERM, and SIGINT in the background: stop cleanly
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    totals: dict[str, ChunkResult] = {}
    started = time.time()
    done = 0
    interrupted = False
    with context.Pool(
        args.workers, _init_worker, (args.memory_mb, coverage_file), maxtasksperchild=50
    ) as pool:
        try:
            for part in pool.imap_unordered(run_chunk, _tasks(budget, args.chunk, args, deadline)):
                _merge(totals, part)
                done += part.inputs
                if not args.quiet:
                    crashes = sum(t.crash_count for t in totals.values())
                    hangs = sum(t.hang_count for t in totals.values())
                    print(
                        f"\r{done} inputs, {crashes} crashes, {hangs} hangs, {time.time() - started:.0f} s",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )
        except KeyboardInterrupt:
            interrupted = True
            pool.terminate()
    if not args.quiet:
        print(file=sys.stderr)
    summary: dict[str, object] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "workers": args.workers,
        "seed": args.seed,
        "timeout_seconds": args.timeout,
        "memory_limit_mb": args.memory_mb,
        "interrupted": interrupted,
        "total_inputs": sum(t.inputs for t in totals.values()),
        "total_crashes": sum(t.crash_count for t in totals.values()),
        "total_hangs": sum(t.hang_count for t in totals.values()),
        "targets": {
            name: {
                "entry_point": TARGETS[name].entry_point,
                **{k: v for k, v in asdict(t).items() if k != "target"},
                "inputs_per_second": round(t.inputs / t.seconds, 1) if t.seconds else None,
            }
            for name, t in sorted(totals.items())
        },
    }
    if coverage_file:
        summary["coverage"] = _coverage_report(Path(coverage_file))
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _print_summary(summary)
    return 1 if summary["total_crashes"] or summary["total_hangs"] else 0


def _print_summary(summary: dict) -> None:
    print(f"{'target':20} {'inputs':>9} {'/s':>7} {'crashes':>8} {'hangs':>6} {'slowest':>9} {'rss MB':>7}")
    for name, t in summary["targets"].items():
        print(
            f"{name:20} {t['inputs']:>9} {t['inputs_per_second'] or 0:>7.0f} {t['crash_count']:>8} "
            f"{t['hang_count']:>6} {t['slowest']:>8.3f}s {t['peak_rss_mb']:>7.0f}"
        )
        for signature, path in {**t["crashes"], **t["hangs"]}.items():
            print(f"    {signature}  ->  {path}")
    print(
        f"total: {summary['total_inputs']} inputs, {summary['total_crashes']} crashes, "
        f"{summary['total_hangs']} hangs in {summary['wall_seconds']} s"
    )
    if "coverage" in summary:
        cov = summary["coverage"]
        print(
            "line coverage of the decoding modules (capture/, ike/, esp/): "
            f"{cov['decoding_modules_percent']}%"
        )
        print("  " + ", ".join(f"{p} {v}%" for p, v in sorted(cov["packages_percent"].items())))


def replay(args: argparse.Namespace) -> int:
    from fuzz.targets import TARGETS, strict_guards

    strict_guards()
    data = Path(args.replay).read_bytes()
    TARGETS[args.target].run(data)  # raises with the full traceback when it still fails
    print(f"{args.replay}: no failure in {args.target}")
    return 0


def run_atheris(name: str, libfuzzer_args: list[str], out: Path) -> int:
    import atheris

    with atheris.instrument_imports():
        from fuzz import targets
    targets.strict_guards()
    target = targets.TARGETS[name]
    corpus_dir = out / "atheris" / name
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for number, seed in enumerate(target.seeds()):
        (corpus_dir / f"seed-{number:05d}").write_bytes(seed)
    atheris.Setup([sys.argv[0], str(corpus_dir), *libfuzzer_args], target.run)
    atheris.Fuzz()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the targets")
    parser.add_argument("--targets", help="comma-separated targets (default: all)")
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs per target, scaled by its share")
    parser.add_argument("--budget", help="explicit inputs per target: 'header=100000,cli=500'")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--chunk", type=int, default=2000, help="inputs per work unit")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per input before it is a hang")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per worker")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="fuzz-out", help="where crashes and summary.json go")
    parser.add_argument(
        "--coverage", action="store_true", help="measure line coverage (pip install coverage)"
    )
    parser.add_argument("--replay", metavar="FILE", help="run one saved input (with --target)")
    parser.add_argument("--target", help="target for --replay")
    parser.add_argument("--atheris", metavar="TARGET", help="coverage-guided fuzzing of one target")
    parser.add_argument("-q", "--quiet", action="store_true")
    args, rest = parser.parse_known_args(argv)
    if args.list:
        from fuzz.targets import TARGETS

        for name, target in TARGETS.items():
            print(f"{name:20} {target.entry_point}")
        return 0
    if args.replay:
        return replay(args)
    if args.atheris:
        return run_atheris(args.atheris, [a for a in rest if a != "--"], Path(args.out))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return campaign(args)


if __name__ == "__main__":
    sys.exit(main())
