"""An IKEv1 quick mode's keys (``ChildSaKeys``) as the ESP/AH SA record ``ipsec_sa_from_child``
makes of them: protocol, algorithms, KEYMAT split (RFC 2409 5.5), mode (RFC 2407 4.5), and the
transforms it cannot key refused every time they come."""

from __future__ import annotations

import pytest

from ikedecode.analysis.keying import ipsec_sa_from_child
from ikedecode.esp.sa import IpsecSa
from ikedecode.ike.registries import (
    AUTHENTICATION_ALGORITHM,
    ENCAPSULATION_MODE,
    IPSEC_KEY_LENGTH,
    PROTO_IPSEC_AH,
    PROTO_IPSEC_ESP,
)
from ikedecode.ike.v1.child_sa import ChildSaKeys, Keymat

ESP_AES_CBC, AH_SHA = 12, 3  # RFC 2407 4.4.4 / 4.4.3
HMAC_SHA1, TUNNEL, TRANSPORT = 2, 1, 2
KEYMAT = Keymat(2, bytes(range(20)), b"seed: protocol, SPI, Ni_b, Nr_b")  # SHA-1 prf


def child(protocol_id: int, transform_id: int, **attributes: int | bytes) -> ChildSaKeys:
    named = {"key_length": IPSEC_KEY_LENGTH, "auth": AUTHENTICATION_ALGORITHM, "mode": ENCAPSULATION_MODE}
    return ChildSaKeys(
        protocol_id,
        b"\xc0\xff\xee\x01",
        "192.0.2.1",
        "198.51.100.1",
        transform_id,
        {named[name]: value for name, value in attributes.items()},
        KEYMAT,
        "0011223344556677/8899aabbccddeeff",
        0x01020304,
    )


def test_esp_keys_are_split_from_keymat_encryption_key_first():
    sa = ipsec_sa_from_child(child(PROTO_IPSEC_ESP, ESP_AES_CBC, key_length=256, auth=HMAC_SHA1, mode=TUNNEL))
    keymat = KEYMAT.prefix(32 + 20)
    assert (sa.protocol, sa.spi) == ("esp", 0xC0FFEE01)
    assert (sa.encryption, sa.integrity) == ("aes-cbc", "hmac-sha1-96")
    assert (sa.encryption_key, sa.integrity_key) == (keymat[:32], keymat[32:])
    assert sa.mode == "tunnel" and sa.esn is False
    assert (sa.ike_cookies, sa.message_id) == ("0011223344556677/8899aabbccddeeff", 0x01020304)
    assert sa.origin == "quick mode 0x01020304 of IKE SA 0011223344556677/8899aabbccddeeff"


def test_the_record_is_the_constructors():
    keys = child(PROTO_IPSEC_ESP, ESP_AES_CBC, key_length=128, auth=HMAC_SHA1, mode=TRANSPORT)
    sa = ipsec_sa_from_child(keys)
    keymat = KEYMAT.prefix(16 + 20)
    made = IpsecSa(
        "esp",
        0xC0FFEE01,
        "192.0.2.1",
        "198.51.100.1",
        encryption="aes-cbc",
        encryption_key=keymat[:16],
        integrity="hmac-sha1-96",
        integrity_key=keymat[16:],
        mode="transport",
        origin=sa.origin,
        ike_cookies=sa.ike_cookies,
        message_id=sa.message_id,
    )
    assert [getattr(sa, f) for f in IpsecSa.__slots__ if f != "state"] == [
        getattr(made, f) for f in IpsecSa.__slots__ if f != "state"
    ]


def test_attribute_values_given_as_bytes_key_the_same_sa():
    as_ints = ipsec_sa_from_child(
        child(PROTO_IPSEC_ESP, ESP_AES_CBC, key_length=128, auth=HMAC_SHA1, mode=TUNNEL)
    )
    as_bytes = ipsec_sa_from_child(
        child(PROTO_IPSEC_ESP, ESP_AES_CBC, key_length=b"\x00\x80", auth=b"\x00\x02", mode=b"\x00\x01")
    )
    assert (as_bytes.encryption_key, as_bytes.integrity_key, as_bytes.mode) == (
        as_ints.encryption_key,
        as_ints.integrity_key,
        "tunnel",
    )


def test_ah_takes_only_an_integrity_key_and_no_mode_when_none_is_named():
    sa = ipsec_sa_from_child(child(PROTO_IPSEC_AH, AH_SHA, auth=HMAC_SHA1))
    assert (sa.protocol, sa.encryption, sa.encryption_key) == ("ah", "null", b"")
    assert (sa.integrity, sa.integrity_key, sa.mode) == ("hmac-sha1-96", KEYMAT.prefix(20), None)


def test_what_cannot_be_keyed_is_refused_every_time():
    for _ in range(2):  # nothing remembered of a refusal
        with pytest.raises(ValueError, match="protocol 4 carries no ESP/AH traffic"):
            ipsec_sa_from_child(child(4, 1))  # IPCOMP
        with pytest.raises(ValueError):
            ipsec_sa_from_child(child(PROTO_IPSEC_ESP, 250, auth=HMAC_SHA1))  # no such ESP transform
