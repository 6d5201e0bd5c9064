"""What cannot be read raises CaptureError with one line; a file cut short is not an error."""

from __future__ import annotations

import builtins
import gzip
import io
import struct

import pytest

from ikedecode.capture import CaptureError, CaptureReader, open_capture

from .builders import epb, esp, ethernet, ethernet_pcap, idb, ipv4, pcap, read_capture, shb

PACKETS = [
    ipv4("10.0.0.1", "10.0.0.2", 50, esp(seq=n, body=bytes(1472))) for n in range(1, 6)
]  # 1514-byte frames


def _error(path) -> str:
    with pytest.raises(CaptureError) as caught:
        open_capture(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_not_a_capture(tmp_path) -> None:
    path = tmp_path / "capture.pcap"
    path.write_bytes(b"<html><body>404</body></html>")
    assert _error(path) == f"{path}: not a pcap or pcapng file (starts with 3c 68 74 6d)"


def test_empty_file(tmp_path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    assert _error(path) == f"{path}: empty file"


def test_truncated_pcap_file_header(tmp_path) -> None:
    path = tmp_path / "short.pcap"
    path.write_bytes(pcap([])[:10])
    assert _error(path) == f"{path}: truncated pcap file header (10 of 24 bytes)"


def test_truncated_pcapng_section_header(tmp_path) -> None:
    path = tmp_path / "short.pcapng"
    path.write_bytes(shb()[:20])
    assert _error(path) == f"{path}: truncated pcapng section header (20 of 28 bytes)"


def test_pcapng_with_an_unknown_byte_order_magic(tmp_path) -> None:
    path = tmp_path / "bad.pcapng"
    path.write_bytes(shb()[:8] + b"\x01\x02\x03\x04" + shb()[12:])
    assert _error(path) == f"{path}: pcapng section header with an unknown byte-order magic"


def test_directory(tmp_path) -> None:
    assert _error(tmp_path) == f"{tmp_path}: is a directory, not a capture file"


def test_missing_file(tmp_path) -> None:
    assert _error(tmp_path / "nope.pcap") == f"{tmp_path / 'nope.pcap'}: no such file"


def test_unreadable_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "secret.pcap"
    path.write_bytes(pcap([]))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(builtins, "open", refuse)
    assert _error(path) == f"{path}: permission denied"


def test_gzip_magic_with_broken_data(tmp_path) -> None:
    path = tmp_path / "broken.pcap.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(30))
    assert _error(path).startswith(f"{path}: gzip decompression failed: ")


def test_gzip_of_something_else(tmp_path) -> None:
    path = tmp_path / "page.gz"
    path.write_bytes(gzip.compress(b"<html>"))
    assert (
        _error(path)
        == f"{path}: gzip-compressed data that is not a pcap or pcapng file (starts with 3c 68 74 6d)"
    )


def test_file_cut_inside_a_record(tmp_path) -> None:
    data = ethernet_pcap(PACKETS)
    record_4 = 24 + 3 * (16 + 1514)
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: record_4 + 16 + 1000])
    reader = open_capture(path)
    assert [d.frame for d in reader] == [1, 2, 3]
    assert reader.stats.truncated == (
        f"file ends inside record 4 at byte offset {record_4}: header says 1514 bytes, 1000 present"
    )
    assert reader.stats.packets == reader.stats.esp == 3


def test_file_cut_inside_a_record_header() -> None:
    data = ethernet_pcap(PACKETS)[: 24 + 2 * (16 + 1514) + 9]
    reader, datagrams = read_capture(data)
    assert len(datagrams) == 2
    assert (
        reader.stats.truncated
        == "file ends inside record 3 at byte offset 3084: 9 of 16 record header bytes present"
    )


def test_corrupt_record_length_stops_reading() -> None:
    data = bytearray(ethernet_pcap(PACKETS))
    struct.pack_into("<I", data, 24 + 16 + 1514 + 8, 0x7FFFFFFF)  # captured length of record 2
    reader, datagrams = read_capture(bytes(data))
    assert len(datagrams) == 1
    assert reader.stats.truncated == (
        "corrupt record 2 at byte offset 1554: captured length 2147483647 exceeds 16777216"
    )


def test_pcapng_cut_inside_a_block() -> None:
    data = shb() + idb(1) + epb(0, 1, ethernet(PACKETS[0])) + epb(0, 2, ethernet(PACKETS[1]))
    reader, datagrams = read_capture(data[:-100])
    assert len(datagrams) == 1
    offset = len(shb() + idb(1) + epb(0, 1, ethernet(PACKETS[0])))
    assert (
        reader.stats.truncated
        == f"file ends inside record 2 at byte offset {offset}: block header says 1548 bytes, 1448 present"
    )


def test_cut_gzip_stream_keeps_the_records_before_the_cut() -> None:
    compressed = gzip.compress(ethernet_pcap(PACKETS))
    reader = CaptureReader(io.BytesIO(compressed[: len(compressed) * 2 // 3]), "cut.pcap.gz")
    datagrams = list(reader)
    assert 1 <= len(datagrams) < 5
    assert "gzip decompression failed" in reader.stats.truncated
    assert reader.stats.packets == len(datagrams)


def test_clean_end_is_not_truncated() -> None:
    reader, datagrams = read_capture(ethernet_pcap(PACKETS))
    assert len(datagrams) == 5
    assert reader.stats.truncated is None
