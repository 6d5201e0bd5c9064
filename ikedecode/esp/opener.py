"""Opening ESP packets: the stateless half of ESP processing (the part that can run anywhere).

ESP processing splits in two. *Opening* a packet (find the SAs that may hold its keys, check the
ICV, decrypt, read the trailer) depends only on the packet and the SA database, so any number of
worker processes can open packets of one capture at once. *Accounting* for it (counters, the
anti-replay window, ESN high bits, which SA to blame for a packet no key opens) depends on every
packet before it and is done in capture order by ``EspProcessor`` from the outcomes this module
returns (docs/architecture.md, "ESP in parallel").

The outcome of a packet must not depend on which packets the same opener saw before, or ``--jobs
1`` and ``--jobs N`` would disagree. The two places where history could leak in are settled so:

* several SAs may match a packet (PFS candidates, a key file and a quick mode): they are tried in
  the SA database's fixed order (most specific first, then insertion order), the first one whose
  ICV verifies wins, and among SAs with identical keys the first in that order. The opener
  remembers per flow which SA won last, but only to try it first (speed); since SAs with
  different keys cannot both verify a packet, the winner is the same either way.
* ESN (RFC 4303 Appendix A): the high 32 bits of the sequence number come from the receiver's
  window. The opener guesses them from what it has seen and tries the neighbouring values on an
  ICV failure; the outcome says which value verified, and ``EspProcessor`` accepts the packet
  only if that is the value its own (complete, in-order) window infers.

An outcome is a plain tuple (cheap to build and to send between processes); see esp/outcome.py.
The fast path for the usual packets of a flow, the lanes, is in esp/lanes.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence

from ikedecode.capture.batch import ADDRESS_AT
from ikedecode.esp.ciphers import ESP_HEADER, EspCrypto, new_crypto
from ikedecode.esp.inner import PADDINGS, carries_ipsec
from ikedecode.esp.lanes import Lane, LaneGroup, no_lane, open_lane
from ikedecode.esp.outcome import (
    NO_TRAILER,
    OUTCOME_ERROR,
    OUTCOME_NO_KEYS,
    OUTCOME_OPENED,
    OUTCOME_SHORT_FOR_SA,
    OUTCOME_SHORT_HEADER,
    OUTCOME_UNSUPPORTED,
    Outcome,
)
from ikedecode.esp.plaintext import PAD_LENGTH, judge, plaintext_problem
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import MAX_CACHED_FLOWS, SaDatabase
from ikedecode.esp.sequence import SequenceTracker

_Attempt = tuple[int | None, bool | None, bytes | None, str]  # (seq_hi, icv_ok, plaintext, problem)


class _Candidate:
    """One SA that may open a flow's packets, with what the opener needs of it at hand."""

    __slots__ = ("index", "sa", "crypto", "first_same_keys")

    def __init__(self, index: int, sa: IpsecSa, crypto: EspCrypto | None, first_same_keys: int) -> None:
        self.index = index
        self.sa = sa
        self.crypto = crypto
        self.first_same_keys = first_same_keys  # position of the first SA in the flow that verifies alike


def _icv_identity(sa: IpsecSa) -> tuple:
    """What decides whether a packet passes the SA's ICV: SAs alike in this verify the same packets."""
    if sa.integrity_algorithm.checks and not sa.encryption_algorithm.combined:
        return (sa.integrity, sa.integrity_key, sa.esn)
    return (sa.encryption, sa.encryption_key, sa.integrity, sa.integrity_key, sa.esn)


def _address_text(packed: bytes | str) -> str:
    if isinstance(packed, str):
        return packed
    return socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)


class EspOpener:
    """Opens ESP packets with the SAs of an ``SaDatabase`` (sans-IO: bytes in, outcome tuples out).

    ``want_plaintext``: return the inner packet of every opened packet (for the decrypted pcap);
    without it the payload is returned only when it carries another ESP/AH layer.
    """

    def __init__(self, sadb: SaDatabase, *, check_padding: bool = True, want_plaintext: bool = False) -> None:
        self.sadb = sadb
        self.check_padding = check_padding
        self.want_plaintext = want_plaintext
        self._flows: dict[tuple, list[_Candidate]] = {}
        self._hint: dict[tuple, int] = {}  # flow -> position of the SA that verified last (speed only)
        self._esn_guess: dict[tuple[int, int], SequenceTracker] = {}
        self.lanes: dict[bytes, Lane] = {}  # packed IPv4 source | destination | SPI -> lane
        self.touched: list[LaneGroup] = []  # lanes that counted packets of the batch being summarized
        self.singles: list[tuple[int, Outcome]] = []  # what the lanes made singles of in that batch
        self._sas_seen = sadb.changes  # the database's changes the caches below reflect

    # --- SAs ---------------------------------------------------------------------------------------

    def add_sas(self, sas: Iterable[IpsecSa]) -> None:
        """Add SAs to the database (a worker's copy follows the main process's additions)."""
        for sa in sas:
            self.sadb.add(sa)
        self._forget_flows()

    def _forget_flows(self) -> None:
        self._flows.clear()
        self._hint.clear()
        self.lanes.clear()
        self._sas_seen = self.sadb.changes

    def lane(self, spi_bytes: bytes, src: bytes, dst: bytes) -> Lane:
        """The lane of a flow (``esp/lanes.py``): ``open_lane`` for a flow with exactly one SA,
        without ESN, whose cipher the backend has; ``no_lane`` (defer every packet to ``open``)
        for any other."""
        if self.sadb.changes != self._sas_seen:
            self._forget_flows()
        spi = int.from_bytes(spi_bytes, "big")
        flow = self._flows.get((spi, src, dst)) or self._candidates(spi, src, dst)
        crypto = flow[0].crypto if len(flow) == 1 else None
        if crypto is None or flow[0].sa.esn:
            return no_lane
        candidate = flow[0]
        return open_lane(
            crypto,
            candidate.index,
            spi,
            candidate.sa.mode,
            want_plaintext=self.want_plaintext,
            check_padding=self.check_padding,
            touched=self.touched,
            singles=self.singles,
        )

    def _candidates(self, spi: int, src: bytes | str, dst: bytes | str) -> list[_Candidate]:
        if self.sadb.changes != self._sas_seen:
            self._forget_flows()
        found = self.sadb.candidates("esp", spi, _address_text(src), _address_text(dst))
        identities: list[tuple] = []
        flow: list[_Candidate] = []
        for position, sa in enumerate(found):
            identity = _icv_identity(sa)
            first = identities.index(identity) if identity in identities else position
            identities.append(identity)
            flow.append(_Candidate(self.sadb.index_of(sa), sa, _crypto(sa), first))
        if len(self._flows) >= MAX_CACHED_FLOWS:
            self._forget_flows()
        self._flows[(spi, src, dst)] = flow
        return flow

    # --- packets -----------------------------------------------------------------------------------

    def open(self, packet: bytes | memoryview, src: bytes | str, dst: bytes | str) -> Outcome:
        """The outcome of one ESP packet (SPI onward) from ``src`` to ``dst`` (packed or text)."""
        size = len(packet)
        if size < ESP_HEADER:
            return (OUTCOME_SHORT_HEADER,)
        view = packet if isinstance(packet, memoryview) else memoryview(packet)
        spi = int.from_bytes(view[0:4], "big")
        seq_low = int.from_bytes(view[4:8], "big")
        try:
            return self._open(view, size, spi, seq_low, src, dst)
        except Exception as exc:  # noqa: BLE001 - one packet must not end the analysis
            return (OUTCOME_ERROR, spi, seq_low, type(exc).__name__)

    def _open(
        self, view: memoryview, size: int, spi: int, seq_low: int, src: bytes | str, dst: bytes | str
    ) -> Outcome:
        key = (spi, src, dst)
        flow = self._flows.get(key)
        if flow is None or self.sadb.changes != self._sas_seen:
            flow = self._candidates(spi, src, dst)
        if not flow:
            return (OUTCOME_NO_KEYS, spi, seq_low)
        if len(flow) == 1:
            candidate = flow[0]
            crypto = candidate.crypto
            if crypto is None:
                return (OUTCOME_UNSUPPORTED, spi, seq_low, candidate.index)
            if size < crypto.min_length:
                return (OUTCOME_SHORT_FOR_SA, spi, seq_low, candidate.index)
            seq_hi, icv_ok, plaintext, problem = self._attempt(candidate, view, spi, seq_low)
            return self._opened(spi, seq_low, candidate, seq_hi, icv_ok, plaintext, problem, None)
        return self._open_among(key, flow, view, size, spi, seq_low)

    def _open_among(
        self, key: tuple, flow: list[_Candidate], view: memoryview, size: int, spi: int, seq_low: int
    ) -> Outcome:
        hint = self._hint.get(key, 0)
        hinted = flow[hint].crypto
        if hint and hinted is not None and hinted.icv_size == 0:
            hint = 0  # without an ICV, plausibility decides: keep database order
        order = [hint, *(i for i in range(len(flow)) if i != hint)]
        attempts: dict[int, _Attempt] = {}
        verdicts: dict[int, bool | None] = {}  # position -> its attempt's icv_ok
        authentic: int | None = None  # the first SA whose ICV verified but whose plaintext is noise
        for position in order:
            candidate = flow[position]
            crypto = candidate.crypto
            if crypto is None or size < crypto.min_length:
                continue
            attempt = self._attempt(candidate, view, spi, seq_low)
            _, icv_ok, plaintext, _ = attempt
            # The ICV proves the integrity key only; sound plaintext (esp/plaintext.py) proves the
            # encryption key, and without an ICV (null integrity) it is the only evidence.
            if icv_ok is not False and not judge(
                plaintext, check_padding=self.check_padding, authentic=icv_ok is True
            ):
                self._hint[key] = position
                if candidate.first_same_keys != position:
                    # an earlier SA in database order verifies alike: it counts if it decrypts alike
                    earlier = flow[candidate.first_same_keys]
                    again = self._attempt(earlier, view, spi, seq_low)
                    if not judge(again[2], check_padding=self.check_padding, authentic=again[1] is True):
                        candidate, attempt = earlier, again
                return self._opened(spi, seq_low, candidate, *attempt, None)
            if icv_ok and (authentic is None or position < authentic):
                authentic = position
            attempts[position] = attempt
            verdicts[position] = icv_ok
        if authentic is not None:
            # authentic, but no candidate's encryption key gives plaintext: the encryption key is wrong
            return self._opened(spi, seq_low, flow[authentic], *attempts[authentic], None)
        if attempts:
            # No SA verified. Database order decides which attempt to report (one without an ICV
            # check beats an ICV failure); the caller decides whom to blame among ``failed``.
            chosen = None
            for position in sorted(attempts):
                if chosen is None or (verdicts[chosen] is False and verdicts[position] is None):
                    chosen = position
            assert chosen is not None
            failed = tuple(flow[p].index for p in sorted(attempts) if verdicts[p] is False)
            return self._opened(
                spi, seq_low, flow[chosen], *attempts[chosen], failed if len(failed) > 1 else None
            )
        for candidate in flow:
            if candidate.crypto is not None:
                return (OUTCOME_SHORT_FOR_SA, spi, seq_low, candidate.index)
        return (OUTCOME_UNSUPPORTED, spi, seq_low, flow[0].index)

    def _attempt(self, candidate: _Candidate, view: memoryview, spi: int, seq_low: int) -> _Attempt:
        crypto = candidate.crypto
        assert crypto is not None
        if not candidate.sa.esn:
            icv_ok, plaintext, problem = crypto.open(view)
            return None, icv_ok, plaintext, problem
        tracker = self._esn_guess.get((candidate.index, spi))
        if tracker is None:
            tracker = self._esn_guess[(candidate.index, spi)] = SequenceTracker()
        guess = tracker.infer_high_bits(seq_low, candidate.sa.initial_seq_hi)
        first = None
        for seq_hi in (guess, guess + 1, guess - 1):
            if not 0 <= seq_hi <= 0xFFFFFFFF:
                continue
            icv_ok, plaintext, problem = crypto.open(view, seq_hi)
            if first is None:
                first = (seq_hi, icv_ok, plaintext, problem)
            if icv_ok is not False:
                if icv_ok:
                    tracker.record((seq_hi << 32) | seq_low)
                return seq_hi, icv_ok, plaintext, problem
        assert first is not None
        return first

    def _opened(
        self,
        spi: int,
        seq_low: int,
        candidate: _Candidate,
        seq_hi: int | None,
        icv_ok: bool | None,
        plaintext: bytes | None,
        problem: str,
        failed: tuple[int, ...] | None,
    ) -> Outcome:
        index = candidate.index
        if plaintext is None or problem or len(plaintext) < 2:
            problem = problem or NO_TRAILER
            return (OUTCOME_OPENED, spi, seq_low, index, seq_hi, icv_ok, problem, 0, None, None, True, failed)
        pad_length, next_header = plaintext[-2], plaintext[-1]
        payload_end = len(plaintext) - 2 - pad_length
        if payload_end < 0:
            return (
                OUTCOME_OPENED, spi, seq_low, index, seq_hi, icv_ok, PAD_LENGTH, pad_length,
                next_header, None, True, failed,
            )  # fmt: skip
        padding_ok = not self.check_padding or plaintext[payload_end:-2] == PADDINGS[pad_length]
        if icv_ok is not False:
            garbled = plaintext_problem(plaintext, 0, payload_end, next_header, padding_ok, icv_ok is True)
            if garbled:  # esp/plaintext.py: no plaintext leaves the opener
                return (
                    OUTCOME_OPENED, spi, seq_low, index, seq_hi, icv_ok, garbled, pad_length,
                    next_header, None, padding_ok, failed,
                )  # fmt: skip
        inner = plaintext[:payload_end]
        payload = inner if self.want_plaintext or carries_ipsec(next_header, inner) else None
        return (
            OUTCOME_OPENED, spi, seq_low, index, seq_hi, icv_ok, "", pad_length, next_header, payload,
            padding_ok, failed,
        )  # fmt: skip


def _crypto(sa: IpsecSa) -> EspCrypto | None:
    """The SA's keyed cipher/MAC state, built once; None when the backend lacks its algorithm."""
    state = sa.state
    crypto = state.crypto
    if crypto is None:
        crypto = new_crypto(sa)
        if crypto is None:
            return None
        state.crypto = crypto
    return crypto  # type: ignore[return-value]


def open_batch(opener: EspOpener, blob: bytes, meta: Sequence[int]) -> list[Outcome]:
    """The outcomes of a batch of ESP packets (``ikedecode.capture.batch.EspBatch`` layout: six
    integers per packet, the last four offsets into ``blob``: IP header, IP payload, ESP, ESP end)."""
    return open_spans(opener, blob, meta[2::6], meta[4::6], meta[5::6])


def open_spans(
    opener: EspOpener,
    blob: bytes,
    ip_starts: Sequence[int],
    esp_starts: Sequence[int],
    esp_ends: Sequence[int],
) -> list[Outcome]:
    """The outcome of each ESP packet at ``blob[esp_starts[i]:esp_ends[i]]``, inside the IP
    packet that starts at ``ip_starts[i]`` (where its addresses are read)."""
    view = memoryview(blob)
    open_packet = opener.open
    address_at = ADDRESS_AT
    outcomes: list[Outcome] = []
    for ip_start, start, end in zip(ip_starts, esp_starts, esp_ends, strict=True):
        src_at, dst_at, length = address_at[blob[ip_start] >> 4]
        src_at += ip_start
        dst_at += ip_start
        outcomes.append(
            open_packet(view[start:end], blob[src_at : src_at + length], blob[dst_at : dst_at + length])
        )
    return outcomes
