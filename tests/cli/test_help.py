"""--help: options under headings, with examples, and fast (no engine, pipeline or crypto import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ikedecode import cli
from ikedecode.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_options_under_headings_with_examples():
    text = CliRunner().invoke(main, ["--help"]).output
    headings = [
        line for line in text.splitlines() if line and not line.startswith(" ") and line.endswith(":")
    ]
    assert headings == [
        "Keys:",
        "Report:",
        "Exports:",
        "Aggressive-mode PSK recovery:",
        "Capture and limits:",
        "Performance:",
        "Other options:",
    ]
    keys = text[text.index("Keys:") : text.index("Report:")]
    assert "--psk-file" in keys and "--keylog" in keys and "--format" not in keys
    assert "Examples:" in text and "ikedecode capture.pcap --keys keys.toml -o report.html" in text
    for option in ("--psk", "--format", "--crack", "--jobs", "--max-ike-sas", "--version", "--help"):
        assert text.count(f"  {option} ") + text.count(f", {option} ") >= 1, option


def test_every_option_is_in_a_group():
    grouped = {name for _, names in cli.OPTION_GROUPS for name in names}
    options = {p.name for p in main.params if p.param_type_name == "option"}
    assert options - grouped == {"version"}  # --version and --help go under "Other options"


def test_help_imports_neither_the_engine_nor_the_pipeline():
    code = (
        "import sys\n"
        "from ikedecode.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    modules = set(done.stdout.split()[-1000:])
    loaded = {m for m in modules if m.startswith(("ikedecode.", "dpkt", "cryptography", "tabulate"))}
    # the command line and its terminal edge (progress bars, report formats and writing, the key
    # options: click and the stdlib only; each renderer and key reader is imported when used)
    terminal = {f"ikedecode.terminal.{m}" for m in ("output", "progress", "formats", "key_inputs")}
    cli_edge = {"ikedecode.cli", "ikedecode.terminal", *terminal}
    assert loaded <= cli_edge | {"ikedecode.crack", "ikedecode.crack.rules"}, sorted(loaded)


def test_defaults_shown_by_help_are_the_ones_in_force():
    from ikedecode.capture.reader import DEFAULT_FRAGMENT_BUFFERS

    try:
        from ikedecode.ike.engine import DEFAULT_MAX_PHASE2_PER_SA
    except ImportError:
        from ikedecode.ike.v1.engine import DEFAULT_MAX_PHASE2_PER_SA

    assert cli.DEFAULT_FRAGMENT_BUFFERS == DEFAULT_FRAGMENT_BUFFERS
    assert cli.DEFAULT_MAX_PHASE2_PER_SA == DEFAULT_MAX_PHASE2_PER_SA
    from ikedecode.pipeline import DEFAULT_CHUNK_AFTER, DEFAULT_CHUNK_BYTES

    assert (cli.DEFAULT_CHUNK_BYTES, cli.DEFAULT_CHUNK_AFTER) == (DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_AFTER)
