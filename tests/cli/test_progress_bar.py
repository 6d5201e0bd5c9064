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
    dh = [(seen, text) for seen, text in drawn if "computing DH" in text]
    assert dh and any(int(PERCENT.search(text).group(1)) < 50 for _, text in dh), [t for _, t in drawn]
    end = drawn[-1][0]
    for seen, text in drawn[:-1]:
        match = ETA.search(text)
        if match:
            hours, minutes, seconds = (int(g) for g in match.groups())
            claimed, actual = hours * 3600 + minutes * 60 + seconds, end - seen
            # not minutes for seconds of work (click's since-start average claimed 5 min for 7 s);
            # loose, for a machine whose load changes under the test
            assert claimed <= 4 * actual + 10, (text, actual, [t for _, t in drawn])
    assert any(ETA.search(text) for _, text in drawn)


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
