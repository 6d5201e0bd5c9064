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
_IPSEC_PROTOCOLS = (50, 51)  # ESP, AH: an inner packet carrying them is opened again (nested SAs)

Outcome = tuple
Lane = Callable[[memoryview, int, int, int], "Outcome | bool | None"]
_SEQ = struct.Struct("!I")


def _no_lane(view: memoryview, start: int, end: int, position: int) -> None:
    return None


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
        self.lanes: dict[tuple[bytes, bytes], Lane] = {}  # (packed src + dst, SPI) -> lane
        self.touched: list[LaneGroup] = []  # lanes that counted packets of the batch being summarized
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
        others get a stand-in that always defers. ``lane(view, start, end, position)`` returns
        True when it counted the packet into its group (see ``LaneGroup``), an outcome tuple for
        a packet that must be accounted alone (its plaintext is wanted), or None for anything
        unusual (an ICV failure, a structural problem) so that ``open`` handles it and says why.
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
        padding = MONOTONIC_PADDING
        fixed_mode = candidate.sa.mode
        tunnel_headers = TUNNEL_NEXT_HEADERS
        group = LaneGroup(index, spi)
        counts = group.counts
        sequences = group.sequences
        touched = self.touched

        def count(
            view: memoryview,
            start: int,
            end: int,
            position: int,
            icv_ok: bool | None,
            plaintext: bytes,
            skip: int,
        ) -> Outcome | bool | None:
            """The trailer of ``plaintext[skip:]`` (RFC 4303 section 2.4-2.6), then count or hand back."""
            pad_length = plaintext[-2]
            next_header = plaintext[-1]
            payload_end = len(plaintext) - 2 - pad_length
            if payload_end < skip:
                return None
            padding_ok = not check_padding or plaintext[payload_end:-2] == padding[:pad_length]
            if want_plaintext or carries_ipsec(next_header, plaintext, skip, payload_end):
                return (
                    OUTCOME_OPENED, spi, seq_at(view, start + 4)[0], index, None, icv_ok, "", pad_length,
                    next_header, plaintext[skip:payload_end], padding_ok, None,
                )  # fmt: skip
            if not counts[G_PACKETS]:
                touched.append(group)
                counts[G_FIRST_POSITION] = position
            counts[G_PACKETS] += 1
            counts[G_BYTES] += end - start
            counts[G_VERIFIED if icv_ok else G_DECRYPTED] += 1
            if fixed_mode == "tunnel" or (fixed_mode is None and next_header in tunnel_headers):
                counts[G_TUNNEL] += 1
            else:
                counts[G_TRANSPORT] += 1
            if not padding_ok:
                counts[G_BAD_PADDING] += 1
            counts[G_LAST_POSITION] = position
            sequences.append(seq_at(view, start + 4)[0])
            return True

        aead = crypto.aead_parts()
        if aead is not None:
            # RFC 4106 section 5 (4309, 7634 alike): nonce = salt | IV, AAD = SPI | sequence number
            aead_decrypt, salt, iv_size, tag_size = aead
            minimum = ESP_HEADER + iv_size + tag_size + 2

            def opened_aead(view: memoryview, start: int, end: int, position: int) -> Outcome | bool | None:
                if end - start < minimum:
                    return None
                iv_end = start + ESP_HEADER + iv_size
                try:
                    plaintext = aead_decrypt(
                        salt + view[start + ESP_HEADER : iv_end],
                        view[iv_end:end],
                        view[start : start + ESP_HEADER],
                    )
                except Exception:  # noqa: BLE001 - InvalidTag: ``open`` says so
                    return None
                return count(view, start, end, position, True, plaintext, 0)

            return opened_aead

        cbc_hmac = crypto.cbc_hmac_parts()
        if cbc_hmac is not None:
            # open_span inlined for the commonest suites (AES/3DES-CBC + HMAC)
            hmac_base, cbc_update, block, icv_size = cbc_hmac
            data_start = ESP_HEADER + crypto.iv_size
            compare = hmac_compare

            def opened_cbc(view: memoryview, start: int, end: int, position: int) -> Outcome | bool | None:
                body_end = end - icv_size
                ciphertext = body_end - start - data_start
                if ciphertext < block or ciphertext % block:
                    return None
                h = hmac_base.copy()
                h.update(view[start:body_end])
                if not compare(h.finalize()[:icv_size], view[body_end:end]):
                    return None
                # the first block decrypted is the IV's junk (see _CbcDecryptor)
                return count(
                    view, start, end, position, True, cbc_update(view[start + ESP_HEADER : body_end]), block
                )

            return opened_cbc

        open_span = crypto.open_span

        def opened_any(view: memoryview, start: int, end: int, position: int) -> Outcome | bool | None:
            if end - start < min_length:
                return None
            icv_ok, plaintext = open_span(view, start, end)
            if plaintext is None or icv_ok is False:
                return None
            return count(view, start, end, position, icv_ok, plaintext, 0)

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
    address_at = ADDRESS_AT
    sas = opener.sadb.sas
    singles: list[tuple[int, Outcome]] = []
    groups: dict[int, list] = {}
    tunnel_headers = TUNNEL_NEXT_HEADERS
    position = -1
    for ip_start, start, end in zip(ip_starts, esp_starts, esp_ends, strict=True):
        position += 1
        version = blob[ip_start] >> 4
        if version == 4 and end - start >= 8:
            key = (blob[ip_start + 12 : ip_start + 20], blob[start : start + 4])
            lane = lanes.get(key)
            if lane is None and len(lanes) < MAX_CACHED_FLOWS:
                lane = lanes[key] = opener.lane(key[1], key[0][:4], key[0][4:])
            if lane is not None:
                try:
                    counted = lane(view, start, end, position)
                except Exception:  # noqa: BLE001 - ``open`` below tries again and reports it
                    counted = None
                if counted is True:
                    continue
                if counted is not None:
                    singles.append((position, counted))
                    continue
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
    return singles, groups


class LaneGroup:
    """What one lane counted in the current batch (a group's counters, one SPI's sequence numbers)."""

    __slots__ = ("index", "spi", "counts", "sequences")

    def __init__(self, index: int, spi: int) -> None:
        self.index = index
        self.spi = spi
        self.counts = [0] * G_SEQUENCES
        self.sequences: list[int] = []

    def merge_into(self, groups: dict[int, list]) -> None:
        """Add to the batch's group of this SA, then start afresh for the next batch."""
        counts = self.counts
        group = groups.get(self.index)
        if group is None:
            groups[self.index] = [*counts, {self.spi: self.sequences[:]}]
        else:
            for field in range(G_FIRST_POSITION):
                group[field] += counts[field]
            group[G_FIRST_POSITION] = min(group[G_FIRST_POSITION], counts[G_FIRST_POSITION])
            group[G_LAST_POSITION] = max(group[G_LAST_POSITION], counts[G_LAST_POSITION])
            group[G_SEQUENCES].setdefault(self.spi, []).extend(self.sequences)
        counts[:] = [0] * G_SEQUENCES
        self.sequences.clear()
