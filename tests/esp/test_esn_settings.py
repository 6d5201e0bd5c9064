"""ESN (RFC 4303 section 2.2.1): the high 32 bits of an SA's sequence number come from every key
source, are used in the ICV and in the AAD of AEAD ciphers, and an ICV failure that only the other
sequence number size explains is reported as such, not as a wrong integrity key."""

from __future__ import annotations

import re

import pytest

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import EspProcessor, EspStatus, IpsecSa, SaDatabase
from ikedecode.esp.diagnose import EsnVerdict, esn_explanation
from ikedecode.esp.encoder import EspEncoder
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.keys.wireshark import read_esp_sa_table
from ikedecode.keys.xfrm import parse_xfrm_state
from tests.analysis.labs import lab_report
from tests.conftest import KEYS_DIR
from tests.esp.payloads import ipv4, udp

HMAC_KEY, AES_KEY, GCM_KEY = b"a" * 20, b"k" * 16, b"g" * 20


def test_ip_xfrm_state_seq_hi_and_oseq_hi_give_the_starting_high_bits():
    text = (
        "src 10.0.0.1 dst 10.0.0.2\n"
        "\tproto esp spi 0x00001001 reqid 1 mode tunnel\n"
        "\treplay-window 128 flag af-unspec esn\n"
        f"\tauth-trunc hmac(sha1) 0x{'11' * 20} 96\n"
        f"\tenc cbc(aes) 0x{'22' * 16}\n"
        "\tanti-replay esn context:\n"
        "\t seq-hi 0x0, seq 0x0, oseq-hi 0x2, oseq 0x1f\n"
        "\t replay_window 128, bitmap-length 4\n"
    )
    (sa,) = parse_xfrm_state(text, "x")
    assert (sa.esn, sa.initial_seq_hi) == (True, 2)


def test_the_key_file_seq_hi_field_and_wireshark_sn_columns_give_esn():
    toml = '[[ipsec_sa]]\nspi = "0x1001"\nencryption = "aes-gcm-16"\nencryption_key = "' + "67" * 20
    toml += '"\nesn = true\nseq_hi = 7\n'
    (from_toml,) = parse_key_file(toml, "k.toml").keyring.ipsec_sas
    line = f'"IPv4","*","*","0x1001","AES-GCM with 16 octet ICV [RFC4106]","0x{"67" * 20}","NULL",""'
    (plain,) = read_esp_sa_table(line, "esp_sa")
    (extended,) = read_esp_sa_table(line + ',"64-bit","0x7"', "esp_sa")
    assert (from_toml.esn, from_toml.initial_seq_hi) == (True, 7)
    assert (plain.esn, plain.initial_seq_hi) == (False, 0)
    assert (extended.esn, extended.initial_seq_hi) == (True, 7)


def _datagram(payload: bytes, frame: int) -> Datagram:
    return Datagram(frame, float(frame), Kind.ESP, "192.0.2.1", "192.0.2.2", 0, 0, payload)


@pytest.mark.parametrize(
    "algorithms",
    [
        {
            "encryption": "aes-cbc",
            "encryption_key": AES_KEY,
            "integrity": "hmac-sha1-96",
            "integrity_key": HMAC_KEY,
        },
        {"encryption": "aes-gcm-16", "encryption_key": GCM_KEY},  # the high bits are in the AAD
    ],
    ids=["icv", "aead-aad"],
)
def test_packets_sent_with_esn_fail_without_and_the_failure_says_esn(algorithms):
    sender = IpsecSa("esp", 0x1001, esn=True, initial_seq_hi=1, **algorithms)
    packets = [EspEncoder(sender).encode(ipv4(17, udp(b"x")), 4, (1 << 32) | n) for n in range(1, 4)]
    receiver = IpsecSa("esp", 0x1001, **algorithms)  # configured without ESN
    processor = EspProcessor(SaDatabase([receiver]))
    assert {processor.process(_datagram(p, n)).status for n, p in enumerate(packets, 1)} == {
        EspStatus.ICV_FAILED
    }
    assert esn_explanation(receiver) == EsnVerdict("esn", 1)
    right = IpsecSa("esp", 0x1001, esn=True, initial_seq_hi=1, **algorithms)
    processor = EspProcessor(SaDatabase([right]))
    assert {processor.process(_datagram(p, n)).status for n, p in enumerate(packets, 1)} == {
        EspStatus.VERIFIED
    }
    assert esn_explanation(right) is None  # nothing failed


def test_a_lab_sa_given_with_esn_it_does_not_use_is_reported_as_an_esn_mismatch():
    # mm-aes128-sha1-modp2048: real ESP without ESN; its key file's first [[ipsec_sa]] given with esn = true
    text = (KEYS_DIR / "mm-aes128-sha1-modp2048.toml").read_text()
    blocks = re.findall(r"^\[\[ipsec_sa\]\]\n(?:(?!\n\n|\n#|\n\[).)*", text, re.M | re.S)
    changed = "\n\n".join([blocks[0] + "\nesn = true", *blocks[1:]]) + "\n"
    ring = parse_key_file(changed, "esn.toml").keyring
    report = lab_report("mm-aes128-sha1-modp2048", ring=ring)
    sa = next(sa for sa in report.ipsec_sas if sa.esn)
    assert sa.counters.icv_failed == sa.counters.packets > 0
    errors = [f for f in report.all_findings() if f.evidence.get("sa") == sa.label and f.severity == "error"]
    assert [f.code for f in errors] == ["esp-esn-mismatch"]
    assert errors[0].evidence["verifies_with"] == "no esn" and "does not use ESN" in errors[0].message
