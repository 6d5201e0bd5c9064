"""Smoke test of the lab's key files (keys/<capture>.toml) against their captures (captures/<capture>.pcap).

Independent of ikedecode: it re-derives what the key files claim with the RFC formulas and checks the
result against the bytes on the wire, so a wrong or mislabelled key file fails here before it can
mislead the decoder's own tests.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import re
import socket
import struct
import tomllib
from pathlib import Path

import dpkt
import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# IKEv1 lab captures; the IKEv2 ones (ikev2-*) are checked by test_ikev2_key_files.py
KEY_FILES = sorted(p for p in (PROJECT_ROOT / "keys").glob("*.toml") if not p.name.startswith("ikev2-"))
CAPTURES = sorted(p for p in (PROJECT_ROOT / "captures").glob("*.pcap") if not p.name.startswith("ikev2-"))
assert len(KEY_FILES) > 20 and len(CAPTURES) > 20, "keys/ and captures/ ship with the project"

# SAs of the lab that carry no ESP, by key file: the rest of each file's SAs must carry some
SAS_WITHOUT_TRAFFIC = {
    # libipsec refused to install the transport-mode SAs
    "qm-transport-refused": {"0x0fae83e2", "0x46a4c5a2"},
    # the crossing quick modes' duplicate SAs and the second rekey's, replaced before any traffic
    "esp-rekey-simultaneous": {
        "0x47f1f138",
        "0x5b725897",
        "0x541a09c3",
        "0x91f0cf4d",
        "0xd2385988",
        "0xdca3421b",
    },
}

TABLE_FIELDS = {
    "psk": {"secret", "peer"},
    "ike_sa": {
        "initiator_cookie",
        "responder_cookie",
        "dh_secret",
        "skeyid",
        "skeyid_d",
        "skeyid_a",
        "skeyid_e",
        "encryption_key",
        "initial_iv",
    },
    "quick_mode": {"initiator_cookie", "message_id", "dh_secret"},
    "ipsec_sa": {
        "protocol",
        "spi",
        "src",
        "dst",
        "mode",
        "encryption",
        "encryption_key",
        "integrity",
        "integrity_key",
    },
}
HEX_FIELDS = {
    "dh_secret",
    "skeyid",
    "skeyid_d",
    "skeyid_a",
    "skeyid_e",
    "encryption_key",
    "initial_iv",
    "integrity_key",
    "initiator_cookie",
    "responder_cookie",
}
ENCRYPTIONS = {
    "null",
    "des-cbc",
    "3des-cbc",
    "aes-cbc",
    "aes-ctr",
    "aes-gcm-8",
    "aes-gcm-12",
    "aes-gcm-16",
    "chacha20-poly1305",
}
INTEGRITIES = {
    "null",
    "hmac-md5-96",
    "hmac-sha1-96",
    "hmac-sha2-256-128",
    "hmac-sha2-384-192",
    "hmac-sha2-512-256",
    "aes-xcbc-mac-96",
}
# PRF of the phase-1 SA, told apart by the length of SKEYID (RFC 2409: prf = HMAC of the negotiated hash)
HASH_BY_LENGTH = {
    16: hashlib.md5,
    20: hashlib.sha1,
    32: hashlib.sha256,
    48: hashlib.sha384,
    64: hashlib.sha512,
}
# ESP integrity: (hash, ICV length) per RFC 2403/2404/4868
ESP_INTEGRITY = {
    "hmac-md5-96": (hashlib.md5, 12),
    "hmac-sha1-96": (hashlib.sha1, 12),
    "hmac-sha2-256-128": (hashlib.sha256, 16),
    "hmac-sha2-384-192": (hashlib.sha384, 24),
    "hmac-sha2-512-256": (hashlib.sha512, 32),
}
ISAKMP_NONCE, ISAKMP_KE, ISAKMP_FRAGMENT = 10, 4, 132
NON_ESP_MARKER = b"\0\0\0\0"  # RFC 3948 section 2.2


def load(key_file: Path) -> dict:
    return tomllib.loads(key_file.read_text())


def capture_of(key_file: Path) -> Path:
    return PROJECT_ROOT / "captures" / (key_file.stem + ".pcap")


def udp_payloads(pcap: Path) -> list[tuple[str, str, int, int, bytes]]:
    """(src, dst, sport, dport, payload) of every UDP datagram in an Ethernet pcap."""
    datagrams = []
    with open(pcap, "rb") as handle:
        for _timestamp, frame in dpkt.pcap.Reader(handle):
            ip = dpkt.ethernet.Ethernet(frame).data
            if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP):
                udp = ip.data
                datagrams.append(
                    (
                        socket.inet_ntoa(ip.src),
                        socket.inet_ntoa(ip.dst),
                        udp.sport,
                        udp.dport,
                        bytes(udp.data),
                    )
                )
    return datagrams


def plaintext_isakmp_payloads(pcap: Path, initiator_cookie: bytes) -> list[tuple[int, bytes]]:
    """(payload type, body) of every unencrypted ISAKMP message of one IKE SA, in capture order."""
    found, fragments = [], {}
    for _src, _dst, sport, dport, data in udp_payloads(pcap):
        if 4500 in (sport, dport):
            if not data.startswith(NON_ESP_MARKER):
                continue
            data = data[4:]
        if len(data) >= 36 and data[16] == ISAKMP_FRAGMENT and data[:8] == initiator_cookie:
            # IKE fragmentation (Cisco/strongSwan format, used where a CERT makes AM2/MM5 large): fragment
            # payload = generic header | fragment ID (2) | number (1) | flags (1, bit 0: last) | data
            parts = fragments.setdefault(data[28 + 4 : 28 + 6], {})
            parts[data[28 + 6]] = data[28 + 8 : 28 + struct.unpack(">H", data[30:32])[0]]
            if not data[28 + 7] & 1:
                continue
            data = b"".join(parts[n] for n in sorted(parts))
        if len(data) < 28 or data[:8] != initiator_cookie or data[19] & 1:  # flags bit 0: encrypted
            continue
        next_type, offset = data[16], 28
        length = min(struct.unpack(">I", data[24:28])[0], len(data))
        while next_type and offset + 4 <= length:
            payload_length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
            if payload_length < 4:
                break
            found.append((next_type, data[offset + 4 : offset + payload_length]))
            next_type, offset = data[offset], offset + payload_length
    return found


def prf(key: bytes, data: bytes, hash_function) -> bytes:
    return hmac.new(key, data, hash_function).digest()


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda path: path.stem)
def test_every_capture_has_key_file_and_daemon_log(capture: Path) -> None:
    keys = PROJECT_ROOT / "keys"
    assert (keys / f"{capture.stem}.toml").is_file()
    logs = [
        path for path in keys.glob(f"{capture.stem}.*.log*") if re.search(r"\.(west|east)\.log", path.name)
    ]
    assert logs, f"no charon log kept for {capture.stem}"


@pytest.mark.parametrize("key_file", KEY_FILES, ids=lambda path: path.stem)
def test_key_file_uses_only_documented_tables_and_fields(key_file: Path) -> None:
    keys = load(key_file)
    config = PROJECT_ROOT / "captures" / "lab" / "runs" / key_file.stem / "west.swanctl.conf"
    certificates = config.is_file() and "auth = pubkey" in config.read_text()
    assert bool(keys.get("psk")) is not certificates, "a PSK exactly where the peers used one"
    for table, entries in keys.items():
        assert table in TABLE_FIELDS
        for entry in entries:
            assert set(entry) <= TABLE_FIELDS[table], set(entry) - TABLE_FIELDS[table]
            for name in set(entry) & HEX_FIELDS:
                assert re.fullmatch(r"([0-9a-f]{2})*", entry[name]), (name, entry[name])
    for ike in keys.get("ike_sa", []):
        assert len(ike["initiator_cookie"]) == 16 and len(ike["responder_cookie"]) == 16
    for quick_mode in keys.get("quick_mode", []):
        assert re.fullmatch(r"0x[0-9a-f]{8}", quick_mode["message_id"])
    for sa in keys.get("ipsec_sa", []):
        assert re.fullmatch(r"0x[0-9a-f]{8}", sa["spi"])
        assert sa["protocol"] == "esp" and sa["mode"] in ("tunnel", "transport")
        assert sa["encryption"] in ENCRYPTIONS and sa["integrity"] in INTEGRITIES
        socket.inet_aton(sa["src"]), socket.inet_aton(sa["dst"])


@pytest.mark.parametrize("key_file", KEY_FILES, ids=lambda path: path.stem)
def test_phase1_keys_follow_rfc2409_from_psk_nonces_and_dh_secret(key_file: Path) -> None:
    keys = load(key_file)
    secrets = [psk["secret"].encode() for psk in keys.get("psk", [])]
    for ike in keys.get("ike_sa", []):
        hash_function = HASH_BY_LENGTH[len(bytes.fromhex(ike["skeyid"]))]
        payloads = plaintext_isakmp_payloads(capture_of(key_file), bytes.fromhex(ike["initiator_cookie"]))
        nonces = [body for kind, body in payloads if kind == ISAKMP_NONCE]
        key_exchanges = [body for kind, body in payloads if kind == ISAKMP_KE]
        assert len(nonces) >= 2 and len(key_exchanges) >= 2
        skeyid = bytes.fromhex(ike["skeyid"])
        g_xy = bytes.fromhex(ike["dh_secret"])
        if secrets:
            # RFC 2409 section 5: SKEYID = prf(pre-shared-key, Ni_b | Nr_b) for pre-shared key authentication
            assert skeyid in [prf(secret, nonces[0] + nonces[1], hash_function) for secret in secrets]
        else:  # signatures (mm-rsa-sig): SKEYID = prf(Ni_b | Nr_b, g^xy)
            assert skeyid == prf(nonces[0] + nonces[1], g_xy, hash_function)
        cookies = bytes.fromhex(ike["initiator_cookie"] + ike["responder_cookie"])
        skeyid_d = prf(skeyid, g_xy + cookies + b"\0", hash_function)
        skeyid_a = prf(skeyid, skeyid_d + g_xy + cookies + b"\1", hash_function)
        skeyid_e = prf(skeyid, skeyid_a + g_xy + cookies + b"\2", hash_function)
        assert (skeyid_d.hex(), skeyid_a.hex(), skeyid_e.hex()) == (
            ike["skeyid_d"],
            ike["skeyid_a"],
            ike["skeyid_e"],
        )
        # RFC 2409 appendix B: Ka = K1 | K2 | ... with K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1)
        encryption_key = bytes.fromhex(ike["encryption_key"])
        expanded = skeyid_e
        if len(encryption_key) > len(skeyid_e):
            block = prf(skeyid_e, b"\0", hash_function)
            expanded = block
            while len(expanded) < len(encryption_key):
                block = prf(skeyid_e, block, hash_function)
                expanded += block
        assert expanded[: len(encryption_key)] == encryption_key
        # RFC 2409 appendix B: phase-1 IV = hash(g^xi | g^xr), cut to the cipher's block size
        initial_iv = bytes.fromhex(ike["initial_iv"])
        assert hash_function(key_exchanges[0] + key_exchanges[1]).digest()[: len(initial_iv)] == initial_iv


def esp_packets(pcap: Path, sa: dict) -> list[bytes]:
    spi = bytes.fromhex(sa["spi"][2:])
    return [
        data
        for src, dst, sport, dport, data in udp_payloads(pcap)
        if 4500 in (sport, dport) and src == sa["src"] and dst == sa["dst"] and data[:4] == spi
    ]


def open_esp(sa: dict, packet: bytes) -> bytes:
    """Check the ICV and decrypt one ESP packet (RFC 4303); returns the payload without the trailer."""
    encryption_key = bytes.fromhex(sa["encryption_key"])
    if sa["encryption"].startswith("aes-gcm-"):
        icv_length = int(sa["encryption"].rsplit("-", 1)[1])
        key, salt = encryption_key[:-4], encryption_key[-4:]  # RFC 4106 section 8.1: key | 4-byte salt
        iv, body = packet[8:16], packet[16:]
        if icv_length == 16:
            plain = AESGCM(key).decrypt(salt + iv, body, packet[:8])  # AAD = SPI | sequence (RFC 4106 5)
        else:  # an 8- or 12-byte ICV (RFC 4106 6): AESGCM checks 16-byte tags only
            tag = body[-icv_length:]
            mode = modes.GCM(salt + iv, tag, min_tag_length=icv_length)
            decryptor = Cipher(algorithms.AES(key), mode).decryptor()
            decryptor.authenticate_additional_data(packet[:8])
            plain = decryptor.update(body[:-icv_length]) + decryptor.finalize()
    else:
        hash_function, icv_length = ESP_INTEGRITY[sa["integrity"]]
        mac = hmac.new(bytes.fromhex(sa["integrity_key"]), packet[:-icv_length], hash_function).digest()
        assert mac[:icv_length] == packet[-icv_length:], "ICV mismatch"
        block = 8 if sa["encryption"] == "3des-cbc" else 16
        algorithm = TripleDES(encryption_key) if block == 8 else algorithms.AES(encryption_key)
        iv, body = packet[8 : 8 + block], packet[8 + block : -icv_length]
        decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
        plain = decryptor.update(body) + decryptor.finalize()
    pad_length, next_header = plain[-2], plain[-1]
    assert plain[-2 - pad_length : -2] == bytes(range(1, pad_length + 1)), "RFC 4303 2.4 padding"
    assert next_header == 4, "tunnel mode carries IPv4 (next header 4)"
    return plain[: -2 - pad_length]


@pytest.mark.parametrize("key_file", KEY_FILES, ids=lambda path: path.stem)
def test_esp_keys_decrypt_the_captured_packets_of_their_sa(key_file: Path) -> None:
    keys = load(key_file)
    capture = capture_of(key_file)
    silent = SAS_WITHOUT_TRAFFIC.get(key_file.stem, set())
    for sa in keys.get("ipsec_sa", []):
        packets = esp_packets(capture, sa)
        if sa["spi"] in silent:
            assert packets == [], f"{sa['spi']} carries ESP: take it out of SAS_WITHOUT_TRAFFIC"
            continue
        assert packets, f"no ESP of SA {sa['spi']} in {capture.name}"
        for packet in packets:
            inner = dpkt.ip.IP(open_esp(sa, packet))
            assert socket.inet_ntoa(inner.src).startswith("10.") and isinstance(inner.data, dpkt.icmp.ICMP)


def test_lab_covers_issue_scenarios_with_esp_traffic() -> None:
    """The scenario groups A-C promised in captures/README.md are present and carry decryptable ESP."""
    expected = {
        "mm-3des-md5-modp1024",
        "mm-aes128-sha1-modp2048",
        "mm-aes256-sha256-modp2048",
        "am-aes128-sha1-modp2048",
        "qm-pfs-modp2048",
        "mm-delete",
        "esp-aes128gcm16",
        "esp-rekey-delete",
        "case-3des-sha1-modp768",
    }
    present = {path.stem for path in KEY_FILES}
    assert expected <= present
    for name in expected:
        keys = load(PROJECT_ROOT / "keys" / f"{name}.toml")
        capture = capture_of(PROJECT_ROOT / "keys" / f"{name}.toml")
        with_traffic = [sa for sa in keys["ipsec_sa"] if esp_packets(capture, sa)]
        assert len(with_traffic) >= 2, name


def log_dumps(log: Path) -> list[tuple[str, bytes]]:
    """(label, bytes) of every ``label => N bytes @ addr`` hex dump in a charon log, in order."""
    dumps: list[tuple[str, bytes]] = []
    current: dict[str, tuple[str, int, bytearray]] = {}  # thread -> open dump
    header = re.compile(r"^\S+ \S+ (\d+)\[\w+\] (?:<[^>]*> )?(\w[\w ()]*?) => (\d+) bytes @")
    row = re.compile(r"^\S+ \S+ (\d+)\[\w+\] (?:<[^>]*> )?\s+\d+: ((?:[0-9A-F]{2} )+)")
    with gzip.open(log, "rt") as handle:
        for line in handle:
            if match := row.match(line):
                if match[1] in current:
                    current[match[1]][2].extend(bytes.fromhex(match[2]))
                continue
            thread = line.split(" ", 3)[2].split("[")[0] if line.count(" ") >= 3 else ""
            if thread in current:
                label, length, data = current.pop(thread)
                if len(data) == length:
                    dumps.append((label, bytes(data)))
            if match := header.match(line):
                current[match[1]] = (match[2], int(match[3]), bytearray())
    return dumps


@pytest.mark.parametrize(
    "name", ["mm-3des-md5-modp1024", "mm-aes256-sha256-modp2048", "esp-aes128gcm16", "qm-pfs-modp2048"]
)
def test_keymat_is_split_encryption_key_first_then_integrity_key(name: str) -> None:
    """RFC 2409 5.5: KEYMAT = K1 | K2 | ..., K1 = prf(SKEYID_d, seed), Kn = prf(SKEYID_d, Kn-1 | seed);
    strongSwan takes the encryption key (with the GCM salt) from its start and the integrity key after it."""
    keys = load(PROJECT_ROOT / "keys" / f"{name}.toml")
    (ike,) = keys["ike_sa"]
    skeyid_d = bytes.fromhex(ike["skeyid_d"])
    hash_function = HASH_BY_LENGTH[len(skeyid_d)]
    dumps = dict(log_dumps(PROJECT_ROOT / "keys" / f"{name}.west.log.gz"))
    checked = 0
    for role in ("initiator", "responder"):
        seed = dumps[f"{role} SA seed"]
        encryption_key = dumps[f"encryption {role} key"]
        integrity_key = dumps.get(f"integrity {role} key", b"")
        keymat = block = prf(skeyid_d, seed, hash_function)
        while len(keymat) < len(encryption_key) + len(integrity_key):
            block = prf(skeyid_d, block + seed, hash_function)
            keymat += block
        assert keymat[: len(encryption_key)] == encryption_key
        assert keymat[len(encryption_key) : len(encryption_key) + len(integrity_key)] == integrity_key
        # and the key file carries those keys for the SA whose SPI is in the seed: [g(qm)^xy |] 3 | SPI | ...
        (quick_mode,) = keys["quick_mode"]
        offset = len(bytes.fromhex(quick_mode.get("dh_secret", "")))
        assert seed[offset] == 3  # PROTO_IPSEC_ESP
        sa = next(sa for sa in keys["ipsec_sa"] if sa["spi"] == "0x" + seed[offset + 1 : offset + 5].hex())
        assert (sa["encryption_key"], sa["integrity_key"]) == (encryption_key.hex(), integrity_key.hex())
        checked += 1
    assert checked == 2


def test_responder_informational_before_phase1_completes_uses_initial_iv() -> None:
    """fail-psk-mismatch: east could not decrypt MM5, so its phase-1 IV chain never advanced; the IV of
    each encrypted informational it sends is hash(initial phase-1 IV | message ID) (RFC 2409 appendix B
    with the initial IV as the "last phase-1 block"), not derived from MM5's last ciphertext block."""
    keys = load(PROJECT_ROOT / "keys" / "fail-psk-mismatch.toml")
    initial_iv = bytes.fromhex(keys["ike_sa"][1]["initial_iv"])
    east_ivs = [
        (int(label.rsplit(" ", 1)[1]), data)
        for label, data in log_dumps(PROJECT_ROOT / "keys" / "fail-psk-mismatch.east.log.gz")
        if label.startswith("next IV for MID ") and not label.endswith(" 0")
    ]
    assert len(east_ivs) >= 3  # one N(PAYLOAD-MALFORMED) per copy of MM5
    for message_id, iv in east_ivs:
        assert hashlib.sha1(initial_iv + struct.pack(">I", message_id)).digest()[:16] == iv
