"""Real captures from /work/shared/reference (see its README.md for where they come from)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from ikedecode.capture import Kind, open_capture

REFERENCE_CAPTURES = [
    "wireshark/captures/ikev1-certs.pcap",
    "wireshark/captures/ikev1-bug-12610.pcapng.gz",
    "wireshark/captures/ikev1-bug-12620.pcapng.gz",
    "wireshark/captures/esp-bug-12671.pcapng.gz",
    "wireshark/captures/ikev2-decrypt-aes256cbc.pcapng",
    "wireshark/captures/ikev2-decrypt-aes256gcm16.pcap",
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_1/capture.pcap",
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_2/capture.pcap",
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_5/capture.pcap",
    "wireshark-wiki/ipsec_ikev2_esp_nat_t/capture.pcapng",
    "wireshark-wiki/ikev1_main_mode_nokeys/attachment_ikev1_main_mode.pcap",
]


def _read(reference_dir: Path, relative: str):
    reader = open_capture(reference_dir / relative)
    return reader, list(reader)


def test_ikev1_certs(reference_dir: Path) -> None:
    reader, datagrams = _read(reference_dir, "wireshark/captures/ikev1-certs.pcap")
    assert reader.stats.as_dict() == {"packets": 10, "ike": 10, "esp": 0, "ah": 0, "other": 0, "malformed": 0}
    assert [d.frame for d in datagrams] == list(range(1, 11))
    assert {d.payload[:8].hex() for d in datagrams} == {"fafaeb49382a763c"}  # initiator cookie
    assert {(d.src, d.dst) for d in datagrams} == {
        ("192.168.12.118", "172.16.1.103"),
        ("172.16.1.103", "192.168.12.118"),
    }
    assert all((d.sport, d.dport, d.udp_encapsulated) == (500, 500, False) for d in datagrams)
    # frame 8 is a byte-identical retransmission of frame 7 (a Quick Mode message)
    assert datagrams[7].payload == datagrams[6].payload
    assert datagrams[7].time_ns > datagrams[6].time_ns
    assert datagrams[6].payload[18] == 32  # exchange type Quick Mode
    assert reader.stats.truncated is None


def test_ikev1_bug_12610_gzip_pcapng(reference_dir: Path) -> None:
    reader, datagrams = _read(reference_dir, "wireshark/captures/ikev1-bug-12610.pcapng.gz")
    assert (reader.format, reader.compressed) == ("pcapng", True)
    assert reader.stats.as_dict() == {"packets": 16, "ike": 16, "esp": 0, "ah": 0, "other": 0, "malformed": 0}
    assert {d.payload[:8].hex() for d in datagrams} == {"ab3e0f1f8bc3be8e"}
    assert {d.src for d in datagrams} == {"192.168.0.100", "192.168.0.1"}
    assert [d.time_ns for d in datagrams] == sorted(d.time_ns for d in datagrams)


def test_esp_bug_12671(reference_dir: Path) -> None:
    reader, datagrams = _read(reference_dir, "wireshark/captures/esp-bug-12671.pcapng.gz")
    assert reader.stats.as_dict() == {"packets": 6, "ike": 0, "esp": 6, "ah": 0, "other": 0, "malformed": 0}
    assert {d.payload[:4].hex() for d in datagrams} == {"070883c2", "c254fe64"}
    assert all(not d.udp_encapsulated and d.sport == d.dport == 0 for d in datagrams)


def test_ipsec_esp_capture_1_counts(reference_dir: Path) -> None:
    reader, datagrams = _read(reference_dir, "wireshark-wiki/ipsec_esp/ipsec_esp_capture_1/capture.pcap")
    assert reader.stats.packets == 841
    assert reader.stats.esp == 240
    assert reader.stats.packets == reader.stats.esp + reader.stats.other
    spis = {(d.ip_version, int.from_bytes(d.payload[:4], "big")) for d in datagrams}
    assert {spi for version, spi in spis if version == 4} <= set(range(110, 124))
    assert {spi for version, spi in spis if version == 6} <= set(range(10, 24))
    assert {version for version, _ in spis} == {4, 6}


def test_ikev2_nat_t_on_4500(reference_dir: Path) -> None:
    reader, datagrams = _read(reference_dir, "wireshark-wiki/ipsec_ikev2_esp_nat_t/capture.pcapng")
    assert reader.stats.as_dict() == {
        "packets": 54,
        "ike": 30,
        "esp": 24,
        "ah": 0,
        "other": 0,
        "malformed": 0,
    }
    assert all(d.udp_encapsulated for d in datagrams)
    assert {(d.sport, d.dport) for d in datagrams} == {(10954, 4500), (4500, 10954)}
    ike_spis = {d.payload[:8].hex() for d in datagrams if d.kind is Kind.IKE}
    assert ike_spis == {"89922c915f35570e", "99feb3adea1ee8f8", "5a64e0edca3a3614"}
    esp_spis = {d.payload[:4].hex() for d in datagrams if d.kind is Kind.ESP}
    assert esp_spis == {"ac0faf03", "c1a9656b", "958a753b", "78bd5377", "b6b5f296", "c1d717e8"}
    # tshark: frames 5-12, 23-30, 41-48 are the ESP pings
    assert [d.frame for d in datagrams if d.kind is Kind.ESP] == [
        *range(5, 13),
        *range(23, 31),
        *range(41, 49),
    ]


def test_ikev1_main_mode_nokeys(reference_dir: Path) -> None:
    reader, datagrams = _read(
        reference_dir, "wireshark-wiki/ikev1_main_mode_nokeys/attachment_ikev1_main_mode.pcap"
    )
    assert reader.stats.as_dict() == {"packets": 12, "ike": 12, "esp": 0, "ah": 0, "other": 0, "malformed": 0}
    assert {d.payload[:8].hex() for d in datagrams} == {"b31615b5ec7a4faf"}


def _tshark_bucket(protocols: str) -> str:
    """Our bucket for a frame from tshark's ``frame.protocols`` ("eth:ethertype:ip:udp:isakmp").

    ICMP errors quoting an ESP or IKE packet list "esp"/"isakmp" too, but are "other" here.
    """
    layers = protocols.split(":")
    if "icmp" in layers or "icmpv6" in layers:
        return "other"
    if "isakmp" in layers or layers[-1] == "udpencap":  # IKE, or a NAT-T keepalive
        return "ike"
    for bucket in ("esp", "ah"):
        if bucket in layers:
            return bucket
    return "other"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
@pytest.mark.parametrize("relative", REFERENCE_CAPTURES)
def test_bucket_counts_match_tshark(reference_dir: Path, relative: str, tmp_path: Path) -> None:
    path = reference_dir / relative
    environment = dict(os.environ, WIRESHARK_CONFIG_DIR=str(tmp_path))  # no keys, no user preferences
    command = ["tshark", "-r", str(path), "-T", "fields", "-e", "frame.protocols"]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=True, timeout=120)
    expected = Counter(_tshark_bucket(line) for line in result.stdout.splitlines())
    reader, _ = _read(reference_dir, relative)
    assert reader.stats.packets == expected.total()
    assert {bucket: getattr(reader.stats, bucket) for bucket in ("ike", "esp", "ah", "other")} == {
        bucket: expected[bucket] for bucket in ("ike", "esp", "ah", "other")
    }
    assert reader.stats.malformed == 0
