"""Every SK payload of the public IKEv2 reference captures opens with its ICV / tag verified.

Captures and keys: /work/shared/reference (README.md there): Wireshark's ikev2-decrypt-* test
captures with ``wireshark/config/ikev2_decryption_table`` (3DES + HMAC_SHA1_160, AES-CBC-256 +
HMAC_SHA2_256_128, AES-CTR-192 + HMAC_SHA2_512_256, AES-CCM-128/12, AES-CCM-256/16,
AES-GCM-256/8, AES-GCM-256/16), and the Wireshark wiki's NAT-T capture (AES-GCM-256/16, AES-CTR-256
and AES-CBC-256 with HMAC_SHA2_256_128, IKE on UDP 4500). The decrypted AUTH payloads must equal
the ``isakmp.auth.data`` values that Wireshark's own test suite asserts (README table), and the
decrypted CP payloads the INTERNAL_IP4_ADDRESS values tshark shows.
"""

from __future__ import annotations

import pytest
from ikev2_reference import SK, encrypted_payload, ike_messages, load_table, payload_chain

from ikedecode.ike.v2.protection import OpenFailure, open_sk

AUTH, CP = 39, 47
WIRESHARK = "wireshark/captures/"
# capture -> (frame 3 AUTH data, frame 4 AUTH data), from the README / suite_decryption.py
AUTH_DATA = {
    "ikev2-decrypt-3des-sha1_160.pcap": (
        "02f7a0d5f1fdc8ea81039818c65bb9bd09af9b8917319b887ff9ba3046c344c7",
        "f6bbc7b60d1502191f1c6bed6fd8dcda8c4c0f879ff5ae544b66086392959641",
    ),
    "ikev2-decrypt-aes128ccm12.pcap": (
        "c335abf2598a6730a4c3ff3a9e3281c24f3899e1d02027f47dc065bc2c1eedca",
        "c2104394299e1ffe7908ea720ad5d13717a0d454e4fa0a2128ea689411f479c4",
    ),
    "ikev2-decrypt-aes128ccm12-2.pcap": (
        "aaa281c87b4a19046c57271d557488ca413b57228cb951f5fa9640992a0285b9",
        "ca9504df5c91a0ee5216148cf70759f4621edaa32ce1a2498ae56d8dba9be460",
    ),
    "ikev2-decrypt-aes192ctr.pcap": (
        "3ec23dcf9348485638407c754547aeb3085290082c49f583fdbae59263a20b4a",
        "37cc3de8ba560cec4ed39aae24f19e5c94cc55654c060a322ecd1e72f7f791a2",
    ),
    "ikev2-decrypt-aes256cbc.pcapng": (
        "e1a8d550064201a7ec024a85758d0673c61c5c510ac13bcd225d6327f50da3d3",
        "ebbc48efe986d5058f0d52a71f34986d1ab78f63c0fdde69164cd57638b1b048",
    ),
    "ikev2-decrypt-aes256ccm16.pcapng": (
        "fa2e74bdc01e30fb0b3ddc9723c9449095969da51f69e560209d2c2b7940210a",
        "bf368b0105a598390eeb6b230ff279cd21ba70481370b19f0d7c739c69b97999",
    ),
    "ikev2-decrypt-aes256gcm16.pcap": (
        "bc404a4c66a36c59a0b3fd700bbc5597176ad2c5e5df5bba82c4a6b6b4ef8b31",
        "9ab71f14ab553cad873a1aa70b99df155dee77cdcf3694b3b7527acbb9712ded",
    ),
    "ikev2-decrypt-aes256gcm8.pcap": (
        "4a66d822d0afbc22ad9a92a2cf4287c920ad8ac3b069a4a7e75fe0a5d499f914",
        "fba50353f2535dab9804ca772fc7b2d19e85ffb48da87918a9a54bbd9975a078",
    ),
}


def _open_all(reference_dir, capture, table):
    keys = load_table(reference_dir / table)
    opened = []
    for frame, message in ike_messages(reference_dir / capture):
        found = encrypted_payload(message)
        if found is None:
            continue
        kind, offset = found
        assert kind == SK, f"frame {frame}: fragments are not expected in this capture"
        sa = keys[message[:8]]
        from_initiator = bool(message[19] & 0x08)
        sk_e, sk_a = (sa.sk_ei, sa.sk_ai) if from_initiator else (sa.sk_er, sa.sk_ar)
        result = open_sk(message, offset, encr_id=sa.encr_id, sk_e=sk_e, integ_id=sa.integ_id, sk_a=sk_a)
        opened.append((frame, message, offset, sa, from_initiator, result))
    return opened


@pytest.mark.parametrize("capture", sorted(AUTH_DATA))
def test_every_sk_payload_of_the_wireshark_ikev2_captures_opens_verified(capture, reference_dir):
    opened = _open_all(reference_dir, WIRESHARK + capture, "wireshark/config/ikev2_decryption_table")
    assert len(opened) >= 2
    for frame, _message, _offset, _sa, _init, result in opened:
        assert result.ok and result.integrity_verified, (frame, result)
    auth = {}
    for frame, _message, _offset, _sa, _init, result in opened:
        for kind, _off, body in payload_chain(result.plaintext, result.next_payload, 0):
            if kind == AUTH:
                auth[frame] = body[4:].hex()  # auth method (1) + reserved (3), then the data
    assert (auth[3], auth[4]) == AUTH_DATA[capture]


@pytest.mark.parametrize("capture", ["ikev2-decrypt-aes256cbc.pcapng", "ikev2-decrypt-aes256gcm16.pcap"])
def test_a_flipped_bit_or_the_other_direction_key_fails_the_icv(capture, reference_dir):
    opened = _open_all(reference_dir, WIRESHARK + capture, "wireshark/config/ikev2_decryption_table")
    frame, message, offset, sa, from_initiator, _ = opened[0]
    damaged = bytearray(message)
    damaged[offset + 40] ^= 0x01
    sk_e, sk_a = (sa.sk_ei, sa.sk_ai) if from_initiator else (sa.sk_er, sa.sk_ar)
    result = open_sk(bytes(damaged), offset, encr_id=sa.encr_id, sk_e=sk_e, integ_id=sa.integ_id, sk_a=sk_a)
    assert (
        result.failure is OpenFailure.ICV_MISMATCH and not result.integrity_verified and not result.plaintext
    )
    wrong_e, wrong_a = (sa.sk_er, sa.sk_ar) if from_initiator else (sa.sk_ei, sa.sk_ai)
    result = open_sk(message, offset, encr_id=sa.encr_id, sk_e=wrong_e, integ_id=sa.integ_id, sk_a=wrong_a)
    assert result.failure is OpenFailure.ICV_MISMATCH


def test_the_nat_t_capture_opens_all_three_ike_sas_and_shows_the_assigned_addresses(reference_dir):
    folder = "wireshark-wiki/ipsec_ikev2_esp_nat_t/"
    opened = _open_all(reference_dir, folder + "capture.pcapng", folder + "ikev2_decryption_table")
    assert {sa.encr_id for *_, sa, _i, _r in opened} == {12, 13, 20}
    assert len(opened) >= 12
    addresses = []
    for frame, _message, _offset, _sa, _init, result in opened:
        assert result.ok and result.integrity_verified, (frame, result)
        for kind, _off, body in payload_chain(result.plaintext, result.next_payload, 0):
            if kind == CP and body[0] == 2:  # CFG_REPLY
                attrs = body[4:]
                while len(attrs) >= 4:
                    attr_type = int.from_bytes(attrs[:2], "big") & 0x7FFF
                    length = int.from_bytes(attrs[2:4], "big")
                    if attr_type == 1 and length == 4:  # INTERNAL_IP4_ADDRESS
                        addresses.append((frame, ".".join(map(str, attrs[4:8]))))
                    attrs = attrs[4 + length :]
    assert addresses == [(4, "192.168.225.10"), (22, "192.168.225.11"), (40, "192.168.225.12")]
