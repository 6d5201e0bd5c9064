"""tcpdump's own ESP test captures with its ``-E`` secrets file (tests/corpus/tcpdump/README.md):
where the secret is right every packet opens, down to the ESP inside ESP; where tcpdump and tshark
print noise, ikedecode says the encryption key is wrong and writes nothing."""

from __future__ import annotations

import io

import dpkt
import pytest

from ikedecode.capture import open_capture
from ikedecode.keys.loader import load_key_file
from ikedecode.keys.tcpdump_secrets import looks_like_tcpdump_secrets, parse_tcpdump_secrets
from ikedecode.pipeline import Options, analyze
from tests.conftest import PROJECT_ROOT

TCPDUMP = PROJECT_ROOT / "tests" / "corpus" / "tcpdump"
SECRETS = TCPDUMP / "esp-secrets.txt"


def _run(capture: str, secrets: str = str(SECRETS)):  # noqa: ANN202 - (report, written packets)
    out = io.BytesIO()
    report = analyze(open_capture(TCPDUMP / capture), load_key_file(secrets), Options(decrypted_output=out))
    out.seek(0)
    return report, [bytes(data) for _, data in dpkt.pcap.Reader(out)] if out.getvalue() else []


def test_the_secrets_file_is_read_as_tcpdump_writes_it():
    text = SECRETS.read_text()
    assert looks_like_tcpdump_secrets(text)
    sas = {sa.spi: sa for sa in parse_tcpdump_secrets(text, "esp-secrets.txt")}
    assert set(sas) == {0x12345678, 0xABCDABCD, 0xD1234567}
    outer = sas[0x12345678]
    assert (outer.src, outer.dst, outer.encryption, outer.integrity) == (
        None,
        "192.1.2.45",
        "3des-cbc",
        "any-96",
    )
    assert outer.encryption_key.hex() == "43434545464649494a4a4c4c4f4f51515252545457575840"
    assert sas[0xD1234567].encryption == "aes-cbc" and len(sas[0xD1234567].encryption_key) == 32


def test_esp_inside_esp_opens_with_the_right_secrets_and_both_spis_are_listed():
    report, written = _run("08-sunrise-sunset-esp2.pcap")
    counters = {sa.spi: sa.counters for sa in report.ipsec_sas if sa.counters.packets}
    assert set(counters) == {0x12345678, 0xABCDABCD}
    for c in counters.values():
        assert (c.packets, c.decrypted, c.garbled, c.tunnel) == (8, 8, 0, 8)
    assert not [f for f in report.all_findings() if f.severity == "error"]
    assert len(written) == 8
    for (
        frame
    ) in written:  # the innermost packet: ICMP echo requests 192.0.2.1 -> 192.0.1.1 (as tcpdump prints)
        ip = dpkt.ethernet.Ethernet(frame).data if frame[:1] != b"\x45" else dpkt.ip.IP(frame)
        assert isinstance(ip.data, dpkt.icmp.ICMP) and ip.data.type == dpkt.icmp.ICMP_ECHO


@pytest.mark.parametrize("capture", ["espudp1.pcap", "02-sunrise-sunset-esp.pcap"])
def test_a_secret_that_decrypts_to_noise_is_called_a_wrong_encryption_key(capture: str):
    report, written = _run(capture)
    (sa,) = [sa for sa in report.ipsec_sas if sa.counters.packets]
    c = sa.counters
    assert (c.packets, c.garbled, c.decrypted, c.verified, c.tunnel, c.transport) == (8, 8, 0, 0, 0, 0)
    assert sum(c.failed_checks.values()) == 8
    errors = [f for f in report.all_findings() if f.severity == "error"]
    assert [f.code for f in errors] == ["esp-encryption-key-wrong"]
    assert "0x12345678" in errors[0].message and errors[0].evidence["failed_checks"] == c.failed_checks
    assert not [f for f in report.all_findings() if f.code == "esp-sequence-gap"]
    assert written == []


def test_another_key_for_the_capture_that_opens_is_called_wrong_too(tmp_path):
    text = SECRETS.read_text().replace(
        "0x434545464649494a4a4c4c4f4f515152",
        "0x434545464649494a4a4c4c4f4f515162",  # not the parity bit: 3DES ignores it
    )
    wrong = tmp_path / "wrong-secrets.txt"
    wrong.write_text(text)
    report, written = _run("08-sunrise-sunset-esp2.pcap", str(wrong))
    inner = next(sa for sa in report.ipsec_sas if sa.spi == 0xABCDABCD)
    assert (inner.counters.packets, inner.counters.garbled) == (8, 8)
    assert "esp-encryption-key-wrong" in [f.code for f in report.all_findings()]
    # the outer layer opens soundly: what is written is its plaintext, the inner ESP packet still
    # encrypted, never the garbage the wrong inner key makes of it
    assert len(written) == 8 and all(dpkt.ip.IP(frame).p == 50 for frame in written)
