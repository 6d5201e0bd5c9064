"""Cutting a real pcap into several files, record by record (headers and bytes copied untouched)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

PCAP_HEADER = 24
RECORD_HEADER = 16


def pcap_records(path: Path) -> tuple[bytes, list[bytes]]:
    """The file header and every record (header + data) of a classic pcap file."""
    data = path.read_bytes()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    records, pos = [], PCAP_HEADER
    while pos + RECORD_HEADER <= len(data):
        caplen = struct.unpack_from(order + "I", data, pos + 8)[0]
        records.append(data[pos : pos + RECORD_HEADER + caplen])
        pos += RECORD_HEADER + caplen
    return data[:PCAP_HEADER], records


def split_pcap(path: Path, out_dir: Path, parts: int, choose: Callable[[int, int], int]) -> list[Path]:
    """Write ``parts`` files; record ``i`` (0-based) of ``n`` goes to file ``choose(i, n)``."""
    header, records = pcap_records(path)
    chunks: list[list[bytes]] = [[] for _ in range(parts)]
    for i, record in enumerate(records):
        chunks[choose(i, len(records))].append(record)
    out = []
    for number, chunk in enumerate(chunks, 1):
        target = out_dir / f"{path.stem}.part{number}.pcap"
        target.write_bytes(header + b"".join(chunk))
        out.append(target)
    return out


def split_at(index: int) -> Callable[[int, int], int]:
    """Records before ``index`` in the first file, the rest in the second (a rotation)."""
    return lambda i, _n: 0 if i < index else 1


def alternate(i: int, _n: int) -> int:
    """Odd and even records in two files (two sensors on the same link)."""
    return i % 2


def shift_pcap(path: Path, seconds: float) -> Path:
    """Move every record of a microsecond pcap ``seconds`` in time (in place)."""
    header, records = pcap_records(path)
    order = "<" if header[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    assert header[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"), "microsecond pcap only"
    delta = round(seconds * 1_000_000)
    out = [header]
    for record in records:
        sec, usec = struct.unpack_from(order + "II", record)
        sec, usec = divmod(sec * 1_000_000 + usec + delta, 1_000_000)
        out.append(struct.pack(order + "II", sec, usec) + record[8:])
    path.write_bytes(b"".join(out))
    return path


def is_esp(record: bytes) -> bool:
    """A pcap record (16-byte header, Ethernet, IPv4) carrying ESP, plain or in UDP 4500 (RFC 3948)."""
    ip = 16 + 14
    if record[ip + 9] == 50:
        return True
    udp = ip + 20
    return (
        record[ip + 9] == 17
        and record[udp : udp + 4] == b"\x11\x94\x11\x94"
        and record[udp + 8 : udp + 12] != bytes(4)
    )
