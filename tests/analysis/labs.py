"""Helpers of the diagnosis tests: a lab capture analysed with or without its key file."""

from __future__ import annotations

from pathlib import Path

from ikedecode.analysis.report import Report
from ikedecode.capture import open_capture
from ikedecode.keys.keyring import KeyRing
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.pipeline import analyze

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CAPTURES_DIR = PROJECT_ROOT / "captures"
KEYS_DIR = PROJECT_ROOT / "keys"


def lab_keyring(name: str) -> KeyRing:
    path = KEYS_DIR / f"{name}.toml"
    return parse_key_file(path.read_text(), path.name).keyring


def lab_report(
    name: str, keys: bool = True, capture: Path | None = None, ring: KeyRing | None = None
) -> Report:
    if ring is None:
        ring = lab_keyring(name) if keys else KeyRing()
    return analyze(open_capture(capture or CAPTURES_DIR / f"{name}.pcap"), ring)


def codes(report: Report) -> list[str]:
    return [f.code for f in report.all_findings()]


def only(report: Report, code: str):  # noqa: ANN201
    found = [f for f in report.all_findings() if f.code == code]
    assert len(found) == 1, f"expected one {code}, got {codes(report)}"
    return found[0]
