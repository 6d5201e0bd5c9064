"""Deterministic IKEv1 capture generator for benchmarks: many complete main + quick mode SAs.

    python bench/ike_capture_gen.py OUT_DIR [--sas 10000] [--group 14] [--concurrent 1] [--jobs N]

Every IKE SA is a complete, real-format IKEv1 negotiation between documentation addresses
(192.0.2.x initiators, 198.51.100.x responders, UDP 500): MM1..MM6 with AES-CBC-128 / SHA1 /
pre-shared key / the chosen DH group, then QM1..QM3 keying one ESP tunnel (AES-CBC-128 /
HMAC-SHA1-96), optionally followed by a few ESP packets per direction. Each SA has its own
cookies, nonces, message ID, SPIs and DH key pair; every value is derived from the SA's index
(SHA-256 of a label), so two runs give byte-identical files, whatever ``--jobs``.

Next to the capture it writes the key material to decode it (docs/keys.md formats):

* ``NAME.psk``: the preshared key (``--psk-file``);
* ``NAME.dh-private.toml``: one ``[[dh_private]]`` per SA (the initiator's private value for even
  SAs, the responder's for odd ones, so both ways of matching a KE payload are used);
* ``NAME.dh-secret.toml``: one ``[[ike_sa]]`` per SA with its cookies and g^xy.

The messages are built with ikedecode's own key schedule (``keyderiv``, ``authhash``, ``dh``,
``ciphers``); the wire format is written here with ``struct`` (RFC 2408 section 3).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from esp_capture_gen import _ipv4, derive, write_pcap  # noqa: E402, F401 - shared with the ESP benchmark

from ikedecode.esp.encoder import EspEncoder  # noqa: E402
from ikedecode.esp.sa import IpsecSa  # noqa: E402
from ikedecode.ike import ciphers, dh
from ikedecode.ike.v1 import authhash, keyderiv  # noqa: E402

PSK = b"ikedecode-bench-psk"
BASE_TIME_US = 1_700_000_000 * 1_000_000
MESSAGE_GAP_US = 1_000  # between two messages of one negotiation
ETHERTYPE_IPV4 = b"\x08\x00"
MAC_INITIATOR, MAC_RESPONDER = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
IKE_PORT = 500

# RFC 2408 section 3.1 payload types / 3.1 exchange types / RFC 2407 registries
SA, PROPOSAL, TRANSFORM, KE, ID, HASH, NONCE = 1, 2, 3, 4, 5, 8, 10
MAIN_MODE, QUICK_MODE = 2, 32
FLAG_ENCRYPTED = 0x01
IKE_AES_CBC, IKE_SHA1, IKE_PRESHARED = 7, 2, 1  # RFC 2409 Appendix A values (AES: RFC 3602)
AES_KEY_BITS = 128
ESP_PROTOCOL, ESP_AES = 3, 12  # RFC 2407 4.4.1, 4.4.4
NONCE_LENGTH = 32
ESP_PACKETS_SIZE = 200  # inner UDP payload bytes of the optional ESP packets


def private_value(group_id: int, label: str, exponent_bits: int | None) -> bytes:
    """A valid private DH value of the group, from ``label``.

    MODP: an exponent of ``exponent_bits`` bits (None: as long as the prime, strongSwan's default
    ``dh_exponent_ansi_x9_42``), written as long as the prime; ECP: a scalar below the order.
    """
    group = dh.dh_group(group_id)
    if group.kind is dh.GroupKind.MODP:
        bits = exponent_bits or group.prime.bit_length()
        value = int.from_bytes(derive(label, (bits + 7) // 8), "big") >> (-bits % 8)
        value = value % (group.prime - 3) + 2
        return value.to_bytes(group.public_length, "big")
    if group.kind is dh.GroupKind.ECP:
        size = group.secret_length
        while True:  # rejection sampling keeps the scalar uniform and below the order
            candidate = derive(label, size)
            try:
                dh.public_value(group_id, candidate)
                return candidate
            except ValueError:
                label += "'"
    return derive(label, group.secret_length)


# --- wire format (RFC 2408 section 3) ---------------------------------------------------------


def tv_attribute(attribute_type: int, value: int) -> bytes:
    """A data attribute in TV form (RFC 2408 3.3: AF bit set, 2-byte value)."""
    return struct.pack("!HH", 0x8000 | attribute_type, value)


def payload_chain(payloads: list[tuple[int, bytes]]) -> tuple[int, bytes]:
    """(first payload type, bytes) of a chain of (type, body): generic headers filled in (3.2)."""
    out = []
    for position, (_, body) in enumerate(payloads):
        next_type = payloads[position + 1][0] if position + 1 < len(payloads) else 0
        out.append(struct.pack("!BBH", next_type, 0, 4 + len(body)) + body)
    return payloads[0][0], b"".join(out)


def isakmp_header(
    cookies: tuple[bytes, bytes], first: int, exchange: int, flags: int, message_id: int, length: int
) -> bytes:
    return cookies[0] + cookies[1] + struct.pack("!BBBBII", first, 0x10, exchange, flags, message_id, length)


def phase1_sa_body(group_id: int) -> bytes:
    """SA payload body (DOI, situation, one proposal, one KEY_IKE transform): SAi_b of RFC 2409 5."""
    attributes = (
        tv_attribute(1, IKE_AES_CBC)
        + tv_attribute(2, IKE_SHA1)
        + tv_attribute(3, IKE_PRESHARED)
        + tv_attribute(4, group_id)
        + tv_attribute(11, 1)  # life type: seconds
        + tv_attribute(12, 28800)
        + tv_attribute(14, AES_KEY_BITS)
    )
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attributes), 1, 1, 0) + attributes
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, 1) + transform
    return struct.pack("!II", 1, 1) + proposal  # DOI IPsec, SIT_IDENTITY_ONLY


def esp_sa_body(spi: bytes) -> bytes:
    """IPsec SA payload body offering/accepting ESP_AES-128 + HMAC-SHA, tunnel mode (RFC 2407 4.5)."""
    attributes = (
        tv_attribute(1, 1)  # SA life type: seconds
        + tv_attribute(2, 3600)
        + tv_attribute(4, 1)  # encapsulation mode: tunnel
        + tv_attribute(5, 2)  # authentication algorithm: HMAC-SHA
        + tv_attribute(6, AES_KEY_BITS)
    )
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attributes), 1, ESP_AES, 0) + attributes
    proposal = struct.pack("!BBHBBBB", 0, 0, 12 + len(transform), 1, ESP_PROTOCOL, 4, 1) + spi + transform
    return struct.pack("!II", 1, 1) + proposal


def ipv4_id_body(address: str) -> bytes:
    """ID payload body, ID_IPV4_ADDR, protocol and port 0 (RFC 2407 4.6.2): IDii_b / IDir_b."""
    return struct.pack("!BBH", 1, 0, 0) + ipaddress.IPv4Address(address).packed


def subnet_id_body(network: str) -> bytes:
    """ID payload body, ID_IPV4_ADDR_SUBNET (RFC 2407 4.6.2.1): a quick mode's IDci / IDcr."""
    net = ipaddress.IPv4Network(network)
    return struct.pack("!BBH", 4, 0, 0) + net.network_address.packed + net.netmask.packed


def encrypt_message(
    cookies: tuple[bytes, bytes],
    exchange: int,
    message_id: int,
    payloads: list[tuple[int, bytes]],
    key: bytes,
    iv: bytes,
) -> bytes:
    """An encrypted ISAKMP message: the payload chain zero-padded to the block (RFC 2409 App. B)."""
    first, plaintext = payload_chain(payloads)
    plaintext += bytes(-len(plaintext) % 16)
    ciphertext = ciphers.cbc_encrypt(IKE_AES_CBC, key, iv, plaintext)
    return (
        isakmp_header(cookies, first, exchange, FLAG_ENCRYPTED, message_id, 28 + len(ciphertext)) + ciphertext
    )


def clear_message(cookies: tuple[bytes, bytes], exchange: int, payloads: list[tuple[int, bytes]]) -> bytes:
    first, body = payload_chain(payloads)
    return isakmp_header(cookies, first, exchange, 0, 0, 28 + len(body)) + body


def with_hash(payloads: list[tuple[int, bytes]], hash_of_rest: object) -> list[tuple[int, bytes]]:
    """Quick mode: a HASH payload first, computed over the raw payloads after it (RFC 2409 5.5)."""
    _, rest = payload_chain([(HASH, bytes(20)), *payloads])
    rest = rest[4 + 20 :]
    return [(HASH, hash_of_rest(rest)), *payloads]  # type: ignore[operator]


# --- one negotiation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Negotiation:
    """One generated IKE SA: the key material to decode it and its frames (time in µs, Ethernet)."""

    index: int
    initiator: str
    responder: str
    initiator_cookie: bytes
    responder_cookie: bytes
    dh_private: bytes  # the initiator's for even indices, the responder's for odd ones
    dh_private_side: str
    g_xy: bytes
    encryption_key: bytes  # the phase-1 cipher key (what Wireshark's ikev1_decryption_table holds)
    frames: tuple[tuple[int, bool, bytes], ...]  # (time offset µs, sent by initiator, IP packet)


def addresses(index: int) -> tuple[str, str]:
    """Initiator in 192.0.2.0/24, responder in 198.51.100.0/24 (RFC 5737): 64,516 distinct pairs."""
    return f"192.0.2.{1 + index % 254}", f"198.51.100.{1 + (index // 254) % 254}"


def negotiate(
    index: int, group_id: int = 14, exponent_bits: int | None = None, esp_packets: int = 0
) -> Negotiation:
    """The messages of IKE SA ``index``: MM1..MM6, QM1..QM3 and ``esp_packets`` ESP per direction."""
    label = f"ike-bench/{index}"
    initiator, responder = addresses(index)
    cookies = (derive(f"{label}/icky", 8), derive(f"{label}/rcky", 8))
    x_i = private_value(group_id, f"{label}/group{group_id}/xi", exponent_bits)
    x_r = private_value(group_id, f"{label}/group{group_id}/xr", exponent_bits)
    g_xi, g_xr = dh.public_value(group_id, x_i), dh.public_value(group_id, x_r)
    g_xy = dh.shared_secret(group_id, x_i, g_xr)
    ni_b, nr_b = derive(f"{label}/ni", NONCE_LENGTH), derive(f"{label}/nr", NONCE_LENGTH)
    sai_b = phase1_sa_body(group_id)
    idii_b, idir_b = ipv4_id_body(initiator), ipv4_id_body(responder)

    # RFC 2409 section 5 and Appendix B
    skeyid = keyderiv.skeyid_preshared(IKE_SHA1, PSK, ni_b, nr_b)
    keys = keyderiv.derive_phase1_keys(IKE_SHA1, skeyid, g_xy, *cookies, AES_KEY_BITS // 8)
    hash_i = authhash.hash_i(IKE_SHA1, skeyid, g_xi, g_xr, *cookies, sai_b, idii_b)
    hash_r = authhash.hash_r(IKE_SHA1, skeyid, g_xi, g_xr, *cookies, sai_b, idir_b)

    zero_responder = (cookies[0], bytes(8))
    messages: list[tuple[bool, bytes]] = [
        (True, clear_message(zero_responder, MAIN_MODE, [(SA, sai_b)])),
        (False, clear_message(cookies, MAIN_MODE, [(SA, sai_b)])),
        (True, clear_message(cookies, MAIN_MODE, [(KE, g_xi), (NONCE, ni_b)])),
        (False, clear_message(cookies, MAIN_MODE, [(KE, g_xr), (NONCE, nr_b)])),
    ]
    iv = keyderiv.phase1_iv(IKE_SHA1, g_xi, g_xr, 16)
    for from_initiator, id_b, hash_value in ((True, idii_b, hash_i), (False, idir_b, hash_r)):
        message = encrypt_message(
            cookies, MAIN_MODE, 0, [(ID, id_b), (HASH, hash_value)], keys.encryption_key, iv
        )
        messages.append((from_initiator, message))
        iv = message[-16:]  # CBC chaining across phase 1 (Appendix B)

    # Quick mode (RFC 2409 5.5): one ESP proposal, tunnel between two inner /24 networks
    message_id = int.from_bytes(derive(f"{label}/mid", 4), "big") | 0x01000000
    spi_i, spi_r = derive(f"{label}/spi-i", 4), derive(f"{label}/spi-r", 4)
    qm_ni, qm_nr = derive(f"{label}/qm-ni", NONCE_LENGTH), derive(f"{label}/qm-nr", NONCE_LENGTH)
    id_ci = subnet_id_body(f"10.{(index >> 8) & 0xFF}.{index & 0xFF}.0/24")
    id_cr = subnet_id_body("172.16.0.0/16")
    skeyid_a = keys.skeyid_a
    qm1 = with_hash(
        [(SA, esp_sa_body(spi_i)), (NONCE, qm_ni), (ID, id_ci), (ID, id_cr)],
        lambda rest: authhash.qm_hash1(IKE_SHA1, skeyid_a, message_id, rest),
    )
    qm2 = with_hash(
        [(SA, esp_sa_body(spi_r)), (NONCE, qm_nr), (ID, id_ci), (ID, id_cr)],
        lambda rest: authhash.qm_hash2(IKE_SHA1, skeyid_a, message_id, qm_ni, rest),
    )
    qm3 = [(HASH, authhash.qm_hash3(IKE_SHA1, skeyid_a, message_id, qm_ni, qm_nr))]
    iv = keyderiv.exchange_iv(IKE_SHA1, iv, message_id, 16)
    for from_initiator, payloads in ((True, qm1), (False, qm2), (True, qm3)):
        message = encrypt_message(cookies, QUICK_MODE, message_id, payloads, keys.encryption_key, iv)
        messages.append((from_initiator, message))
        iv = message[-16:]

    frames = [
        (n * MESSAGE_GAP_US, from_initiator, udp_ipv4(initiator, responder, from_initiator, message, n))
        for n, (from_initiator, message) in enumerate(messages)
    ]
    if esp_packets:
        frames += _esp_frames(
            index, keys.skeyid_d, qm_ni, qm_nr, (spi_i, spi_r), (initiator, responder), esp_packets
        )
    side = "initiator" if index % 2 == 0 else "responder"
    return Negotiation(
        index,
        initiator,
        responder,
        cookies[0],
        cookies[1],
        x_i if side == "initiator" else x_r,
        side,
        g_xy,
        keys.encryption_key,
        tuple(frames),
    )


def _esp_frames(
    index: int,
    skeyid_d: bytes,
    qm_ni: bytes,
    qm_nr: bytes,
    spis: tuple[bytes, bytes],
    peers: tuple[str, str],
    count: int,
) -> list[tuple[int, bool, bytes]]:
    """ESP tunnel packets both ways, keyed from KEYMAT (RFC 2409 5.5: the receiver's SPI)."""
    initiator, responder = peers
    spi_i, spi_r = spis
    out = []
    for from_initiator, spi in ((True, spi_r), (False, spi_i)):
        keymat = keyderiv.quick_mode_keymat(IKE_SHA1, skeyid_d, ESP_PROTOCOL, spi, qm_ni, qm_nr, 36)
        src, dst = (initiator, responder) if from_initiator else (responder, initiator)
        sa = IpsecSa(
            "esp",
            int.from_bytes(spi, "big"),
            src,
            dst,
            encryption="aes-cbc",
            encryption_key=keymat[:16],
            integrity="hmac-sha1-96",
            integrity_key=keymat[16:36],
            mode="tunnel",
        )
        out += esp_packets(sa, index, from_initiator, count, "ike-bench", first_slot=9)
    return sorted(out, key=lambda frame: frame[0])


def esp_packets(
    sa: IpsecSa, index: int, from_initiator: bool, count: int, label: str, first_slot: int
) -> list[tuple[int, bool, bytes]]:
    """``count`` ESP tunnel packets of ``sa`` (UDP inside, content derived from ``label``), from
    message slot ``first_slot`` on, the two directions interleaved (shared by both IKE generators)."""
    encoder = EspEncoder(sa)
    local = f"10.{(index >> 8) & 0xFF}.{index & 0xFF}.1"
    inner_src, inner_dst = (local, "172.16.0.1") if from_initiator else ("172.16.0.1", local)
    out = []
    for seq in range(1, count + 1):
        data = derive(f"{label}/{index}/esp/{from_initiator}/{seq}", ESP_PACKETS_SIZE)
        udp = struct.pack("!HHHH", 9999, 9999, 8 + len(data), 0) + data
        inner = _ipv4(inner_src, inner_dst, 17, udp, seq)
        when = (first_slot + 2 * (seq - 1) + (0 if from_initiator else 1)) * MESSAGE_GAP_US
        out.append((when, from_initiator, _ipv4(sa.src, sa.dst, 50, encoder.encode(inner, 4, seq), seq)))
    return out


def udp_ipv4(initiator: str, responder: str, from_initiator: bool, message: bytes, ident: int) -> bytes:
    src, dst = (initiator, responder) if from_initiator else (responder, initiator)
    udp = struct.pack("!HHHH", IKE_PORT, IKE_PORT, 8 + len(message), 0) + message  # checksum 0: none
    return _ipv4(src, dst, 17, udp, ident)


# --- the capture ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    group: int = 14
    exponent_bits: int | None = None
    esp_packets: int = 0


def _negotiate_with(settings: Settings, index: int) -> Negotiation:
    return negotiate(index, settings.group, settings.exponent_bits, settings.esp_packets)


def negotiations(count: int, settings: Settings, jobs: int = 1) -> Iterator[Negotiation]:
    """Negotiations 0..count-1 in order; ``jobs`` processes compute them (same output)."""
    if jobs <= 1:
        for index in range(count):
            yield _negotiate_with(settings, index)
        return
    from functools import partial

    with get_context("spawn").Pool(jobs) as pool:
        yield from pool.imap(partial(_negotiate_with, settings), range(count), chunksize=32)


def frames_in_time_order(items: Iterable[Negotiation], concurrent: int = 1) -> Iterator[tuple[int, bytes]]:
    """(time µs, Ethernet frame): ``concurrent`` negotiations at a time, their messages interleaved.

    With 1 every SA finishes before the next starts (the worst case for computing ahead); with K
    the K SAs of a batch send MM1, then MM2, ... each in turn.
    """
    batch: list[Negotiation] = []
    batch_number = 0

    def flush() -> Iterator[tuple[int, bytes]]:
        base = BASE_TIME_US + batch_number * 20 * MESSAGE_GAP_US
        timed = []
        for position, negotiation in enumerate(batch):
            for offset, from_initiator, packet in negotiation.frames:
                timed.append((base + offset + position * 10, from_initiator, packet))
        timed.sort(key=lambda frame: frame[0])
        for when, from_initiator, packet in timed:
            macs = MAC_RESPONDER + MAC_INITIATOR if from_initiator else MAC_INITIATOR + MAC_RESPONDER
            yield when, macs + ETHERTYPE_IPV4 + packet

    for negotiation in items:
        batch.append(negotiation)
        if len(batch) == concurrent:
            yield from flush()
            batch = []
            batch_number += 1
    if batch:
        yield from flush()


@dataclass(frozen=True, slots=True)
class GeneratedCapture:
    capture: Path
    psk_file: Path
    dh_private_keys: Path
    dh_secret_keys: Path
    sas: int
    frames: int


def capture_name(sas: int, settings: Settings, concurrent: int) -> str:
    bits = f"-x{settings.exponent_bits}" if settings.exponent_bits else ""
    esp = f"-esp{settings.esp_packets}" if settings.esp_packets else ""
    together = f"-c{concurrent}" if concurrent > 1 else ""
    return f"ike-{sas}sa-group{settings.group}{bits}{esp}{together}"


def generate(
    folder: Path, sas: int, settings: Settings | None = None, *, concurrent: int = 1, jobs: int = 1
) -> GeneratedCapture:
    """Write the capture and its key files into ``folder``; streams, whatever ``sas``."""
    settings = settings or Settings()
    folder.mkdir(parents=True, exist_ok=True)
    name = capture_name(sas, settings, concurrent)
    capture, psk_file = folder / f"{name}.pcap", folder / f"{name}.psk"
    privates, secrets = folder / f"{name}.dh-private.toml", folder / f"{name}.dh-secret.toml"
    psk_file.write_bytes(PSK + b"\n")
    header = f"# {capture.name}: {sas} IKE SAs, DH group {settings.group} (bench/ike_capture_gen.py)\n"
    with capture.open("wb") as out, privates.open("w") as private_out, secrets.open("w") as secret_out:
        private_out.write(header)
        secret_out.write(header)

        def keyed(items: Iterable[Negotiation]) -> Iterator[Negotiation]:
            for n in items:
                private_out.write(
                    f'\n[[dh_private]]  # SA {n.index}, {n.dh_private_side}\nvalue = "{n.dh_private.hex()}"\n'
                )
                secret_out.write(
                    f'\n[[ike_sa]]\ninitiator_cookie = "{n.initiator_cookie.hex()}"\n'
                    f'responder_cookie = "{n.responder_cookie.hex()}"\ndh_secret = "{n.g_xy.hex()}"\n'
                )
                yield n

        frames = write_pcap(out, frames_in_time_order(keyed(negotiations(sas, settings, jobs)), concurrent))
    for path in (psk_file, privates, secrets):
        path.chmod(0o600)
    return GeneratedCapture(capture, psk_file, privates, secrets, sas, frames)


def generator_cli(
    description: str, generate_capture: Callable[..., GeneratedCapture], argv: list[str] | None
) -> int:
    """The command line of both IKE generators (this one and ``ikev2_capture_gen``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--sas", type=int, default=10_000, help="IKE SAs (default 10000)")
    parser.add_argument("--group", type=int, default=14, help="DH group: 14 (default), 2, 19, 31, ...")
    parser.add_argument(
        "--exponent-bits", type=int, default=None, help="MODP private exponent bits (default: prime length)"
    )
    parser.add_argument("--esp-packets", type=int, default=0, help="ESP packets per child SA direction")
    parser.add_argument("--concurrent", type=int, default=1, help="negotiations interleaved (default 1)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes generating")
    args = parser.parse_args(argv)
    settings = Settings(args.group, args.exponent_bits, args.esp_packets)
    made = generate_capture(args.folder, args.sas, settings, concurrent=args.concurrent, jobs=args.jobs)
    print(f"{made.capture}: {made.frames} frames, {made.sas} IKE SAs")
    print(f"keys: --psk-file {made.psk_file} --keys {made.dh_private_keys} | --keys {made.dh_secret_keys}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return generator_cli(__doc__.splitlines()[0], generate, argv)


if __name__ == "__main__":
    raise SystemExit(main())
