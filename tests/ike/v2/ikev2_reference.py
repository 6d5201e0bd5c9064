"""Test helper: the public IKEv2 reference captures, their Wireshark key tables, and a minimal
walk over IKEv2 payload chains (the real payload decoders belong to the IKEv2 engine)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ikedecode.capture import open_capture
from ikedecode.keys.wireshark import read_ikev2_decryption_table

SK, SKF = 46, 53

# project algorithm names (what ikedecode.keys reads from the table) -> IANA transform numbers
ENCR_IDS = {"3des-cbc": 3, "aes-cbc": 12, "aes-ctr": 13, "aes-ccm-8": 14, "aes-ccm-12": 15, "aes-ccm-16": 16}
ENCR_IDS |= {"aes-gcm-8": 18, "aes-gcm-12": 19, "aes-gcm-16": 20, "chacha20-poly1305": 28}
INTEG_IDS = {"null": None, "hmac-sha1-160": 7, "hmac-sha2-256-128": 12, "hmac-sha2-512-256": 14}


@dataclass
class SaKeys:
    encr_id: int
    integ_id: int | None
    sk_ei: bytes
    sk_er: bytes
    sk_ai: bytes
    sk_ar: bytes


def load_table(path: Path) -> dict[bytes, SaKeys]:
    """Initiator SPI -> keys, with transform numbers. The table's "AES-CTR-128 with ANY 96-bits of
    Authentication [No Checking]" line (ikev2-decrypt-aes128ccm12-2) is a CCM-12 SA that Wireshark
    decrypts as CTR: its 4-byte CTR nonce is CCM's counter-block flags byte (0x03: L = 4) followed by
    the 3-byte CCM salt, so the CCM key is SK_e[:16] | SK_e[17:]."""
    out = {}
    for km in read_ikev2_decryption_table(path.read_text(), str(path)):
        if km.encryption == "null":
            continue
        if km.integrity == "any-96":
            assert km.encryption == "aes-ctr" and km.sk_ei[16] == km.sk_er[16] == 0x03
            keys = SaKeys(15, None, km.sk_ei[:16] + km.sk_ei[17:], km.sk_er[:16] + km.sk_er[17:], b"", b"")
        else:
            keys = SaKeys(
                ENCR_IDS[km.encryption], INTEG_IDS[km.integrity], km.sk_ei, km.sk_er, km.sk_ai, km.sk_ar
            )
        out[km.initiator_spi] = keys
    return out


def ike_messages(path: Path) -> list[tuple[int, bytes]]:
    """(frame, IKE message) of every IKEv2 datagram in a capture."""
    with open_capture(path) as reader:
        return [(d.frame, d.payload) for d in reader if len(d.payload) >= 28 and d.payload[17] == 0x20]


def payload_chain(data: bytes, first: int, start: int) -> list[tuple[int, int, bytes]]:
    """(type, offset, body) of a payload chain starting at ``start`` with type ``first``; an SK/SKF
    payload ends the walk (it is the last payload of a message, RFC 7296 section 3.14)."""
    out = []
    kind, offset = first, start
    while kind and offset + 4 <= len(data):
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        out.append((kind, offset, data[offset + 4 : offset + length]))
        if kind in (SK, SKF) or length < 4:
            break
        kind, offset = data[offset], offset + length
    return out


def encrypted_payload(message: bytes) -> tuple[int, int] | None:
    """(type, offset) of the SK or SKF payload of an IKE message, or None."""
    for kind, offset, _ in payload_chain(message, message[16], 28):
        if kind in (SK, SKF):
            return kind, offset
    return None
