"""HASH_R of real aggressive-mode exchanges (ike-scan and hashcat data) recomputed from the PSK.

Each line is ``g_xr:g_xi:cky_r:cky_i:sai_b:idir_b:ni_b:nr_b:hash_r`` (hex), the format of
ike-scan ``--pskcrack`` and hashcat modes 5300 / 5400; MD5 or SHA-1 follows from the length
of hash_r. The PSKs are the published ones (reference README).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ikedecode.ike.v1.authhash import hash_i, hash_r
from ikedecode.ike.v1.keyderiv import nortel_psk_key, skeyid_preshared

HASH_ID_BY_LENGTH = {16: 1, 20: 2}  # MD5, SHA
SIXTY_FIVE_CHARS = b"12345678901234567890123456789012345678901234567890123456789012345"

PSK_FILES = [
    ("ike-scan/psk-params/checkpoint-r54_md5_psk-abc123.txt", b"abc123", None),
    ("ike-scan/psk-params/checkpoint-r54_sha1_psk-abc123.txt", b"abc123", None),
    ("ike-scan/psk-params/nortel-contivity_md5_user-test_psk-abc123.txt", b"abc123", b"test"),
    ("ike-scan/psk-params/nortel-contivity_sha1_user-test_psk-abc123.txt", b"abc123", b"test"),
    ("ike-scan/psk-params/screenos-5.4_md5+sha1_psk-garibaldi.txt", b"garibaldi", None),
    ("ike-scan/psk-params/screenos-5.4_md5_psk-65chars.txt", SIXTY_FIVE_CHARS, None),
    ("ike-scan/psk-params/screenos-5.4_sha1_psk-65chars.txt", SIXTY_FIVE_CHARS, None),
    ("hashcat/hashcat_5300.txt", b"hashcat", None),
    ("hashcat/hashcat_5400.txt", b"hashcat", None),
]


def _lines(path: Path) -> list[list[bytes]]:
    rows = [line.split(":") for line in path.read_text().split()]
    assert rows and all(len(row) == 9 for row in rows), f"{path} is not in the 9-field format"
    return [[bytes.fromhex(field) for field in row] for row in rows]


@pytest.mark.parametrize(("name", "psk", "nortel_user"), PSK_FILES, ids=[Path(f[0]).stem for f in PSK_FILES])
def test_hash_r_matches_the_captured_value(
    reference_dir: Path, name: str, psk: bytes, nortel_user: bytes | None
) -> None:
    for g_xr, g_xi, cky_r, cky_i, sai_b, idir_b, ni_b, nr_b, captured_hash_r in _lines(reference_dir / name):
        hash_id = HASH_ID_BY_LENGTH[len(captured_hash_r)]
        key = nortel_psk_key(psk, nortel_user) if nortel_user else psk
        skeyid = skeyid_preshared(hash_id, key, ni_b, nr_b)
        assert hash_r(hash_id, skeyid, g_xi, g_xr, cky_i, cky_r, sai_b, idir_b) == captured_hash_r


@pytest.mark.parametrize(("name", "psk", "nortel_user"), PSK_FILES[:2], ids=["md5", "sha1"])
def test_a_wrong_psk_does_not_match(reference_dir: Path, name: str, psk: bytes, nortel_user: None) -> None:
    g_xr, g_xi, cky_r, cky_i, sai_b, idir_b, ni_b, nr_b, captured_hash_r = _lines(reference_dir / name)[0]
    hash_id = HASH_ID_BY_LENGTH[len(captured_hash_r)]
    skeyid = skeyid_preshared(hash_id, psk + b"x", ni_b, nr_b)
    assert hash_r(hash_id, skeyid, g_xi, g_xr, cky_i, cky_r, sai_b, idir_b) != captured_hash_r


def test_hash_i_is_not_hash_r_of_the_same_exchange(reference_dir: Path) -> None:
    # HASH_I swaps the order of the public values and cookies, so it never equals HASH_R.
    name, psk, _ = PSK_FILES[1]
    g_xr, g_xi, cky_r, cky_i, sai_b, idir_b, ni_b, nr_b, captured_hash_r = _lines(reference_dir / name)[0]
    skeyid = skeyid_preshared(2, psk, ni_b, nr_b)
    assert hash_i(2, skeyid, g_xi, g_xr, cky_i, cky_r, sai_b, idir_b) != captured_hash_r


def test_nortel_lines_need_the_nortel_key(reference_dir: Path) -> None:
    name, psk, _ = PSK_FILES[2]
    g_xr, g_xi, cky_r, cky_i, sai_b, idir_b, ni_b, nr_b, captured_hash_r = _lines(reference_dir / name)[0]
    plain_skeyid = skeyid_preshared(1, psk, ni_b, nr_b)
    assert hash_r(1, plain_skeyid, g_xi, g_xr, cky_i, cky_r, sai_b, idir_b) != captured_hash_r
