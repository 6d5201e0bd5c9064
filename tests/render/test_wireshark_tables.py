"""``--export-wireshark DIR``: Wireshark (tshark) decrypts the capture with the exported tables,
and ikedecode reading them back (``--keys``) decrypts what it decrypted before."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.render.wireshark_tables import TABLE_FILES

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark (Debian package tshark) is not installed")


def run(*args: str) -> tuple[dict, str]:
    result = CliRunner().invoke(main, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def tshark_fields(config_dir, capture, *fields: str) -> list[list[str]]:  # noqa: ANN001
    command = [TSHARK, "-r", str(capture), "-o", "esp.enable_encryption_decode:TRUE"]
    command += ["-o", "esp.enable_authentication_check:TRUE", "-T", "fields"]
    for name in fields:
        command += ["-e", name]
    env = {**os.environ, "WIRESHARK_CONFIG_DIR": str(config_dir), "HOME": str(config_dir)}
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def export(capture, tmp_path, *key_args: str) -> tuple[dict, str, object]:  # noqa: ANN001
    out_dir = tmp_path / "profile"
    report, stderr = run(str(capture), *key_args, "--export-wireshark", str(out_dir))
    return report, stderr, out_dir


@needs_tshark
@pytest.mark.parametrize(
    "name", ["mm-aes128-sha1-modp2048", "esp-aes128gcm16", "nat-t", "mm-3des-md5-modp1024"]
)
def test_tshark_decrypts_the_capture_with_the_exported_tables(name, captures_dir, keys_dir, tmp_path):
    capture = captures_dir / f"{name}.pcap"
    report, stderr, profile = export(capture, tmp_path, "--keylog", str(keys_dir / f"{name}.west.log.gz"))
    assert sorted(os.listdir(profile)) == sorted(TABLE_FILES)
    assert "1 IKEv1 SA(s), 0 IKEv2 SA(s), 2 ESP SA(s)" in stderr
    rows = tshark_fields(profile, capture, "frame.number", "isakmp.hash", "esp.icv_good", "icmp.type")
    decrypted_frames = {
        m["frame"]
        for sa in report["ike_sas"]
        for m in sa["messages"]
        if m["decrypted"] and not m["retransmission"]
    }
    with_hash = {int(r[0]) for r in rows if r[1]}
    assert decrypted_frames and decrypted_frames <= with_hash  # every message ikedecode decrypted, tshark too
    esp_packets = sum(s["packets"] for s in report["ipsec_sas"])
    assert esp_packets == 16
    assert sum(1 for r in rows if r[2] == "1" and r[3]) == esp_packets  # ICV good and the inner ICMP visible
    # without the tables tshark sees neither
    bare = tshark_fields(tmp_path, capture, "frame.number", "isakmp.hash", "esp.icv_good")
    assert not any(r[1] or r[2] for r in bare if int(r[0]) in decrypted_frames)


@needs_tshark
def test_ikev2_table_given_in_is_exported_and_tshark_decrypts_ikev2_and_esp(reference_dir, tmp_path):
    folder = reference_dir / "wireshark-wiki/ipsec_ikev2_esp_nat_t"
    capture = folder / "capture.pcapng"
    _, stderr, profile = export(
        capture, tmp_path, "--keys", str(folder / "ikev2_decryption_table"), "--keys", str(folder / "esp_sa")
    )
    assert "0 IKEv1 SA(s), 3 IKEv2 SA(s), 6 ESP SA(s)" in stderr
    rows = tshark_fields(profile, capture, "isakmp.cfg.attr.internal_ip4_address", "esp.icv_good")
    assert [r[0] for r in rows if r[0]] == ["192.168.225.10", "192.168.225.11", "192.168.225.12"]
    assert sum(1 for r in rows if r[1] == "1") == 24


def outcome(report: dict) -> dict:
    return {
        "decrypted": [(m["frame"], m["decrypted"]) for sa in report["ike_sas"] for m in sa["messages"]],
        "esp": sorted(
            (s["spi"], s["src"], s["dst"], s["packets"], s["verified"], s["icv_failed"])
            for s in report["ipsec_sas"]
            if s["packets"]
        ),
    }


@pytest.mark.parametrize("name", ["mm-aes128-sha1-modp2048", "esp-rekey-simultaneous", "qm-pfs-modp2048"])
def test_reimported_tables_decrypt_what_psk_and_dh_decrypted(
    name, captures_dir, keys_dir, lab_keys, tmp_path
):
    """Wireshark's ikev1 table holds only the cipher key: everything decrypts, hashes stay unchecked."""
    capture = captures_dir / f"{name}.pcap"
    keys = lab_keys(name)
    original, _, profile = export(capture, tmp_path, "--keys", str(keys_dir / f"{name}.toml"))
    again, _ = run(str(capture), *(arg for table in TABLE_FILES for arg in ("--keys", str(profile / table))))
    assert outcome(again) == outcome(original)
    assert sum(d for _, d in outcome(again)["decrypted"] if d) >= 5
    encrypted = [m for sa in again["ike_sas"] for m in sa["messages"] if m["encrypted"]]
    assert all(m["protection"] == "decrypted" and m["hash_verified"] is None for m in encrypted)
    assert original["ike_sas"][0]["initiator_cookie"] == keys["ike_sa"][0]["initiator_cookie"]


def test_tables_are_private_and_say_what_they_are(captures_dir, keys_dir, tmp_path):
    name = "esp-aes128gcm16"
    _, _, profile = export(
        captures_dir / f"{name}.pcap", tmp_path, "--keylog", str(keys_dir / f"{name}.east.log.gz")
    )
    for table in TABLE_FILES:
        path = profile / table
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        first = path.read_text().splitlines()[0]
        assert first.startswith(f"# {table} written by ikedecode ")
    esp = (profile / "esp_sa").read_text()
    assert (
        '"AES-GCM with 16 octet ICV [RFC4106]","0x550a5afea962515cdd3cf3f214c1bf05c863e648","NULL",""' in esp
    )


def test_sas_wireshark_cannot_decrypt_are_listed_as_comments(captures_dir, tmp_path):
    keys = tmp_path / "gmac.toml"
    keys.write_text(
        '[[ipsec_sa]]\nspi = "0x0000abcd"\ndst = "192.0.2.2"\nencryption = "aes-gmac"\n'
        f'encryption_key = "{"55" * 20}"\n'
    )
    capture = captures_dir / "mm-aes128-sha1-modp2048.pcap"
    _, stderr, profile = export(capture, tmp_path, "--keys", str(keys))
    assert "1 not expressible" in stderr  # a key-file SA the capture never used is exported too
    text = (profile / "esp_sa").read_text()
    assert "# not exported: ESP/AH ESP SPI 0x0000abcd" in text and "55555555" not in text


def test_an_unwritable_export_directory_is_a_one_line_error(captures_dir, keys_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(
        main,
        [
            str(captures_dir / "mm-aes128-sha1-modp2048.pcap"),
            "--keylog",
            str(keys_dir / "mm-aes128-sha1-modp2048.west.log.gz"),
            "--export-wireshark",
            str(blocker / "profile"),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"ikedecode: {blocker / 'profile'}: cannot write the Wireshark key tables: Not a directory"
    ]
