"""The decrypted pcap (LINKTYPE_RAW, nanosecond timestamps) reads back in dpkt and tshark."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import dpkt
import pytest

from ikedecode.capture import open_capture
from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import EspProcessor, EspResult, EspStatus, SaDatabase
from ikedecode.keys.wireshark import read_esp_sa_table
from ikedecode.render.pcap_writer import LINKTYPE_RAW, DecryptedPcapWriter

ICMP_DATA = "08090a0b0c0d0e0f1011121314151617"


def _decrypt_to_pcap(capture: Path, esp_sa: Path, out: Path) -> tuple[DecryptedPcapWriter, list[Datagram]]:
    processor = EspProcessor(SaDatabase(read_esp_sa_table(esp_sa.read_text(), esp_sa.name)))
    datagrams = []
    with out.open("wb") as stream:
        writer = DecryptedPcapWriter(stream)
        for datagram in open_capture(str(capture)):
            if writer.write_layers(processor.process_nested(datagram)):
                datagrams.append(datagram)
    return writer, datagrams


def _tshark(path: Path, *fields: str, extra: tuple[str, ...] = ()) -> list[list[str]]:
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    command = ["tshark", "-n", "-r", str(path), *extra, "-T", "fields"]
    for name in fields:
        command += ["-e", name]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("\t") for line in output.splitlines()]


@pytest.fixture
def esp_bug_pcap(reference_dir, tmp_path):
    out = tmp_path / "decrypted.pcap"
    writer, datagrams = _decrypt_to_pcap(
        reference_dir / "wireshark/captures/esp-bug-12671.pcapng.gz",
        reference_dir / "wireshark/config/esp_sa",
        out,
    )
    return out, writer, datagrams


def test_dpkt_reads_raw_ip_packets_with_the_original_timestamps(esp_bug_pcap):
    path, writer, datagrams = esp_bug_pcap
    assert writer.packets_written == 6
    with path.open("rb") as stream:
        reader = dpkt.pcap.Reader(stream)
        assert reader.datalink() == LINKTYPE_RAW
        records = list(reader)
    assert len(records) == 6
    for (timestamp, raw), datagram in zip(records, datagrams, strict=True):
        assert abs(float(timestamp) - datagram.time) < 1e-6
        packet = dpkt.ip.IP(raw)
        assert isinstance(packet.data, dpkt.icmp.ICMP)
        assert bytes.fromhex(ICMP_DATA) in bytes(packet.data)


def test_tshark_shows_six_icmp_packets_with_the_test_payload(esp_bug_pcap):
    path, _, datagrams = esp_bug_pcap
    rows = _tshark(path, "frame.time_epoch", "ip.src", "ip.dst", "icmp.type", "data.data")
    assert len(rows) == 6
    assert {(row[1], row[2]) for row in rows} == {("10.1.1.1", "10.1.0.10"), ("10.1.0.10", "10.1.1.1")}
    assert sorted(row[3] for row in rows) == ["0", "0", "0", "8", "8", "8"]
    assert all(row[4].startswith(ICMP_DATA) for row in rows)
    # nanosecond pcap: tshark prints the capture's timestamps to the nanosecond
    assert [row[0] for row in rows] == [f"{d.time_ns // 10**9}.{d.time_ns % 10**9:09d}" for d in datagrams]


def test_rebuilt_transport_packets_have_good_checksums_in_tshark(reference_dir, tmp_path):
    folder = reference_dir / "wireshark-wiki/ipsec_esp/ipsec_esp_capture_1"
    out = tmp_path / "transport.pcap"
    writer, _ = _decrypt_to_pcap(folder / "capture.pcap", folder / "esp_sa", out)
    assert writer.packets_written == 240
    rows = _tshark(
        out,
        "ip.checksum.status",
        "icmp.type",
        "icmpv6.type",
        "icmpv6.checksum.status",
        extra=("-o", "ip.check_checksum:TRUE"),
    )
    assert len(rows) == 240
    ipv4 = [row for row in rows if row[0]]
    ipv6 = [row for row in rows if not row[0]]
    assert len(ipv4) == len(ipv6) == 120
    assert all(row[0] == "1" and row[1] == "8" for row in ipv4)  # checksum good, echo request
    assert all(row[2] == "128" and row[3] == "1" for row in ipv6)  # ICMPv6 checksum over the rebuilt header


def test_nested_layers_write_the_innermost_packet(reference_dir, tmp_path):
    folder = reference_dir / "wireshark-wiki/ipsec_esp/ipsec_esp_capture_2"
    out = tmp_path / "nested.pcap"
    writer, _ = _decrypt_to_pcap(folder / "capture.pcap", folder / "esp_sa", out)
    assert writer.packets_written == 312
    with out.open("rb") as stream:
        packets = [dpkt.ip.IP(raw) for _, raw in dpkt.pcap.Reader(stream)]
    assert all(p.p == dpkt.ip.IP_PROTO_ICMP and p.src == bytes([192, 168, 0, 3]) for p in packets)


def _result(status: EspStatus, payload: bytes | None) -> EspResult:
    datagram = Datagram(
        frame=1,
        time=2.5,
        kind=Kind.ESP,
        src="10.0.0.1",
        dst="10.0.0.2",
        sport=0,
        dport=0,
        payload=b"",
        time_ns=2_500_000_001,
    )
    return EspResult(datagram, "esp", 1, 1, status, next_header=4, payload=payload, mode="tunnel")


def test_only_trustworthy_plaintext_is_written():
    stream = io.BytesIO()
    writer = DecryptedPcapWriter(stream)
    inner = bytes.fromhex("450000140000000040000000c0000201c0000202")
    assert writer.write_result(_result(EspStatus.VERIFIED, inner))
    assert not writer.write_result(_result(EspStatus.ICV_FAILED, inner))
    assert not writer.write_result(_result(EspStatus.NO_KEYS, None))
    assert writer.packets_written == 1
    stream.seek(0)
    reader = dpkt.pcap.Reader(stream)
    ((timestamp, raw),) = list(reader)
    assert raw == inner and abs(float(timestamp) - 2.500000001) < 1e-9


def test_snaplen_truncates_but_keeps_the_original_length():
    stream = io.BytesIO()
    writer = DecryptedPcapWriter(stream, snaplen=10)
    writer.write_packet(5 * 10**9 + 7, bytes(range(30)))
    header = stream.getvalue()
    assert header[:4] == bytes.fromhex("4d3cb2a1")  # nanosecond magic, little-endian
    record = header[24:]
    assert int.from_bytes(record[0:4], "little") == 5 and int.from_bytes(record[4:8], "little") == 7
    assert int.from_bytes(record[8:12], "little") == 10 and int.from_bytes(record[12:16], "little") == 30
    assert record[16:] == bytes(range(10))
