"""A peer ID carrying control characters (CR, LF, BEL, ESC: a screen clear, a forged line) never
reaches the terminal raw, in any format: the aggressive-mode AM1 of a real capture, its ID edited."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.cli import main

CAPTURES_DIR = Path(__file__).resolve().parents[2] / "captures"
CAPTURE = "am-aes128-sha1-modp2048"
ID = b"west.lab.example"  # ID_FQDN of the initiator, in clear in AM1
HOSTILE = b"\x1b[2J\r\nFAKE\x07xy.ex"  # clear the screen, start a forged line, ring the bell
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # any control character but the report's LF, TAB


@pytest.fixture(scope="module")
def hostile_capture(tmp_path_factory) -> Path:
    data = (CAPTURES_DIR / f"{CAPTURE}.pcap").read_bytes()
    assert len(HOSTILE) == len(ID) and data.count(ID) >= 1
    path = tmp_path_factory.mktemp("hostile") / f"{CAPTURE}-hostile-id.pcap"
    path.write_bytes(data.replace(ID, HOSTILE, 1))  # same length: every length field still holds
    return path


FORMATS = [
    ["--format", "text"],
    ["--format", "timeline"],
    ["--format", "markdown"],
    ["--format", "html"],
    ["--format", "cisco", "--as", "initiator"],
    ["--format", "cisco", "--as", "responder"],
    ["--format", "show", "--as", "responder"],
]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: "-".join(f[1::2]))
def test_no_control_character_reaches_the_output(hostile_capture, fmt):
    result = CliRunner().invoke(main, [str(hostile_capture), "-q", *fmt], catch_exceptions=False)
    assert result.exit_code == 0
    assert not RAW.search(result.stdout), RAW.findall(result.stdout)
    assert not any(line.startswith("FAKE") for line in result.stdout.splitlines())  # no forged line


def test_text_report_shows_the_id_escaped(hostile_capture):
    result = CliRunner().invoke(main, [str(hostile_capture), "-q"], catch_exceptions=False)
    assert "initiator \\x1b[2J\\x0d\\x0aFAKE\\x07xy.ex" in result.stdout


def test_json_keeps_a_parseable_document(hostile_capture):
    result = CliRunner().invoke(main, [str(hostile_capture), "-q", "--format", "json"])
    assert result.exit_code == 0 and not RAW.search(result.stdout)
    assert json.loads(result.stdout)["ike_sas"][0]["identities"]
