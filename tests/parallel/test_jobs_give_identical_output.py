"""``--jobs 1`` and ``--jobs N`` give the same report, byte for byte, and the same decrypted pcap.

Worker processes are forced from the first batch (``parallel_after=0``) and batches are kept
small so that many of them travel to different workers. The captures: real lab captures (IKE
keys the ESP that follows, a rekey) and a generated one with what makes ESP accounting depend on
order: replays, a damaged packet, packets out of order, an unknown SPI, VLAN-tagged frames (the
reader's general path) between plain ones, and an ESN SA crossing 2^32 (the high bits a worker
must guess without the packets other workers saw).
"""

from __future__ import annotations

import io
import struct

import pytest

from ikedecode.capture import CaptureReader
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.inner import ipv4_checksum
from ikedecode.esp.sa import IpsecSa
from ikedecode.keys.keyring import KeyRing
from ikedecode.keys.loader import load_key_text
from ikedecode.pipeline import Options, analyze
from ikedecode.render.json_report import render_json
from tests.conftest import CAPTURES_DIR, KEYS_DIR

A, B = "198.51.100.1", "198.51.100.2"


def _sa(spi: int, src: str, dst: str, **extra) -> IpsecSa:  # noqa: ANN003
    return IpsecSa(
        "esp", spi, src, dst, encryption="aes-cbc", encryption_key=bytes([spi & 0xFF]) * 16,
        integrity="hmac-sha1-96", integrity_key=bytes([spi >> 8 & 0xFF]) * 20, **extra,
    )  # fmt: skip


def _inner(n: int) -> bytes:
    payload = n.to_bytes(4, "big") * 20
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), n & 0xFFFF, 0, 64, 17, 0,
                                   bytes([10, 1, 0, 1]), bytes([10, 2, 0, 1])))  # fmt: skip
    struct.pack_into("!H", header, 10, ipv4_checksum(header))  # as a real sender computes it
    return bytes(header) + payload


def _frame(src: str, dst: str, esp: bytes, vlan: bool = False) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(esp), 0, 0, 64, 50, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))  # fmt: skip
    ethernet = b"\x02" * 12 + (b"\x81\x00\x00\x07" if vlan else b"") + b"\x08\x00"
    return ethernet + ip + esp


def _generated_capture() -> tuple[bytes, list[IpsecSa]]:
    out_sa, in_sa = _sa(0x1101, A, B), _sa(0x2202, B, A)
    esn_sa = _sa(0x3303, A, B, esn=True)
    encoders = {sa.spi: EspEncoder(sa) for sa in (out_sa, in_sa, esn_sa)}
    stranger = EspEncoder(_sa(0x4404, A, B))
    frames: list[bytes] = []
    for n in range(1, 1201):
        frames.append(_frame(A, B, encoders[0x1101].encode(_inner(n), 4, n), vlan=n % 97 == 0))
        if n % 3 == 0:
            frames.append(_frame(B, A, encoders[0x2202].encode(_inner(n), 4, n // 3)))
        if n % 4 == 0:
            seq = (1 << 32) - 150 + n // 4  # crosses 2^32 after 150 packets
            frames.append(_frame(A, B, encoders[0x3303].encode(_inner(n), 4, seq)))
        if n in (100, 700):
            frames.append(frames[-2])  # a replay
        if n == 500:
            damaged = bytearray(_frame(A, B, encoders[0x1101].encode(_inner(n), 4, 5000)))
            damaged[-1] ^= 1
            frames.append(bytes(damaged))
        if n in (800, 801):
            frames.append(_frame(A, B, stranger.encode(_inner(n), 4, n)))  # no keys
        if n == 900:
            frames[-1], frames[-2] = frames[-2], frames[-1]  # out of order
    records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for n, frame in enumerate(frames):
        records.append(
            struct.pack("<IIII", 1_800_000_000 + n // 1000, n % 1000 * 1000, len(frame), len(frame))
        )
        records.append(frame)
    return b"".join(records), [out_sa, in_sa, esn_sa]


def _run(data: bytes, keyring: KeyRing, jobs: int) -> tuple[str, bytes]:
    decrypted = io.BytesIO()
    options = Options(jobs=jobs, parallel_after=0, batch_packets=16, decrypted_output=decrypted)
    report = analyze(CaptureReader(io.BytesIO(data), "capture.pcap"), keyring, options)
    return render_json(report), decrypted.getvalue()


def test_jobs_do_not_change_the_report_of_a_generated_capture():
    data, sas = _generated_capture()
    ring = KeyRing()
    ring.ipsec_sas.extend(sas)
    one, pcap_one = _run(data, ring, 1)
    two, pcap_two = _run(data, ring, 2)
    three, pcap_three = _run(data, ring, 3)
    assert one == two == three
    assert pcap_one == pcap_two == pcap_three
    # and the report is right, not merely the same
    report = analyze(
        CaptureReader(io.BytesIO(data)), ring, Options(jobs=2, parallel_after=0, batch_packets=16)
    )
    counters = {sa.spi: sa.counters for sa in report.ipsec_sas}
    assert counters[0x1101].verified == 1200 + 2  # 1,200 packets and 2 replays, all authentic
    assert counters[0x1101].replays == 2 and counters[0x1101].icv_failed == 1
    assert counters[0x2202].verified == 400
    assert counters[0x3303].verified == 300 and counters[0x3303].icv_failed == 0
    assert counters[0x3303].seq_max == (1 << 32) - 150 + 300  # the high bits were inferred across 2^32
    assert [(u.spi, u.packets) for u in report.unknown_spis] == [(0x4404, 2)]


@pytest.mark.parametrize("name", ["esp-rekey-delete", "mm-aes128-sha1-modp2048", "nat-t", "qm-pfs-modp2048"])
def test_jobs_do_not_change_the_report_of_a_lab_capture(name: str):
    data = (CAPTURES_DIR / f"{name}.pcap").read_bytes()
    ring = load_key_text((KEYS_DIR / f"{name}.toml").read_text(), name)
    one, pcap_one = _run(data, ring, 1)
    two, pcap_two = _run(data, ring, 2)
    assert one == two
    assert pcap_one == pcap_two and len(pcap_one) > 24  # some packets were decrypted
