"""Deterministic IKEv2 capture generator for benchmarks: many complete IKE_SA_INIT + IKE_AUTH SAs.

    python bench/ikev2_capture_gen.py OUT_DIR [--sas 10000] [--group 14] [--concurrent 1] [--jobs N]

Every IKE SA is a complete, real-format IKEv2 negotiation (RFC 7296) between documentation
addresses (192.0.2.x initiators, 198.51.100.x responders, UDP 500): IKE_SA_INIT (SA, KE, Nonce)
with AES-CBC-128 / PRF-HMAC-SHA2-256 / HMAC-SHA2-256-128 and the chosen DH group, then IKE_AUTH
(SK: IDi/IDr, AUTH with the preshared key, SA, TSi, TSr) making one ESP Child SA (AES-CBC-128 /
HMAC-SHA2-256-128), optionally followed by ESP packets each way. Each SA has its own SPIs, nonces,
ESP SPIs and DH key pair, derived from the SA's index (SHA-256 of a label): two runs give the
same bytes, whatever ``--jobs``.

Keys and AUTH come from ikedecode's IKEv2 key schedule (``ike.v2.keymat``, ``ike.v2.auth``,
``ike.dh``); the wire format and the SK payload's *encryption* are written here (ikedecode only
decrypts): the inner payloads padded to the block, AES-CBC under SK_e with a fresh IV, then the
ICV (HMAC-SHA2-256-128 under SK_a) over the message up to the end of the ciphertext (3.14).

Next to the capture (docs/keys.md formats): ``NAME.psk``; ``NAME.dh-secret.toml``, one
``[[ike_sa]]`` per SA with its SPIs and g^ir (as keys/ikev2-*.toml); ``NAME.dh-private.toml``, one
``[[dh_private]]`` per SA (the initiator's private value for even SAs, the responder's for odd).
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from esp_capture_gen import derive, write_pcap  # noqa: E402
from ike_capture_gen import (  # noqa: E402  (the same IPv4/UDP, ESP and payload-chain builders, settings, CLI)
    MESSAGE_GAP_US,
    GeneratedCapture,
    Settings,
    addresses,
    esp_packets,
    frames_in_time_order,
    generator_cli,
    payload_chain,
    private_value,
    udp_ipv4,
)

from ikedecode.esp.sa import IpsecSa  # noqa: E402
from ikedecode.ike import dh  # noqa: E402
from ikedecode.ike.v2 import auth, keymat  # noqa: E402
from ikedecode.ike.v2.prf import integrity_checksum  # noqa: E402

PSK = b"ikedecode-bench-psk-ikev2"
# RFC 7296 3.1 exchange types and flags, 3.2 payload types (the IANA IKEv2 registry's numbers)
IKE_SA_INIT, IKE_AUTH = 34, 35
FLAG_INITIATOR, FLAG_RESPONSE = 0x08, 0x20
VERSION_2 = 0x20
PT_SA, PT_KE, PT_IDI, PT_IDR, PT_AUTH, PT_NONCE, PT_TSI, PT_TSR, PT_SK = 33, 34, 35, 36, 39, 40, 44, 45, 46
PROTOCOL_IKE, PROTOCOL_ESP = 1, 3
TRANSFORM_ENCR, TRANSFORM_PRF, TRANSFORM_INTEG, TRANSFORM_KE, TRANSFORM_ESN = 1, 2, 3, 4, 5
ENCR_AES_CBC, PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128 = 12, 5, 12
KEY_LENGTH_ATTRIBUTE = 14
AES_KEY_BITS = 128
ID_IPV4_ADDR = 1
AUTH_SHARED_KEY_MIC = 2
TS_IPV4_ADDR_RANGE = 7
NONCE_LENGTH = 32
AES_BLOCK, ICV_SIZE, INTEG_KEY_SIZE = 16, 16, 32


# --- wire format (RFC 7296 section 3) ---------------------------------------------------------


def ike_header(
    spis: tuple[bytes, bytes], first: int, exchange: int, flags: int, message_id: int, length: int
) -> bytes:
    return spis[0] + spis[1] + struct.pack("!BBBBII", first, VERSION_2, exchange, flags, message_id, length)


def transform(kind: int, transform_id: int, key_bits: int | None = None, last: bool = False) -> bytes:
    """Transform substructure (3.3.2), with a Key Length attribute (TV form, 3.3.5) if given."""
    attributes = struct.pack("!HH", 0x8000 | KEY_LENGTH_ATTRIBUTE, key_bits) if key_bits else b""
    return (
        struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attributes), kind, 0, transform_id) + attributes
    )


def sa_body(protocol: int, spi: bytes, transforms: list[bytes]) -> bytes:
    """SA payload body: one proposal (3.3.1), number 1."""
    body = b"".join(transforms)
    return (
        struct.pack("!BBHBBBB", 0, 0, 8 + len(spi) + len(body), 1, protocol, len(spi), len(transforms))
        + spi
        + body
    )


def ike_sa_body(group_id: int) -> bytes:
    return sa_body(
        PROTOCOL_IKE,
        b"",
        [
            transform(TRANSFORM_ENCR, ENCR_AES_CBC, AES_KEY_BITS),
            transform(TRANSFORM_PRF, PRF_HMAC_SHA2_256),
            transform(TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128),
            transform(TRANSFORM_KE, group_id, last=True),
        ],
    )


def esp_sa_body(spi: bytes) -> bytes:
    return sa_body(
        PROTOCOL_ESP,
        spi,
        [
            transform(TRANSFORM_ENCR, ENCR_AES_CBC, AES_KEY_BITS),
            transform(TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128),
            transform(TRANSFORM_ESN, 0, last=True),
        ],
    )


def ke_body(group_id: int, public: bytes) -> bytes:
    return struct.pack("!HH", group_id, 0) + public  # 3.4


def id_body(address: str) -> bytes:
    return struct.pack("!B3x", ID_IPV4_ADDR) + ipaddress.IPv4Address(address).packed  # 3.5


def ts_body(network: str) -> bytes:
    """One IPv4 address range selector, any protocol and port (3.13.1)."""
    net = ipaddress.IPv4Network(network)
    selector = struct.pack("!BBHHH", TS_IPV4_ADDR_RANGE, 0, 16, 0, 65535)
    selector += net.network_address.packed + net.broadcast_address.packed
    return struct.pack("!B3x", 1) + selector


def clear_message(spis: tuple[bytes, bytes], flags: int, payloads: list[tuple[int, bytes]]) -> bytes:
    first, body = payload_chain(payloads)
    return ike_header(spis, first, IKE_SA_INIT, flags, 0, 28 + len(body)) + body


def encrypted_message(
    spis: tuple[bytes, bytes],
    exchange: int,
    flags: int,
    message_id: int,
    payloads: list[tuple[int, bytes]],
    sk_e: bytes,
    sk_a: bytes,
    iv: bytes,
) -> bytes:
    """A message whose only payload is SK (3.14): IV | AES-CBC(inner | padding | pad length) | ICV."""
    first, inner = payload_chain(payloads)
    padding = -(len(inner) + 1) % AES_BLOCK
    plaintext = inner + bytes(padding) + bytes([padding])
    ciphertext = Cipher(algorithms.AES(sk_e), modes.CBC(iv)).encryptor().update(plaintext)
    sk_length = 4 + len(iv) + len(ciphertext) + ICV_SIZE
    signed = (
        ike_header(spis, PT_SK, exchange, flags, message_id, 28 + sk_length)
        + struct.pack("!BBH", first, 0, sk_length)
        + iv
        + ciphertext
    )
    return signed + integrity_checksum(AUTH_HMAC_SHA2_256_128, sk_a, signed)


# --- one negotiation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ikev2Negotiation:
    """One generated IKE SA: what decodes it, its keys for tests, its frames (µs, by initiator, IP)."""

    index: int
    initiator: str
    responder: str
    spi_i: bytes
    spi_r: bytes
    group: int
    dh_private: bytes  # the initiator's for even indices, the responder's for odd ones
    dh_private_side: str
    g_ir: bytes
    keys: keymat.Ikev2Keys
    frames: tuple[tuple[int, bool, bytes], ...]


def negotiate(
    index: int, group_id: int = 14, exponent_bits: int | None = None, esp_packets: int = 0
) -> Ikev2Negotiation:
    """IKE SA ``index``: IKE_SA_INIT, IKE_AUTH (one Child SA) and ``esp_packets`` ESP each way."""
    label = f"ikev2-bench/{index}"
    initiator, responder = addresses(index)
    spis = (derive(f"{label}/spi-i", 8), derive(f"{label}/spi-r", 8))
    x_i = private_value(group_id, f"{label}/group{group_id}/xi", exponent_bits)
    x_r = private_value(group_id, f"{label}/group{group_id}/xr", exponent_bits)
    g_xi, g_xr = dh.public_value(group_id, x_i), dh.public_value(group_id, x_r)
    g_ir = dh.shared_secret(group_id, x_i, g_xr)
    ni, nr = derive(f"{label}/ni", NONCE_LENGTH), derive(f"{label}/nr", NONCE_LENGTH)
    sa_i = ike_sa_body(group_id)

    init_request = clear_message(
        (spis[0], bytes(8)), FLAG_INITIATOR, [(PT_SA, sa_i), (PT_KE, ke_body(group_id, g_xi)), (PT_NONCE, ni)]
    )
    init_response = clear_message(
        spis, FLAG_RESPONSE, [(PT_SA, sa_i), (PT_KE, ke_body(group_id, g_xr)), (PT_NONCE, nr)]
    )
    keys = keymat.derive_ike_sa_keys(
        g_ir, ni, nr, *spis,
        prf_id=PRF_HMAC_SHA2_256, encr_id=ENCR_AES_CBC, encr_key_bits=AES_KEY_BITS,
        integ_id=AUTH_HMAC_SHA2_256_128,
    )  # fmt: skip

    # IKE_AUTH (2.15): AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <real message> | peer nonce | prf(SK_p, ID))
    idi, idr = id_body(initiator), id_body(responder)
    octets_i = auth.signed_octets(PRF_HMAC_SHA2_256, keys.sk_pi, init_request, nr, idi)
    octets_r = auth.signed_octets(PRF_HMAC_SHA2_256, keys.sk_pr, init_response, ni, idr)
    auth_i = struct.pack("!B3x", AUTH_SHARED_KEY_MIC) + auth.psk_auth_data(PRF_HMAC_SHA2_256, PSK, octets_i)
    auth_r = struct.pack("!B3x", AUTH_SHARED_KEY_MIC) + auth.psk_auth_data(PRF_HMAC_SHA2_256, PSK, octets_r)
    esp_spi_i, esp_spi_r = derive(f"{label}/esp-spi-i", 4), derive(f"{label}/esp-spi-r", 4)
    ts_i, ts_r = ts_body(f"10.{(index >> 8) & 0xFF}.{index & 0xFF}.0/24"), ts_body("172.16.0.0/16")
    auth_request = encrypted_message(
        spis, IKE_AUTH, FLAG_INITIATOR, 1,
        [(PT_IDI, idi), (PT_AUTH, auth_i), (PT_SA, esp_sa_body(esp_spi_i)), (PT_TSI, ts_i), (PT_TSR, ts_r)],
        keys.sk_ei, keys.sk_ai, derive(f"{label}/iv-i", AES_BLOCK),
    )  # fmt: skip
    auth_response = encrypted_message(
        spis, IKE_AUTH, FLAG_RESPONSE, 1,
        [(PT_IDR, idr), (PT_AUTH, auth_r), (PT_SA, esp_sa_body(esp_spi_r)), (PT_TSI, ts_i), (PT_TSR, ts_r)],
        keys.sk_er, keys.sk_ar, derive(f"{label}/iv-r", AES_BLOCK),
    )  # fmt: skip
    messages = [(True, init_request), (False, init_response), (True, auth_request), (False, auth_response)]
    frames = [
        (n * MESSAGE_GAP_US, from_initiator, udp_ipv4(initiator, responder, from_initiator, message, n))
        for n, (from_initiator, message) in enumerate(messages)
    ]
    if esp_packets:
        child = keymat.child_sa_keys(
            PRF_HMAC_SHA2_256,
            keys.sk_d,
            ni,
            nr,
            encr_keymat_size=AES_KEY_BITS // 8,
            integ_key_size=INTEG_KEY_SIZE,
        )
        frames += _esp_frames(index, child, (esp_spi_i, esp_spi_r), (initiator, responder), esp_packets)
    side = "initiator" if index % 2 == 0 else "responder"
    return Ikev2Negotiation(
        index, initiator, responder, *spis, group_id,
        x_i if side == "initiator" else x_r, side, g_ir, keys, tuple(frames),
    )  # fmt: skip


def _esp_frames(
    index: int,
    child: keymat.ChildSaKeys,
    spis: tuple[bytes, bytes],
    peers: tuple[str, str],
    count: int,
) -> list[tuple[int, bool, bytes]]:
    """ESP tunnel packets both ways (2.17: initiator-to-responder keys first; the receiver's SPI)."""
    initiator, responder = peers
    spi_i, spi_r = spis
    out = []
    for from_initiator, spi, key, integrity in (
        (True, spi_r, child.encr_i, child.integ_i),
        (False, spi_i, child.encr_r, child.integ_r),
    ):
        src, dst = (initiator, responder) if from_initiator else (responder, initiator)
        sa = IpsecSa(
            "esp", int.from_bytes(spi, "big"), src, dst,
            encryption="aes-cbc", encryption_key=key, integrity="hmac-sha2-256-128", integrity_key=integrity,
            mode="tunnel",
        )  # fmt: skip
        out += esp_packets(sa, index, from_initiator, count, "ikev2-bench", first_slot=4)
    return sorted(out, key=lambda frame: frame[0])


# --- the capture ------------------------------------------------------------------------------


def _negotiate_with(settings: Settings, index: int) -> Ikev2Negotiation:
    return negotiate(index, settings.group, settings.exponent_bits, settings.esp_packets)


def negotiations(count: int, settings: Settings, jobs: int = 1, first: int = 0) -> Iterator[Ikev2Negotiation]:
    """Negotiations first..first+count-1 in order; ``jobs`` processes compute them (same output)."""
    indices = range(first, first + count)
    if jobs <= 1:
        for index in indices:
            yield _negotiate_with(settings, index)
        return
    from functools import partial

    with get_context("spawn").Pool(jobs) as pool:
        yield from pool.imap(partial(_negotiate_with, settings), indices, chunksize=32)


def capture_name(sas: int, settings: Settings, concurrent: int) -> str:
    bits = f"-x{settings.exponent_bits}" if settings.exponent_bits else ""
    esp = f"-esp{settings.esp_packets}" if settings.esp_packets else ""
    together = f"-c{concurrent}" if concurrent > 1 else ""
    return f"ikev2-{sas}sa-group{settings.group}{bits}{esp}{together}"


def write_capture(
    folder: Path, name: str, items: Iterable[Ikev2Negotiation], concurrent: int = 1
) -> GeneratedCapture:
    """Write ``items`` as one capture with its key files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    capture, psk_file = folder / f"{name}.pcap", folder / f"{name}.psk"
    privates, secrets = folder / f"{name}.dh-private.toml", folder / f"{name}.dh-secret.toml"
    psk_file.write_bytes(PSK + b"\n")
    header = f"# {capture.name}: IKEv2 SAs (bench/ikev2_capture_gen.py); initiator_cookie = SPIi\n"
    count = 0
    with capture.open("wb") as out, privates.open("w") as private_out, secrets.open("w") as secret_out:
        private_out.write(header)
        secret_out.write(header)

        def keyed(negotiations: Iterable[Ikev2Negotiation]) -> Iterator[Ikev2Negotiation]:
            nonlocal count
            for n in negotiations:
                count += 1
                private_out.write(
                    f"\n[[dh_private]]  # SA {n.index}, group {n.group}, {n.dh_private_side}\n"
                    f'value = "{n.dh_private.hex()}"\n'
                )
                secret_out.write(
                    f'\n[[ike_sa]]\ninitiator_cookie = "{n.spi_i.hex()}"\n'
                    f'responder_cookie = "{n.spi_r.hex()}"\ndh_secret = "{n.g_ir.hex()}"\n'
                )
                yield n

        # frames_in_time_order reads .frames only, which both versions' negotiations have
        frames = write_pcap(out, frames_in_time_order(keyed(items), concurrent))  # type: ignore[arg-type]
    for path in (psk_file, privates, secrets):
        path.chmod(0o600)
    return GeneratedCapture(capture, psk_file, privates, secrets, count, frames)


def generate(
    folder: Path, sas: int, settings: Settings | None = None, *, concurrent: int = 1, jobs: int = 1
) -> GeneratedCapture:
    """Write the capture and its key files into ``folder``; streams, whatever ``sas``."""
    settings = settings or Settings()
    name = capture_name(sas, settings, concurrent)
    return write_capture(folder, name, negotiations(sas, settings, jobs), concurrent)


def main(argv: list[str] | None = None) -> int:
    return generator_cli(__doc__.splitlines()[0], generate, argv)


if __name__ == "__main__":
    raise SystemExit(main())
