"""``--export-wireshark`` for IKEv2: tshark with the exported ikev2_decryption_table and esp_sa
decrypts the IKEv2 messages and ESP packets ikedecode decrypted on the lab captures; what Wireshark
cannot use (a ChaCha20-Poly1305 SA, several key stages for one SPI pair) is said on stderr and as a
comment in the table."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.keys.charon_log import parse_charon_log
from ikedecode.render.wireshark_tables import wireshark_tables
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path, shipped

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark (Debian package tshark) is not installed")
WIRESHARK_CANNOT = {
    "ikev2-chacha20",
    "ikev2-pq-chacha20",
}  # no ChaCha20-Poly1305 in Wireshark 4.0's IKEv2 and ESP tables
NOTHING_ENCRYPTED = {"ikev2-no-proposal", "ikev2-pq-addke-unsupported", "ikev2-pq-init-fragments-lost"}
IKEV2 = [
    p.stem
    for p in shipped(CAPTURES_DIR, "ikev2-*.pcap")
    if p.stem not in WIRESHARK_CANNOT | NOTHING_ENCRYPTED
]


def export(name: str, tmp_path, *key_args: str) -> tuple[dict, str, object]:  # noqa: ANN001
    profile = tmp_path / "profile"
    args = [
        str(CAPTURES_DIR / f"{name}.pcap"),
        *key_args,
        "--export-wireshark",
        str(profile),
        "--format",
        "json",
    ]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr, profile


def tshark_rows(profile, name: str) -> list[list[str]]:  # noqa: ANN001
    command = [TSHARK, "-r", str(CAPTURES_DIR / f"{name}.pcap"), "-o", "esp.enable_encryption_decode:TRUE"]
    command += ["-o", "esp.enable_authentication_check:TRUE", "-T", "fields"]
    command += ["-e", "frame.number", "-e", "isakmp.enc.decrypted", "-e", "esp.icv_good"]
    env = {**os.environ, "WIRESHARK_CONFIG_DIR": str(profile), "HOME": str(profile)}
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


@needs_tshark
@pytest.mark.parametrize("name", IKEV2)
def test_tshark_decrypts_what_ikedecode_decrypted_with_the_exported_ikev2_tables(name, tmp_path):
    report, stderr, profile = export(name, tmp_path, "--keys", str(KEYS_DIR / f"{name}.toml"))
    ikev2_sas = [sa for sa in report["ike_sas"] if sa["version"] == 2 and sa["key_source"]]
    assert f"{len({sa['initiator_cookie'] for sa in ikev2_sas})} IKEv2 SA(s)" in stderr
    # RFC 9370 key stages: Wireshark holds one key set per SPI pair, the last stage's (said on stderr)
    last_stage = {
        sa["initiator_cookie"]: max([0, *(s["stage"] for s in sa["ikev2"]["key_stages"])]) for sa in ikev2_sas
    }
    assert ("key stages (RFC 9370" in stderr) == any(last_stage.values())
    ours = {
        m["frame"]
        for sa in report["ike_sas"]
        for m in sa["messages"]
        if m["encrypted"]
        and m["decrypted"]
        and not m["retransmission"]
        and m["key_stage"] == last_stage.get(sa["initiator_cookie"], 0)
    }
    assert ours, "ikedecode decrypts IKEv2 messages of this capture with its key file"
    rows = tshark_rows(profile, name)
    assert ours <= {int(r[0]) for r in rows if r[1]}  # every IKEv2 message we opened, tshark too
    verified_esp = sum(s["verified"] or 0 for s in report["ipsec_sas"])
    assert sum(1 for r in rows if r[2] == "1") == verified_esp  # and every ESP packet we verified
    assert not any(r[1] or r[2] for r in tshark_rows(tmp_path, name))  # without the tables: nothing


def test_a_chacha20_ike_sa_is_named_as_what_wireshark_cannot_decrypt(tmp_path):
    name = "ikev2-chacha20"
    report, stderr, profile = export(name, tmp_path, "--keys", str(KEYS_DIR / f"{name}.toml"))
    (sa,) = report["ike_sas"]
    assert sa["key_source"] and all(m["decrypted"] for m in sa["messages"] if m["encrypted"])  # we do
    note = f"IKEv2 SA {sa['initiator_cookie']}/{sa['responder_cookie']}: Wireshark cannot decrypt ChaCha20"
    assert f"ikedecode: not usable by Wireshark: {note}" in stderr
    table = (profile / "ikev2_decryption_table").read_text().splitlines()
    assert f"# not exported: {note}" in "\n".join(table)
    assert all(line.startswith("#") for line in table)
    assert "Wireshark cannot decrypt ChaCha20-Poly1305 ESP" in (profile / "esp_sa").read_text()


def _stage_log(fill: int, thread: str, line_shape: str = "") -> list[str]:
    out = []
    for number, label in enumerate(
        ("SKEYSEED", "Sk_d", "Sk_ai", "Sk_ar", "Sk_ei", "Sk_er", "Sk_pi", "Sk_pr")
    ):
        value = bytes([fill + number]) * 32
        name = label if label == "SKEYSEED" else f"{label} secret"
        out.append(f"09:00:00.100 {thread}[IKE] <pq|1> {name} => 32 bytes @ 0x55d0c0a0b0c0")
        for offset in (0, 16):
            row = " ".join(f"{b:02X}" for b in value[offset : offset + 16])
            out.append(f"09:00:00.100 {thread}[IKE] <pq|1> {offset:4d}: {row} ")
    return out


def test_several_key_stages_for_one_spi_pair_export_one_line_and_say_so():
    checkin = (
        "09:00:00.101 {t}[MGR] <pq|1> checkin IKEv2 SA pq[1] with SPIs 1122334455667788_i 99aabbccddeeff00_r"
    )
    log = [
        "09:00:00.100 09[MGR] created IKE_SA (unnamed)[1]",
        "09:00:00.100 09[CFG] <pq|1> selected proposal: "
        "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
        *_stage_log(0x10, "09"),
        checkin.format(t="09"),
        *_stage_log(0x40, "11"),
        checkin.format(t="11"),
    ]
    ring = parse_charon_log("\n".join(log) + "\n", "pq.log")
    assert [k.stage for k in ring.ikev2_keys] == [0, 1]
    report = analyze_path(CAPTURES_DIR / "ikev2-no-proposal.pcap")  # no SA of its own keyed
    tables = wireshark_tables(report, ring)
    assert len(tables.ikev2) == 1 and tables.ikev2[0].startswith("1122334455667788,99aabbccddeeff00,")
    assert (bytes([0x44]) * 32).hex() in tables.ikev2[0]  # the last stage's SK_ei (IKE_AUTH on)
    (note,) = [n for n in tables.skipped if "key stages" in n]
    assert note.startswith("IKEv2 SA 1122334455667788/99aabbccddeeff00 has 2 key stages")
    assert "# not exported: " + note in tables.text("ikev2_decryption_table", "x.pcap")
