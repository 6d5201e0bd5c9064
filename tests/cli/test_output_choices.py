"""-o picks the format from its extension, --format in any case, --as ignored with a note, -o with
--show-keys made 0600, -q silences every note, --psk - from a pipe, reports on a non-UTF-8 stdout."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CAPTURES_DIR = PROJECT_ROOT / "captures"
KEYS_DIR = PROJECT_ROOT / "keys"
CAPTURE = "mm-aes128-sha1-modp2048"


def run(*args: str, input: str | None = None):  # noqa: ANN201, A002
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def capture() -> str:
    return str(CAPTURES_DIR / f"{CAPTURE}.pcap")


def keys() -> str:
    return str(KEYS_DIR / f"{CAPTURE}.toml")


@pytest.mark.parametrize(
    ("name", "looks_like"),
    [
        ("report.html", lambda text: text.startswith("<!DOCTYPE html>")),
        ("report.HTM", lambda text: text.startswith("<!DOCTYPE html>")),
        ("report.md", lambda text: text.startswith("# ")),
        ("report.json", lambda text: isinstance(json.loads(text), dict)),
        ("report.txt", lambda text: text.startswith("Capture ")),
        ("report.out", lambda text: text.startswith("Capture ")),  # unknown extension: text
    ],
)
def test_output_extension_picks_the_format(tmp_path, name, looks_like):
    result = run(capture(), "--keys", keys(), "-o", str(tmp_path / name))
    assert result.exit_code == 0, result.output
    assert looks_like((tmp_path / name).read_text(encoding="utf-8"))


def test_format_option_wins_over_the_extension(tmp_path):
    result = run(capture(), "-o", str(tmp_path / "report.html"), "--format", "json")
    assert result.exit_code == 0
    json.loads((tmp_path / "report.html").read_text())


@pytest.mark.parametrize("spelling", ["JSON", "Json", "json"])
def test_format_is_accepted_in_any_case(spelling):
    result = run(capture(), "--format", spelling)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["capture"]


def test_as_with_a_format_that_ignores_it_says_so_once(tmp_path):
    result = run(capture(), "--as", "responder")
    assert result.exit_code == 0
    notes = [line for line in result.stderr.splitlines() if "--as" in line]
    assert notes == [
        "ikedecode: note: --as applies to --format cisco and show only; the text report ignores it"
    ]
    assert run(capture(), "--as", "responder", "--format", "cisco").stderr == ""
    assert run(capture()).stderr == ""  # the default --as is no note


def test_as_note_is_silenced_by_quiet():
    assert run(capture(), "--as", "responder", "-q").stderr == ""


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_show_keys_report_file_is_owner_only(tmp_path, fmt):
    path = tmp_path / f"report.{fmt}"
    path.write_text("old")
    path.chmod(0o644)  # an existing file with a wider mode is narrowed too
    result = run(capture(), "--keys", keys(), "--show-keys", "--format", fmt, "-o", str(path))
    assert result.exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() != "old"


def test_report_file_without_keys_keeps_the_usual_mode(tmp_path):
    path = tmp_path / "report.txt"
    old_umask = os.umask(0o022)
    try:
        assert run(capture(), "-o", str(path)).exit_code == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_quiet_silences_the_export_notes(tmp_path):
    loud = run(capture(), "--keys", keys(), "--export-wireshark", str(tmp_path / "ws"))
    assert "wrote Wireshark key tables" in loud.stderr
    quiet = run(capture(), "--keys", keys(), "--export-wireshark", str(tmp_path / "ws2"), "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert (tmp_path / "ws2" / "esp_sa").exists()


def _python(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})},
        timeout=120,
    )


def test_psk_dash_reads_a_line_from_a_pipe_without_getpass_warning():
    lab = __import__("tomllib").loads(Path(keys()).read_text())
    secret, dh_secret = lab["psk"][0]["secret"], lab["ike_sa"][0]["dh_secret"]
    args = [capture(), "--dh-secret", dh_secret, "--format", "json"]
    piped = _python("-m", "ikedecode", *args, "--psk", "-", stdin=f"{secret}\n".encode())
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == b""  # no GetPassWarning, no prompt
    given = run(*args, "--psk", secret)
    assert json.loads(piped.stdout) == json.loads(given.stdout)
    sa = json.loads(piped.stdout)["ike_sas"][0]
    assert "--psk #1" in str(sa["key_source"]) and sa["authenticated"] is True


def test_psk_dash_on_an_empty_pipe_is_a_one_line_error():
    done = _python("-m", "ikedecode", capture(), "--psk", "-", stdin=b"")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "ikedecode: --psk #1: '-' reads the key from standard input, which is empty"
    ]


@pytest.mark.parametrize("fmt", ["markdown", "html", "text", "timeline", "cisco"])
@pytest.mark.parametrize(
    "env", [{"PYTHONIOENCODING": "ascii"}, {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"}]
)
def test_reports_on_a_non_utf8_stdout_do_not_crash(fmt, env):
    done = _python("-m", "ikedecode", capture(), "--keys", keys(), "--format", fmt, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b"" and done.stdout
    if fmt in ("markdown", "html"):
        expected = CliRunner().invoke(main, [capture(), "--keys", keys(), "--format", fmt]).stdout_bytes
        assert done.stdout == expected  # UTF-8, as the file says
