"""Write the hostile-input corpus of tests/corpus/ (run from the project root):

    python tests/corpus/make_corpus.py

Every file is deterministic (fixed bytes, no randomness without a seed), built with the capture
builders of tests/capture/builders.py or cut from the real lab captures, so that the corpus can
be re-made and reviewed. What each file must do is asserted in tests/fuzz/test_hostile_corpus.py
and described in tests/corpus/README.md. Addresses are from the documentation ranges.
"""

from __future__ import annotations

import gzip
import random
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from capture.builders import (  # noqa: E402
    epb,
    ethernet,
    ethernet_pcap,
    fragment_header,
    idb,
    ipv4,
    ipv6,
    pcap,
    pcapng_block,
    shb,
    udp,
)

LAB = ROOT / "captures" / "mm-aes128-sha1-modp2048.pcap"  # main mode, quick mode, 16 ESP in UDP 4500
A, B = "198.51.100.1", "203.0.113.1"
A6, B6 = "2001:db8::1", "2001:db8::2"
ICKY = bytes.fromhex("1122334455667788")
# The lab capture's ESP SA from 192.0.2.1 (keys/mm-aes128-sha1-modp2048.toml): AES-CBC, HMAC-SHA1-96.
LAB_SPI = 0xF096DB6E


def pcap_records(data: bytes) -> list[tuple[bytes, bytes]]:
    """(16-byte record header, frame) of a little-endian microsecond pcap."""
    records, at = [], 24
    while at < len(data):
        header = data[at : at + 16]
        (length,) = struct.unpack_from("<I", header, 8)
        records.append((header, data[at + 16 : at + 16 + length]))
        at += 16 + length
    return records


def isakmp(
    body: bytes = b"",
    *,
    next_payload: int = 0,
    exchange: int = 2,
    flags: int = 0,
    message_id: int = 0,
    icky: bytes = ICKY,
    rcky: bytes = bytes(8),
    length: int | None = None,
) -> bytes:
    total = 28 + len(body) if length is None else length
    header = icky + rcky + struct.pack("!BBBBII", next_payload, 0x10, exchange, flags, message_id, total)
    return header + body


def payload(next_payload: int, body: bytes, length: int | None = None) -> bytes:
    return struct.pack("!BBH", next_payload, 0, 4 + len(body) if length is None else length) + body


def ike_frames(messages: list[bytes], sport: int = 500, dport: int = 500) -> bytes:
    return ethernet_pcap([ipv4(A, B, 17, udp(sport, dport, m)) for m in messages])


def sa_payload(attributes: bytes, *, transforms: int = 1) -> bytes:
    """An IKEv1 SA payload (RFC 2408 3.4-3.6): DOI IPsec, one ISAKMP proposal, one transform
    holding ``attributes``; ``transforms`` is the count the proposal announces."""
    transform = payload(0, struct.pack("!BBH", 1, 1, 0) + attributes)  # transform #1, KEY_IKE
    proposal = payload(0, struct.pack("!BBBB", 1, 1, 0, transforms) + transform)  # PROTO_ISAKMP, no SPI
    return payload(0, struct.pack("!II", 1, 1) + proposal)


# --- files that are not (quite) captures ---------------------------------------------------------


def file_cases(lab: bytes) -> dict[str, bytes]:
    records = pcap_records(lab)
    record_7 = 24 + sum(16 + len(frame) for _, frame in records[:6])
    corrupt = bytearray(lab)
    record_3 = 24 + sum(16 + len(frame) for _, frame in records[:2])
    struct.pack_into("<I", corrupt, record_3 + 8, 0x7FFFFFFF)
    compressed = gzip.compress(lab, mtime=0)
    unknown_blocks = (
        shb()
        + pcapng_block(0x00000BAD, b"custom block, copyable, private enterprise number 0")
        + idb(1)
        + pcapng_block(0x00000004, struct.pack("<HH", 0, 0))  # name resolution block, empty
        + b"".join(
            pcapng_block(0x40000BAD, bytes(range(37))) + epb(0, 1_700_000_000_000_000 + n, frame)
            for n, (_, frame) in enumerate(records[:4])
        )
        + pcapng_block(0x00000005, struct.pack("<III", 0, 0, 0))  # interface statistics block
        + pcapng_block(0x0000000A, b"\x00" * 12)  # decryption secrets block, unknown secrets type
    )
    return {
        "not-a-capture.pcap": b"<html><body>404 Not Found</body></html>\n",
        "empty.pcap": b"",
        "truncated-header.pcap": lab[:10],
        "truncated-header.pcapng": shb()[:20],
        "no-packets.pcap": lab[:24],
        "unknown-linktype.pcap": pcap(
            [(1_700_000_000_000_000_000 + n, bytes(range(n, n + 40))) for n in range(3)], 147
        ),
        "unknown-blocks.pcapng": unknown_blocks,
        "lab.pcap.gz": compressed,
        "cut-mid-record.pcap": lab[: record_7 + 16 + 30],
        "cut-gzip-stream.pcap.gz": compressed[: len(compressed) * 2 // 3],
        "corrupt-record-length.pcap": bytes(corrupt),
    }


# --- ISAKMP messages that lie --------------------------------------------------------------------


def ike_cases(lab: bytes) -> dict[str, bytes]:
    rng = random.Random(7)
    vid = payload(0, bytes.fromhex("afcad71368a1f1c96b8696fc77570100"))
    hostile_lengths = [
        isakmp()[:20],  # shorter than the header
        isakmp(vid, next_payload=13, length=0),
        isakmp(vid, next_payload=13, length=27),
        isakmp(vid, next_payload=13, length=0xFFFFFFFF),
        isakmp(vid, next_payload=13, length=28 + len(vid) + 100),  # truncated
        isakmp(vid, next_payload=13, length=28 + len(vid)) + b"TRAILING",  # bytes after the message
    ]
    chains = [
        isakmp(payload(0, b"", length=0) + bytes(16), next_payload=13),  # a zero payload length
        isakmp(payload(0, b"", length=3) + bytes(16), next_payload=13),  # below the generic header
        isakmp(payload(0, bytes(8), length=4000), next_payload=13),  # runs past the end
        isakmp(b"".join(payload(13, b"") for _ in range(300)), next_payload=13),  # endless chain
        isakmp(vid + rng.randbytes(40), next_payload=13),  # garbage after the last payload
        isakmp(rng.randbytes(64), next_payload=1),  # garbage right after the ISAKMP header
        isakmp(payload(0, bytes(12)), next_payload=77),  # an unassigned payload type
    ]
    attributes = [
        # a TV/TLV attribute whose length runs past the transform
        isakmp(sa_payload(struct.pack("!HH", 0x0001, 0xFFFF) + b"\x01\x02"), next_payload=1),
        # proposal announcing 255 transforms, holding one
        isakmp(sa_payload(struct.pack("!HH", 0x8001, 7), transforms=255), next_payload=1),
        # DELETE announcing 65535 SPIs of 16 bytes, holding one
        isakmp(payload(0, struct.pack("!IBBH", 1, 1, 16, 0xFFFF) + bytes(16)), next_payload=12, exchange=5),
        # NOTIFY with a 255-byte SPI in a 12-byte body
        isakmp(payload(0, struct.pack("!IBBH", 1, 1, 255, 24578) + bytes(4)), next_payload=11, exchange=5),
        # ID payload of type IPv4 address with 3 address bytes
        isakmp(payload(0, struct.pack("!BBH", 1, 17, 500) + b"\xc0\x00\x02"), next_payload=5),
        # empty CERT payload body
        isakmp(payload(0, b""), next_payload=6),
    ]
    records = pcap_records(lab)
    ike = [
        (header, frame)
        for header, frame in records
        if frame[23] == 17 and frame[36:38] in (b"\x01\xf4", b"\x11\x94")
    ]
    # MM5 (the first encrypted message) cut to a length that is no multiple of the AES block
    mm5_header, mm5_frame = ike[4]
    udp_start = 34
    marker = 4 if mm5_frame[udp_start + 2 : udp_start + 4] == b"\x11\x94" else 0
    message = bytearray(mm5_frame[udp_start + 8 + marker :])
    message = message[:-5]
    message[24:28] = struct.pack("!I", len(message))
    odd = ipv4("192.0.2.1", "192.0.2.2", 17, udp(4500, 4500, bytes(marker) + bytes(message)))
    odd_frames = [frame for _, frame in ike[:4]] + [ethernet(odd)]
    odd_pcap = pcap([(1_700_000_000_000_000_000 + n * 1_000_000, f) for n, f in enumerate(odd_frames)])

    # IKE fragments (payload 132): numbers out of range, more sets than the collector holds
    def fragment(fragment_id: int, number: int, last: bool, data: bytes, icky: bytes = ICKY) -> bytes:
        body = struct.pack("!HBB", fragment_id, number, 1 if last else 0) + data
        return isakmp(payload(0, body), next_payload=132, icky=icky)

    fragments = [fragment(1, 0, False, b"zero"), fragment(1, 255, True, b"too far")]
    fragments += [fragment(1000 + n, 1, False, bytes(16)) for n in range(300)]  # never completed

    # thousands of half-open SAs: MM1 from as many initiator cookies, never answered
    offer = sa_payload(struct.pack("!HHHHHHHH", 0x8001, 7, 0x8002, 2, 0x8003, 1, 0x8004, 2))
    half_open = [isakmp(offer, next_payload=1, icky=struct.pack("!Q", 0x1000 + n)) for n in range(3000)]

    # one SA whose phase 1 is real, then 40 informational exchanges with distinct message IDs
    phase1 = [frame for _, frame in ike[:4]]
    icky, rcky = phase1[3][42 : 42 + 8], phase1[3][50 : 50 + 8]
    infos = [
        ethernet(
            ipv4(
                "192.0.2.1",
                "192.0.2.2",
                17,
                udp(
                    500,
                    500,
                    isakmp(
                        rng.randbytes(48),
                        next_payload=8,
                        exchange=5,
                        flags=1,
                        message_id=0x100 + n,
                        icky=icky,
                        rcky=rcky,
                    ),
                ),
            )
        )
        for n in range(40)
    ]
    many_phase2 = pcap([(1_700_000_000_000_000_000 + n * 1_000_000, f) for n, f in enumerate(phase1 + infos)])
    return {
        "ike-hostile-lengths.pcap": ike_frames(hostile_lengths),
        "ike-payload-chains.pcap": ike_frames(chains),
        "ike-attributes-overrun.pcap": ike_frames(attributes),
        "ike-encrypted-odd-length.pcap": odd_pcap,
        "ike-fragments-hostile.pcap": ike_frames(fragments),
        "ike-half-open-sas.pcap.gz": gzip.compress(ike_frames(half_open), mtime=0),
        "ike-many-phase2.pcap": many_phase2,
    }


# --- IP and ESP ----------------------------------------------------------------------------------


def ip_esp_cases() -> dict[str, bytes]:
    ike = isakmp(payload(0, bytes(100)), next_payload=13)
    datagram = udp(500, 500, ike)
    first, second, third = datagram[:64], datagram[64:128], datagram[128:]
    overlapping = [
        ipv4(A, B, 17, first, ident=7, more=True),
        ipv4(A, B, 17, b"X" * 64, ident=7, more=True, offset=32),  # overlaps both halves, other data
        ipv4(A, B, 17, second, ident=7, more=True, offset=64),
        ipv4(A, B, 17, third, ident=7, offset=128),
    ]
    huge_offset = [
        ipv4(A, B, 17, bytes(104), ident=9, offset=8184 * 8, more=True),  # ends past 65535
        ipv6(A6, B6, 44, fragment_header(17, 65528, True, 9) + bytes(64)),
        ipv4(A, B, 17, datagram),  # one good IKE datagram after them
    ]
    over_cap = [ipv4(A, B, 17, datagram[:64], ident=0x100 + n, more=True) for n in range(40)]
    lies = [
        ipv4(A, B, 17, datagram, total_length=2000),  # IP total length beyond the frame
        ipv4(A, B, 17, datagram, ihl=3),  # header length below 20 bytes
        ipv4(A, B, 17, udp(500, 500, ike, length=4000)),  # UDP length beyond the IP payload
        ipv4(A, B, 17, datagram[:5]),  # UDP header cut
    ]
    snaplen = pcap(
        [
            (1_700_000_000_000_000_000 + n, ethernet(ipv4(A, B, 17, datagram))[:60], 14 + 20 + len(datagram))
            for n in range(3)
        ],
        snaplen=60,
    )
    esp_short = [
        ipv4(A, B, 50, b"\x00\x00\x01"),  # shorter than SPI + sequence number
        ipv4(
            "192.0.2.1", "192.0.2.2", 17, udp(4500, 4500, struct.pack("!II", LAB_SPI, 1) + bytes(12))
        ),  # < IV + ICV
        ipv4(
            "192.0.2.1",
            "192.0.2.2",
            17,
            udp(4500, 4500, struct.pack("!II", LAB_SPI, 2) + bytes(16 + 20 + 12)),
        ),  # odd
        ipv4(A, B, 51, b"\x04\x01"),  # AH header cut
    ]
    return {
        "ip-fragments-overlapping.pcap": ethernet_pcap(overlapping),
        "ip-fragment-huge-offset.pcap": ethernet_pcap(huge_offset),
        "ip-fragment-sets-over-cap.pcap": ethernet_pcap(over_cap),
        "ip-header-lies.pcap": ethernet_pcap(lies),
        "snaplen-cut-ike.pcap": snaplen,
        "esp-short.pcap": ethernet_pcap(esp_short),
    }


def main() -> None:
    lab = LAB.read_bytes()
    cases = {**file_cases(lab), **ike_cases(lab), **ip_esp_cases()}
    for name, data in cases.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(cases)} files to {HERE}")


if __name__ == "__main__":
    main()
