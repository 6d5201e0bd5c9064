"""The IKEv2 lab captures (captures/ikev2-*.pcap) against the strongSwan logs they were made with.

Independent of ikedecode: the logs are read with the lab's own helper (captures/lab/ikev2_keys.py) and
every claim is checked against the bytes on the wire with the RFC 7296 formulas, so a wrong or
mislabelled log parse or key file fails here before it can mislead the decoder's IKEv2 tests:
both peers logged the same SK_* for every IKE SA the capture has; SKEYSEED and SK_* follow from the
nonces on the wire and the logged g^ir (section 2.14), a rekeyed IKE SA's from the old SK_d and the
nonces inside the decrypted CREATE_CHILD_SA (section 2.18); every SK/SKF payload decrypts and
authenticates with the logged keys; child keys are prf+(SK_d, [g^ir] | Ni | Nr) (section 2.17) and
every ESP packet decrypts with them (RFC 4303, RFC 4106, RFC 7634).
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import struct
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dpkt  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "captures" / "lab"))
from ikev2_keys import CharonLog, EspSa, IkeSa, parse_charon_log  # noqa: E402

CAPTURES = sorted((PROJECT_ROOT / "captures").glob("ikev2-*.pcap"))
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


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_capture_has_both_logs_a_key_file_and_a_run_record(capture: Path) -> None:
    for side in ("west", "east"):
        if capture.stem in PLUTO_WEST and side == "west":  # libreswan's own log: no SK_*, kept for the record
            assert (KEYS / f"{capture.stem}.west.pluto.log.gz").is_file()
        else:
            assert (KEYS / f"{capture.stem}.{side}.log.gz").is_file()
    keys = tomllib.loads((KEYS / f"{capture.stem}.toml").read_text())
    assert set(keys) <= {"psk", "ike_sa"}
    run = PROJECT_ROOT / "captures" / "lab" / "runs" / capture.stem
    assert (run / "east.swanctl.conf").is_file() and (run / "verify.md").is_file()
    assert capture.stat().st_size < 200_000


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_both_logs_hold_every_sk_for_every_ike_sa_of_the_capture_and_agree(capture: Path) -> None:
    lab = load(capture)
    expected = keyed_spis(lab)
    if capture.stem == "ikev2-no-proposal":
        assert not expected and not any(log.ike_sas for log in lab.logs.values())
        return
    assert expected
    for side, log in lab.logs.items():
        by_spis = log.by_spis()
        assert expected <= set(by_spis), (side, expected - set(by_spis))
        for spis in expected:
            ike = by_spis[spis]
            hash_size = prf_of(ike)().digest_size
            assert len(ike.skeyseed) == len(ike.sk_d) == len(ike.sk_pi) == len(ike.sk_pr) == hash_size
            assert ike.sk_ei != ike.sk_er and len(ike.sk_ei) == len(ike.sk_er) >= 16
            assert ike.aead or (len(ike.sk_ai) == len(ike.sk_ar) >= 16 and ike.sk_ai != ike.sk_ar)
    if capture.stem in PLUTO_WEST:
        return
    west, east = lab.logs["west"].by_spis(), lab.logs["east"].by_spis()
    for spis in expected:
        assert west[spis].keys == east[spis].keys, spis


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_initial_ike_sa_keys_follow_rfc7296_from_wire_nonces_and_logged_g_ir(capture: Path) -> None:
    lab = load(capture)
    responses = [m for m in lab.messages if m.exchange == IKE_SA_INIT and m.flags & FLAG_RESPONSE]
    checked = 0
    for response in responses:
        ike = lab.ike_sas().get(response.spis)
        if ike is None:
            continue
        request = [
            m
            for m in lab.messages
            if m.exchange == IKE_SA_INIT
            and not m.flags & FLAG_RESPONSE
            and m.spi_i == response.spi_i
            and m.frame < response.frame
        ][-1]
        nonce_i = next(b for k, _o, b in payloads(request.data[16], request.data, 28) if k == PAYLOAD_NONCE)
        nonce_r = next(b for k, _o, b in payloads(response.data[16], response.data, 28) if k == PAYLOAD_NONCE)
        hash_function = prf_of(ike)
        # RFC 7296 section 2.14: SKEYSEED = prf(Ni | Nr, g^ir); SK_* = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
        skeyseed = prf(hash_function, nonce_i + nonce_r, ike.dh_secret)
        assert skeyseed == ike.skeyseed
        total = sum(len(v) for k, v in ike.keys.items() if k.startswith("sk_"))
        stream = prf_plus(hash_function, skeyseed, nonce_i + nonce_r + response.spi_i + response.spi_r, total)
        assert split_sk(ike, stream) == {k: v for k, v in ike.keys.items() if k.startswith("sk_")} | (
            {"sk_ai": b"", "sk_ar": b""} if ike.aead else {}
        )
        for child in (c for c in ike.children if c.exchange == IKE_AUTH_NAME):
            assert child.keys["seed"] == nonce_i + nonce_r  # RFC 7296 2.17: first child, no PFS
        checked += 1
    expected = {"ikev2-no-proposal": 0, "ikev2-libreswan": 3}.get(capture.stem, 1)
    assert checked == expected  # libreswan: pluto retried twice after failing to install the child


IKE_AUTH_NAME = "IKE_AUTH"


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_every_encrypted_message_decrypts_and_authenticates_with_the_logged_keys(capture: Path) -> None:
    lab = load(capture)
    ike_sas = lab.ike_sas()
    opened = 0
    for message in lab.messages:
        if message.spis not in ike_sas:
            continue
        result = open_sk(ike_sas[message.spis], message)
        if result is not None:
            first, plain = result
            assert first == 0 or payloads(first, plain, 0), f"frame {message.frame}"
            opened += 1
    assert opened == sum(1 for m in lab.messages if m.spis in ike_sas and m.exchange != IKE_SA_INIT)


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_rekeyed_ike_sa_keys_follow_rfc7296_2_18_from_the_old_sk_d(capture: Path) -> None:
    lab = load(capture)
    ike_sas = lab.ike_sas()
    exchanges = [m for m in lab.messages if m.exchange == CREATE_CHILD_SA and m.spis in ike_sas]
    rekeys = 0
    for request in (m for m in exchanges if not m.flags & FLAG_RESPONSE):
        response = next(
            m
            for m in exchanges
            if m.flags & FLAG_RESPONSE
            and m.message_id == request.message_id
            and m.spis == request.spis
            and m.frame > request.frame
            and bool(m.flags & FLAG_INITIATOR) != bool(request.flags & FLAG_INITIATOR)
        )
        asked, answered = inner_payloads(lab, request), inner_payloads(lab, response)
        sa_i, sa_r = asked[PAYLOAD_SA][0], answered[PAYLOAD_SA][0]
        if sa_i[5] != PROTOCOL_IKE:  # proposal's protocol ID: a child SA, not an IKE SA rekey
            continue
        new_spi_i, new_spi_r = sa_i[8 : 8 + sa_i[6]], sa_r[8 : 8 + sa_r[6]]
        new = ike_sas[(new_spi_i.hex(), new_spi_r.hex())]
        old = ike_sas[request.spis]
        nonces = asked[PAYLOAD_NONCE][0] + answered[PAYLOAD_NONCE][0]
        hash_function = prf_of(new)
        # RFC 7296 section 2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
        skeyseed = prf(hash_function, old.sk_d, new.dh_secret + nonces)
        assert skeyseed == new.skeyseed
        total = sum(len(v) for k, v in new.keys.items() if k.startswith("sk_"))
        stream = prf_plus(hash_function, skeyseed, nonces + new_spi_i + new_spi_r, total)
        assert split_sk(new, stream) == {k: v for k, v in new.keys.items() if k.startswith("sk_")}
        for log in lab.logs.values():  # each log ties the new SA to the SA its CREATE_CHILD_SA ran on
            by_number = {ike.number: ike for ike in log.ike_sas}
            logged = log.by_spis()[(new_spi_i.hex(), new_spi_r.hex())]
            assert logged.rekeyed_from is not None
            assert (
                by_number[logged.rekeyed_from].spi_i,
                by_number[logged.rekeyed_from].spi_r,
            ) == request.spis
        rekeys += 1
    assert rekeys == (2 if capture.stem == "ikev2-ike-rekey" else 0)


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_child_keys_are_prf_plus_of_sk_d_over_the_logged_seed(capture: Path) -> None:
    lab = load(capture)
    children = 0
    for log in lab.logs.values():
        for ike in log.ike_sas:
            for child in ike.children:
                sizes = [
                    len(child.keys.get(k, b""))
                    for k in ("encryption_i", "integrity_i", "encryption_r", "integrity_r")
                ]
                stream = prf_plus(prf_of(ike), ike.sk_d, child.keys["seed"], sum(sizes))
                # RFC 7296 section 2.17: initiator-to-responder keys first, encryption before integrity
                expected, offset = [], 0
                for size in sizes:
                    expected.append(stream[offset : offset + size])
                    offset += size
                assert expected == [
                    child.keys.get(k, b"")
                    for k in ("encryption_i", "integrity_i", "encryption_r", "integrity_r")
                ]
                if child.dh_secret:  # PFS: KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)
                    assert child.exchange == "CREATE_CHILD_SA"
                    assert child.keys["seed"].startswith(child.dh_secret)
                children += 1
    has_child = capture.stem not in NO_CHILD
    assert bool(children) == has_child


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


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_every_esp_packet_decrypts_with_the_logged_child_keys(capture: Path) -> None:
    lab = load(capture)
    by_spi = {sa.spi: sa for log in lab.logs.values() for sa in log.esp_sas()}
    packets = esp_packets(capture)
    for number, packet in packets:
        inner = open_esp(by_spi[packet[:4].hex()], packet)
        assert inner[9] == 1, f"frame {number}: ICMP inside"
        assert socket.inet_ntoa(inner[12:16]).startswith("10.") and socket.inet_ntoa(inner[16:20]).startswith(
            "10."
        )
    has_esp = capture.stem not in NO_CHILD | PLUTO_WEST
    assert (len(packets) >= 16) == has_esp


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_key_file_holds_the_logged_g_ir_by_spis_and_the_psks(capture: Path) -> None:
    lab = load(capture)
    keys = tomllib.loads((KEYS / f"{capture.stem}.toml").read_text())
    entries = {
        (e["initiator_cookie"], e["responder_cookie"]): bytes.fromhex(e["dh_secret"])
        for e in keys.get("ike_sa", [])
    }
    assert entries == {spis: ike.dh_secret for spis, ike in lab.ike_sas().items()}
    run = PROJECT_ROOT / "captures" / "lab" / "runs" / capture.stem
    configs = "".join(p.read_text() for p in sorted(run.glob("*.conf")))
    if "auth = psk" in configs:
        assert keys["psk"] and all(
            f'"{p["secret"]}"'
            in configs
            + (PROJECT_ROOT / "captures" / "lab" / "runs" / capture.stem / "east.swanctl.conf").read_text()
            for p in keys["psk"]
        )
