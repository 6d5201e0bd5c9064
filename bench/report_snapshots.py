"""Every bundled capture in every output format, recorded once and compared later.

A refactoring that must not change behaviour (issue 13) is checked by recording the reports at the
start and comparing after each step:

    python bench/report_snapshots.py record /tmp/snapshots-before
    python bench/report_snapshots.py compare /tmp/snapshots-before

Each capture under captures/ is rendered in every format, once with its key file (keys/<name>.toml,
with --show-keys so derived keys are compared too) and once without keys; cisco and show once per
side. ``compare`` prints each report whose bytes differ (with the first differing line) and exits
1 if any does. The report of a run is made by the CLI in-process (click's runner), so the command
line, the renderers and the JSON writer are all covered.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from ikedecode.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
KEYS = ROOT / "keys"
FORMATS = ("text", "json", "timeline", "markdown", "html")
SIDED_FORMATS = ("cisco", "show")
SIDES = ("initiator", "responder")


def cases() -> Iterator[tuple[str, list[str]]]:
    """(snapshot name, ikedecode arguments) for every capture, key choice, format and side."""
    for capture in sorted(CAPTURES.glob("*.pcap*")):
        stem = capture.name.split(".pcap")[0]
        key_file = KEYS / f"{stem}.toml"
        key_choices: list[tuple[str, list[str]]] = [("nokeys", [])]
        if key_file.exists():
            key_choices.append(("keys", ["--keys", f"keys/{key_file.name}", "--show-keys"]))
        for key_label, key_args in key_choices:
            # paths relative to the checkout, so that two checkouts compare equal
            base = [f"captures/{capture.name}", *key_args, "-q", "--jobs", "1"]
            for fmt in FORMATS:
                yield f"{stem}.{key_label}.{fmt}", [*base, "--format", fmt]
            for fmt in SIDED_FORMATS:
                for side in SIDES:
                    yield f"{stem}.{key_label}.{fmt}-{side}", [*base, "--format", fmt, "--as", side]


def render(args: list[str]) -> bytes:
    result = CliRunner().invoke(cli_main, args, catch_exceptions=True)
    output = result.stdout_bytes
    return output + f"\n[exit {result.exit_code}]\n".encode()


def record(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, args in cases():
        (folder / name).write_bytes(render(args))
        count += 1
    print(f"recorded {count} reports in {folder}")
    return 0


def compare(folder: Path, only: str | None) -> int:
    differing = 0
    compared = 0
    missing = 0
    for name, args in cases():
        if only and only not in name:
            continue
        path = folder / name
        if not path.exists():
            missing += 1
            print(f"NEW   {name} (not in {folder})")
            continue
        compared += 1
        now = render(args)
        before = path.read_bytes()
        if now != before:
            differing += 1
            old_lines = before.decode(errors="replace").splitlines()
            new_lines = now.decode(errors="replace").splitlines()
            diff = list(difflib.unified_diff(old_lines, new_lines, "before", "now", n=0, lineterm=""))
            print(f"DIFF  {name}")
            for line in diff[2:8]:
                print(f"      {line[:160]}")
    print(f"{compared} compared, {differing} differ, {missing} new")
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "compare"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--only", help="compare only the reports whose name contains this")
    args = parser.parse_args(argv)
    args.folder = args.folder.resolve()
    os.chdir(ROOT)
    if args.action == "record":
        return record(args.folder)
    return compare(args.folder, args.only)


if __name__ == "__main__":
    sys.exit(main())
