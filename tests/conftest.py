"""Shared fixtures: where the real captures live.

``captures/`` and ``keys/`` ship with the project. ``../shared/reference/`` (public captures,
key tables and test vectors) exists only on the developers' and CI machines; tests that need it
are skipped with a reason where it is absent (a user's clone).
"""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CAPTURES_DIR = PROJECT_ROOT / "captures"
KEYS_DIR = PROJECT_ROOT / "keys"
REFERENCE_DIR = PROJECT_ROOT.parent / "shared" / "reference"


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
