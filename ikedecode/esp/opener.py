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

An outcome is a plain tuple (cheap to build and to send between processes); see ``OUTCOME_*``.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable, Sequence
from hmac import compare_digest as hmac_compare

from ikedecode.capture.batch import ADDRESS_AT
from ikedecode.esp.algorithms import UnknownAlgorithm
from ikedecode.esp.ciphers import ESP_HEADER, EspCrypto
from ikedecode.esp.inner import TUNNEL_NEXT_HEADERS
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import SaDatabase
from ikedecode.esp.sequence import SequenceTracker

# Outcome tuples, by their first element:
#   (OUTCOME_SHORT_HEADER,)                               fewer than 8 bytes: no SPI and sequence number
#   (OUTCOME_NO_KEYS, spi, seq_low)                        no SA matches the flow
#   (OUTCOME_SHORT_FOR_SA, spi, seq_low, sa_index)         shorter than the SA's IV + trailer + ICV
#   (OUTCOME_UNSUPPORTED, spi, seq_low, sa_index)          the SA's algorithm is not in the backend
#   (OUTCOME_OPENED, spi, seq_low, sa_index, seq_hi, icv_ok, problem, pad_length, next_header,
#    payload, padding_ok, failed)
#       ``seq_hi``: the ESN high bits the ICV was computed with (None without ESN);
#       ``icv_ok``: True / False / None (no integrity check); ``problem``: a structural defect
#       ("" if none); ``payload``: the inner packet without the ESP trailer, or None when the
#       caller did not ask for plaintext (``pad_length``/``next_header`` are still given) or
#       there is none; ``failed``: when no SA verified and several were tried, the indexes of
#       those that failed, in database order (the caller picks whom to blame), else None.
#   (OUTCOME_ERROR, spi, seq_low, exception name)         a bug: opening raised
OUTCOME_SHORT_HEADER = 0
OUTCOME_NO_KEYS = 1
OUTCOME_SHORT_FOR_SA = 2
OUTCOME_UNSUPPORTED = 3
OUTCOME_OPENED = 4
OUTCOME_ERROR = 5

MAX_CACHED_FLOWS = 65536
# Reasons are fixed texts (they key ``EspProcessor.malformed``, which hostile input must not grow).
NO_TRAILER = "no room for the ESP trailer"
PAD_BEYOND_PAYLOAD = "pad length beyond the decrypted payload"
# RFC 4303 section 2.4: default padding is 1, 2, 3, ... up to the pad length
MONOTONIC_PADDING = bytes(range(1, 256))
_PADDINGS = tuple(MONOTONIC_PADDING[:length] for length in range(256))  # by pad length
_IPSEC_PROTOCOLS = (50, 51)  # ESP, AH: an inner packet carrying them is opened again (nested SAs)

Outcome = tuple
# lane(view, positions, esp_starts, esp_ends, deferred): see EspOpener.lane
Lane = Callable[[memoryview, Iterable[int], Sequence[int], Sequence[int], list], None]
_SEQ = struct.Struct("!I")


def _no_lane(
    view: memoryview,
    positions: Iterable[int],
    starts: Sequence[int],
    ends: Sequence[int],
    deferred: list[int],
) -> None:
    deferred.extend(positions)


def plausible_trailer(plaintext: bytes | memoryview | None) -> bool:
    """A decrypted payload whose ESP trailer makes sense: default padding, matching inner IP version."""
    if plaintext is None or len(plaintext) < 2:
        return False
    pad_length, next_header = plaintext[-2], plaintext[-1]
    payload_end = len(plaintext) - 2 - pad_length
    if payload_end < 0 or plaintext[payload_end:-2] != MONOTONIC_PADDING[:pad_length]:
        return False
    version = TUNNEL_NEXT_HEADERS.get(next_header)
    return version is None or (payload_end > 0 and plaintext[0] >> 4 == version)


def carries_ipsec(
    next_header: int, payload: bytes | memoryview, start: int = 0, end: int | None = None
) -> bool:
    """Whether an opened payload (``payload[start:end]``) holds another ESP/AH layer (so it must
    be opened again)."""
    if next_header in _IPSEC_PROTOCOLS:
        return True
    size = (len(payload) if end is None else end) - start
    if next_header == 4 and size >= 20:
        return payload[start + 9] in _IPSEC_PROTOCOLS
    if next_header == 41 and size >= 40:
        inner = payload[start + 6]
        return inner in _IPSEC_PROTOCOLS or inner in (0, 43, 60)  # or behind extension headers
    return False


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
        self._sas_seen = len(sadb)

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
        self._sas_seen = len(self.sadb)

    def lane(self, spi_bytes: bytes, src: bytes, dst: bytes) -> Lane:
        """A function that opens and counts the packets of one flow fast (``summarize_spans``).

        Only a flow with exactly one SA, without ESN, whose cipher the backend has qualifies;
        others get a stand-in that defers every packet. ``lane(view, positions, starts, ends,
        deferred)`` takes the batch positions of the flow's packets (ESP at
        ``view[starts[p]:ends[p]]``) in order: it counts the usual packet into its group (see
        ``LaneGroup``), adds ``(position, outcome)`` to ``self.singles`` for a packet that must
        be accounted alone (its plaintext is wanted), and adds to ``deferred`` the position of
        anything unusual (an ICV failure, a structural problem) so that ``open`` handles it and
        says why. One call per flow and batch: the per-packet loop runs inside, on local names.
        """
        if len(self.sadb) != self._sas_seen:
            self._forget_flows()
        spi = int.from_bytes(spi_bytes, "big")
        flow = self._flows.get((spi, src, dst)) or self._candidates(spi, src, dst)
        if len(flow) != 1 or flow[0].sa.esn or flow[0].crypto is None:
            return _no_lane
        candidate = flow[0]
        crypto = candidate.crypto
        min_length = crypto.min_length
        index = candidate.index
        want_plaintext = self.want_plaintext
        check_padding = self.check_padding
        seq_at = _SEQ.unpack_from
        paddings = _PADDINGS
        fixed_mode = candidate.sa.mode
        tunnel_headers = TUNNEL_NEXT_HEADERS
        group = LaneGroup(index, spi, fixed_mode)
        counts = group.counts
        positions = group.positions
        sequences = group.sequences
        touched = self.touched
        singles = self.singles
        ipsec = _IPSEC_PROTOCOLS

        def count(
            view: memoryview,
            start: int,
            end: int,
            position: int,
            icv_ok: bool | None,
            plaintext: bytes,
            skip: int,
        ) -> bool:
            """The trailer of ``plaintext[skip:]`` (RFC 4303 section 2.4-2.6), then count the packet
            or make it a single; False when ``open`` must look at it.

            Per packet only what varies is recorded (position, sequence number, size); the group
            derives the rest (``LaneGroup.merge_into``), and counts the unusual when it happens."""
            pad_length = plaintext[-2]
            next_header = plaintext[-1]
            payload_end = len(plaintext) - 2 - pad_length
            if payload_end < skip:
                return False
            padding_ok = not check_padding or plaintext[payload_end:-2] == paddings[pad_length]
            if want_plaintext or (
                next_header in ipsec
                or (next_header == 4 and payload_end - skip >= 20 and plaintext[skip + 9] in ipsec)
                or (next_header == 41 and carries_ipsec(next_header, plaintext, skip, payload_end))
            ):
                singles.append((position, (
                    OUTCOME_OPENED, spi, seq_at(view, start + 4)[0], index, None, icv_ok, "", pad_length,
                    next_header, plaintext[skip:payload_end], padding_ok, None,
                )))  # fmt: skip
                return True
            if not positions:
                touched.append(group)
            positions.append(position)
            sequences.append(seq_at(view, start + 4)[0])
            counts[G_BYTES] += end - start
            if not icv_ok:
                counts[G_DECRYPTED] += 1
            if fixed_mode is None and next_header not in tunnel_headers:
                counts[G_TRANSPORT] += 1
            if not padding_ok:
                counts[G_BAD_PADDING] += 1
            return True

        aead = crypto.aead_parts()
        if aead is not None:
            # RFC 4106 section 5 (4309, 7634 alike): nonce = salt | IV, AAD = SPI | sequence number
            aead_decrypt, salt, iv_size, tag_size = aead
            minimum = ESP_HEADER + iv_size + tag_size + 2

            def opened_aead(
                view: memoryview, positions: Iterable[int], starts: Sequence[int], ends: Sequence[int],
                deferred: list[int],
            ) -> None:  # fmt: skip
                blob = view.obj  # bytes slices of it are cheaper than memoryview slices
                for position in positions:
                    start = starts[position]
                    end = ends[position]
                    if end - start >= minimum:
                        iv_end = start + ESP_HEADER + iv_size
                        try:
                            plaintext = aead_decrypt(
                                salt + blob[start + ESP_HEADER : iv_end],
                                view[iv_end:end],
                                blob[start : start + ESP_HEADER],
                            )
                            if count(view, start, end, position, True, plaintext, 0):
                                continue
                        except Exception:  # noqa: BLE001, S110 - InvalidTag: ``open`` says so
                            pass
                    deferred.append(position)

            return opened_aead

        cbc_hmac = crypto.cbc_hmac_parts()
        if cbc_hmac is not None:
            # open_span inlined for the commonest suites (AES/3DES-CBC + HMAC)
            hmac_base, cbc_update, block, icv_size = cbc_hmac
            hmac_copy = hmac_base.copy
            data_start = ESP_HEADER + crypto.iv_size
            compare = hmac_compare

            def opened_cbc(
                view: memoryview, positions: Iterable[int], starts: Sequence[int], ends: Sequence[int],
                deferred: list[int],
            ) -> None:  # fmt: skip
                for position in positions:
                    start = starts[position]
                    end = ends[position]
                    body_end = end - icv_size
                    ciphertext = body_end - start - data_start
                    if ciphertext >= block and not ciphertext % block:
                        try:
                            h = hmac_copy()
                            h.update(view[start:body_end])
                            if compare(h.finalize()[:icv_size], view[body_end:end]):
                                # the first block decrypted is the IV's junk (see _CbcDecryptor)
                                plaintext = cbc_update(view[start + ESP_HEADER : body_end])
                                if count(view, start, end, position, True, plaintext, block):
                                    continue
                        except Exception:  # noqa: BLE001, S110 - ``open`` tries again and says why
                            pass
                    deferred.append(position)

            return opened_cbc

        open_span = crypto.open_span

        def opened_any(
            view: memoryview, positions: Iterable[int], starts: Sequence[int], ends: Sequence[int],
            deferred: list[int],
        ) -> None:  # fmt: skip
            for position in positions:
                start = starts[position]
                end = ends[position]
                if end - start >= min_length:
                    try:
                        icv_ok, plaintext = open_span(view, start, end)
                        if plaintext is not None and icv_ok is not False:
                            if count(view, start, end, position, icv_ok, plaintext, 0):
                                continue
                    except Exception:  # noqa: BLE001, S110 - ``open`` tries again and says why
                        pass
                deferred.append(position)

        return opened_any

    def _candidates(self, spi: int, src: bytes | str, dst: bytes | str) -> list[_Candidate]:
        if len(self.sadb) != self._sas_seen:
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
        if flow is None or len(self.sadb) != self._sas_seen:
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
        if hint and flow[hint].crypto is not None and flow[hint].crypto.icv_size == 0:
            hint = 0  # without an ICV, plausibility decides: keep database order
        order = [hint, *(i for i in range(len(flow)) if i != hint)]
        attempts: dict[int, tuple] = {}
        for position in order:
            candidate = flow[position]
            crypto = candidate.crypto
            if crypto is None or size < crypto.min_length:
                continue
            attempt = self._attempt(candidate, view, spi, seq_low)
            icv_ok, plaintext = attempt[1], attempt[2]
            # Without an ICV (null integrity) a well-formed trailer is the only evidence of the right key.
            if icv_ok or (icv_ok is None and plausible_trailer(plaintext)):
                self._hint[key] = position
                if candidate.first_same_keys != position:
                    # an earlier SA in database order verifies alike: it is the one that counts
                    candidate = flow[candidate.first_same_keys]
                    attempt = self._attempt(candidate, view, spi, seq_low)
                return self._opened(spi, seq_low, candidate, *attempt, None)
            attempts[position] = attempt
        if attempts:
            # No SA verified. Database order decides which attempt to report (one without an ICV
            # check beats an ICV failure); the caller decides whom to blame among ``failed``.
            chosen = None
            for position in sorted(attempts):
                if chosen is None or (attempts[chosen][1] is False and attempts[position][1] is None):
                    chosen = position
            assert chosen is not None
            failed = tuple(flow[p].index for p in sorted(attempts) if attempts[p][1] is False)
            return self._opened(
                spi, seq_low, flow[chosen], *attempts[chosen], failed if len(failed) > 1 else None
            )
        for candidate in flow:
            if candidate.crypto is not None:
                return (OUTCOME_SHORT_FOR_SA, spi, seq_low, candidate.index)
        return (OUTCOME_UNSUPPORTED, spi, seq_low, flow[0].index)

    def _attempt(
        self, candidate: _Candidate, view: memoryview, spi: int, seq_low: int
    ) -> tuple[int | None, bool | None, bytes | None, str]:
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
                OUTCOME_OPENED, spi, seq_low, index, seq_hi, icv_ok, PAD_BEYOND_PAYLOAD, pad_length,
                next_header, None, True, failed,
            )  # fmt: skip
        padding_ok = not self.check_padding or plaintext[payload_end:-2] == MONOTONIC_PADDING[:pad_length]
        payload = plaintext[:payload_end]
        if not self.want_plaintext and not carries_ipsec(next_header, payload):
            payload = None
        return (
            OUTCOME_OPENED, spi, seq_low, index, seq_hi, icv_ok, "", pad_length, next_header, payload,
            padding_ok, failed,
        )  # fmt: skip


def _crypto(sa: IpsecSa) -> EspCrypto | None:
    """The SA's keyed cipher/MAC state, built once; None when the backend lacks its algorithm."""
    crypto = sa.crypto
    if crypto is None:
        if not sa.supported:
            return None
        try:
            crypto = EspCrypto(
                sa.encryption_algorithm, sa.encryption_key, sa.integrity_algorithm, sa.integrity_key
            )
        except (UnknownAlgorithm, ValueError):
            return None
        sa.crypto = crypto
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
            outcome[0] != OUTCOME_OPENED
            or outcome[5] is False
            or outcome[6]
            or outcome[9] is not None
            or outcome[11] is not None
            or sas[outcome[3]].esn
        ):
            singles.append((position, outcome))
            continue
        index = outcome[3]
        group = groups.get(index)
        if group is None:
            group = groups[index] = [0, 0, 0, 0, 0, 0, 0, position, 0, {}]
        group[G_PACKETS] += 1
        group[G_BYTES] += end - start
        group[G_VERIFIED if outcome[5] else G_DECRYPTED] += 1
        mode = sas[index].mode or ("tunnel" if outcome[8] in tunnel_headers else "transport")
        group[G_TUNNEL if mode == "tunnel" else G_TRANSPORT] += 1
        if not outcome[10]:
            group[G_BAD_PADDING] += 1
        group[G_LAST_POSITION] = position
        group[G_SEQUENCES].setdefault(outcome[1], []).append(outcome[2])
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
) -> dict[bytes, Sequence[int]]:
    """The batch's IPv4 packets by flow (packed source | destination | SPI), positions in order;
    the positions of the rest (IPv6, too short for an SPI) go to ``others``."""
    keys: list[bytes | None] = []
    for ip_start, start, end in zip(ip_starts, esp_starts, esp_ends, strict=True):
        if blob[ip_start] >> 4 != 4 or end - start < 8:
            keys.append(None)
        elif start - ip_start == 20:
            keys.append(blob[ip_start + 12 : start + 4])
        else:  # NAT-T: the UDP header lies between the addresses and the SPI
            keys.append(blob[ip_start + 12 : ip_start + 20] + blob[start : start + 4])
    if not keys:
        return {}
    first = keys[0]
    if first is not None and keys.count(first) == len(keys):
        return {first: range(len(keys))}  # one flow: the common case of a bulk transfer
    flows: dict[bytes, list[int]] = {}
    for position, key in enumerate(keys):
        if key is None:
            others.append(position)
        else:
            flows.setdefault(key, []).append(position)
    return flows


class LaneGroup:
    """What one lane counted in the current batch: the position and sequence number of each packet
    (in arrival order), their bytes, and the packets that were not the usual (decrypted without an
    ICV to check, transport mode where the SA's mode is not fixed, bad padding)."""

    __slots__ = ("index", "spi", "mode", "counts", "positions", "sequences")

    def __init__(self, index: int, spi: int, mode: str | None) -> None:
        self.index = index
        self.spi = spi
        self.mode = mode  # the SA's mode when fixed, else None (each packet's next header says)
        self.counts = [0] * G_FIRST_POSITION  # only G_BYTES, G_DECRYPTED, G_TRANSPORT, G_BAD_PADDING
        self.positions: list[int] = []
        self.sequences: list[int] = []

    def merge_into(self, groups: dict[int, list]) -> None:
        """Add to the batch's group of this SA, then start afresh for the next batch."""
        counts = self.counts
        packets = len(self.positions)
        counts[G_PACKETS] = packets
        counts[G_VERIFIED] = packets - counts[G_DECRYPTED]
        if self.mode is not None and self.mode != "tunnel":  # as summarize_spans decides a mode
            counts[G_TRANSPORT] = packets
        counts[G_TUNNEL] = packets - counts[G_TRANSPORT]
        first, last = self.positions[0], self.positions[-1]
        group = groups.get(self.index)
        if group is None:
            groups[self.index] = [*counts, first, last, {self.spi: self.sequences[:]}]
        else:
            for field in range(G_FIRST_POSITION):
                group[field] += counts[field]
            group[G_FIRST_POSITION] = min(group[G_FIRST_POSITION], first)
            group[G_LAST_POSITION] = max(group[G_LAST_POSITION], last)
            group[G_SEQUENCES].setdefault(self.spi, []).extend(self.sequences)
        counts[:] = [0] * G_FIRST_POSITION
        self.positions.clear()
        self.sequences.clear()
