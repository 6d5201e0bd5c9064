"""The accounting half of a capture read: statistics, IP reassembly and what they share.

``CaptureReader`` reads frames and accounts them here as it goes. ``ChunkJoiner`` (the main
process of a capture read in parallel chunks) holds one more of these for what only it can do:
the IP fragments its workers hand over as ``DeferredFragment``s go through the one reassembler,
exactly where ``CaptureReader`` would have added them, so a fragmented datagram is accounted the
same however the capture was cut.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple

from .classify import Classifier
from .datagram import CaptureStats, Datagram, Kind
from .icmp import MAX_KEPT, port_unreachable
from .ip import IP_PARSERS, rebuild_ipv4, rebuild_ipv6
from .malformed import Malformed
from .reassembly import Reassembled, Reassembler

MAX_MALFORMED_FRAMES_KEPT = 100
DEFAULT_FRAGMENT_BUFFERS = 1024  # IP datagrams under reassembly at once (--max-fragment-buffers)
MAX_ANOMALY_FRAMES_KEPT = 100
MAX_CACHED_ADDRESSES = 65536
ADDRESS_FAMILIES = {4: socket.AF_INET, 16: socket.AF_INET6}


class DeferredFragment(NamedTuple):
    """An IP fragment of a protocol the classifier wants, checked and counted (``ip_fragments``,
    link type, packets) but not yet added to a reassembler: what ``FrameAccounting.reassemble``
    needs to continue with it."""

    frame: int
    time_ns: int
    version: int  # 4 or 6
    src: bytes  # packed addresses
    dst: bytes
    proto: int  # the protocol the fragments carry (after IPv6 extension headers)
    ident: int
    offset: int  # in bytes
    more: bool
    piece: bytes  # the fragment's data
    first: Any  # IPv4: the IP header; IPv6: (unfragmentable part, position of its Next Header byte)

    @property
    def kind(self) -> None:
        """Not known before reassembly: a deferred fragment is never an ESP datagram of a batch."""
        return None


class FrameAccounting:
    """``CaptureStats``, anomalies and the IP reassembler of one capture read."""

    def __init__(
        self,
        ike_ports: Iterable[int] = (500, 4500),
        max_fragment_buffers: int = DEFAULT_FRAGMENT_BUFFERS,
        fragment_timeout: float = 30.0,
    ) -> None:
        if max_fragment_buffers < 0:
            raise ValueError("max_fragment_buffers must not be negative")
        if not fragment_timeout >= 0:
            raise ValueError("fragment_timeout must be a non-negative number of seconds")
        self.stats = CaptureStats()
        self.anomalies: Counter[str] = Counter()
        self.anomaly_frames: list[tuple[int, str]] = []
        self._classifier = Classifier(ike_ports)
        self._reassembler = Reassembler(max_fragment_buffers, int(fragment_timeout * 1_000_000_000))
        self._addresses: dict[bytes, str] = {}

    def read_options(self) -> dict[str, Any]:
        """The options this read was opened with that decide what it finds (the keyword arguments
        of ``CaptureReader``, ``scan_chunk`` and ``ChunkJoiner``), so another read can match it."""
        return {
            "ike_ports": tuple(self._classifier.udp_rules),
            "max_fragment_buffers": self._reassembler.max_buffers,
            "fragment_timeout": self._reassembler.timeout_ns / 1e9,
        }

    # -- fragments --------------------------------------------------------------------------------

    def reassemble(self, fragment: DeferredFragment) -> Datagram | None:
        """Add a checked fragment to the reassembler; the IKE, ESP or AH datagram it completes, or
        None. Raises ``Malformed`` when this fragment alone is unusable (the caller accounts it)."""
        version = fragment.version
        done: Reassembled | None
        if version == 6 and fragment.offset == 0 and not fragment.more:
            # RFC 6946 atomic fragment: nothing to wait for
            done = Reassembled((fragment.frame,), fragment.first, fragment.piece, False, False)
        else:
            ident = fragment.ident
            done = self._reassembler.add(
                (version, fragment.src, fragment.dst, ident, fragment.proto),
                ident,
                fragment.frame,
                fragment.time_ns,
                fragment.offset,
                fragment.more,
                fragment.piece,
                fragment.first,
            )
            if self._reassembler.dropped:
                self._account_dropped()
            if done is None:
                return None
        return self._reassembled(done, version, fragment.proto, fragment.time_ns)

    def _reassembled(self, done: Reassembled, version: int, proto: int, time_ns: int) -> Datagram | None:
        frames = done.frames
        for flag, note in (
            (done.overlapping, "overlapping IP fragments, first-arrived data kept"),
            (done.duplicated, "duplicate IP fragment data"),
        ):
            if flag:
                self._anomaly(frames[-1], note)
        try:
            if version == 4:
                packet = rebuild_ipv4(done.first, done.payload)
            else:
                unfragmentable, next_header_pos = done.first
                packet = rebuild_ipv6(unfragmentable, next_header_pos, proto, done.payload)
            src, dst, proto, header_start, payload_start, payload_end, missing, fragment = IP_PARSERS[
                version
            ](packet, 0)
            if fragment is not None:
                raise Malformed("nested IP fragmentation")
            kind, sport, dport, payload, encapsulated, keepalive = self._classifier.classify(
                proto, packet, payload_start, payload_end, missing
            )
        except Malformed as problem:
            self._malformed(frames, problem)
            return None
        self.stats.add(kind, len(frames))
        if kind is Kind.OTHER:
            return None
        if keepalive:
            self.stats.nat_keepalives += 1
        return Datagram(
            frame=frames[-1],
            time=time_ns / 1e9,
            kind=kind,
            src=self._address(src),
            dst=self._address(dst),
            sport=sport,
            dport=dport,
            payload=payload,
            ip_version=version,
            ip_header=packet[header_start:payload_start],
            udp_encapsulated=encapsulated,
            nat_keepalive=keepalive,
            frames=frames,
            time_ns=time_ns,
        )

    def take_fragment(self, fragment: DeferredFragment) -> Datagram | None:
        """``reassemble``, accounting a fragment that is unusable alone as malformed."""
        try:
            return self.reassemble(fragment)
        except Malformed as problem:
            self._malformed((fragment.frame,), problem)
            return None

    def expire_at(self, time_ns: int) -> None:
        """Drop the fragment sets that timed out by capture time ``time_ns``."""
        self._reassembler.expire(time_ns)
        if self._reassembler.dropped:
            self._account_dropped()

    def flush_fragments(self) -> None:
        """The capture ended: every set still under reassembly is incomplete."""
        self._reassembler.flush()
        self._account_dropped()
        self.stats.fragment_sets_evicted = self._reassembler.evicted

    # -- accounting helpers -----------------------------------------------------------------------

    def _malformed(self, frames: Iterable[int], problem: Malformed) -> None:
        stats = self.stats
        frames = tuple(frames)
        stats.malformed += len(frames)
        stats.malformed_reasons[problem.reason] += len(frames)
        room = MAX_MALFORMED_FRAMES_KEPT - len(stats.malformed_frames)
        if room > 0:
            description = problem.describe()
            stats.malformed_frames.extend((frame, description) for frame in frames[:room])

    def _account_dropped(self) -> None:
        dropped = self._reassembler.dropped
        while dropped:
            frames, problem = dropped.pop(0)
            self._malformed(frames, problem)

    def _anomaly(self, frame: int, note: str) -> None:
        self.anomalies[note] += 1
        if len(self.anomaly_frames) < MAX_ANOMALY_FRAMES_KEPT:
            self.anomaly_frames.append((frame, note))

    def _icmp(self, frame: int, time_ns: int, version: int, src: bytes, icmp: bytes) -> None:
        """Keep a note of an ICMP port unreachable about UDP 500/4500 (capture/icmp.py)."""
        note = port_unreachable(version, frame, time_ns / 1e9, self._address(src), icmp)
        if note is not None:
            self.stats.port_unreachable_count += 1
            if len(self.stats.port_unreachable) < MAX_KEPT:
                self.stats.port_unreachable.append(note)

    def _address(self, packed: bytes) -> str:
        text = self._addresses.get(packed)
        if text is None:
            text = socket.inet_ntop(ADDRESS_FAMILIES[len(packed)], packed)
            if len(self._addresses) < MAX_CACHED_ADDRESSES:
                self._addresses[packed] = text
        return text
