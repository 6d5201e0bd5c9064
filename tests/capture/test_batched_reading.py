"""``CaptureReader.items`` (ESP in batches, classic pcap read in place) against plain iteration.

The batching path has its own loop over classic pcap files; it must yield the same datagrams,
in the same order, with the same accounting, as iterating, on every capture we have: the lab
captures, the hostile corpus (truncated, corrupt lengths, fragments, ...), the public reference
captures, and generated ESP over each link type the fast path reads in place.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from ikedecode.capture import CaptureReader, open_capture
from ikedecode.capture.batch import EspBatch
from ikedecode.capture.linklayer import FAST_LINKS
from tests.conftest import CAPTURES_DIR, PROJECT_ROOT, REFERENCE_DIR

CORPUS_DIR = PROJECT_ROOT / "tests" / "corpus"


# corpus files that are no capture at all (their one-line errors: tests/capture/test_capture_errors.py)
NOT_CAPTURES = {"empty.pcap", "not-a-capture.pcap", "truncated-header.pcap", "truncated-header.pcapng"}


def _readable(path: Path) -> bool:
    try:
        CaptureReader(io.BytesIO(path.read_bytes()))
    except Exception:  # noqa: BLE001 - not a capture at all
        return False
    return True


def _capture_files() -> list[Path]:
    """Every capture shipped (lab captures and corpus) and, where present, the public reference ones."""
    files = sorted(CAPTURES_DIR.glob("*.pcap*")) + sorted(
        p
        for p in CORPUS_DIR.iterdir()
        if p.suffix in (".pcap", ".pcapng", ".gz") and p.name not in NOT_CAPTURES
    )
    assert len(files) > 30, f"only {len(files)} captures under {CAPTURES_DIR} and {CORPUS_DIR}"
    if REFERENCE_DIR.is_dir():  # not ours: what is no capture there is left out when collecting
        files += sorted(
            p
            for p in REFERENCE_DIR.rglob("*")
            if p.suffix in (".pcap", ".pcapng", ".cap", ".gz") and _readable(p)
        )
    return files


def test_the_files_left_out_are_no_captures():
    assert all(not _readable(CORPUS_DIR / name) for name in NOT_CAPTURES)


def _flatten(items) -> list[tuple]:  # noqa: ANN001
    out = []
    for item in items:
        datagrams = [item.datagram(i) for i in range(item.count)] if isinstance(item, EspBatch) else [item]
        for d in datagrams:
            out.append(
                (d.frame, d.time_ns, d.kind, d.src, d.dst, d.sport, d.dport, bytes(d.payload), d.ip_version,
                 bytes(d.ip_header), d.udp_encapsulated, d.nat_keepalive)
            )  # fmt: skip
    return out


def _both(data: bytes, batch_packets: int) -> tuple:
    plain = CaptureReader(io.BytesIO(data))
    batched = CaptureReader(io.BytesIO(data))
    return _flatten(plain), plain.stats, _flatten(batched.items(batch_packets)), batched.stats


@pytest.mark.parametrize("path", _capture_files(), ids=lambda p: p.name)
@pytest.mark.parametrize("batch_packets", [1, 5, 512])
def test_batched_reading_yields_what_iteration_yields(path: Path, batch_packets: int):
    plain, plain_stats, batched, batched_stats = _both(path.read_bytes(), batch_packets)
    assert batched == plain
    assert batched_stats == plain_stats


def _pcap(linktype: int, frames: list[bytes]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for n, frame in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + n, n, len(frame), len(frame)) + frame)
    return b"".join(out)


def _ipv4(proto: int, payload: bytes, flags_fragment: int = 0) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, flags_fragment, 64, proto, 0,
        bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]),
    )  # fmt: skip
    return header + payload


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


ESP = b"\x00\x00\x10\x01" + b"\x00\x00\x00\x07" + bytes(range(48))
LINK_HEADERS = {
    1: b"\x02" * 12 + b"\x08\x00",
    113: b"\x00\x00\x00\x01\x00\x06" + b"\x02" * 8 + b"\x08\x00",
    276: b"\x08\x00\x00\x00" + b"\x00" * 4 + b"\x00\x01\x00\x06" + b"\x02" * 8,
    101: b"",
    12: b"",
    14: b"",
    228: b"",
}

ETHERTYPE_AT = {1: 12, 113: 14, 276: 0}  # where the link header says 0x0800


@pytest.mark.parametrize("linktype", sorted(FAST_LINKS))
def test_every_fast_link_type_reads_like_the_general_path(linktype: int):
    head = LINK_HEADERS[linktype]
    frames = [
        head + _ipv4(50, ESP),  # ESP
        head + _ipv4(17, _udp(4500, 4500, ESP)),  # ESP in UDP
        head + _ipv4(17, _udp(4500, 4500, b"\x00\x00\x00\x00" + bytes(28))),  # IKE behind a non-ESP marker
        head + _ipv4(17, _udp(500, 4500, ESP)),  # port 500 wins: IKE
        head + _ipv4(17, _udp(4500, 4500, b"\xff")),  # NAT-T keepalive
        head + _ipv4(50, ESP[:7]),  # too short for ESP: malformed
        head + _ipv4(50, ESP, flags_fragment=0x2000),  # a first fragment, never completed
        head + _ipv4(50, ESP)[:-5],  # cut by the snapshot length... but caplen says so: malformed
        head + _ipv4(6, bytes(20)),  # TCP: other
        head + _ipv4(50, ESP) + b"\x00" * 6,  # Ethernet-style trailing padding
    ]
    if linktype in ETHERTYPE_AT:  # IPv4 ESP behind another EtherType: not for the fast path
        at = ETHERTYPE_AT[linktype]
        frames.append(head[:at] + b"\x86\xdd" + head[at + 2 :] + _ipv4(50, ESP))
    data = _pcap(linktype, frames)
    plain, plain_stats, batched, batched_stats = _both(data, 512)
    assert batched == plain
    assert batched_stats == plain_stats
    assert plain_stats.esp >= 3  # the fast path had something to do


def test_a_batch_never_spans_an_ike_datagram():
    data = (CAPTURES_DIR / "esp-rekey-delete.pcap").read_bytes()
    kinds = []
    for item in CaptureReader(io.BytesIO(data)).items():
        kinds.append("batch" if isinstance(item, EspBatch) else item.kind)
    flat = [d[2] for d in _flatten(CaptureReader(io.BytesIO(data)).items())]
    assert flat == [d.kind for d in CaptureReader(io.BytesIO(data))]
    assert "batch" in kinds and "ike" in kinds


def test_open_capture_batches_a_gzip_capture_the_same_way(tmp_path: Path):
    import gzip

    source = CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap"
    packed = tmp_path / "c.pcap.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    assert _flatten(open_capture(packed).items()) == _flatten(open_capture(source))


def test_merged_captures_batch_like_they_iterate(tmp_path: Path):
    # several files take the general loop, with its own in-place check for plain ESP
    from ikedecode.capture.merge import open_captures
    from tests.capture.splitting import alternate, split_pcap

    parts = split_pcap(CAPTURES_DIR / "esp-rekey-delete.pcap", tmp_path, 2, alternate)
    plain = open_captures(parts)
    batched = open_captures(parts)
    assert _flatten(batched.items(5)) == _flatten(plain)
    assert batched.stats == plain.stats and plain.stats.esp > 100


def test_pcapng_batches_like_it_iterates(tmp_path: Path):
    import subprocess

    pcapng = tmp_path / "c.pcapng"
    result = subprocess.run(
        ["editcap", "-F", "pcapng", str(CAPTURES_DIR / "esp-rekey-delete.pcap"), str(pcapng)],
        capture_output=True,
    )
    if result.returncode:
        pytest.skip("editcap (Wireshark) not installed")
    plain = open_capture(pcapng)
    batched = open_capture(pcapng)
    assert _flatten(batched.items(5)) == _flatten(plain)
    assert batched.stats == plain.stats and plain.stats.esp > 100
