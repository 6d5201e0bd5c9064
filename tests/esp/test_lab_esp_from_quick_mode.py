"""Acceptance on real strongSwan ESP (UDP-encapsulated, RFC 3948): from PSK + DH secrets to plaintext.

Only the PSK and the DH secrets charon logged are given (the PFS quick mode's g(qm)^xy too);
ikedecode derives every IPsec SA's keys from the quick modes and must match what charon logged
(the [[ipsec_sa]] entries of keys/<name>.toml), then verify every ESP packet of the capture.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dpkt
import pytest

from ikedecode.capture import open_capture
from ikedecode.keys.keyring import DhSecret, KeyRing, PresharedKey
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.pipeline import Options, analyze

ESP_CAPTURES = {
    # name -> (encryption, integrity, number of IPsec SAs)
    "mm-aes128-sha1-modp2048": ("aes-cbc", "hmac-sha1-96", 2),
    "mm-3des-md5-modp1024": ("3des-cbc", "hmac-md5-96", 2),
    "mm-aes256-sha256-modp2048": ("aes-cbc", "hmac-sha2-256-128", 2),
    "esp-aes128gcm16": ("aes-gcm-16", "null", 2),
    "qm-pfs-modp2048": ("aes-cbc", "hmac-sha1-96", 2),
    "esp-rekey-delete": ("aes-cbc", "hmac-sha1-96", 4),
    "case-3des-sha1-modp768": ("3des-cbc", "hmac-md5-96", 2),
    "am-aes128-sha1-modp2048": ("aes-cbc", "hmac-sha1-96", 2),
    "nat-t": ("aes-cbc", "hmac-sha1-96", 2),
}


def negotiation_keys_only(keys: dict) -> KeyRing:
    """The PSK and the DH secrets (phase 1 and PFS) from the lab key file; no derived keys."""
    ring = KeyRing(psks=[PresharedKey(keys["psk"][0]["secret"].encode(), "--psk #1")])
    for i, sa in enumerate(keys["ike_sa"], 1):
        ring.dh_secrets.append(DhSecret(bytes.fromhex(sa["dh_secret"]), f"--dh-secret #{i}"))
    for i, qm in enumerate(keys.get("quick_mode", []), 1):
        if "dh_secret" in qm:
            ring.dh_secrets.append(DhSecret(bytes.fromhex(qm["dh_secret"]), f"--dh-secret qm#{i}"))
    return ring


@pytest.mark.parametrize("name", sorted(ESP_CAPTURES))
def test_esp_keys_derived_from_quick_mode_equal_the_daemons_and_every_packet_verifies(
    name, captures_dir, lab_keys, run_pipeline
):
    encryption, integrity, count = ESP_CAPTURES[name]
    keys = lab_keys(name)
    report = run_pipeline(captures_dir / f"{name}.pcap", negotiation_keys_only(keys))
    derived = {sa.spi: sa for sa in report.ipsec_sas}
    assert len(derived) == count == len(keys["ipsec_sa"])
    for logged in keys["ipsec_sa"]:
        sa = derived[int(logged["spi"], 16)]
        assert (sa.src, sa.dst) == (logged["src"], logged["dst"])
        assert (sa.encryption, sa.integrity, sa.mode) == (encryption, integrity, "tunnel")
        assert sa.encryption_key.hex() == logged["encryption_key"]
        assert sa.integrity_key.hex() == logged.get("integrity_key", "")
        assert sa.ike_cookies and sa.message_id is not None
    counted = sum(sa.counters.packets for sa in report.ipsec_sas)
    assert counted == report.stats.esp > 0
    assert sum(sa.counters.verified for sa in report.ipsec_sas) == report.stats.esp
    assert not report.unknown_spis
    assert all(sa.counters.icv_failed == sa.counters.replays == 0 for sa in report.ipsec_sas)


def test_rekey_moves_traffic_from_the_old_sas_to_the_new(captures_dir, lab_keys, run_pipeline):
    report = run_pipeline(
        captures_dir / "esp-rekey-delete.pcap", negotiation_keys_only(lab_keys("esp-rekey-delete"))
    )
    by_qm: dict[int, list] = {}
    for sa in report.ipsec_sas:
        by_qm.setdefault(sa.message_id, []).append(sa)
    old, new = sorted(by_qm.values(), key=lambda sas: min(s.counters.first_seen for s in sas))
    assert max(s.counters.last_seen for s in old) < min(s.counters.first_seen for s in new) + 1.0
    assert all(s.counters.packets > 0 for s in old + new)


def _decrypted_pcap(captures_dir: Path, lab_keys, tmp_path: Path) -> Path:  # noqa: ANN001
    name = "mm-aes128-sha1-modp2048"
    out = tmp_path / "decrypted.pcap"
    with out.open("wb") as stream:
        report = analyze(
            open_capture(captures_dir / f"{name}.pcap"),
            negotiation_keys_only(lab_keys(name)),
            Options(decrypted_output=stream),
        )
    assert report.decrypted_written == report.stats.esp == 16
    return out


def test_decrypted_pcap_holds_the_pings(captures_dir, lab_keys, tmp_path):
    out = _decrypted_pcap(captures_dir, lab_keys, tmp_path)
    with out.open("rb") as stream:
        packets = [dpkt.ip.IP(buf) for _ts, buf in dpkt.pcap.Reader(stream)]
    echoes = [p for p in packets if isinstance(p.data, dpkt.icmp.ICMP)]
    assert len(echoes) == 16
    flows = {(dpkt.utils.inet_to_str(p.src), dpkt.utils.inet_to_str(p.dst)) for p in echoes}
    assert flows == {("10.1.0.1", "10.2.0.1"), ("10.2.0.1", "10.1.0.1")}
    assert all(p.data.type in (0, 8) for p in echoes)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark (Wireshark) not installed")
def test_tshark_reads_the_pings_of_the_decrypted_pcap(captures_dir, lab_keys, tmp_path):
    out = _decrypted_pcap(captures_dir, lab_keys, tmp_path)
    shown = subprocess.run(
        ["tshark", "-r", str(out), "-Y", "icmp", "-T", "fields", "-e", "icmp.type"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(shown) == ["0"] * 8 + ["8"] * 8


def test_flipping_one_byte_gives_exactly_one_icv_failure(captures_dir, lab_keys, tmp_path):
    name = "mm-3des-md5-modp1024"
    src = captures_dir / f"{name}.pcap"
    flipped = tmp_path / "flipped.pcap"
    with src.open("rb") as fin, flipped.open("wb") as fout:
        reader = dpkt.pcap.Reader(fin)
        writer = dpkt.pcap.Writer(fout, linktype=reader.datalink())
        done = False
        for ts, buf in reader:
            if not done and len(buf) > 100 and b"\x11\x94\x11\x94" in buf[:60]:  # UDP 4500 -> 4500
                udp_payload_at = buf.index(b"\x11\x94\x11\x94") + 8
                if buf[udp_payload_at : udp_payload_at + 4] != b"\x00\x00\x00\x00":  # ESP, not IKE
                    at = udp_payload_at + 20  # inside the ciphertext
                    buf = buf[:at] + bytes([buf[at] ^ 0x01]) + buf[at + 1 :]
                    done = True
            writer.writepkt(buf, ts)
    assert done
    report = analyze(open_capture(flipped), negotiation_keys_only(lab_keys(name)))
    assert sum(sa.counters.icv_failed for sa in report.ipsec_sas) == 1
    assert sum(sa.counters.verified for sa in report.ipsec_sas) == report.stats.esp - 1


def test_sa_without_keys_is_reported_with_its_spi_and_count(captures_dir, keys_dir, lab_keys):
    name = "mm-aes128-sha1-modp2048"
    ring = parse_key_file((keys_dir / f"{name}.toml").read_text(), name).keyring
    kept, dropped = ring.ipsec_sas
    only_esp = KeyRing(ipsec_sas=[kept])  # no IKE keys: the quick mode cannot re-derive the other SA
    report = analyze(open_capture(captures_dir / f"{name}.pcap"), only_esp)
    assert [sa.spi for sa in report.ipsec_sas] == [kept.spi]
    assert report.ipsec_sas[0].counters.verified == 8
    assert [(u.spi, u.packets, u.src, u.dst) for u in report.unknown_spis] == [
        (dropped.spi, 8, dropped.src, dropped.dst)
    ]


def test_pfs_candidate_chosen_by_the_icv_is_the_quick_modes_own_secret(captures_dir, lab_keys, run_pipeline):
    # Both the phase-1 g^xy and the quick mode's g(qm)^xy are tried as PFS secrets; only one keys SAs
    # whose ICVs verify, and only those are reported.
    report = run_pipeline(
        captures_dir / "qm-pfs-modp2048.pcap", negotiation_keys_only(lab_keys("qm-pfs-modp2048"))
    )
    assert len(report.ipsec_sas) == 2
    assert all("PFS secret from --dh-secret qm#1" in sa.origin for sa in report.ipsec_sas)


def test_a_key_ring_reused_for_a_second_run_counts_afresh(captures_dir, keys_dir):
    name = "mm-aes128-sha1-modp2048"
    ring = parse_key_file((keys_dir / f"{name}.toml").read_text(), name).keyring
    first = analyze(open_capture(captures_dir / f"{name}.pcap"), ring)
    second = analyze(open_capture(captures_dir / f"{name}.pcap"), ring)
    assert [sa.counters.verified for sa in first.ipsec_sas] == [8, 8]
    assert [sa.counters.verified for sa in second.ipsec_sas] == [8, 8]
    assert all(sa.counters.packets == 0 for sa in ring.ipsec_sas)
