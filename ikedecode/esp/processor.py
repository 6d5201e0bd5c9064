"""Open ESP (RFC 4303) and AH (RFC 4302) datagrams with the keys of an ``SaDatabase``.

``EspProcessor.process(datagram)`` returns one ``EspResult`` per ESP/AH datagram and never
raises on packet contents: short, misaligned or undecryptable packets come back with a status
and a reason, and are counted (per SA in ``IpsecSa.counters``, without keys in
``SaDatabase.no_keys``, structural problems in ``EspProcessor.malformed``).
"""

from __future__ import annotations

import socket
import struct
from collections import Counter
from collections.abc import Callable

from ikedecode.capture.batch import EspBatch
from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp.ah_open import (  # noqa: F401 - the AH reasons are re-exported with the ESP ones
    AH_BAD_HEADER,
    AH_BAD_IP_HEADER,
    AH_NO_IP_HEADER,
    AH_SHORT_ICV_FIELD,
    NOT_AVAILABLE,
    ah_shows_payload,
    open_ah,
)
from ikedecode.esp.batch_summary import (
    G_BAD_PADDING,
    G_BYTES,
    G_DECRYPTED,
    G_FIRST_POSITION,
    G_LAST_POSITION,
    G_PACKETS,
    G_SEQUENCES,
    G_TRANSPORT,
    G_TUNNEL,
    G_VERIFIED,
    BatchSummary,
)
from ikedecode.esp.inner import TUNNEL_NEXT_HEADERS, carries_ipsec, inner_datagram
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.outcome import (
    CODE,
    ERROR_NAME,
    NEXT_HEADER,
    NO_TRAILER,  # noqa: F401 - re-exported: the reasons of EspProcessor.malformed
    OUTCOME_ERROR,
    OUTCOME_NO_KEYS,
    OUTCOME_OPENED,
    OUTCOME_SHORT_FOR_SA,
    OUTCOME_SHORT_HEADER,
    PAD_LENGTH,
    PAYLOAD,
    SA_INDEX,
    SEQ_LOW,
    SPI,
    Outcome,
)
from ikedecode.esp.plaintext import GARBLED
from ikedecode.esp.result import PLAINTEXT_STATUSES, EspResult, EspStatus
from ikedecode.esp.sa import IpsecSa, SaCounters
from ikedecode.esp.sadb import SaDatabase

_SPI = struct.Struct("!I")
MAX_NESTING = 4

# Reasons are fixed texts (they key ``EspProcessor.malformed``, which hostile input must not grow).
SHORT_HEADER = "ESP shorter than SPI + sequence number"
SHORT_FOR_SA = "ESP shorter than the SA's IV, trailer and ICV"
DECODER_ERROR = "ikedecode failed to open the packet (a bug)"


def keep_icv_failed_sample(sa: IpsecSa, packet: bytes | memoryview) -> None:
    """Keep an SA's first ICV failure (SPI onward) for ``esp/diagnose.py``."""
    counters = sa.state.counters
    if counters.icv_failed_sample is None:
        counters.icv_failed_sample = bytes(packet)


def _mode(sa: IpsecSa, next_header: int) -> str:
    if sa.mode is not None:
        return sa.mode
    return "tunnel" if next_header in TUNNEL_NEXT_HEADERS else "transport"


def _mode_or_none(sa: IpsecSa, next_header: int | None) -> str | None:
    return None if next_header is None else _mode(sa, next_header)


def _text(address: bytes | str) -> str:
    if isinstance(address, str):
        return address
    return socket.inet_ntop(socket.AF_INET if len(address) == 4 else socket.AF_INET6, address)


Address = bytes | str | None  # packed, text, or None where the outcome does not need it (only NO_KEYS does)

# What ``EspProcessor.account`` makes of an outcome:
# (status, sa, seq, icv_ok, mode, padding_ok, replayed, reason)
Accounted = tuple[EspStatus, "IpsecSa | None", "int | None", "bool | None", "str | None", bool, bool, str]


class EspProcessor:
    """ESP/AH processing against an ``SaDatabase`` (sans-IO: datagrams in, records out).

    ESP packets are opened by an ``EspOpener`` (stateless, see ``ikedecode.esp.opener``) and then
    accounted for here in capture order: per-SA counters, the anti-replay window, ESN high bits.
    ``process`` does both for one datagram; ``account`` is the second half alone, for outcomes
    computed elsewhere (worker processes, ``ikedecode.parallel``).
    """

    def __init__(self, sadb: SaDatabase, *, check_padding: bool = True) -> None:
        """``check_padding=False`` accepts any padding bytes (RFC 4303 section 2.4 allows other
        schemes by agreement); by default anything but 1, 2, 3, ... is counted as bad padding."""
        self.sadb = sadb
        self.check_padding = check_padding
        self.opener = EspOpener(sadb, check_padding=check_padding, want_plaintext=True)
        self.malformed: Counter[str] = Counter()  # reason -> packets (the per-SA counters have the rest)
        # packets whose opening or accounting raised (a bug): how many, and the first (frame, exception)
        self.failed_packets = 0
        self.first_failure: tuple[int, str] | None = None

    # --- public -------------------------------------------------------------------------------

    def process(self, datagram: Datagram) -> EspResult | None:
        """Open one ESP or AH datagram; None for any other kind."""
        kind = datagram.kind
        if kind == Kind.ESP:
            outcome = self.opener.open(datagram.payload, datagram.src, datagram.dst)
            result = self.esp_result(datagram, outcome)
        elif kind == Kind.AH:
            result = open_ah(self.sadb, datagram, self._count)
            if result.status in (EspStatus.TOO_SHORT, EspStatus.MALFORMED):
                self.malformed[result.reason] += 1
        else:
            return None
        return result

    def process_nested(self, datagram: Datagram, max_depth: int = MAX_NESTING) -> list[EspResult]:
        """Every ESP/AH layer of a datagram, outermost first (ESP in ESP, AH + ESP bundles)."""
        return self.nested(self.process(datagram), max_depth)

    def nested(self, outer: EspResult | None, max_depth: int = MAX_NESTING) -> list[EspResult]:
        """``outer`` and the ESP/AH layers inside it, outermost first."""
        layers: list[EspResult] = []
        result = outer
        while result is not None:
            result.depth = len(layers)
            layers.append(result)
            if len(layers) >= max_depth or not (result.has_plaintext or ah_shows_payload(result)):
                break
            if result.payload is None or result.next_header is None:
                break
            if not carries_ipsec(result.next_header, result.payload):
                break  # the usual case: no need to build the inner datagram to know
            inner = inner_datagram(result)
            result = self.process(inner) if inner is not None else None
        return layers

    def esp_result(self, datagram: Datagram, outcome: Outcome) -> EspResult:
        """Account for an ESP datagram's outcome and describe it as an ``EspResult``."""
        data = datagram.payload
        accounted = self.account(
            outcome, len(data), datagram.time, datagram.frame, datagram.src, datagram.dst
        )
        sa = accounted[1]
        if accounted[0] == EspStatus.ICV_FAILED and sa is not None:
            keep_icv_failed_sample(sa, data)
        return self._result(datagram, outcome, accounted)

    @staticmethod
    def _result(datagram: Datagram, outcome: Outcome, accounted: Accounted) -> EspResult:
        status, sa, seq, icv_ok, mode, padding_ok, replayed, reason = accounted
        spi = outcome[SPI] if len(outcome) > SPI else None
        if seq is None and len(outcome) > SEQ_LOW:
            seq = outcome[SEQ_LOW]
        result = EspResult(datagram, "esp", spi, seq, status, sa=sa, icv_ok=icv_ok, reason=reason)
        opened = outcome[CODE] == OUTCOME_OPENED
        if opened and outcome[NEXT_HEADER] is not None and status != EspStatus.MALFORMED:
            result.next_header = outcome[NEXT_HEADER]
            result.pad_length = outcome[PAD_LENGTH]
            result.payload = outcome[PAYLOAD]
            result.mode = mode
            result.padding_ok = padding_ok
            result.replayed = replayed
        return result

    def account_summary(
        self,
        batch: EspBatch,
        summary: BatchSummary,
        on_layers: Callable[[list[EspResult]], None] | None = None,
        on_tunnel_packet: Callable[[int, bytes], None] | None = None,
    ) -> None:
        """Account for a batch from its summary (``ikedecode.esp.batch_summary.summarize_batch``): the
        singles one by one, in order, then each group at once. First and last seen come out as
        if every packet had been counted in order.

        ``on_layers`` receives the layers of every packet with plaintext (``EspResult``s, for the
        decrypted pcap); with ``on_tunnel_packet`` too, the commonest of them, a tunnel-mode packet
        with nothing further to open, goes there instead as (capture time in ns, inner IP packet),
        which is all a writer needs, without building the records."""
        singles, groups = summary
        sas = self.sadb.sas
        meta = batch.meta
        unseen = {index for index in groups if sas[index].state.counters.first_seen is None}
        single_first: dict[int, int] = {}  # id(SA) -> position of its first and last single
        single_last: dict[int, int] = {}
        for position, outcome in singles:
            at = position * 6
            try:
                src = dst = None
                if outcome[CODE] == OUTCOME_NO_KEYS:
                    src, dst = batch.addresses(position)
                accounted = self.account(
                    outcome, meta[at + 5] - meta[at + 4], meta[at + 1] / 1e9, meta[at], src, dst
                )
                status, sa, _, _, mode, _, _, _ = accounted
                if sa is not None:
                    single_first.setdefault(id(sa), position)
                    single_last[id(sa)] = position
                    if status == EspStatus.ICV_FAILED:
                        keep_icv_failed_sample(sa, batch.blob[meta[at + 4] : meta[at + 5]])
                if status not in PLAINTEXT_STATUSES or (on_layers is None and outcome[PAYLOAD] is None):
                    continue
                if (
                    on_tunnel_packet is not None
                    and mode == "tunnel"
                    and not carries_ipsec(outcome[NEXT_HEADER], outcome[PAYLOAD])
                ):
                    on_tunnel_packet(meta[at + 1], outcome[PAYLOAD])
                else:
                    layers = self.nested(self._result(batch.datagram(position), outcome, accounted))
                    if on_layers is not None:
                        on_layers(layers)
            except Exception as exc:  # noqa: BLE001 - one bad packet must not end the analysis
                self.note_failure(meta[at], type(exc).__name__)
        for index, group in groups.items():
            try:
                self._apply_group(sas[index], group, index in unseen, single_first, single_last, meta)
            except Exception as exc:  # noqa: BLE001 - one bad packet must not end the analysis
                self.note_failure(meta[group[G_FIRST_POSITION] * 6], type(exc).__name__, group[G_PACKETS])

    @staticmethod
    def _apply_group(
        sa: IpsecSa,
        group: list,
        unseen: bool,
        single_first: dict[int, int],
        single_last: dict[int, int],
        meta: list[int],
    ) -> None:
        end = len(meta)
        counters = sa.state.counters
        for spi, sequences in group[G_SEQUENCES].items():
            counters.tracker(spi).record_run(sequences)
        counters.packets += group[G_PACKETS]
        counters.bytes += group[G_BYTES]
        counters.verified += group[G_VERIFIED]
        counters.decrypted += group[G_DECRYPTED]
        counters.tunnel += group[G_TUNNEL]
        counters.transport += group[G_TRANSPORT]
        counters.bad_padding += group[G_BAD_PADDING]
        if unseen and group[G_FIRST_POSITION] < single_first.get(id(sa), end):
            counters.first_seen = meta[group[G_FIRST_POSITION] * 6 + 1] / 1e9
        if group[G_LAST_POSITION] > single_last.get(id(sa), -1):
            counters.last_seen = meta[group[G_LAST_POSITION] * 6 + 1] / 1e9

    def note_failure(self, frame: int, exception: str, packets: int = 1) -> None:
        """Packets that made ikedecode raise: counted, the first kept (a ``decoder-error``)."""
        self.failed_packets += packets
        if self.first_failure is None:
            self.first_failure = (frame, exception)

    def account(
        self, outcome: Outcome, size: int, time: float, frame: int, src: Address, dst: Address
    ) -> Accounted:
        """Count an ESP packet's outcome (see ``ikedecode.esp.outcome``) in capture order."""
        status, sa, seq, icv_ok, mode, padding_ok, replayed, reason = self._account(
            outcome, size, time, frame, src, dst
        )
        if status in (EspStatus.TOO_SHORT, EspStatus.MALFORMED):
            self.malformed[reason] += 1
        return status, sa, seq, icv_ok, mode, padding_ok, replayed, reason

    def _account(
        self, outcome: Outcome, size: int, time: float, frame: int, src: Address, dst: Address
    ) -> Accounted:
        code = outcome[CODE]
        if code != OUTCOME_OPENED:
            return self._account_unopened(outcome, size, time, frame, src, dst)
        _, spi, seq_low, index, seq_hi, icv_ok, problem, _pad, next_header, _payload, padding_ok, failed = (
            outcome
        )
        sa = self.sadb[index]
        if failed is not None and icv_ok is False:
            sa = self._blame(failed, sa)
        counters = self._count(sa, time, size)
        if sa.esn:
            # The high bits come from this (complete, in-order) window, not from the opener's guess.
            inferred = counters.tracker(spi).infer_high_bits(seq_low, sa.initial_seq_hi)
            if icv_ok and seq_hi != inferred:
                icv_ok = False
            seq = (inferred << 32) | seq_low
        else:
            seq = seq_low
        if icv_ok is False:
            counters.icv_failed += 1
            # plaintext kept for diagnosis; the sequence window stays untouched (RFC 4303 3.4.3)
            return EspStatus.ICV_FAILED, sa, seq, False, _mode_or_none(sa, next_header), True, False, ""
        if problem in GARBLED:
            # esp/plaintext.py: the payload is noise (a wrong encryption key?). Neither verified nor
            # decrypted; the sequence number is in clear and counts for gaps and replays all the same.
            counters.garbled += 1
            if icv_ok:
                counters.garbled_icv_ok += 1
            checks = counters.failed_checks
            checks[problem] = checks.get(problem, 0) + 1
            replayed = counters.tracker(spi).record(seq)
            return EspStatus.GARBLED, sa, seq, icv_ok, None, padding_ok, replayed, GARBLED[problem]
        if icv_ok:
            counters.verified += 1
        if problem:
            counters.malformed += 1
            return EspStatus.MALFORMED, sa, seq, icv_ok, None, True, False, problem
        if icv_ok is None:
            counters.decrypted += 1
        replayed = counters.tracker(spi).record(seq)
        mode = sa.mode or ("tunnel" if next_header in TUNNEL_NEXT_HEADERS else "transport")
        if mode == "tunnel":
            counters.tunnel += 1
        else:
            counters.transport += 1
        if not padding_ok:
            counters.bad_padding += 1
            status = EspStatus.BAD_PADDING
        elif replayed:
            status = EspStatus.REPLAY
        else:
            status = EspStatus.VERIFIED if icv_ok else EspStatus.DECRYPTED
        return status, sa, seq, icv_ok, mode, padding_ok, replayed, ""

    def _account_unopened(
        self, outcome: Outcome, size: int, time: float, frame: int, src: Address, dst: Address
    ) -> Accounted:
        code = outcome[CODE]
        if code == OUTCOME_SHORT_HEADER:
            return EspStatus.TOO_SHORT, None, None, None, None, True, False, SHORT_HEADER
        spi, seq_low = outcome[SPI], outcome[SEQ_LOW]
        if code == OUTCOME_NO_KEYS:
            assert src is not None and dst is not None
            self.sadb.note_no_keys("esp", spi, _text(src), _text(dst), time, size, frame)
            return EspStatus.NO_KEYS, None, seq_low, None, None, True, False, ""
        if code == OUTCOME_ERROR:
            self.note_failure(frame, outcome[ERROR_NAME])
            return EspStatus.MALFORMED, None, seq_low, None, None, True, False, DECODER_ERROR
        sa = self.sadb[outcome[SA_INDEX]]
        self._count(sa, time, size)
        if code == OUTCOME_SHORT_FOR_SA:
            sa.state.counters.malformed += 1
            return EspStatus.TOO_SHORT, sa, seq_low, None, None, True, False, SHORT_FOR_SA
        sa.state.counters.unsupported += 1
        return EspStatus.UNSUPPORTED, sa, seq_low, None, None, True, False, NOT_AVAILABLE

    def _blame(self, failed: tuple[int, ...], sa: IpsecSa) -> IpsecSa:
        """A packet no candidate SA verified: charge it to the candidate that has verified the most
        packets so far (the one in use on the flow), else to the first in database order."""
        best = sa
        for index in failed:
            candidate = self.sadb[index]
            if candidate.state.counters.verified > best.state.counters.verified:
                best = candidate
        return best

    @staticmethod
    def _count(sa: IpsecSa, time: float, size: int) -> SaCounters:
        counters = sa.state.counters
        counters.packets += 1
        counters.bytes += size
        if counters.first_seen is None:
            counters.first_seen = time
        counters.last_seen = time
        return counters
