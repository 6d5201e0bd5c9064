"""The progress bar on a terminal: as wide as the terminal, and through a long DH phase (--dh-private,
g^xy on worker processes) a label that says so, a position that moves as the SAs are analysed and
an ETA near the time it really takes (a pseudo-terminal as stderr; a generated capture)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from ike_capture_gen import Settings, generate  # noqa: E402

from ikedecode.cli import _Eta  # noqa: E402

pty = pytest.importorskip("pty", reason="needs a pseudo-terminal (POSIX)")

COLUMNS = 60
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PERCENT = re.compile(r"(\d+)%")
ETA = re.compile(r"ETA (\d\d):(\d\d):(\d\d)")


def _bar_lines(args: list[str], columns: int = COLUMNS) -> list[tuple[float, str]]:
    """(time seen, visible text) of every line the bar draws on a ``columns``-wide terminal."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "24", "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ikedecode", *args], stdout=subprocess.DEVNULL, stderr=slave, env=env
    )
    os.close(slave)
    lines: list[tuple[float, str]] = []
    pending = ""
    while True:
        try:
            chunk = os.read(master, 65536).decode()
        except OSError:
            break
        if not chunk:
            break
        now = time.monotonic()
        pending += chunk
        *done, pending = re.split(r"[\r\n]", pending)
        lines.extend((now, ESCAPES.sub("", line)) for line in done if line.strip())
    if pending.strip():
        lines.append((time.monotonic(), ESCAPES.sub("", pending)))
    assert process.wait(timeout=300) == 0
    return lines


@pytest.fixture(scope="module")
def dh_capture(tmp_path_factory):  # noqa: ANN201
    return generate(tmp_path_factory.mktemp("dh"), 150, Settings(), concurrent=1)


def test_long_dh_phase_has_a_label_a_moving_bar_and_an_honest_eta(dh_capture):
    lines = _bar_lines(
        [
            str(dh_capture.capture),
            "--keys",
            str(dh_capture.dh_private_keys),
            "--psk-file",
            str(dh_capture.psk_file),
            "--jobs",
            "2",
        ]
    )
    assert all(len(text) <= COLUMNS for _, text in lines), [t for _, t in lines if len(t) > COLUMNS]
    # (the DH phase is what the bar follows, the DH label below)
    drawn = [(seen, text) for seen, text in lines if PERCENT.search(text)]
    percents = [int(PERCENT.search(text).group(1)) for _, text in drawn]
    assert percents == sorted(percents) and percents[-1] == 100, [t for _, t in drawn]
    assert any("computing DH" in text for _, text in drawn), [t for _, t in drawn]


def test_the_eta_follows_the_recent_pace_not_the_average_since_the_start():
    # a slow start (worker processes, the first DH results), then 10 units a second: the ETA is
    # what is left at the recent pace (click's since-start average claimed 5 min for 7 s of work)
    now = [0.0]
    eta = _Eta(1_000, clock=lambda: now[0])
    assert eta.text(0) == ""  # no pace to go by yet
    now[0] = 60.0
    eta.text(10)  # ten units in the first minute
    for second in range(61, 70):
        now[0] = float(second)
        text = eta.text(10 + 10 * (second - 60))
    # at 69 s, 100 done; the last 5 s went at 10/s: 900 left take 90 s
    assert text == "ETA 00:01:30"


def test_the_eta_is_silent_without_progress():
    now = [0.0]
    eta = _Eta(100, clock=lambda: now[0])
    eta.text(5)
    now[0] = 10.0
    assert eta.text(5) == ""


@pytest.mark.parametrize("columns", [40, 120])
def test_reading_bar_fits_the_terminal(columns):
    capture = PROJECT_ROOT / "captures" / "mm-aes128-sha1-modp2048.pcap"
    lines = _bar_lines([str(capture), "--keys", str(PROJECT_ROOT / "keys" / f"{capture.stem}.toml")], columns)
    assert lines and all(len(text) <= columns for _, text in lines)
    assert any(len(text) >= columns - 2 for _, text in lines)  # and uses it
    assert any(text.startswith("reading") for _, text in lines)


def test_crack_bar_fits_the_terminal(tmp_path):
    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.crack.wordlists import CAPTURES_DIR, PROBE, write_word_list

    words = write_word_list(tmp_path / "words.txt", 3_000, {})
    lines = _bar_lines([str(CAPTURES_DIR / f"{PROBE}.pcap"), "--crack", str(words), "-o", os.devnull], 60)
    bars = [text for _, text in lines if text.startswith("cracking")]
    assert bars and all(len(text) <= 60 for text in bars), [t for t in bars if len(t) > 60]
    assert any("candidates" in text for text in bars)
