"""The IKE prf / hash table maps algorithm IDs to the right algorithms (published test vectors)."""

from __future__ import annotations

import pytest

from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.prf import HASHES, digest_size, hash_, prf

# RFC 2202 test case 1 (HMAC-MD5, HMAC-SHA-1) and RFC 4231 test case 2 (HMAC-SHA-2).
HMAC_VECTORS = [
    (1, b"\x0b" * 16, b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
    (2, b"\x0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
    (
        4,
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        5,
        b"Jefe",
        b"what do ya want for nothing?",
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
    ),
    (
        6,
        b"Jefe",
        b"what do ya want for nothing?",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fd"
        "caeab1a34d4a6b4b636e070a38bce737",
    ),
]

# FIPS 180-2 / RFC 1321 "abc" digests.
HASH_VECTORS = [
    (1, "900150983cd24fb0d6963f7d28e17f72"),
    (2, "a9993e364706816aba3e25717850c26c9cd0d89d"),
    (4, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (5, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
    (
        6,
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ),
]


@pytest.mark.parametrize(("hash_id", "key", "data", "expected"), HMAC_VECTORS)
def test_prf_is_hmac_of_the_negotiated_hash(hash_id: int, key: bytes, data: bytes, expected: str) -> None:
    assert prf(hash_id, key, data).hex() == expected
    assert digest_size(hash_id) == len(expected) // 2


@pytest.mark.parametrize(("hash_id", "expected"), HASH_VECTORS)
def test_hash_is_the_plain_negotiated_hash(hash_id: int, expected: str) -> None:
    assert hash_(hash_id, b"abc").hex() == expected


def test_table_holds_exactly_the_implemented_rfc_2409_and_sha2_ids() -> None:
    assert sorted(HASHES) == [1, 2, 4, 5, 6]
    assert {h.name for h in HASHES.values()} == {"MD5", "SHA", "SHA2-256", "SHA2-384", "SHA2-512"}


def test_tiger_is_reported_as_unsupported_by_name() -> None:
    with pytest.raises(UnsupportedAlgorithm, match="Tiger"):
        prf(3, b"key", b"data")


@pytest.mark.parametrize("hash_id", [0, 7, 65001, -1, None, "2"])
def test_unknown_hash_ids_raise_the_documented_error(hash_id: object) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="unknown IKE hash algorithm"):
        hash_(hash_id, b"data")  # type: ignore[arg-type]
    assert issubclass(UnsupportedAlgorithm, ValueError)
