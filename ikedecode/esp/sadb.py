"""The SA database: which keys may open a packet, and what arrived without any.

Lookup follows RFC 4301 section 4.1 in spirit (SPI, then destination, then source) but also
accepts the wildcards of key files: an SA with ``spi``/``src``/``dst`` None matches anything
there. Several SAs can match one packet (two PFS candidates, a key file and an IKE-derived SA):
``candidates`` returns them most specific first, and the processor lets the ICV decide, then
``promote``s the winner so later packets of the flow try it first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ikedecode.esp.sa import IpsecSa

FlowKey = tuple[str, int, str, str]  # (protocol, spi, src, dst)

# Bounds against captures full of random SPIs: the lookup cache is dropped when it grows past
# MAX_CACHED_FLOWS; flows without keys beyond MAX_UNKNOWN_FLOWS are summed in ``no_keys_overflow``.
MAX_CACHED_FLOWS = 65536
MAX_UNKNOWN_FLOWS = 10000


@dataclass(slots=True)
class UnknownSpi:
    """Packets of an SPI for which no SA has keys: reported, never dropped silently."""

    protocol: str
    spi: int
    src: str
    dst: str
    packets: int = 0
    bytes: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    first_frame: int = 0

    @property
    def label(self) -> str:
        return f"{self.protocol.upper()} SPI 0x{self.spi:08x} {self.src} -> {self.dst}"


def _same_sa(a: IpsecSa, b: IpsecSa) -> bool:
    return (
        a.protocol == b.protocol
        and a.spi == b.spi
        and a.src == b.src
        and a.dst == b.dst
        and a.encryption == b.encryption
        and a.encryption_key == b.encryption_key
        and a.integrity == b.integrity
        and a.integrity_key == b.integrity_key
        and a.esn == b.esn
    )


def _specificity(sa: IpsecSa) -> int:
    return (
        (4 if sa.spi is not None else 0) + (2 if sa.dst is not None else 0) + (1 if sa.src is not None else 0)
    )


class SaDatabase:
    def __init__(self, sas: Iterable[IpsecSa] = ()) -> None:
        self._sas: list[IpsecSa] = []
        self.sas = self._sas  # read-only view for hot loops: SA by index (``index_of``)
        self._positions: dict[int, int] = {}  # id(sa) -> its place in ``_sas`` (its index)
        self._by_spi: dict[int, list[IpsecSa]] = {}
        self._any_spi: list[IpsecSa] = []
        self._flows: dict[FlowKey, list[IpsecSa]] = {}
        self._unknown: dict[FlowKey, UnknownSpi] = {}
        self.no_keys_overflow = UnknownSpi("esp/ah", 0, "*", "*")  # flows past MAX_UNKNOWN_FLOWS, summed
        self.changes = 0  # SAs added or replaced so far: caches of candidates are stale when it moves
        for sa in sas:
            self.add(sa)

    def add(self, sa: IpsecSa) -> IpsecSa:
        """Add ``sa``; an identical SA already present is kept and returned instead.

        When a quick mode in the capture re-derives keys a key file already gave, the kept SA
        learns which IKE SA and quick mode made it: an SA that says so takes its place (same
        index, same state), and that one is returned.
        """
        for existing in self._by_spi.get(sa.spi, ()) if sa.spi is not None else self._any_spi:
            if _same_sa(existing, sa):
                if existing.ike_cookies is None and sa.ike_cookies is not None:
                    return self._replace(existing, existing.made_by_ike(sa))
                return existing
        self._positions[id(sa)] = len(self._sas)
        self._sas.append(sa)
        if sa.spi is None:
            self._any_spi.append(sa)
        else:
            self._by_spi.setdefault(sa.spi, []).append(sa)
        self._flows.clear()
        self.changes += 1
        return sa

    def _replace(self, old: IpsecSa, new: IpsecSa) -> IpsecSa:
        """``new`` (the same keys, and ``old``'s state) takes ``old``'s place and index."""
        index = self._positions.pop(id(old))
        self._positions[id(new)] = index
        self._sas[index] = new
        same_spi = self._by_spi[old.spi] if old.spi is not None else self._any_spi
        same_spi[same_spi.index(old)] = new
        self._flows.clear()
        self.changes += 1
        return new

    def index_of(self, sa: IpsecSa) -> int:
        """The SA's index: its place in the order of addition (the same in every copy of the
        database that was given the same SAs in the same order)."""
        return self._positions[id(sa)]

    def __getitem__(self, index: int) -> IpsecSa:
        return self._sas[index]

    def __iter__(self) -> Iterator[IpsecSa]:
        return iter(self._sas)

    def __len__(self) -> int:
        return len(self._sas)

    def candidates(self, protocol: str, spi: int, src: str, dst: str) -> list[IpsecSa]:
        """SAs that may open a packet of this flow, the one to try first at the front."""
        key = (protocol, spi, src, dst)
        found = self._flows.get(key)
        if found is None:
            found = [
                sa
                for sa in (*self._by_spi.get(spi, ()), *self._any_spi)
                if sa.protocol == protocol and sa.dst in (None, dst) and sa.src in (None, src)
            ]
            found.sort(key=_specificity, reverse=True)  # stable: insertion order among equals
            if found:  # flows without keys are not cached: they would only fill memory
                if len(self._flows) >= MAX_CACHED_FLOWS:
                    self._flows.clear()
                self._flows[key] = found
        return found

    def promote(self, protocol: str, spi: int, src: str, dst: str, sa: IpsecSa) -> None:
        """Try ``sa`` first for this flow from now on (its ICV verified)."""
        found = self.candidates(protocol, spi, src, dst)
        if found and found[0] is not sa:
            found.remove(sa)
            found.insert(0, sa)

    def note_no_keys(
        self, protocol: str, spi: int, src: str, dst: str, time: float, size: int, frame: int = 0
    ) -> UnknownSpi:
        key = (protocol, spi, src, dst)
        entry = self._unknown.get(key)
        if entry is None:
            if len(self._unknown) >= MAX_UNKNOWN_FLOWS:
                entry = self.no_keys_overflow
                if entry.first_seen is None:
                    entry.first_seen, entry.first_frame = time, frame
            else:
                entry = self._unknown[key] = UnknownSpi(
                    protocol, spi, src, dst, first_seen=time, first_frame=frame
                )
        entry.packets += 1
        entry.bytes += size
        entry.last_seen = time
        return entry

    @property
    def no_keys(self) -> list[UnknownSpi]:
        """Flows seen without any SA to open them, in order of first appearance."""
        return list(self._unknown.values())
