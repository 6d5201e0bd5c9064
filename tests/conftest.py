"""Shared fixtures: where the real captures live.

``captures/`` and ``keys/`` ship with the project. ``../shared/reference/`` (public captures,
key tables and test vectors) exists only on the developers' and CI machines; tests that need it
are skipped with a reason where it is absent (a user's clone). ``IKEDECODE_REFERENCE_DIR`` points
elsewhere (a git worktree one level deeper than the main checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CAPTURES_DIR = PROJECT_ROOT / "captures"
KEYS_DIR = PROJECT_ROOT / "keys"
REFERENCE_DIR = Path(
    os.environ.get("IKEDECODE_REFERENCE_DIR") or PROJECT_ROOT.parent / "shared" / "reference"
)


def shipped(directory: Path, pattern: str) -> list[Path]:
    """The files of ``directory`` matching ``pattern``; the project ships them, so none is a failure
    (a test parametrized over an empty list would be skipped, not failed)."""
    found = sorted(directory.glob(pattern))
    assert found, f"no {pattern} in {directory}: it ships with the project"
    return found


LAB_CAPTURES = shipped(CAPTURES_DIR, "*.pcap")


@pytest.fixture
def reference_dir() -> Path:
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"public reference data not present at {REFERENCE_DIR} (only on developer/CI machines)")
    return REFERENCE_DIR


@pytest.fixture
def captures_dir() -> Path:
    return CAPTURES_DIR


@pytest.fixture
def keys_dir() -> Path:
    return KEYS_DIR


def load_lab_keys(name: str) -> dict:
    """The key file the lab script wrote for captures/<name>.pcap, as plain TOML data."""
    import tomllib

    return tomllib.loads((KEYS_DIR / f"{name}.toml").read_text())


def analyze_path(path: Path, keyring=None):  # noqa: ANN001, ANN201 - test helper
    """Run the whole pipeline (capture reader -> engines -> Report) on a file."""
    from ikedecode.capture import open_capture
    from ikedecode.keys.keyring import KeyRing
    from ikedecode.pipeline import analyze

    return analyze(open_capture(path), keyring if keyring is not None else KeyRing())


@pytest.fixture
def lab_keys():  # noqa: ANN201
    return load_lab_keys


@pytest.fixture
def run_pipeline():  # noqa: ANN201
    return analyze_path
