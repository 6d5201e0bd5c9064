"""The CBC and AEAD lanes count the usual packet inline and, for CBC, decrypt only the pieces of
each packet it is judged on (``esp/lanes.py``); every other packet of the run must still come out
exactly as ``EspOpener.open`` and the general grouping say.

A generated flow per suite mixes, between usual packets: an ICV failure in the middle of a run,
a ciphertext cut short of a block (its ICV recomputed, so only the length is wrong), a
ciphertext of one block (shorter than the pieces), a pad length beyond the decrypted trailer
blocks, padding other than 1, 2, 3, ..., TFC padding, transport-mode UDP and TCP payloads (sound,
with bad padding, with a UDP length beyond the payload), an IPv6 tunnel packet, an inner IPv4
header with options, an inner packet carrying ESP (nested), and a packet whose encryption key is
wrong (authentic, garbled); the SA's mode fixed or not. Batches of 1, 5 and 64 packets put them at
every place of a run.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import struct
from typing import Literal

import pytest

from ikedecode.capture import CaptureReader
from ikedecode.capture.batch import EspBatch
from ikedecode.esp import lanes as lanes_module
from ikedecode.esp.batch_summary import G_TRANSPORT, summarize_batch
from ikedecode.esp.ciphers import EspCrypto
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.inner import ipv4_checksum
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.outcome import CODE, OUTCOME_OPENED, PROBLEM
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import SaDatabase

A, B = "198.51.100.1", "198.51.100.2"
Mode = Literal["tunnel", "transport"] | None
SUITES = {  # encryption, key size, integrity, key size
    "aes-cbc+sha1": ("aes-cbc", 16, "hmac-sha1-96", 20),
    "aes256-cbc+sha256": ("aes-cbc", 32, "hmac-sha2-256-128", 32),
    "3des-cbc+md5": ("3des-cbc", 24, "hmac-md5-96", 16),
    "aes-gcm-16": ("aes-gcm-16", 20, "none", 0),
}


def _sa(suite: str, encryption_key: bytes | None = None, mode: Mode = None) -> IpsecSa:
    encryption, key_size, integrity, integrity_size = SUITES[suite]
    return IpsecSa(
        "esp", 0x5151, A, B, encryption=encryption,
        encryption_key=encryption_key or bytes(range(1, key_size + 1)),
        integrity=integrity, integrity_key=bytes(range(100, 100 + integrity_size)), mode=mode,
    )  # fmt: skip


def _inner_ipv4(n: int, size: int, protocol: int = 17, options: bytes = b"") -> bytes:
    header_length = 20 + len(options)
    payload = bytes((n + i) & 0xFF for i in range(size))
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | header_length // 4, 0, header_length + size,
                                   n & 0xFFFF, 0, 64, protocol, 0, bytes([10, 1, 0, 1]),
                                   bytes([10, 2, 0, 1])) + options)  # fmt: skip
    struct.pack_into("!H", header, 10, ipv4_checksum(header))
    return bytes(header) + payload


def _cut_short(packet: bytes, sa: IpsecSa) -> bytes:
    """``packet`` with its ciphertext one byte short of whole blocks, the ICV recomputed."""
    icv_size = sa.integrity_algorithm.icv_size
    body = packet[: -icv_size - 1]
    return body + hmac.new(sa.integrity_key, body, sa.integrity_algorithm.hash_name).digest()[:icv_size]


def _padding(payload: bytes, alignment: int, at_least: int, byte: int | None = None) -> bytes:
    """Padding of ``at_least`` bytes or a few more, so that the plaintext fills whole blocks."""
    length = at_least + -(len(payload) + at_least + 2) % alignment
    return bytes([byte] * length) if byte is not None else bytes(range(1, length + 1))


def _packets(suite: str) -> list[bytes]:
    sa = _sa(suite)
    encoder = EspEncoder(sa)
    wrong_key = EspEncoder(_sa(suite, hashlib.sha256(b"wrong").digest()[: len(sa.encryption_key)]))
    cbc = not sa.encryption_algorithm.combined
    alignment = sa.encryption_algorithm.pad_alignment
    packets = []
    for n in range(1, 121):
        size = 40 + n * 13 % 1200
        kind = n % 20
        if kind == 3:  # an ICV failure in the middle of a run
            damaged = bytearray(encoder.encode(_inner_ipv4(n, size), 4, n))
            damaged[-1] ^= 1
            packets.append(bytes(damaged))
        elif kind == 5 and cbc:  # ciphertext not whole blocks, ICV right
            packets.append(_cut_short(encoder.encode(_inner_ipv4(n, size), 4, n), sa))
        elif kind == 6:  # the smallest ciphertexts: shorter than the pieces a CBC lane decrypts
            packets.append(encoder.encode(b"", 59, n))  # a dummy packet (RFC 4303 section 2.6)
        elif kind == 7:
            packets.append(encoder.encode(_inner_ipv4(n, 0)[:12], 17, n))
        elif kind == 8:  # a pad length beyond the trailer blocks
            inner = _inner_ipv4(n, size)
            packets.append(encoder.encode(inner, 4, n, padding=_padding(inner, alignment, 31)))
        elif kind == 9:  # padding other than 1, 2, 3, ... (counted as bad padding)
            inner = _inner_ipv4(n, size)
            packets.append(encoder.encode(inner, 4, n, padding=_padding(inner, alignment, 1, 0xEE)))
        elif kind == 10:
            packets.append(encoder.encode(_inner_ipv4(n, size), 4, n, tfc_padding=37))
        elif kind == 11:  # transport mode: a UDP datagram
            packets.append(encoder.encode(struct.pack("!HHHH", 9, 9, 8 + size, 0) + bytes(size), 17, n))
        elif kind == 16:  # transport mode: a TCP segment
            segment = struct.pack("!HHIIBBHHH", 9, 9, n, 0, 5 << 4, 0x10, 512, 0, 0) + bytes(size)
            packets.append(encoder.encode(segment, 6, n))
        elif (
            kind == 17
        ):  # transport mode with padding other than 1, 2, 3, ... (garbled: noise passes a UDP check)
            datagram = struct.pack("!HHHH", 9, 9, 8 + size, 0) + bytes(size)
            packets.append(encoder.encode(datagram, 17, n, padding=_padding(datagram, alignment, 1, 0xEE)))
        elif kind == 18:  # a UDP length beyond the payload
            packets.append(encoder.encode(struct.pack("!HHHH", 9, 9, 9 + size, 0) + bytes(size), 17, n))
        elif kind == 19:  # an IPv6 tunnel packet (next header 41)
            ipv6 = struct.pack("!IHBB16s16s", 6 << 28, size, 17, 64, bytes(16), bytes(16)) + bytes(size)
            packets.append(encoder.encode(ipv6, 41, n))
        elif kind == 12:
            packets.append(encoder.encode(_inner_ipv4(n, size, options=b"\x01\x01\x01\x00"), 4, n))
        elif kind == 13:  # the inner packet is ESP again (nested SAs)
            packets.append(encoder.encode(_inner_ipv4(n, size, protocol=50), 4, n))
        elif kind == 14:  # authentic, but the encryption key is not the sender's
            packets.append(wrong_key.encode(_inner_ipv4(n, size), 4, n))
        elif kind == 15:  # an inner total length beyond the payload
            longer = bytearray(_inner_ipv4(n, size))
            struct.pack_into("!H", longer, 2, len(longer) + 1)
            packets.append(encoder.encode(bytes(longer), 4, n))
        else:
            packets.append(encoder.encode(_inner_ipv4(n, size), 4, n))
    return packets


def _capture(packets: list[bytes]) -> bytes:
    records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for n, esp in enumerate(packets):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(esp), 0, 0, 64, 50, 0,
                         bytes([198, 51, 100, 1]), bytes([198, 51, 100, 2]))  # fmt: skip
        frame = b"\x02" * 12 + b"\x08\x00" + ip + esp
        records.append(struct.pack("<IIII", 1_800_000_000, n, len(frame), len(frame)) + frame)
    return b"".join(records)


def _summaries(
    data: bytes, suite: str, batch_packets: int, *, lanes: bool, want_plaintext: bool, mode: Mode = None
) -> list:
    opener = EspOpener(SaDatabase([_sa(suite, mode=mode)]), want_plaintext=want_plaintext)
    if not lanes:
        opener.lane = lambda *args: lanes_module.no_lane  # type: ignore[method-assign]
    batches = [
        item for item in CaptureReader(io.BytesIO(data)).items(batch_packets) if isinstance(item, EspBatch)
    ]
    return [summarize_batch(opener, batch.blob, batch.meta) for batch in batches]


@pytest.mark.parametrize("suite", sorted(SUITES))
@pytest.mark.parametrize("batch_packets", [1, 5, 64])
@pytest.mark.parametrize("want_plaintext", [False, True])
@pytest.mark.parametrize("mode", [None, "tunnel"])
def test_a_lane_counts_a_run_with_unusual_packets_as_the_general_path_does(
    suite: str, batch_packets: int, want_plaintext: bool, mode: Mode
):
    data = _capture(_packets(suite))
    with_lanes = _summaries(data, suite, batch_packets, lanes=True, want_plaintext=want_plaintext, mode=mode)
    assert with_lanes == _summaries(
        data, suite, batch_packets, lanes=False, want_plaintext=want_plaintext, mode=mode
    )
    singles = [outcome for summary, _ in with_lanes for _, outcome in summary]
    grouped = sum(group[0] for _, groups in with_lanes for group in groups.values())
    assert len(singles) + grouped == 120
    if not want_plaintext:
        assert grouped > 60  # the usual packets were counted in groups
        garbled = [o for o in singles if o[CODE] == OUTCOME_OPENED and o[PROBLEM]]
        assert len(garbled) >= 18  # the wrong key's, the inner lengths beyond the payload, bad transport
        transport = sum(group[G_TRANSPORT] for _, groups in with_lanes for group in groups.values())
        assert transport >= (0 if mode else 10)  # sound UDP and TCP in transport mode, counted as such


def test_a_cbc_lane_decrypts_only_the_pieces_of_the_usual_packets(monkeypatch):
    """The usual packets of a CBC run are judged on pieces decrypted in one call: no packet is
    decrypted whole unless it is unusual (here: none is)."""
    sa = _sa("aes-cbc+sha1")
    encoder = EspEncoder(sa)
    data = _capture([encoder.encode(_inner_ipv4(n, 200 + n), 4, n) for n in range(1, 41)])
    (batch,) = [item for item in CaptureReader(io.BytesIO(data)).items(64) if isinstance(item, EspBatch)]
    calls: list[int] = []
    real_parts = EspCrypto.cbc_hmac_parts

    def counted_parts(self: EspCrypto) -> tuple:
        parts = real_parts(self)
        assert parts is not None
        mac, update, block, icv_size = parts

        def counted_update(data: bytes | memoryview) -> bytes:
            calls.append(len(data))
            return update(data)

        return mac, counted_update, block, icv_size

    monkeypatch.setattr(EspCrypto, "cbc_hmac_parts", counted_parts)
    opener = EspOpener(SaDatabase([sa]))
    singles, groups = summarize_batch(opener, batch.blob, batch.meta)
    assert singles == [] and [group[0] for group in groups.values()] == [40]
    assert calls == [40 * (32 + 48)]  # one call: per packet the IV and a block, a chaining block and two
