"""ESP carried inside AH (an AH+ESP bundle, RFC 4301 section 4.5; Cisco ``ah-sha-hmac esp-aes``).

No public capture of such a bundle was found (the lab has none, nor do the reference captures or
tcpdump's, whose only AH capture carries OSPFv3), so this one is built here from a real one: every
ESP packet of the lab capture mm-aes128-sha1-modp2048 (sent in UDP 4500 there, RFC 3948) taken out
of its UDP header and wrapped in AH (HMAC-SHA1-96, ICV computed
with ikedecode's own RFC 4302 ICV input, ``esp/ah.py``), in tmp_path. The ESP inside is AH's
payload in clear: its SPIs are listed, counted and opened whether or not the AH has keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from pathlib import Path

import dpkt
import pytest

from ikedecode.capture import open_capture
from ikedecode.esp.ah import ah_icv_input, parse_ah
from ikedecode.esp.inner import ipv4_checksum
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.pipeline import analyze
from tests.conftest import CAPTURES_DIR, KEYS_DIR

NAME = "mm-aes128-sha1-modp2048"
AH_KEY = bytes(range(20))
AH_SPIS = {"192.0.2.1": 0x0000A401, "192.0.2.2": 0x0000A402}  # one AH SA per direction


def _wrap_in_ah(ip: bytes, seq: int) -> bytes:
    """An IPv4 packet carrying ESP in UDP 4500: the same ESP as IP protocol 50 behind AH."""
    ihl = (ip[0] & 0x0F) * 4
    esp = ip[ihl + 8 :]
    spi = AH_SPIS[".".join(map(str, ip[12:16]))]
    header = bytearray(ip[:ihl])
    struct.pack_into("!H", header, 2, ihl + 24 + len(esp))
    header[9] = 51
    ah = bytearray(struct.pack("!BBHII", 50, 4, 0, spi, seq) + bytes(12))
    icv_input = ah_icv_input(bytes(header), 4, bytes(ah) + esp, parse_ah(bytes(ah) + esp))
    ah[12:24] = hmac.new(AH_KEY, icv_input, hashlib.sha1).digest()[:12]
    header[10:12] = b"\x00\x00"
    struct.pack_into("!H", header, 10, ipv4_checksum(header))
    return bytes(header) + bytes(ah) + esp


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[Path, int]:  # noqa: ANN001
    out = tmp_path_factory.mktemp("ah") / f"{NAME}-ah-esp.pcap"
    wrapped = 0
    with (CAPTURES_DIR / f"{NAME}.pcap").open("rb") as src, out.open("wb") as dst:
        reader = dpkt.pcap.Reader(src)
        writer = dpkt.pcap.Writer(dst, linktype=reader.datalink())
        for ts, frame in reader:
            eth = dpkt.ethernet.Ethernet(frame)
            ip = eth.data
            if (
                isinstance(ip, dpkt.ip.IP)
                and ip.p == 17
                and ip.data.dport == 4500
                and ip.data.data[:4] != bytes(4)
            ):
                wrapped += 1
                frame = frame[:14] + _wrap_in_ah(bytes(eth.data), wrapped)
            writer.writepkt(frame, ts)
    return out, wrapped


def _keys(ah: bool) -> str:
    text = (KEYS_DIR / f"{NAME}.toml").read_text()
    blocks = re.findall(r"^\[\[ipsec_sa\]\]\n(?:(?!\n\n|\n#|\n\[).)*", text, re.M | re.S)  # ESP keys only
    for src, spi in AH_SPIS.items() if ah else ():
        blocks.append(
            f'[[ipsec_sa]]\nprotocol = "ah"\nspi = "0x{spi:08x}"\nsrc = "{src}"\n'
            f'integrity = "hmac-sha1-96"\nintegrity_key = "{AH_KEY.hex()}"'
        )
    return "\n\n".join(blocks) + "\n"


def _esp_counts(report) -> dict[int, tuple[int, int]]:  # noqa: ANN001
    return {
        sa.spi: (sa.counters.packets, sa.counters.verified) for sa in report.ipsec_sas if sa.protocol == "esp"
    }


@pytest.mark.parametrize("ah_keys", [False, True], ids=["esp-keys-only", "ah-and-esp-keys"])
def test_the_esp_inside_ah_is_listed_counted_and_opened(bundle, ah_keys: bool):
    capture, wrapped = bundle
    plain = analyze(open_capture(CAPTURES_DIR / f"{NAME}.pcap"), parse_key_file(_keys(False), "k").keyring)
    report = analyze(open_capture(capture), parse_key_file(_keys(ah_keys), "k").keyring)
    assert report.stats.ah == wrapped > 0
    assert _esp_counts(report) == _esp_counts(plain)  # every ESP packet as if it came without AH
    assert sum(packets for packets, _ in _esp_counts(report).values()) == wrapped
    ah = {sa.spi: sa.counters for sa in report.ipsec_sas if sa.protocol == "ah"}
    unknown = {u.spi: u.packets for u in report.unknown_spis}
    if ah_keys:
        assert set(ah) == set(AH_SPIS.values()) and all(c.verified == c.packets for c in ah.values())
        assert sum(c.verified for c in ah.values()) == wrapped and not unknown
    else:
        assert not ah and set(unknown) == set(AH_SPIS.values()) and sum(unknown.values()) == wrapped
