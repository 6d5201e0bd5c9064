"""PSK cracking speed: ikedecode --crack against ike-scan's psk-crack on the same parameters.

    python bench/crack_bench.py [--words 1000000] [--repeat 3] [--capture FILE]

Writes a word list of random words (the key is not in it, so every candidate is tried), exports
the capture's aggressive-mode HASH_R parameters with ikedecode, runs ``psk-crack -d WORDS FILE``
and ikedecode's cracker (all cores, then one worker) on them, and prints candidates per second,
best of ``--repeat`` runs each. psk-crack is single-threaded C with OpenSSL; ikedecode is Python
with a multiprocessing pool. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ikedecode.capture import open_capture  # noqa: E402
from ikedecode.crack import crack, params_of_sas, psk_crack_line  # noqa: E402
from ikedecode.keys.keyring import KeyRing  # noqa: E402
from ikedecode.pipeline import analyze  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def write_words(path: Path, count: int) -> None:
    rng = random.Random(1)
    letters = string.ascii_lowercase
    with open(path, "w") as f:
        for _ in range(count):
            f.write("".join(rng.choice(letters) for _ in range(rng.randint(6, 12))) + "\n")


def psk_crack_rate(params_file: Path, words: Path) -> float | None:
    if shutil.which("psk-crack") is None:
        return None
    run = subprocess.run(
        ["psk-crack", "-d", str(words), str(params_file)], capture_output=True, text=True, check=True
    )
    match = re.search(r"\(([\d.]+) iterations/sec\)", run.stdout)
    return float(match.group(1)) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--capture", default=str(ROOT / "captures/ikescan-aggressive-pskcrack.pcap"))
    args = parser.parse_args()

    params = params_of_sas(analyze(open_capture(args.capture), KeyRing()).ike_sas)[0]
    with tempfile.TemporaryDirectory() as tmp:
        words, params_file = Path(tmp) / "words.txt", Path(tmp) / "params.txt"
        write_words(words, args.words)
        params_file.write_text(psk_crack_line(params) + "\n")
        print(f"{args.words:,} candidates, {params.source}, HASH_R {params.hash_name}, {os.cpu_count()} CPUs")
        rates = [psk_crack_rate(params_file, words) for _ in range(args.repeat)]
        if rates[0] is None:
            print("psk-crack: not installed (Debian package ike-scan)")
        else:
            print(f"psk-crack (ike-scan, 1 thread):      {max(r for r in rates if r):>12,.0f} candidates/s")
        for workers in (os.cpu_count() or 1, 1):
            best = 0.0
            for _ in range(args.repeat):
                result = crack(params, words, rule_set="none", workers=workers)
                assert not result.found and result.tried == args.words
                best = max(best, result.rate)
            print(
                f"{f'ikedecode --crack ({workers} worker' + ('s)' if workers > 1 else ')'):<37}"
                f"{best:>12,.0f} candidates/s"
            )


if __name__ == "__main__":
    main()
