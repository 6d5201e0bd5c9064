"""No output format carries a key used or derived (PSK, g^xy, SKEYIDs, Ka, ESP keys, XAUTH
password) unless ``--show-keys`` is given. Every renderer registered in the CLI is checked, so a
new format is covered the day it is added."""

from __future__ import annotations

import gzip
import json

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.keys.loader import load_keylog_text
from ikedecode.terminal.formats import RENDERERS

XAUTH_PASSWORD = "ikedecode-lab-xauth-password-xauth-modecfg"  # captures/lab/make-captures.sh


def spellings(secret: bytes) -> list[str]:
    """How a secret could show up in text: hex in both cases, colon-separated, or as itself."""
    out = [secret.hex(), secret.hex().upper(), ":".join(f"{b:02x}" for b in secret)]
    try:
        text = secret.decode("ascii")
    except UnicodeDecodeError:
        return out
    return [*out, text] if text.isprintable() else out


def secrets_of(name: str, keys_dir, lab_keys) -> list[bytes]:  # noqa: ANN001
    """Every key the run is given (log and PSK) and every key it derives (the lab file lists them)."""
    ring = load_keylog_text(gzip.decompress((keys_dir / f"{name}.west.log.gz").read_bytes()).decode(), "log")
    keys = lab_keys(name)
    values = [*ring.secrets, *(p["secret"].encode() for p in keys.get("psk", []))]
    for sa in keys.get("ike_sa", []):
        values += [
            bytes.fromhex(sa[k])
            for k in ("dh_secret", "skeyid", "skeyid_d", "skeyid_a", "skeyid_e")
            if k in sa
        ]
        values += [bytes.fromhex(sa[k]) for k in ("encryption_key",) if k in sa]  # initial_iv is public
    for sa in keys.get("ipsec_sa", []):
        values += [bytes.fromhex(sa[k]) for k in ("encryption_key", "integrity_key") if sa.get(k)]
    return [v for v in values if len(v) >= 8]


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
@pytest.mark.parametrize("name", ["mm-aes128-sha1-modp2048", "xauth-modecfg", "qm-pfs-modp2048"])
def test_no_secret_in_any_format_without_show_keys(fmt, name, captures_dir, keys_dir, lab_keys, tmp_path):
    psk_file = tmp_path / "psk.txt"
    psk_file.write_text(lab_keys(name)["psk"][0]["secret"] + "\n")
    report_file = tmp_path / f"report.{fmt}"
    args = [str(captures_dir / f"{name}.pcap"), "--keylog", str(keys_dir / f"{name}.west.log.gz")]
    args += ["--psk-file", str(psk_file), "--format", fmt, "--output", str(report_file)]
    args += ["--export-wireshark", str(tmp_path / "ws")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    output = report_file.read_text() + result.stdout + result.stderr
    assert len(output) > 200
    secrets = secrets_of(name, keys_dir, lab_keys)
    if name == "xauth-modecfg":
        secrets.append(XAUTH_PASSWORD.encode())
    assert len(secrets) >= 8
    for secret in secrets:
        for spelling in spellings(secret):
            assert spelling not in output, (fmt, spelling[:12])


def test_show_keys_does_show_them_so_the_check_above_can_fail(captures_dir, keys_dir, lab_keys):
    name = "xauth-modecfg"
    args = [str(captures_dir / f"{name}.pcap"), "--keylog", str(keys_dir / f"{name}.west.log.gz")]
    result = CliRunner().invoke(main, [*args, "--format", "json", "--show-keys"], catch_exceptions=False)
    data = json.loads(result.stdout)
    assert data["ike_sas"][0]["keys"]["skeyid_e"] == lab_keys(name)["ike_sa"][0]["skeyid_e"]
    assert XAUTH_PASSWORD in result.stdout
