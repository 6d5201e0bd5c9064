"""Stage 2 of a chunked run: a chunk's ESP batches opened where they were scanned, residues out.

A worker that scanned a chunk of a capture (stage 1, ``capture/chunk_scan.py``) keeps the chunk's
``EspBatch``es. Once the main process's IKE engine has read past the chunk, the worker opens them
with an ``SaPlan`` (each SA only for the packets after the IKE datagram that keyed it, as in a
sequential run) and summarizes them as ``EspWork`` does (``esp/lanes.py`` ``summarize_spans``).

What goes back is small: per batch, the spans opened with the same SAs, each as a *residue* and
its ``BatchSummary``. The residue is an ``EspBatch`` of only the packets the main process needs
bytes or meta of to account the summary (``EspProcessor.account_summary``, unchanged): the
singles (outcomes accounted one by one: their addresses, ICV-failure sample, plaintext layers) and
each group's first and last packet (first and last seen). The summary's positions are remapped to
the residue. The bulk of the packets, counted in the groups, never travels.
"""

from __future__ import annotations

from collections.abc import Iterable

from ikedecode.capture.batch import META_FIELDS, EspBatch
from ikedecode.esp.lanes import G_FIRST_POSITION, G_LAST_POSITION, G_SEQUENCES, BatchSummary, summarize_spans
from ikedecode.esp.sa_plan import SaPlan

Residue = tuple[EspBatch, BatchSummary]


def open_batches(plan: SaPlan, batches: Iterable[EspBatch], base: int = 0) -> list[list[Residue]]:
    """Per batch (in order), its spans' residues in order; the batches must come in frame order
    (after those the plan's opener opened before). ``base``: the batches' frames are numbered that
    many short of the capture's (a part's chunk, capture/part_scan.py); the residues' are not."""
    opener = plan.opener
    opened: list[list[Residue]] = []
    for batch in batches:
        meta, blob = batch.meta, batch.blob
        residues: list[Residue] = []
        for start, end in plan.spans(meta, batch.count, base):
            lo, hi = start * META_FIELDS, end * META_FIELDS
            summary = summarize_spans(
                opener, blob, meta[lo + 2 : hi : 6], meta[lo + 4 : hi : 6], meta[lo + 5 : hi : 6]
            )
            residues.append(residue(batch, start, summary, base))
        opened.append(residues)
    return opened


def residue(batch: EspBatch, start: int, summary: BatchSummary, base: int = 0) -> Residue:
    """The packets of ``batch`` that ``summary`` (of the span from packet ``start`` on) needs
    accounted individually or by position, as a new batch, and the summary remapped to it.

    Each packet is copied from its IP header on (what ``EspBatch.addresses`` and ``datagram``
    read); its frame (plus ``base``), time and ESP size stay as they were."""
    singles, groups = summary
    needed = {position for position, _ in singles}
    for group in groups.values():
        needed.add(group[G_FIRST_POSITION])
        needed.add(group[G_LAST_POSITION])
    meta, blob = batch.meta, batch.blob
    kept = EspBatch()
    moved: dict[int, int] = {}
    for new, position in enumerate(sorted(needed)):
        moved[position] = new
        at = (start + position) * META_FIELDS
        frame, time_ns, ip_start, ip_payload, esp_start, esp_end = meta[at : at + META_FIELDS]
        kept.add(
            frame + base,
            time_ns,
            blob[ip_start:esp_end],
            0,
            ip_payload - ip_start,
            esp_start - ip_start,
            esp_end - ip_start,
        )
    kept.seal()
    remapped = {
        index: [
            *group[:G_FIRST_POSITION],
            moved[group[G_FIRST_POSITION]],
            moved[group[G_LAST_POSITION]],
            group[G_SEQUENCES],
        ]
        for index, group in groups.items()
    }
    return kept, ([(moved[position], outcome) for position, outcome in singles], remapped)
