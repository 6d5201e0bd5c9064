"""Ctrl-C: one line on stderr, exit status 130, and no traceback from any worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))  # bench/ is a folder of scripts, not a package

from esp_capture_gen import SUITES, generate_frames, key_file_toml, suite_sas, write_pcap  # noqa: E402

REPEATS = 200  # 2,000 distinct ESP packets, 200 times: 400,000 packets, several seconds of work


def _big_esp_capture(directory: Path) -> tuple[Path, Path]:
    suite = SUITES["aes128-cbc+hmac-sha1-96"]
    frames = list(generate_frames(suite, 2_000, outer_size=200))
    span = len(frames) * 100  # the generator spaces packets 100 us apart

    def repeated():  # noqa: ANN202
        for n in range(REPEATS):
            for time_us, frame in frames:
                yield time_us + n * span, frame

    capture, keys = directory / "big.pcap", directory / "big.toml"
    with capture.open("wb") as stream:
        write_pcap(stream, repeated())
    keys.write_text(key_file_toml(suite_sas(suite)))
    return capture, keys


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to see the workers")
def test_ctrl_c_with_worker_processes_is_one_line_and_status_130(tmp_path):
    capture, keys = _big_esp_capture(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ikedecode", str(capture), "--keys", str(keys), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # a process group of its own, as a shell gives a foreground job
    )
    deadline = time.monotonic() + 60
    while not _children(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _children(process.pid), "the ESP worker processes never started"
    time.sleep(0.3)  # the workers are busy with batches now
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C on a terminal does: the whole group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.decode().splitlines() == ["ikedecode: interrupted"]
