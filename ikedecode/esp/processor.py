"""Open ESP (RFC 4303) and AH (RFC 4302) datagrams with the keys of an ``SaDatabase``.

``EspProcessor.process(datagram)`` returns one ``EspResult`` per ESP/AH datagram and never
raises on packet contents: short, misaligned or undecryptable packets come back with a status
and a reason, and are counted (per SA in ``IpsecSa.counters``, without keys in
``SaDatabase.no_keys``, structural problems in ``EspProcessor.malformed``).
"""

from __future__ import annotations

import hmac
import struct
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import ah as ah_format
from ikedecode.esp.algorithms import UnknownAlgorithm
from ikedecode.esp.ciphers import ESP_HEADER, AuthOnly, EspCrypto
from ikedecode.esp.inner import TUNNEL_NEXT_HEADERS, inner_datagram
from ikedecode.esp.sa import IpsecSa, SaCounters
from ikedecode.esp.sadb import SaDatabase

_ESP_HEADER = struct.Struct("!II")
_SPI = struct.Struct("!I")
# RFC 4303 section 2.4: default padding is 1, 2, 3, ... up to the pad length
_MONOTONIC_PADDING = bytes(range(1, 256))
MAX_NESTING = 4

# Reasons are fixed texts (they key ``EspProcessor.malformed``, which hostile input must not grow).
SHORT_HEADER = "ESP shorter than SPI + sequence number"
SHORT_FOR_SA = "ESP shorter than the SA's IV, trailer and ICV"
NO_TRAILER = "no room for the ESP trailer"
PAD_BEYOND_PAYLOAD = "pad length beyond the decrypted payload"
NOT_AVAILABLE = "algorithm not available in the crypto backend"
AH_BAD_HEADER = "AH header truncated or its length field wrong"
AH_SHORT_ICV_FIELD = "AH ICV field shorter than the algorithm's ICV"
AH_NO_IP_HEADER = "outer IP header missing: the AH ICV cannot be checked"
AH_BAD_IP_HEADER = "outer IP header too short for the AH ICV"


class EspStatus(StrEnum):
    VERIFIED = "verified"  # ICV correct, plaintext available
    DECRYPTED = "decrypted"  # plaintext available, the SA has no ICV to check
    ICV_FAILED = "icv-failed"
    BAD_PADDING = "bad-padding"  # plaintext available (ICV ok or absent) but padding is not 1, 2, 3, ...
    REPLAY = "replay"  # authentic, but this sequence number was already seen on the SA
    NO_KEYS = "no-keys"
    TOO_SHORT = "too-short"
    MALFORMED = "malformed"  # block misalignment, pad length beyond the payload, bad AH header
    UNSUPPORTED = "unsupported"  # the SA's algorithm is not available in the crypto backend


PLAINTEXT_STATUSES = frozenset(
    {EspStatus.VERIFIED, EspStatus.DECRYPTED, EspStatus.BAD_PADDING, EspStatus.REPLAY}
)


@dataclass(slots=True)
class EspResult:
    datagram: Datagram
    protocol: str  # "esp" or "ah"
    spi: int | None
    seq: int | None  # full sequence number (64 bits with ESN)
    status: EspStatus
    sa: IpsecSa | None = None
    next_header: int | None = None
    payload: bytes | None = None  # inner IP packet (tunnel) or upper-layer data (transport); trailer removed
    pad_length: int = 0
    mode: str | None = None  # "tunnel" / "transport"
    icv_ok: bool | None = None  # None: not checked (null integrity, or never reached)
    padding_ok: bool = True
    replayed: bool = False
    reason: str = ""
    depth: int = 0  # 0 for the outermost ESP/AH layer of a datagram

    @property
    def has_plaintext(self) -> bool:
        """True when ``payload`` is trustworthy enough to show or write out."""
        return self.status in PLAINTEXT_STATUSES


# one SA's attempt at a packet: (sa, icv_ok, plaintext, problem, seq_hi)
_Opened = tuple[IpsecSa, bool | None, bytes | None, str, int | None]


def _plausible(plaintext: bytes | None) -> bool:
    """A decrypted payload whose ESP trailer makes sense: default padding, matching inner IP version."""
    if plaintext is None or len(plaintext) < 2:
        return False
    pad_length, next_header = plaintext[-2], plaintext[-1]
    payload_end = len(plaintext) - 2 - pad_length
    if payload_end < 0 or plaintext[payload_end:-2] != _MONOTONIC_PADDING[:pad_length]:
        return False
    version = TUNNEL_NEXT_HEADERS.get(next_header)
    return version is None or (payload_end > 0 and plaintext[0] >> 4 == version)


def _mode(sa: IpsecSa, next_header: int) -> str:
    if sa.mode is not None:
        return sa.mode
    return "tunnel" if next_header in TUNNEL_NEXT_HEADERS else "transport"


class EspProcessor:
    """Per-packet ESP/AH processing against an ``SaDatabase`` (sans-IO: datagrams in, records out)."""

    def __init__(self, sadb: SaDatabase, *, check_padding: bool = True) -> None:
        """``check_padding=False`` accepts any padding bytes (RFC 4303 section 2.4 allows other
        schemes by agreement); by default anything but 1, 2, 3, ... is counted as bad padding."""
        self.sadb = sadb
        self.check_padding = check_padding
        self.malformed: Counter[str] = Counter()  # reason -> packets
        self.statuses: Counter[EspStatus] = Counter()

    # --- public -------------------------------------------------------------------------------

    def process(self, datagram: Datagram) -> EspResult | None:
        """Open one ESP or AH datagram; None for any other kind."""
        kind = datagram.kind
        if kind == Kind.ESP:
            result = self._process_esp(datagram)
        elif kind == Kind.AH:
            result = self._process_ah(datagram)
        else:
            return None
        self.statuses[result.status] += 1
        if result.status in (EspStatus.TOO_SHORT, EspStatus.MALFORMED):
            self.malformed[result.reason] += 1
        return result

    def process_nested(self, datagram: Datagram, max_depth: int = MAX_NESTING) -> list[EspResult]:
        """Every ESP/AH layer of a datagram, outermost first (ESP in ESP, AH + ESP bundles)."""
        layers: list[EspResult] = []
        current: Datagram | None = datagram
        while current is not None and len(layers) < max_depth:
            result = self.process(current)
            if result is None:
                break
            result.depth = len(layers)
            layers.append(result)
            current = inner_datagram(result) if result.has_plaintext else None
        return layers

    # --- ESP -----------------------------------------------------------------------------------

    def _process_esp(self, dg: Datagram) -> EspResult:
        data = dg.payload
        size = len(data)
        if size < ESP_HEADER:
            return EspResult(dg, "esp", None, None, EspStatus.TOO_SHORT, reason=SHORT_HEADER)
        spi, seq_low = _ESP_HEADER.unpack_from(data)
        candidates = self.sadb.candidates("esp", spi, dg.src, dg.dst)
        if not candidates:
            self.sadb.note_no_keys("esp", spi, dg.src, dg.dst, dg.time, size, dg.frame)
            return EspResult(dg, "esp", spi, seq_low, EspStatus.NO_KEYS)

        view = memoryview(data)
        chosen: _Opened | None = None
        fallback: _Opened | None = None
        unsupported: IpsecSa | None = None
        short: IpsecSa | None = None
        for sa in candidates:
            crypto = sa.crypto if sa.crypto is not None else self._esp_crypto(sa)
            if crypto is None:
                unsupported = unsupported or sa
                continue
            if size < crypto.min_length:
                short = short or sa
                continue
            seq_hi = sa.counters.tracker(spi).infer_high_bits(seq_low, sa.initial_seq_hi) if sa.esn else None
            icv_ok, plaintext, problem = crypto.open(view, seq_hi)
            attempt = (sa, icv_ok, plaintext, problem, seq_hi)
            # Without an ICV (null integrity) a well-formed trailer is the only evidence of the right key.
            if icv_ok or (icv_ok is None and (len(candidates) == 1 or _plausible(plaintext))):
                chosen = attempt
                if sa is not candidates[0]:
                    self.sadb.promote("esp", spi, dg.src, dg.dst, sa)
                break
            if fallback is None or (fallback[1] is False and icv_ok is None):
                fallback = attempt
        chosen = chosen or fallback
        if chosen is not None:
            return self._finish_esp(dg, spi, seq_low, chosen)
        if short is not None:
            self._count(short, dg, size).malformed += 1
            return EspResult(dg, "esp", spi, seq_low, EspStatus.TOO_SHORT, sa=short, reason=SHORT_FOR_SA)
        assert unsupported is not None
        self._count(unsupported, dg, size).unsupported += 1
        return EspResult(dg, "esp", spi, seq_low, EspStatus.UNSUPPORTED, sa=unsupported, reason=NOT_AVAILABLE)

    def _finish_esp(self, dg: Datagram, spi: int, seq_low: int, opened: _Opened) -> EspResult:
        """Count the packet on its SA, take the ESP trailer apart (RFC 4303 section 2.4-2.6)."""
        sa, icv_ok, plaintext, problem, seq_hi = opened
        counters = self._count(sa, dg, len(dg.payload))
        seq = seq_low if seq_hi is None else (seq_hi << 32) | seq_low
        if icv_ok is False:
            counters.icv_failed += 1
        elif icv_ok:
            counters.verified += 1
        if plaintext is None or problem or len(plaintext) < 2:
            problem = problem or NO_TRAILER
            return self._unopened(dg, spi, seq, sa, icv_ok, problem)
        pad_length, next_header = plaintext[-2], plaintext[-1]
        payload_end = len(plaintext) - 2 - pad_length
        if payload_end < 0:
            return self._unopened(dg, spi, seq, sa, icv_ok, PAD_BEYOND_PAYLOAD)
        padding_ok = not self.check_padding or plaintext[payload_end:-2] == _MONOTONIC_PADDING[:pad_length]
        mode = sa.mode or ("tunnel" if next_header in TUNNEL_NEXT_HEADERS else "transport")
        replayed = False
        if icv_ok is False:
            # plaintext kept for diagnosis; the sequence window stays untouched (RFC 4303 3.4.3)
            status = EspStatus.ICV_FAILED
        else:
            if icv_ok is None:
                counters.decrypted += 1
            replayed = counters.tracker(spi).record(seq)
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
        return EspResult(
            dg,
            "esp",
            spi,
            seq,
            status,
            sa=sa,
            next_header=next_header,
            payload=plaintext[:payload_end],
            pad_length=pad_length,
            mode=mode,
            icv_ok=icv_ok,
            padding_ok=padding_ok,
            replayed=replayed,
        )

    @staticmethod
    def _unopened(
        dg: Datagram, spi: int, seq: int, sa: IpsecSa, icv_ok: bool | None, problem: str
    ) -> EspResult:
        """No usable plaintext: an ICV failure, or (ICV fine or absent) a structural defect."""
        if icv_ok is False:
            return EspResult(dg, "esp", spi, seq, EspStatus.ICV_FAILED, sa=sa, icv_ok=False)
        sa.counters.malformed += 1
        return EspResult(dg, "esp", spi, seq, EspStatus.MALFORMED, sa=sa, icv_ok=icv_ok, reason=problem)

    @staticmethod
    def _esp_crypto(sa: IpsecSa) -> EspCrypto | None:
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

    @staticmethod
    def _count(sa: IpsecSa, dg: Datagram, size: int) -> SaCounters:
        counters = sa.counters
        counters.packets += 1
        counters.bytes += size
        if counters.first_seen is None:
            counters.first_seen = dg.time
        counters.last_seen = dg.time
        return counters

    # --- AH ------------------------------------------------------------------------------------

    def _process_ah(self, dg: Datagram) -> EspResult:
        data = dg.payload
        try:
            header = ah_format.parse_ah(data)
        except ah_format.AhFormatError:
            spi = _SPI.unpack_from(data, 4)[0] if len(data) >= 8 else None
            status = EspStatus.TOO_SHORT if len(data) < ah_format.AH_FIXED else EspStatus.MALFORMED
            return EspResult(dg, "ah", spi, None, status, reason=AH_BAD_HEADER)
        candidates = self.sadb.candidates("ah", header.spi, dg.src, dg.dst)
        if not candidates:
            self.sadb.note_no_keys("ah", header.spi, dg.src, dg.dst, dg.time, len(data), dg.frame)
            return EspResult(dg, "ah", header.spi, header.seq, EspStatus.NO_KEYS)

        chosen: tuple[IpsecSa, bool | None, int | None] | None = None
        fallback: tuple[IpsecSa, bool | None, int | None] | None = None
        problem: tuple[IpsecSa, str] | None = None
        unsupported: IpsecSa | None = None
        icv_field = data[ah_format.AH_FIXED : header.length]
        for sa in candidates:
            auth = self._ah_auth(sa)
            if auth is None:
                unsupported = unsupported or sa
                continue
            if auth.icv_size > len(icv_field):
                problem = problem or (sa, AH_SHORT_ICV_FIELD)
                continue
            if not dg.ip_header:
                problem = problem or (sa, AH_NO_IP_HEADER)
                continue
            seq_hi = (
                sa.counters.tracker(header.spi).infer_high_bits(header.seq, sa.initial_seq_hi)
                if sa.esn
                else None
            )
            try:
                icv_input = ah_format.ah_icv_input(dg.ip_header, dg.ip_version, data, header, seq_hi)
            except ah_format.AhFormatError:
                problem = problem or (sa, AH_BAD_IP_HEADER)
                continue
            expected = auth.icv(icv_input)
            ok = None if expected is None else hmac.compare_digest(expected, icv_field[: auth.icv_size])
            if ok:
                chosen = (sa, ok, seq_hi)
                if sa is not candidates[0]:
                    self.sadb.promote("ah", header.spi, dg.src, dg.dst, sa)
                break
            if fallback is None or (fallback[1] is False and ok is None):
                fallback = (sa, ok, seq_hi)
        chosen = chosen or fallback
        if chosen is None:
            if problem is not None:
                sa, reason = problem
                self._count(sa, dg, len(data))
                sa.counters.malformed += 1
                return EspResult(dg, "ah", header.spi, header.seq, EspStatus.MALFORMED, sa=sa, reason=reason)
            assert unsupported is not None
            self._count(unsupported, dg, len(data))
            unsupported.counters.unsupported += 1
            return EspResult(
                dg, "ah", header.spi, header.seq, EspStatus.UNSUPPORTED, sa=unsupported, reason=NOT_AVAILABLE
            )

        sa, icv_ok, seq_hi = chosen
        counters = sa.counters
        self._count(sa, dg, len(data))
        seq = header.seq if seq_hi is None else (seq_hi << 32) | header.seq
        result = EspResult(dg, "ah", header.spi, seq, EspStatus.ICV_FAILED, sa=sa, icv_ok=icv_ok)
        result.next_header = header.next_header
        result.payload = bytes(data[header.length :])
        result.mode = _mode(sa, header.next_header)
        if icv_ok is False:
            counters.icv_failed += 1
            return result
        if icv_ok:
            counters.verified += 1
        else:
            counters.decrypted += 1
        result.replayed = counters.tracker(header.spi).record(seq)
        if result.mode == "tunnel":
            counters.tunnel += 1
        else:
            counters.transport += 1
        if result.replayed:
            result.status = EspStatus.REPLAY
        else:
            result.status = EspStatus.VERIFIED if icv_ok else EspStatus.DECRYPTED
        return result

    @staticmethod
    def _ah_auth(sa: IpsecSa) -> AuthOnly | None:
        auth = sa.crypto
        if auth is None:
            if not sa.supported:
                return None
            try:
                auth = AuthOnly(sa.integrity_algorithm, sa.integrity_key)
            except (UnknownAlgorithm, ValueError):
                return None
            sa.crypto = auth
        return auth  # type: ignore[return-value]
