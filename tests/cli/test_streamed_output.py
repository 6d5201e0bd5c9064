"""JSON is written to ``--output`` as it is made (a report of 10,000 IKE SAs is 390 MB); the file
appears only when it is complete, and it holds exactly what stdout gets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.terminal import formats
from tests.conftest import CAPTURES_DIR, KEYS_DIR

NAME = "mm-aes128-sha1-modp2048"
ARGS = [str(CAPTURES_DIR / f"{NAME}.pcap"), "--keys", str(KEYS_DIR / f"{NAME}.toml"), "--format", "json"]


def test_the_file_is_what_stdout_gets(tmp_path: Path):
    stdout = CliRunner().invoke(main, ARGS, catch_exceptions=False)
    written = CliRunner().invoke(main, [*ARGS, "-o", str(tmp_path / "r.json")], catch_exceptions=False)
    assert stdout.exit_code == written.exit_code == 0
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == stdout.output
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_failure_part_way_leaves_no_half_report(tmp_path: Path, monkeypatch):
    def failing(report, stream, **options) -> None:  # noqa: ANN001, ANN003
        stream.write('{\n  "schema_version": 1,\n')
        raise RuntimeError("renderer bug")

    monkeypatch.setitem(formats.STREAMED, "json", failing)
    target = tmp_path / "r.json"
    target.write_text("the previous report\n")
    result = CliRunner().invoke(main, [*ARGS, "-o", str(target)])
    assert result.exit_code != 0
    assert "internal error (RuntimeError: renderer bug)" in result.output
    assert target.read_text() == "the previous report\n"  # not replaced by half a report
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # and no partial file left


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """``ikedecode ... | head``: the pipe closes while the report is being written; the command
    stops as a shell tool does (status 141, nothing on stderr), not with an internal error."""
    name = "esp-rekey-delete"  # its JSON report is larger than a pipe's buffer
    command = [sys.executable, "-m", "ikedecode", str(CAPTURES_DIR / f"{name}.pcap")]
    command += ["--keys", str(KEYS_DIR / f"{name}.toml"), "--format", "json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.read(10) == b'{\n  "schem'
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert stderr == b""
