"""What a benchmark needs to know about the machine it ran on: how busy it was, and what OpenSSL
alone does on one core (the ceiling ikedecode's ESP numbers are compared with).

    python bench/machine.py     # prints both

These machines are shared: other jobs on the host can take a core away for minutes. ``cpu_check``
runs a fixed CPU loop on one core, then on every core at once; printed before and after a
benchmark, it says whether its numbers were measured on a quiet machine (compare runs only
under similar values).
"""

from __future__ import annotations

import hmac
import multiprocessing
import os
import re
import shutil
import subprocess
import time

CHECK_ROUNDS = 200_000  # HMAC-SHA1 of 1,400 bytes: about 0.57 s on one core of this project's machines
OPENSSL_BYTES = 1408  # a 1,400-byte packet's ciphertext, rounded to whole AES blocks

# suite (bench/esp_capture_gen.py) -> (OpenSSL cipher decrypting, OpenSSL HMAC digest or None)
OPENSSL_NAMES = {
    "aes128-cbc+hmac-sha1-96": ("aes-128-cbc", "sha1"),
    "aes128-gcm-16": ("aes-128-gcm", None),
    "aes256-cbc+hmac-sha2-256-128": ("aes-256-cbc", "sha256"),
    "aes256-ctr+hmac-sha2-256-128": ("aes-256-ctr", "sha256"),
    "3des-cbc+hmac-md5-96": ("des-ede3-cbc", "md5"),
}


def _burn(rounds: int) -> float:
    key, data = os.urandom(20), os.urandom(1400)
    start = time.perf_counter()
    for _ in range(rounds):
        hmac.digest(key, data, "sha1")
    return time.perf_counter() - start


def cpu_check(rounds: int = CHECK_ROUNDS) -> str:
    """One line: the fixed loop's seconds on one core, then on every core at once (slowest)."""
    cores = len(os.sched_getaffinity(0))
    one = _burn(rounds)
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        every = max(pool.map(_burn, [rounds] * cores))
    return f"CPU check: {one:.2f} s on one core, {every:.2f} s on each of {cores} at once (quiet: equal)"


def _openssl_speed(arguments: list[str], tries: int = 3) -> float | None:
    """Bytes per second from ``openssl speed`` for OPENSSL_BYTES-byte buffers (the best of
    ``tries`` one-second runs: other load only lowers it), or None."""
    speeds = [speed for speed in (_openssl_speed_once(arguments) for _ in range(tries)) if speed]
    return max(speeds) if speeds else None


def _openssl_speed_once(arguments: list[str]) -> float | None:
    command = ["openssl", "speed", "-seconds", "1", "-bytes", str(OPENSSL_BYTES), *arguments]
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return None
    match = re.search(r"([\d.]+)k\s*$", lines[-1])
    return float(match.group(1)) * 1000 if match else None


def openssl_ceiling(suite_name: str) -> float | None:
    """Bytes per second OpenSSL alone decrypts and authenticates on one core for the suite:
    1 / (1/decrypt + 1/HMAC), each measured by ``openssl speed`` on 1,408-byte buffers."""
    if shutil.which("openssl") is None or suite_name not in OPENSSL_NAMES:
        return None
    cipher, digest = OPENSSL_NAMES[suite_name]
    decrypt = _openssl_speed(["-decrypt", "-evp", cipher])
    if decrypt is None:
        return None
    if digest is None:
        return decrypt
    mac = _openssl_speed(["-hmac", digest])
    return None if mac is None else 1 / (1 / decrypt + 1 / mac)


if __name__ == "__main__":
    print(cpu_check())
    for name in OPENSSL_NAMES:
        ceiling = openssl_ceiling(name)
        print(f"{name}: OpenSSL ceiling {ceiling / 1e6:,.0f} MB/s per core" if ceiling else f"{name}: n/a")
