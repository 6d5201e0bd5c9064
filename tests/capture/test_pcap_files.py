"""Classic pcap: byte orders, timestamp resolutions, gzip, streaming."""

from __future__ import annotations

import gzip
import io

import dpkt
import pytest

from ikedecode.capture import CaptureReader, Kind, open_capture

from .builders import esp, ethernet, ethernet_pcap, ipv4, isakmp, pcap, read_capture, udp

T0 = 1_700_000_123_456_789_123  # nanoseconds


def _frames() -> list[tuple[int, bytes]]:
    return [
        (T0, ethernet(ipv4("192.0.2.1", "198.51.100.7", 17, udp(500, 500, isakmp())))),
        (T0 + 1_500_000_001, ethernet(ipv4("198.51.100.7", "192.0.2.1", 50, esp(seq=7)))),
    ]


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
def test_microsecond_pcap_in_either_byte_order(order: str) -> None:
    reader, datagrams = read_capture(pcap(_frames(), order=order))
    assert reader.format == "pcap"
    assert [d.kind for d in datagrams] == [Kind.IKE, Kind.ESP]
    assert [d.frame for d in datagrams] == [1, 2]
    # microsecond files keep microseconds: the nanosecond digits are cut
    assert datagrams[0].time_ns == T0 - 123
    assert datagrams[1].time_ns == T0 + 1_500_000_001 - 124
    assert datagrams[0].time == pytest.approx((T0 - 123) / 1e9)
    assert (datagrams[0].src, datagrams[0].dst, datagrams[0].sport, datagrams[0].dport) == (
        "192.0.2.1",
        "198.51.100.7",
        500,
        500,
    )
    assert datagrams[0].payload == isakmp()
    assert datagrams[1].payload == esp(seq=7)


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
def test_nanosecond_pcap_keeps_exact_timestamps(order: str) -> None:
    reader, datagrams = read_capture(pcap(_frames(), order=order, nanosecond=True))
    assert [d.time_ns for d in datagrams] == [T0, T0 + 1_500_000_001]
    assert reader.stats.first_time == pytest.approx(T0 / 1e9)
    assert reader.stats.last_time == pytest.approx((T0 + 1_500_000_001) / 1e9)


def test_file_written_by_dpkt_is_read() -> None:
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, linktype=dpkt.pcap.DLT_EN10MB)
    writer.writepkt(_frames()[0][1], ts=1_700_000_000.25)
    writer.writepkt(_frames()[1][1], ts=1_700_000_001.5)
    reader, datagrams = read_capture(out.getvalue())
    assert [d.time_ns for d in datagrams] == [1_700_000_000_250_000_000, 1_700_000_001_500_000_000]
    assert reader.stats.as_dict() == {"packets": 2, "ike": 1, "esp": 1, "ah": 0, "other": 0, "malformed": 0}


def test_fcs_bits_in_the_link_type_field_are_ignored() -> None:
    # pcap "LinkType and additional information": bits 26-31 may say an FCS of N 16-bit words follows
    reader, datagrams = read_capture(pcap(_frames(), linktype=1 | 0x04000000 | (2 << 28)))
    assert len(datagrams) == 2
    assert reader.stats.link_types == {"ethernet": 2}


def test_gzip_compressed_file_is_detected_by_name_and_content(tmp_path) -> None:
    data = gzip.compress(pcap(_frames()))
    named = tmp_path / "capture.pcap.gz"
    named.write_bytes(data)
    unnamed = tmp_path / "capture.bin"  # gzip without a .gz name: detected by the magic bytes
    unnamed.write_bytes(data)
    for path in (named, unnamed):
        reader = open_capture(path)
        datagrams = list(reader)
        assert reader.compressed
        assert [d.payload for d in datagrams] == [isakmp(), esp(seq=7)]


def test_plain_file_named_gz_is_read_as_is(tmp_path) -> None:
    path = tmp_path / "not-really.pcap.gz"
    path.write_bytes(pcap(_frames()))
    reader = open_capture(path)
    assert len(list(reader)) == 2
    assert not reader.compressed


class _StrictStream(io.RawIOBase):
    """A non-seekable stream that refuses to hand out the whole file in one read."""

    def __init__(self, data: bytes, largest_read: int) -> None:
        self._data = io.BytesIO(data)
        self._largest_read = largest_read
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert 0 <= size <= self._largest_read, f"read({size}) would not be streaming"
        self.reads += 1
        return self._data.read(min(size, 1000))  # short reads, as pipes give them

    def readinto(self, buffer) -> int:  # pragma: no cover - not used by the reader
        raise AssertionError("readinto not expected")


def test_large_file_is_read_as_a_bounded_stream() -> None:
    packets = [ipv4("10.0.0.1", "10.0.0.2", 50, esp(seq=n, body=bytes(1400))) for n in range(1, 3001)]
    data = ethernet_pcap(packets)  # about 4.4 MB, several read chunks
    stream = _StrictStream(data, largest_read=2 * 1024 * 1024)
    reader = CaptureReader(stream, "pipe")  # type: ignore[arg-type]
    sequence_numbers = [int.from_bytes(d.payload[4:8], "big") for d in reader]
    assert sequence_numbers == list(range(1, 3001))
    assert reader.stats.truncated is None
    assert stream.reads > 4


def test_gzip_stream_is_decompressed_without_a_file_name() -> None:
    reader = CaptureReader(io.BytesIO(gzip.compress(pcap(_frames()))))
    assert reader.name == "<stream>"
    assert [d.kind for d in reader] == [Kind.IKE, Kind.ESP]
