"""Phase 1 / phase 2 IVs and the IKE CBC ciphers decrypt Wireshark's IKEv1 test captures.

The captures and the final cipher keys are Wireshark's own decryption test data
(``wireshark/captures``, ``wireshark/config/ikev1_decryption_table``). The IVs are computed
here from the KE payloads (``phase1_iv``) and the message IDs (``exchange_iv``); a wrong IV
garbles the first block, so a clean payload chain plus the HASH payload values that tshark
4.0.17 prints for the same files prove both the IV rules and ``cbc_decrypt``.
"""

from __future__ import annotations

import gzip
import io
import struct
from dataclasses import dataclass
from pathlib import Path

import dpkt
import pytest

from ikedecode.ike.ciphers import block_size, cbc_decrypt
from ikedecode.ike.v1.keyderiv import exchange_iv, phase1_iv

PAYLOAD_KE, PAYLOAD_HASH = 4, 8


@dataclass
class Decrypted:
    message_id: int
    payload_types: list[int]
    hash_payload: bytes | None
    plaintext: bytes


def _udp_payloads(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    reader = (
        dpkt.pcapng.Reader(io.BytesIO(raw))
        if raw[:4] == b"\x0a\x0d\x0d\x0a"
        else dpkt.pcap.Reader(io.BytesIO(raw))
    )
    messages = []
    for _, frame in reader:
        udp = dpkt.ethernet.Ethernet(frame).data.data
        payload = bytes(udp.data)
        messages.append(payload[4:] if 4500 in (udp.sport, udp.dport) else payload)  # non-ESP marker
    return messages


def _payload_chain(first: int, body: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Walk ISAKMP generic payload headers; return the payloads and what follows (padding)."""
    payloads, kind, offset = [], first, 0
    while kind:
        next_kind, reserved, length = struct.unpack_from("!BBH", body, offset)
        assert reserved == 0 and 4 <= length <= len(body) - offset, "garbled payload header"
        payloads.append((kind, body[offset + 4 : offset + length]))
        kind, offset = next_kind, offset + length
    return payloads, body[offset:]


def _decrypt_capture(path: Path, key: bytes, hash_id: int, cipher_id: int) -> dict[int, Decrypted]:
    block = block_size(cipher_id)
    public_values: list[bytes] = []
    last_phase1_block: bytes | None = None
    next_iv: dict[int, bytes] = {}  # per message ID: the IV of the next message of that exchange
    seen: set[bytes] = set()
    result: dict[int, Decrypted] = {}
    for frame, message in enumerate(_udp_payloads(path), start=1):
        if message in seen:  # a retransmission reuses the IV of the original, skip it
            continue
        seen.add(message)
        first, flags = message[16], message[19]
        (message_id,) = struct.unpack_from("!I", message, 20)
        body = message[28:]
        if not flags & 1:
            payloads, _ = _payload_chain(first, body)
            public_values += [data for kind, data in payloads if kind == PAYLOAD_KE]
            continue
        g_xi, g_xr = public_values[0], public_values[1]
        if message_id in next_iv:
            iv = next_iv[message_id]
        elif message_id == 0:
            iv = phase1_iv(hash_id, g_xi, g_xr, block)
        else:
            # A new exchange after phase 1; when no phase 1 message was encrypted (aggressive
            # mode with a clear third message) the phase 1 IV stands in for the last block.
            last = last_phase1_block or phase1_iv(hash_id, g_xi, g_xr, block)
            iv = exchange_iv(hash_id, last, message_id, block)
        plaintext = cbc_decrypt(cipher_id, key, iv, body)
        next_iv[message_id] = body[-block:]
        if message_id == 0:
            last_phase1_block = body[-block:]
        payloads, padding = _payload_chain(first, plaintext)
        assert len(padding) <= 2 * block
        hashes = [data for kind, data in payloads if kind == PAYLOAD_HASH]
        result[frame] = Decrypted(
            message_id, [kind for kind, _ in payloads], hashes[0] if hashes else None, plaintext
        )
    return result


def _table_key(reference_dir: Path, initiator_cookie: str) -> bytes:
    for line in (reference_dir / "wireshark/config/ikev1_decryption_table").read_text().splitlines():
        if line.startswith(initiator_cookie + ","):
            return bytes.fromhex(line.split(",")[1])
    raise AssertionError(f"no key for {initiator_cookie}")


def test_main_mode_3des_md5_with_certificates_and_quick_mode(reference_dir: Path) -> None:
    key = _table_key(reference_dir, "fafaeb49382a763c")
    frames = _decrypt_capture(
        reference_dir / "wireshark/captures/ikev1-certs.pcap", key, hash_id=1, cipher_id=5
    )
    assert sorted(frames) == [5, 6, 7, 9, 10]  # frame 8 repeats frame 7 byte for byte
    assert frames[5].payload_types == [5, 6, 7, 9]  # ID, CERT, CR, SIG
    assert b"OpenSwan" in frames[5].plaintext
    assert frames[6].payload_types == [5, 6, 9]
    assert b"srx210-3" in frames[6].plaintext
    assert frames[7].message_id == 0xF2CFE203
    assert frames[7].payload_types == [8, 1, 10, 4, 5, 5]  # HASH(1), SA, Ni, KE, IDci, IDcr
    expected_hashes = {
        7: "5a32e8a56d40768d60f16a0521da6cbc",
        9: "69791a1955c654b3be0ae8e349af1d5f",
        10: "0b4f60a7a6e2878b515d1e30554be720",
    }
    assert {frame: frames[frame].hash_payload.hex() for frame in expected_hashes} == expected_hashes


# tshark 4.0.17 -e isakmp.hash for frames 5..16 (the first 16 hex digits of each, and frames 9
# and 16 in full, are also listed in the reference README).
HASHES_12610 = {
    5: "1101366621ad9c4507cae666deac7b1c1bc0dc4761a06a41a9168c4d9c8a0f83",
    6: "27835427b62b510f466811766b86e8b6fca785344364841f13ad52aaafc95085",
    7: "17653e5d18677ccd974320341b5b0eae88838be7e57b5459ecdb3e5d73257e06",
    8: "3500b0c3b0c8320d9d037b9b2d0fb7991d07f7c0885e184035fff256705f813d",
    9: "b52521f774967402c9f6cee95fd17e5bccec230b5731fc530e1a8ab33a69f440",
    10: "3ee8c692c95987e6370e0ae664e69c6f25ec54225763b37c609f6d71523f04f1",
    11: "c89ad8834381032ccad1efae648a1e1ee042527d22ec6bae4d98629af887cee4",
    12: "1f1b7d08c535e9823bf25cbea774c7073b42c43f6202591ae69f031d7dcda7ed",
    13: "14660fba9a1125004ec61c3c46995e8b068eb0229d82981be7d4ddf321737a70",
    14: "f02190455ce9fce30025463185536c066b651ad98fa42f4e3ec7adecb26ecee6",
    15: "40bd13afe185afa9e71039ec240d361f294349c49f995c8c8814cb0d22db8bc3",
    16: "14d276be17c6d97f7484d887380f7fef872a42465e20046e4a2be906def88673",
}


def test_main_mode_aes256_sha256_with_interleaved_exchanges(reference_dir: Path) -> None:
    key = _table_key(reference_dir, "ab3e0f1f8bc3be8e")
    path = reference_dir / "wireshark/captures/ikev1-bug-12610.pcapng.gz"
    frames = _decrypt_capture(path, key, hash_id=4, cipher_id=7)
    assert {frame: d.hash_payload.hex() for frame, d in frames.items() if d.hash_payload} == HASHES_12610
    # The Informational (frame 8) sits between the two messages of transaction 248fb011.
    assert [frames[f].message_id for f in (7, 8, 9)] == [0x248FB011, 0x83E1EE0B, 0x248FB011]
    assert b"mpa" in frames[9].plaintext  # XAUTH user name and password
    assert frames[14].payload_types == [8, 1, 10, 5, 5]


HASHES_12620 = {  # tshark 4.0.17 -e isakmp.hash, encrypted frames 4..10
    4: "40043b640f4373250d5ac3a1fb63153cacab954cca6366021f4ab9d436265052",
    5: "0c72641428b98be581e5884e5aa2600453b398f015915df923ebeb087fcbbe0e",
    6: "fe0346f1565c0b199262d7471a7d0c527875b80d898266c462482a565e144bcd",
    7: "edca31722bdae71b7737d2b0560bb4cfe955ba218812ce1697043cdc91afce42",
    8: "8a5a4a6a75d3dc0e5d03d5fda85784298eaa3bba17daa92ba4b3a77ba23007be",
    9: "40fa5faa02734c8b34ac00f8b9486f2c7e0649ae710ac2aafbf93c7a5c77c5fa",
}


def test_aggressive_mode_with_clear_third_message_chains_from_the_phase1_iv(reference_dir: Path) -> None:
    key = _table_key(reference_dir, "29f6006212625def")
    path = reference_dir / "wireshark/captures/ikev1-bug-12620.pcapng.gz"
    frames = _decrypt_capture(path, key, hash_id=4, cipher_id=7)
    assert sorted(frames) == list(range(4, 11))
    assert {frame: frames[frame].hash_payload.hex() for frame in HASHES_12620} == HASHES_12620
    assert frames[4].payload_types == [8, 11]  # Informational: HASH, N(INITIAL-CONTACT)


def test_a_wrong_iv_garbles_the_first_block(reference_dir: Path) -> None:
    key = _table_key(reference_dir, "fafaeb49382a763c")
    message = _udp_payloads(reference_dir / "wireshark/captures/ikev1-certs.pcap")[4]
    plaintext = cbc_decrypt(5, key, bytes(8), message[28:])
    with pytest.raises(AssertionError):
        _payload_chain(message[16], plaintext)
