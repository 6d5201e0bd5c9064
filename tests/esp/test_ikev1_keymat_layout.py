"""IKEv1 IPsec transforms map to algorithm names and KEYMAT lengths, encryption key first."""

from __future__ import annotations

import pytest

from ikedecode.esp.algorithms import UnknownAlgorithm
from ikedecode.esp.transforms import (
    IpsecTransform,
    ikev1_ah_transform,
    ikev1_esp_transform,
    ikev2_child_transform,
)


@pytest.mark.parametrize(
    ("transform_id", "key_bits", "auth", "expected"),
    [
        # RFC 2407 4.4.4 transform IDs; RFC 2409 5.5 KEYMAT: cipher key (+ salt/nonce), then integrity key
        (3, None, 1, IpsecTransform("3des-cbc", "hmac-md5-96", 24, 16)),
        (2, None, 2, IpsecTransform("des-cbc", "hmac-sha1-96", 8, 20)),
        (12, 128, 2, IpsecTransform("aes-cbc", "hmac-sha1-96", 16, 20)),
        (12, 256, 5, IpsecTransform("aes-cbc", "hmac-sha2-256-128", 32, 32)),
        (12, None, 7, IpsecTransform("aes-cbc", "hmac-sha2-512-256", 16, 64)),
        (12, 192, 9, IpsecTransform("aes-cbc", "aes-xcbc-mac-96", 24, 16)),
        (13, 128, 5, IpsecTransform("aes-ctr", "hmac-sha2-256-128", 20, 32)),  # RFC 3686 5.1: + 4-byte nonce
        (20, 128, None, IpsecTransform("aes-gcm-16", "null", 20, 0)),  # RFC 4106 8.1: + 4-byte salt
        (18, 256, None, IpsecTransform("aes-gcm-8", "null", 36, 0)),
        (14, 128, None, IpsecTransform("aes-ccm-8", "null", 19, 0)),  # RFC 4309 7.1: + 3-byte salt
        (23, 128, None, IpsecTransform("aes-gmac", "null", 20, 0)),  # RFC 4543 8: + 4-byte salt
        (11, None, 2, IpsecTransform("null", "hmac-sha1-96", 0, 20)),
        (7, 128, 2, IpsecTransform("blowfish-cbc", "hmac-sha1-96", 16, 20)),
        (6, None, 1, IpsecTransform("cast-cbc", "hmac-md5-96", 16, 16)),
    ],
)
def test_esp_transform(transform_id, key_bits, auth, expected):
    assert ikev1_esp_transform(transform_id, key_bits, auth) == expected


def test_combined_mode_ignores_an_authentication_attribute():
    assert ikev1_esp_transform(20, 128, 2).integrity == "null"


def test_keymat_is_split_encryption_key_first():
    transform = ikev1_esp_transform(12, 128, 2)
    keymat = bytes(range(40))
    encryption_key, integrity_key = transform.split_keymat(keymat)
    assert encryption_key == bytes(range(16))
    assert integrity_key == bytes(range(16, 36))
    with pytest.raises(ValueError):
        transform.split_keymat(keymat[:35])


@pytest.mark.parametrize(
    ("transform_id", "key_bits", "auth"), [(4, None, 1), (99, None, 1), (12, 100, 2), (12, 128, 99)]
)
def test_unusable_esp_transforms_raise(transform_id, key_bits, auth):
    with pytest.raises(UnknownAlgorithm):
        ikev1_esp_transform(transform_id, key_bits, auth)


def test_ah_transform_uses_the_authentication_attribute():
    assert ikev1_ah_transform(3, 2) == IpsecTransform("null", "hmac-sha1-96", 0, 20)
    assert ikev1_ah_transform(5, None) == IpsecTransform("null", "hmac-sha2-256-128", 0, 32)
    with pytest.raises(UnknownAlgorithm):
        ikev1_ah_transform(4, None)


def test_ikev2_child_transforms_use_their_own_numbering():
    assert ikev2_child_transform(21, 256) == IpsecTransform("aes-gmac", "null", 36, 0)
    assert ikev2_child_transform(28, None).encryption_key_length == 36  # RFC 7634: 32-byte key + 4-byte salt
    assert ikev2_child_transform(12, 128, 12) == IpsecTransform("aes-cbc", "hmac-sha2-256-128", 16, 32)
