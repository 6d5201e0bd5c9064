"""Diffie-Hellman public values and shared secrets: both sides agree, RFC vectors, bad inputs."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from ikedecode.ike.crypto_errors import (
    IkeCryptoError,
    InvalidPrivateValue,
    InvalidPublicValue,
    UnsupportedAlgorithm,
)
from ikedecode.ike.dh import GROUPS, GroupKind, public_value, shared_secret


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# RFC 5903 section 8.1 (256-bit random ECP group).
P256_I = h("C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433")
P256_GI = h(
    "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
    "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3"
)
P256_R = h("C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53")
P256_GR = h(
    "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
    "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB"
)
P256_GIR = h("D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE")

# RFC 5903 section 8.2 (384-bit random ECP group).
P384_I = h(
    "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 "
    "0647B674 14DCE655 E35B5380 41E649EE 3FAEF896 783AB194"
)
P384_GI = h(
    "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 "
    "1634FE72 B4C55EE6 DE3AC808 ACB4BDB4 C88732AE E95F41AA"
    "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD "
    "A0241815 35A0F38E EB9FCFF3 C2C947DA E69B4C63 4573A81C"
)
P384_GR = h(
    "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D "
    "83CFA417 32BC509D 0D1AC43A 0336DEF9 6FDA41D0 774A3571"
    "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 "
    "DD5F0C68 759DD1FF F83FA401 42209DFF 5EAAD96D B9E6386C"
)
P384_GIR = h(
    "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 "
    "7521287E 7156C5C4 D6031355 69B9E9D0 9CF5D4A2 70F59746"
)

# RFC 7748 section 6.1 (X25519) and 6.2 (X448).
X25519_A = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
X25519_A_PUB = h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
X25519_B = h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
X25519_B_PUB = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
X25519_K = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
X448_A = h(
    "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b"
)
X448_A_PUB = h(
    "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0"
)
X448_B = h(
    "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d"
)
X448_B_PUB = h(
    "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609"
)
X448_K = h(
    "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d"
)


def _random_private(group_id: int) -> bytes:
    group = GROUPS[group_id]
    if group.kind is GroupKind.MODP:
        return secrets.token_bytes(32)
    if group.kind is GroupKind.ECP:
        assert group.curve is not None
        scalar = ec.generate_private_key(group.curve()).private_numbers().private_value
        return scalar.to_bytes(group.secret_length, "big")
    return secrets.token_bytes(group.secret_length)


@pytest.mark.parametrize("group_id", sorted(GROUPS))
def test_both_sides_compute_the_same_secret(group_id: int) -> None:
    group = GROUPS[group_id]
    private_i, private_r = _random_private(group_id), _random_private(group_id)
    public_i, public_r = public_value(group_id, private_i), public_value(group_id, private_r)
    assert len(public_i) == len(public_r) == group.public_length
    assert public_i != public_r
    secret = shared_secret(group_id, private_i, public_r)
    assert secret == shared_secret(group_id, private_r, public_i)
    assert len(secret) == group.secret_length


@pytest.mark.parametrize("group_id", [2, 14, 23])
def test_modp_public_value_is_g_to_the_x_left_padded(group_id: int) -> None:
    group = GROUPS[group_id]
    exponent = secrets.token_bytes(group.public_length)  # full-length exponent, may exceed p
    expected = pow(group.generator, int.from_bytes(exponent, "big"), group.prime)
    assert public_value(group_id, exponent) == expected.to_bytes(group.public_length, "big")


def test_modp_small_results_keep_their_leading_zeros() -> None:
    # 2^7 = 128 is far below p: the public value is still the full prime length.
    assert public_value(2, b"\x07") == (128).to_bytes(128, "big")
    assert public_value(14, b"\x07") == (128).to_bytes(256, "big")


def test_rfc5903_p256_vector() -> None:
    assert public_value(19, P256_I) == P256_GI
    assert public_value(19, P256_R) == P256_GR
    assert shared_secret(19, P256_I, P256_GR) == P256_GIR
    assert shared_secret(19, P256_R, P256_GI) == P256_GIR


def test_rfc5903_p384_vector() -> None:
    assert public_value(20, P384_I) == P384_GI
    assert shared_secret(20, P384_I, P384_GR) == P384_GIR


def test_rfc7748_x25519_vector() -> None:
    assert public_value(31, X25519_A) == X25519_A_PUB
    assert public_value(31, X25519_B) == X25519_B_PUB
    assert shared_secret(31, X25519_A, X25519_B_PUB) == X25519_K
    assert shared_secret(31, X25519_B, X25519_A_PUB) == X25519_K


def test_rfc7748_x448_vector() -> None:
    assert public_value(32, X448_A) == X448_A_PUB
    assert public_value(32, X448_B) == X448_B_PUB
    assert shared_secret(32, X448_A, X448_B_PUB) == X448_K


def _modp_bad_values(group_id: int) -> list[bytes]:
    group = GROUPS[group_id]
    size = group.public_length
    return [
        (0).to_bytes(size, "big"),
        (1).to_bytes(size, "big"),
        (group.prime - 1).to_bytes(size, "big"),
        group.prime.to_bytes(size, "big"),
        b"\xff" * size,
        b"\x02" * (size - 1),  # one byte short
        b"\x02" * (size + 1),
        b"",
    ]


@pytest.mark.parametrize("group_id", [1, 2, 14, 18, 24])
def test_modp_rejects_out_of_range_or_wrong_length_public_values(group_id: int) -> None:
    for bad in _modp_bad_values(group_id):
        with pytest.raises(InvalidPublicValue):
            shared_secret(group_id, b"\x12" * 32, bad)


def test_rfc5114_group_rejects_values_outside_the_subgroup() -> None:
    group = GROUPS[23]
    assert group.subgroup_order is not None
    outsider = 2
    assert pow(outsider, group.subgroup_order, group.prime) != 1
    with pytest.raises(InvalidPublicValue, match="subgroup"):
        shared_secret(23, b"\x12" * 32, outsider.to_bytes(group.public_length, "big"))


def test_ecp_rejects_points_off_the_curve_and_sec1_prefixes() -> None:
    off_curve = P256_GR[:-1] + bytes([P256_GR[-1] ^ 1])
    for bad in (off_curve, b"\x04" + P256_GR, P256_GR[:32], b"\x00" * 64):
        with pytest.raises(InvalidPublicValue):
            shared_secret(19, P256_I, bad)


def test_x25519_rejects_small_order_points_and_wrong_lengths() -> None:
    for bad in (bytes(32), bytes(31), X25519_B_PUB + b"\x00"):
        with pytest.raises(InvalidPublicValue):
            shared_secret(31, X25519_A, bad)


@pytest.mark.parametrize(
    ("group_id", "private_value"),
    [
        (2, b""),
        (2, b"\x01"),  # exponent 1 would publish g itself
        (2, b"\x01" * 129),
        (19, b"\x00" * 32),
        (19, b"\xff" * 32),  # above the group order
        (19, b"\x01" * 33),
        (31, b"\x01" * 31),
        (32, b"\x01" * 57),
    ],
)
def test_bad_private_values_are_refused(group_id: int, private_value: bytes) -> None:
    with pytest.raises(InvalidPrivateValue):
        public_value(group_id, private_value)


@pytest.mark.parametrize(("group_id", "name"), [(3, "EC2N"), (4, "EC2N"), (27, "brainpoolP224r1")])
def test_registered_but_unimplemented_groups_are_named(group_id: int, name: str) -> None:
    with pytest.raises(UnsupportedAlgorithm, match=name):
        public_value(group_id, b"\x01" * 32)


@pytest.mark.parametrize("group_id", [0, 6, 13, 33, 1024, None])
def test_unknown_groups_are_unsupported(group_id: object) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="unknown"):
        shared_secret(group_id, b"\x01" * 32, b"\x02" * 32)  # type: ignore[arg-type]


def test_non_bytes_inputs_raise_the_documented_errors() -> None:
    with pytest.raises(InvalidPrivateValue):
        public_value(14, "0102")  # type: ignore[arg-type]
    with pytest.raises(InvalidPublicValue):
        shared_secret(14, b"\x01" * 32, 12345)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(group_id=st.sampled_from(sorted(GROUPS)), data=st.data())
def test_arbitrary_bytes_raise_only_documented_errors(group_id: int, data: st.DataObject) -> None:
    group = GROUPS[group_id]
    # Mostly values of the right sizes (so the arithmetic runs), sometimes any size.
    private_value = data.draw(
        st.binary(min_size=group.secret_length, max_size=group.secret_length) | st.binary()
    )
    peer_public = data.draw(
        st.binary(min_size=group.public_length, max_size=group.public_length) | st.binary()
    )
    try:
        secret = shared_secret(group_id, private_value, peer_public)
    except IkeCryptoError:
        return
    assert len(secret) == group.secret_length
