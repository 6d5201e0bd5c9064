"""``--fail-on``: the exit status a CI or monitoring job reads (docs/findings.md)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ikedecode.cli import main

from .labs import CAPTURES_DIR, KEYS_DIR


def _status(name: str, *args: str) -> int:
    capture, keys = CAPTURES_DIR / f"{name}.pcap", KEYS_DIR / f"{name}.toml"
    result = CliRunner().invoke(main, [str(capture), "--keys", str(keys), "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout.startswith("{")  # the report is written whatever the status
    return result.exit_code


@pytest.mark.parametrize(
    ("name", "fail_on", "status"),
    [
        ("fail-unreachable", None, 0),  # findings alone never change the status
        ("fail-unreachable", "error", 1),
        ("mm-aes128-sha1-modp2048", "error", 0),
        ("mm-aes128-sha1-modp2048", "warning", 0),  # only info findings
        ("mm-3des-md5-modp1024", "error", 0),
        ("mm-3des-md5-modp1024", "warning", 1),  # weak-crypto
    ],
)
def test_fail_on_sets_the_exit_status(name, fail_on, status):
    args = ("--fail-on", fail_on) if fail_on else ()
    assert _status(name, *args) == status


def test_fail_on_refuses_an_unknown_severity():
    result = CliRunner().invoke(main, [str(CAPTURES_DIR / "mm-delete.pcap"), "--fail-on", "info"])
    assert result.exit_code == 2
