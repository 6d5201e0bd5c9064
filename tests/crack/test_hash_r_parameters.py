"""HASH_R parameters read from real aggressive-mode exchanges, written in psk-crack / hashcat format."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikedecode.capture import open_capture
from ikedecode.crack import FormatError, hashcat_line, params_of_sas, parse_params_line, psk_crack_line
from ikedecode.crack.params import PskParams
from ikedecode.keys.keyring import KeyRing
from ikedecode.pipeline import analyze

from .wordlists import CAPTURES_DIR, PROBE, PROBE_PSK

AM = "am-aes128-sha1-modp2048"  # strongSwan both sides, AES-128/SHA1/modp2048, FQDN IDs
AM_PSK = b"ikedecode-lab-psk-am-aes128-sha1-modp2048"


def _params(name: str) -> PskParams:
    params = params_of_sas(analyze(open_capture(CAPTURES_DIR / f"{name}.pcap"), KeyRing()).ike_sas)
    assert len(params) == 1
    return params[0]


def test_the_export_is_byte_identical_to_what_ike_scan_wrote():
    ike_scan = (CAPTURES_DIR / "lab/runs" / PROBE / "psk-crack.txt").read_text().strip()
    p = _params(PROBE)
    assert psk_crack_line(p) == ike_scan
    assert p.source.endswith("AM2 frame 2") and p.hash_id == 2


@pytest.mark.parametrize(("name", "psk"), [(PROBE, PROBE_PSK), (AM, AM_PSK)])
def test_hash_r_verifies_with_the_psk_and_not_without_it(name, psk):
    p = _params(name)
    assert p.verify(psk)
    assert not p.verify(psk[:-1]) and not p.verify(psk.upper())


def test_main_mode_has_no_hash_r_parameters():
    assert params_of_sas(analyze(open_capture(CAPTURES_DIR / "mm-delete.pcap"), KeyRing()).ike_sas) == []


STANDARD = [  # reference README: PSKs published with ike-scan's and hashcat's test data
    ("ike-scan/psk-params/checkpoint-r54_md5_psk-abc123.txt", b"abc123"),
    ("ike-scan/psk-params/checkpoint-r54_sha1_psk-abc123.txt", b"abc123"),
    ("ike-scan/psk-params/screenos-5.4_md5+sha1_psk-garibaldi.txt", b"garibaldi"),
    ("ike-scan/psk-params/screenos-5.4_sha1_psk-65chars.txt", b"1234567890" * 6 + b"12345"),
    ("hashcat/hashcat_5300.txt", b"hashcat"),
    ("hashcat/hashcat_5400.txt", b"hashcat"),
]


@pytest.mark.parametrize(("name", "psk"), STANDARD, ids=[Path(n).stem for n, _ in STANDARD])
def test_reference_lines_parse_verify_and_write_back_unchanged(name, psk, reference_dir):
    for n, line in enumerate((reference_dir / name).read_text().split(), 1):
        p = parse_params_line(line, f"{name}:{n}")
        assert p.verify(psk) and not p.verify(psk + b"!")
        assert psk_crack_line(p) == line
        mode, written = hashcat_line(p)
        assert written == line and mode == {1: 5300, 2: 5400}[p.hash_id]


def test_hashcat_cannot_take_group_14_key_exchanges():
    p = _params(AM)
    with pytest.raises(FormatError, match="at most 512 bytes .* this exchange has 600"):
        hashcat_line(p)
    assert psk_crack_line(p).count(":") == 8  # psk-crack has no such limit


def test_sha2_hash_r_is_refused_by_both_formats():
    p = _params(PROBE)
    sha256 = PskParams(*(getattr(p, f) for f in PskParams.__slots__[:9]), hash_id=4, source="x")
    with pytest.raises(FormatError, match="MD5 and SHA1"):
        psk_crack_line(sha256)
    with pytest.raises(FormatError, match="5300.*5400"):
        hashcat_line(sha256)


@pytest.mark.parametrize("line", ["", "a:b", "zz:" * 8 + "zz", "00:" * 8 + "0011"])
def test_malformed_lines_are_one_line_errors(line):
    with pytest.raises(FormatError):
        parse_params_line(line, "x.txt:1")
