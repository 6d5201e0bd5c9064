"""The exported file is cracked by ike-scan's own psk-crack (Debian package ike-scan)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from ikedecode.cli import main

from .wordlists import CAPTURES_DIR, PROBE, PROBE_PSK, write_word_list

needs_psk_crack = pytest.mark.skipif(
    shutil.which("psk-crack") is None, reason="psk-crack (ike-scan) not installed"
)


@needs_psk_crack
def test_psk_crack_recovers_the_key_from_the_exported_file(tmp_path):
    exported = tmp_path / "probe.psk"
    words = write_word_list(tmp_path / "words.txt", 100_000, {99_000: PROBE_PSK})
    result = CliRunner().invoke(
        main, [str(CAPTURES_DIR / f"{PROBE}.pcap"), "--export-psk-params", str(exported)]
    )
    assert result.exit_code == 0, result.output
    run = subprocess.run(
        ["psk-crack", "-d", str(words), str(exported)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (
        f'key "{PROBE_PSK.decode()}" matches SHA1 hash 36b54a2134e4a2a918980ae855702b51683a0774' in run.stdout
    )
    assert "99000 iterations" in run.stdout
