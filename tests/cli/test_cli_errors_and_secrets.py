"""The command line: one-line errors with a non-zero status, and no secret in any output."""

from __future__ import annotations

import builtins
import json
import os
from pathlib import Path

from click.testing import CliRunner

from ikedecode.cli import main

CAPTURE = "mm-aes128-sha1-modp2048"


def run(*args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_missing_file_is_one_line_error_with_status_2(tmp_path):
    result = run(str(tmp_path / "nope.pcap"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ikedecode: ") and "Traceback" not in result.output


def test_not_a_capture_is_one_line_error(tmp_path):
    bogus = tmp_path / "notes.pcap"
    bogus.write_text("<html>this is not a capture</html>\n")
    result = run(str(bogus))
    assert result.exit_code == 2
    assert "not a pcap or pcapng" in result.stderr


def test_unreadable_capture_is_one_line_error_with_status_2(tmp_path, monkeypatch):
    """Simulated where the operating system raises it: as root a chmod 0 file is readable."""
    path = tmp_path / "secret.pcap"
    path.write_bytes((Path(__file__).parents[2] / "captures" / f"{CAPTURE}.pcap").read_bytes())
    real_open = builtins.open

    def refuse_the_capture(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refuse_the_capture)
    result = run(str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"ikedecode: {path}: permission denied"]


def test_bad_dh_secret_hex_names_the_option(captures_dir):
    result = run(str(captures_dir / f"{CAPTURE}.pcap"), "--dh-secret", "zz11")
    assert result.exit_code == 2
    assert "--dh-secret #1" in result.stderr and "not hex" in result.stderr


def test_wrong_key_is_a_finding_with_status_0(captures_dir, lab_keys):
    keys = lab_keys(CAPTURE)
    result = run(
        str(captures_dir / f"{CAPTURE}.pcap"),
        "--psk",
        "wrong",
        "--dh-secret",
        keys["ike_sa"][0]["dh_secret"],
        "--format",
        "json",
    )
    assert result.exit_code == 0
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert "wrong-keys" in codes


def _secrets(keys: dict) -> list[str]:
    sa = keys["ike_sa"][0]
    return [keys["psk"][0]["secret"], sa["dh_secret"], sa["skeyid"], sa["skeyid_e"], sa["encryption_key"]]


def test_no_secret_appears_in_any_format_without_show_keys(captures_dir, keys_dir, lab_keys, tmp_path):
    keys = lab_keys(CAPTURE)
    psk_file = tmp_path / "psk.txt"
    psk_file.write_text(keys["psk"][0]["secret"] + "\n")
    for fmt in ("text", "json"):
        result = run(
            str(captures_dir / f"{CAPTURE}.pcap"),
            "--psk-file",
            str(psk_file),
            "--dh-secret",
            keys["ike_sa"][0]["dh_secret"],
            "--format",
            fmt,
        )
        assert result.exit_code == 0
        assert "verified" in result.stdout
        for secret in _secrets(keys):
            assert secret not in result.stdout, (fmt, secret[:6])


def test_show_keys_prints_the_derived_keys(captures_dir, lab_keys):
    keys = lab_keys(CAPTURE)
    result = run(
        str(captures_dir / f"{CAPTURE}.pcap"),
        "--format",
        "json",
        "--show-keys",
        "--dh-secret",
        keys["ike_sa"][0]["dh_secret"],
        env={"IKEDECODE_PSK": keys["psk"][0]["secret"]},
    )
    assert result.exit_code == 0
    sa = json.loads(result.stdout)["ike_sas"][0]
    assert sa["keys"]["skeyid_e"] == keys["ike_sa"][0]["skeyid_e"]
    assert sa["key_source"]["psk"] == "IKEDECODE_PSK"


def test_psk_scoped_to_another_peer_is_not_tried(captures_dir, lab_keys):
    keys = lab_keys(CAPTURE)
    result = run(
        str(captures_dir / f"{CAPTURE}.pcap"),
        "--format",
        "json",
        "--psk",
        "203.0.113.9=" + keys["psk"][0]["secret"],
        "--dh-secret",
        keys["ike_sa"][0]["dh_secret"],
    )
    sa = json.loads(result.stdout)["ike_sas"][0]
    mm5 = next(m for m in sa["messages"] if m["label"] == "MM5")
    assert mm5["decrypted"] is False and "preshared key" in mm5["note"]
