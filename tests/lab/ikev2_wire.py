"""Reading the IKEv2 lab captures with RFC 7296 alone (shared by the tests in tests/lab/): IKE messages
and ESP packets from the pcap, payload chains, prf/prf+, SK/SKF payload decryption and ESP decryption
with keys taken from the strongSwan logs (captures/lab/ikev2_keys.py). Not part of ikedecode."""

from __future__ import annotations

import hashlib
import hmac
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dpkt  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "captures" / "lab"))
from ikev2_keys import CharonLog, EspSa, IkeSa, parse_charon_log  # noqa: E402

# strongSwan 5.9.8's captures; the post-quantum ones (ikev2-pq-*: strongSwan 6, several key stages per IKE SA)
# are checked by test_ikev2_pq_key_files.py
CAPTURES = sorted(
    p for p in (PROJECT_ROOT / "captures").glob("ikev2-*.pcap") if not p.stem.startswith("ikev2-pq-")
)
KEYS = PROJECT_ROOT / "keys"
IDS = [path.stem for path in CAPTURES]
PLUTO_WEST = {"ikev2-libreswan"}  # west is libreswan's pluto: only east's charon log has keys
NO_CHILD = {"ikev2-no-proposal", "ikev2-auth-failed", "ikev2-ts-unacceptable"}

# RFC 7296 section 3.1 exchange types, section 3.2 payload types, RFC 7383 SKF
IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA = 34, 35, 36
PAYLOAD_SA, PAYLOAD_KE, PAYLOAD_NONCE, PAYLOAD_SK, PAYLOAD_SKF = 33, 34, 40, 46, 53
FLAG_INITIATOR, FLAG_RESPONSE = 0x08, 0x20
PROTOCOL_IKE = 1
PRF_HASHES = {
    "PRF_HMAC_SHA2_256": hashlib.sha256,
    "PRF_HMAC_SHA2_384": hashlib.sha384,
    "PRF_HMAC_SHA2_512": hashlib.sha512,
    "PRF_HMAC_SHA1": hashlib.sha1,
}
INTEGRITY = {
    "HMAC_SHA2_256_128": (hashlib.sha256, 16),
    "HMAC_SHA2_384_192": (hashlib.sha384, 24),
    "HMAC_SHA2_512_256": (hashlib.sha512, 32),
    "HMAC_SHA1_96": (hashlib.sha1, 12),
}
ESP_INTEGRITY = {
    "hmac-sha2-256-128": (hashlib.sha256, 16),
    "hmac-sha1-96": (hashlib.sha1, 12),
    "hmac-sha2-384-192": (hashlib.sha384, 24),
    "hmac-sha2-512-256": (hashlib.sha512, 32),
}


@dataclass
class Message:
    frame: int
    spi_i: bytes
    spi_r: bytes
    exchange: int
    flags: int
    message_id: int
    data: bytes  # the IKE message (non-ESP marker removed)

    @property
    def spis(self) -> tuple[str, str]:
        return self.spi_i.hex(), self.spi_r.hex()


def udp_payloads(pcap: Path) -> list[tuple[int, int, int, bytes]]:
    out = []
    with open(pcap, "rb") as handle:
        for number, (_timestamp, frame) in enumerate(dpkt.pcap.Reader(handle), start=1):
            ip = dpkt.ethernet.Ethernet(frame).data
            if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP):
                out.append((number, ip.data.sport, ip.data.dport, bytes(ip.data.data)))
    return out


def ike_messages(pcap: Path) -> list[Message]:
    messages = []
    for number, sport, dport, data in udp_payloads(pcap):
        if 4500 in (sport, dport):  # behind the NAT one side is 4xxxx, the other 4500
            if data[:4] != b"\0\0\0\0":
                continue  # ESP (RFC 3948) or keepalive
            data = data[4:]
        if len(data) < 28 or data[17] != 0x20:  # IKEv2 (major version 2)
            continue
        exchange, flags, message_id = data[18], data[19], struct.unpack("!I", data[20:24])[0]
        messages.append(Message(number, data[:8], data[8:16], exchange, flags, message_id, data))
    return messages


def esp_packets(pcap: Path) -> list[tuple[int, bytes]]:
    return [
        (number, data)
        for number, sport, dport, data in udp_payloads(pcap)
        if 4500 in (sport, dport)
        if len(data) > 8 and data[:4] != b"\0\0\0\0"
    ]


def payloads(first: int, data: bytes, offset: int) -> list[tuple[int, int, bytes]]:
    """(type, offset, body) of a payload chain (RFC 7296 section 3.2 generic header)."""
    out, kind = [], first
    while kind and offset + 4 <= len(data):
        next_kind, length = data[offset], struct.unpack("!H", data[offset + 2 : offset + 4])[0]
        out.append((kind, offset, data[offset + 4 : offset + length]))
        if kind in (PAYLOAD_SK, PAYLOAD_SKF):
            break  # the inner chain starts with next_kind, inside the encryption
        kind, offset = next_kind, offset + length
    return out


def prf(hash_function: Callable, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hash_function).digest()


def prf_plus(hash_function: Callable, key: bytes, seed: bytes, length: int) -> bytes:
    """RFC 7296 section 2.13: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)."""
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = prf(hash_function, key, block + seed + bytes([counter]))
        out += block
        counter += 1
    return out[:length]


def proposal_parts(ike: IkeSa) -> list[str]:
    return ike.proposal.removeprefix("IKE:").split("/")


def prf_of(ike: IkeSa) -> Callable:
    return next(PRF_HASHES[p] for p in proposal_parts(ike) if p in PRF_HASHES)


def split_sk(ike: IkeSa, stream: bytes) -> dict[str, bytes]:
    """SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr with the lengths the logged keys have."""
    out, offset = {}, 0
    for name in ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr"):
        size = len(ike.keys.get(name, b""))
        out[name], offset = stream[offset : offset + size], offset + size
    return out


def open_sk(ike: IkeSa, message: Message) -> tuple[int, bytes] | None:
    """Decrypt and authenticate the message's SK or SKF payload: (first inner payload type, plaintext)."""
    chain = payloads(message.data[16], message.data, 28)
    kind, offset, body = chain[-1]
    if kind not in (PAYLOAD_SK, PAYLOAD_SKF):
        return None
    inner_first = message.data[offset]
    header = 4 + (4 if kind == PAYLOAD_SKF else 0)  # SKF: fragment number and total (RFC 7383 2.5)
    body = message.data[offset + header : offset + 4 + len(body)]
    aad = message.data[: offset + header]
    sender = "i" if message.flags & FLAG_INITIATOR else "r"
    encryption_key, parts = ike.keys["sk_e" + sender], proposal_parts(ike)
    if any(p.startswith("AES_GCM_16") or p == "CHACHA20_POLY1305" for p in parts):
        key, salt, iv = encryption_key[:-4], encryption_key[-4:], body[:8]
        aead = ChaCha20Poly1305(key) if "CHACHA20_POLY1305" in parts else AESGCM(key)
        plain = aead.decrypt(salt + iv, body[8:], aad)  # RFC 5282 section 5.1 / RFC 7634 section 3: AAD
    else:
        hash_function, icv_length = next(INTEGRITY[p] for p in parts if p in INTEGRITY)
        icv = hmac.new(ike.keys["sk_a" + sender], message.data[:-icv_length], hash_function).digest()
        assert icv[:icv_length] == message.data[-icv_length:], f"frame {message.frame}: ICV"
        iv, ciphertext = body[:16], body[16:-icv_length]
        decryptor = Cipher(algorithms.AES(encryption_key), modes.CBC(iv)).decryptor()
        plain = decryptor.update(ciphertext) + decryptor.finalize()
    pad_length = plain[-1]
    return inner_first, plain[: -1 - pad_length]


def init_request(messages: list[Message], response: Message) -> Message:
    """The IKE_SA_INIT request an IKE_SA_INIT response answers: the last one of its SPIi before it
    (after a COOKIE or INVALID_KE_PAYLOAD restart, the retried one)."""
    return [
        m
        for m in messages
        if m.exchange == IKE_SA_INIT
        and not m.flags & FLAG_RESPONSE
        and m.spi_i == response.spi_i
        and m.frame < response.frame
    ][-1]


@dataclass
class Lab:
    name: str
    logs: dict[str, CharonLog]
    messages: list[Message]

    def ike_sas(self) -> dict[tuple[str, str], IkeSa]:
        return {spis: ike for log in self.logs.values() for spis, ike in log.by_spis().items()}


def load(capture: Path) -> Lab:
    sides = ("east",) if capture.stem in PLUTO_WEST else ("west", "east")
    logs = {side: parse_charon_log(KEYS / f"{capture.stem}.{side}.log.gz") for side in sides}
    return Lab(capture.stem, logs, ike_messages(capture))


def keyed_spis(lab: Lab) -> set[tuple[str, str]]:
    """The IKE SAs the capture has: SPI pairs of IKE_SA_INIT responses with a KE, and of SK messages."""
    out = set()
    for message in lab.messages:
        kinds = {kind for kind, _offset, _body in payloads(message.data[16], message.data, 28)}
        if message.exchange == IKE_SA_INIT and message.flags & FLAG_RESPONSE and PAYLOAD_KE in kinds:
            out.add(message.spis)
        elif kinds & {PAYLOAD_SK, PAYLOAD_SKF}:
            out.add(message.spis)
    return out


def inner_payloads(lab: Lab, message: Message) -> dict[int, list[bytes]]:
    ike = lab.ike_sas()[message.spis]
    opened = open_sk(ike, message)
    assert opened is not None
    first, plain = opened
    out: dict[int, list[bytes]] = {}
    for kind, _offset, body in payloads(first, plain, 0):
        out.setdefault(kind, []).append(body)
    return out


def open_esp(sa: EspSa, packet: bytes) -> bytes:
    if sa.encryption in ("aes-gcm-16", "chacha20-poly1305"):
        key, salt, iv = sa.encryption_key[:-4], sa.encryption_key[-4:], packet[8:16]
        aead = ChaCha20Poly1305(key) if sa.encryption == "chacha20-poly1305" else AESGCM(key)
        plain = aead.decrypt(salt + iv, packet[16:], packet[:8])  # AAD = SPI | sequence number
    else:
        hash_function, icv_length = ESP_INTEGRITY[sa.integrity]
        icv = hmac.new(sa.integrity_key, packet[:-icv_length], hash_function).digest()[:icv_length]
        assert icv == packet[-icv_length:], "ESP ICV"
        decryptor = Cipher(algorithms.AES(sa.encryption_key), modes.CBC(packet[8:24])).decryptor()
        plain = decryptor.update(packet[24:-icv_length]) + decryptor.finalize()
    pad_length, next_header = plain[-2], plain[-1]
    assert plain[-2 - pad_length : -2] == bytes(range(1, pad_length + 1)), "RFC 4303 2.4 padding"
    assert next_header == 4  # tunnel mode: IPv4 inside
    return plain[: -2 - pad_length]
