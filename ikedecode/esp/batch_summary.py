"""A batch's outcomes condensed for accounting: per-SA *groups* of the usual packets and *singles*.

``summarize_spans`` opens a batch of ESP packets (``capture/batch.py``) flow by flow: the flows
that take a lane (``esp/lanes.py``) are opened and counted there, every other packet goes through
``EspOpener.open``; the result, ``(singles, groups)``, is what ``EspProcessor.account_summary``
accounts in capture order, in whichever process the batch was opened. The split depends on the
outcomes alone, so it is the same in every process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ikedecode.capture.batch import ADDRESS_AT
from ikedecode.esp.inner import TUNNEL_NEXT_HEADERS
from ikedecode.esp.outcome import (
    CODE,
    FAILED,
    ICV_OK,
    NEXT_HEADER,
    OUTCOME_OPENED,
    PADDING_OK,
    PAYLOAD,
    PROBLEM,
    SA_INDEX,
    SEQ_LOW,
    SPI,
    Outcome,
)
from ikedecode.esp.sadb import MAX_CACHED_FLOWS

if TYPE_CHECKING:
    from ikedecode.esp.opener import EspOpener

# A group in a batch summary: the packets of one SA that need no more than counting. Indexes:
G_PACKETS, G_BYTES, G_VERIFIED, G_DECRYPTED, G_TUNNEL, G_TRANSPORT, G_BAD_PADDING = range(7)
G_FIRST_POSITION, G_LAST_POSITION, G_SEQUENCES = range(7, 10)

BatchSummary = tuple[list[tuple[int, Outcome]], dict[int, list]]


def summarize_batch(opener: EspOpener, blob: bytes, meta: Sequence[int]) -> BatchSummary:
    """``summarize_spans`` for an ``EspBatch``'s blob and meta."""
    return summarize_spans(opener, blob, meta[2::6], meta[4::6], meta[5::6])


def summarize_spans(
    opener: EspOpener,
    blob: bytes,
    ip_starts: Sequence[int],
    esp_starts: Sequence[int],
    esp_ends: Sequence[int],
) -> BatchSummary:
    """A batch's outcomes, condensed for ``EspProcessor.account_summary``: ``(singles, groups)``.

    The bulk of a batch (authentic packets of an SA without ESN, with a sound trailer, nothing to
    write or open further) is summed per SA into a *group*: counters, the positions of its first
    and last packet, and the sequence numbers per SPI in arrival order (the anti-replay window
    needs them in order). Every other packet is a *single*: ``(position in the batch, outcome)``,
    accounted one by one. The split depends on the outcomes alone, so it is the same in every
    process.

    IPv4 flows with a single, ordinary SA (the bulk of any capture) take a *lane*
    (``EspOpener.lane``): opened and counted with no intermediate objects. Everything else goes
    through ``EspOpener.open``.
    """
    view = memoryview(blob)
    open_packet = opener.open
    lanes = opener.lanes
    touched = opener.touched
    touched.clear()
    lane_singles = opener.singles
    lane_singles.clear()
    address_at = ADDRESS_AT
    sas = opener.sadb.sas
    groups: dict[int, list] = {}
    tunnel_headers = TUNNEL_NEXT_HEADERS
    deferred: list[int] = []
    for key, positions in _flows(blob, ip_starts, esp_starts, esp_ends, deferred).items():
        lane = lanes.get(key)
        if lane is None:
            if len(lanes) >= MAX_CACHED_FLOWS:
                deferred.extend(positions)
                continue
            lane = lanes[key] = opener.lane(key[8:], key[:4], key[4:8])
        lane(view, positions, esp_starts, esp_ends, deferred)
    singles = lane_singles[:]
    lane_singles.clear()
    if deferred:
        deferred.sort()
    for position in deferred:
        ip_start = ip_starts[position]
        start = esp_starts[position]
        end = esp_ends[position]
        version = blob[ip_start] >> 4
        src_at, dst_at, length = address_at[version]
        src_at += ip_start
        dst_at += ip_start
        outcome = open_packet(view[start:end], blob[src_at : src_at + length], blob[dst_at : dst_at + length])
        if (
            outcome[CODE] != OUTCOME_OPENED
            or outcome[ICV_OK] is False
            or outcome[PROBLEM]
            or outcome[PAYLOAD] is not None
            or outcome[FAILED] is not None
            or sas[outcome[SA_INDEX]].esn
        ):
            singles.append((position, outcome))
            continue
        index = outcome[SA_INDEX]
        group = groups.get(index)
        if group is None:
            group = groups[index] = [0, 0, 0, 0, 0, 0, 0, position, 0, {}]
        group[G_PACKETS] += 1
        group[G_BYTES] += end - start
        group[G_VERIFIED if outcome[ICV_OK] else G_DECRYPTED] += 1
        mode = sas[index].mode or ("tunnel" if outcome[NEXT_HEADER] in tunnel_headers else "transport")
        group[G_TUNNEL if mode == "tunnel" else G_TRANSPORT] += 1
        if not outcome[PADDING_OK]:
            group[G_BAD_PADDING] += 1
        group[G_LAST_POSITION] = position
        group[G_SEQUENCES].setdefault(outcome[SPI], []).append(outcome[SEQ_LOW])
    for lane_group in touched:
        lane_group.merge_into(groups)
    touched.clear()
    if len(singles) > 1:  # lanes add theirs flow by flow
        singles.sort(key=_position)
    return singles, groups


def _position(single: tuple[int, Outcome]) -> int:
    return single[0]


def _flows(
    blob: bytes,
    ip_starts: Sequence[int],
    esp_starts: Sequence[int],
    esp_ends: Sequence[int],
    others: list[int],
) -> Mapping[bytes, Sequence[int]]:
    """The batch's IPv4 packets by flow (packed source | destination | SPI), positions in order;
    the positions of the rest (IPv6, too short for an SPI) go to ``others``."""
    keys = [
        blob[ip_start + 12 : start + 4]  # plain ESP: addresses and SPI lie together
        if start - ip_start == 20 and end - start >= 8 and blob[ip_start] >> 4 == 4
        else _flow_key(blob, ip_start, start, end)
        for ip_start, start, end in zip(ip_starts, esp_starts, esp_ends, strict=True)
    ]
    if not keys:
        return {}
    first = keys[0]
    count = len(keys)
    if first is not None and keys.count(first) == count:
        return {first: range(count)}  # one flow: the common case of a bulk transfer
    grouped: dict[bytes, list[int]] = {}
    flow_of = grouped.get
    for position, key in enumerate(keys):
        positions = flow_of(key)  # type: ignore[arg-type]
        if positions is not None:
            positions.append(position)
        elif key is None:
            others.append(position)
        else:
            grouped[key] = [position]
    return grouped


def _flow_key(blob: bytes, ip_start: int, start: int, end: int) -> bytes | None:
    """``_flows``' key of a packet other than plain ESP after a 20-byte IPv4 header: NAT-T (the
    UDP header lies between the addresses and the SPI), IPv4 options; None for IPv6 or a packet
    too short for an SPI."""
    if blob[ip_start] >> 4 != 4 or end - start < 8:
        return None
    return blob[ip_start + 12 : ip_start + 20] + blob[start : start + 4]
