"""Reading a capture sequentially and in chunks, reduced to what must be equal between the two."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from ikedecode.capture import CaptureReader, CaptureStats, Datagram, Kind
from ikedecode.capture.batch import EspBatch
from ikedecode.capture.chunk_join import ChunkJoiner
from ikedecode.capture.chunk_scan import ChunkScan, EspRun, scan_chunk
from ikedecode.capture.chunks import Chunk, ChunkFeeder, plan_chunks


def esp_event(datagram: Datagram) -> tuple:
    """An ESP packet as both reads must give it, however batched (a batch rebuilds the UDP header
    and keeps only the packet's own frame)."""
    return (
        "esp",
        datagram.frame,
        datagram.time_ns,
        datagram.time,
        datagram.src,
        datagram.dst,
        datagram.sport,
        datagram.dport,
        datagram.payload,
        datagram.ip_version,
        datagram.ip_header,
        datagram.udp_encapsulated,
    )


def batch_events(batch: EspBatch) -> list[tuple]:
    return [esp_event(batch.datagram(i)) for i in range(batch.count)]


def item_events(item: Datagram | EspBatch) -> list[Any]:
    if isinstance(item, EspBatch):
        return batch_events(item)
    if item.kind is Kind.ESP:
        return [esp_event(item)]
    return [item]  # IKE and AH datagrams: equal in every field


def stats_fields(stats: CaptureStats) -> dict[str, Any]:
    """Every field; Counters as lists, so that their key order counts too."""
    fields = {name: getattr(stats, name) for name in CaptureStats.__dataclass_fields__}
    fields["malformed_reasons"] = list(stats.malformed_reasons.items())
    fields["link_types"] = list(stats.link_types.items())
    return fields


def read_sequentially(capture: bytes, batch_packets: int = 512, **options: Any) -> tuple[list, dict, list]:
    reader = CaptureReader(io.BytesIO(capture), "capture", **options)
    events = [event for item in reader.items(batch_packets) for event in item_events(item)]
    return events, stats_fields(reader.stats), list(reader.anomaly_frames)


def join_scans(scans: Iterable[tuple[ChunkScan, ChunkScan]], **options: Any) -> tuple[list, dict, list]:
    """(scan with its batches, the summary the main process gets) of each chunk, in order."""
    joiner = ChunkJoiner(**options)
    events: list[Any] = []
    for scan, summary in scans:
        for item in joiner.join(summary):
            if isinstance(item, EspRun):
                events.extend(batch_events(scan.batches[item.batch]))
            else:
                events.extend(item_events(item))
    return events, stats_fields(joiner.stats()), list(joiner.anomaly_frames)


def scanned(view: bytes, chunks: Iterable[Chunk], batch_packets: int = 512, **options: Any):
    for chunk in chunks:
        scan = scan_chunk(view[chunk.start : chunk.end], chunk, batch_packets=batch_packets, **options)
        yield scan, scan.summary()


def read_in_chunks(
    view: bytes, chunk_bytes: int, chunk_records: int | None = None, batch_packets: int = 512, **options: Any
) -> tuple[list, dict, list]:
    chunks = plan_chunks(view, chunk_bytes, chunk_records=chunk_records)
    return join_scans(scanned(view, chunks, batch_packets, **options), **options)


def feed_in_chunks(
    capture: bytes,
    chunk_bytes: int,
    chunk_records: int | None = None,
    batch_packets: int = 512,
    **options: Any,
) -> tuple[list, dict, list]:
    feeder = ChunkFeeder(io.BytesIO(capture), chunk_bytes, chunk_records=chunk_records)

    def scans():
        for chunk, data in feeder:
            error = feeder.end_error if chunk.last else None
            scan = scan_chunk(data, chunk, batch_packets=batch_packets, end_error=error, **options)
            yield scan, scan.summary()

    return join_scans(scans(), **options)
