"""AH datagrams (RFC 4302) against the SA database: the ICV over the outer IP header with its
mutable fields zeroed (``esp/ah.py``), sequence numbers, and the payload, which AH never encrypts:
an ESP SA inside an AH+ESP bundle is opened whether or not the AH has keys (``ah_shows_payload``).
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable

from ikedecode.capture.datagram import Datagram
from ikedecode.esp import ah as ah_format
from ikedecode.esp.algorithms import UnknownAlgorithm
from ikedecode.esp.ciphers import AuthOnly
from ikedecode.esp.inner import TUNNEL_NEXT_HEADERS
from ikedecode.esp.result import AH_PAYLOAD_IN_CLEAR, EspResult, EspStatus
from ikedecode.esp.sa import IpsecSa, SaCounters
from ikedecode.esp.sadb import SaDatabase

Count = Callable[[IpsecSa, float, int], SaCounters]
_SPI = struct.Struct("!I")

# Reasons are fixed texts (they key ``EspProcessor.malformed``, which hostile input must not grow).
NOT_AVAILABLE = "algorithm not available in the crypto backend"
AH_BAD_HEADER = "AH header truncated or its length field wrong"
AH_SHORT_ICV_FIELD = "AH ICV field shorter than the algorithm's ICV"
AH_NO_IP_HEADER = "outer IP header missing: the AH ICV cannot be checked"
AH_BAD_IP_HEADER = "outer IP header too short for the AH ICV"


def ah_shows_payload(result: EspResult) -> bool:
    """AH authenticates but never encrypts (RFC 4302): what it carries (the ESP of an AH+ESP
    bundle) is there to open whether or not the AH itself has keys or verifies."""
    return result.protocol == "ah" and result.status in AH_PAYLOAD_IN_CLEAR and result.payload is not None


def _ah_payload(result: EspResult, header: ah_format.AhHeader, data: bytes | memoryview) -> EspResult:
    result.next_header = header.next_header
    result.payload = bytes(data[header.length :])
    result.mode = "tunnel" if header.next_header in TUNNEL_NEXT_HEADERS else "transport"
    return result


def open_ah(sadb: SaDatabase, dg: Datagram, count: Count) -> EspResult:
    """One AH datagram (RFC 4302) checked against the AH SAs of ``sadb``; ``count(sa, time, size)``
    counts a packet on an SA (``EspProcessor._count``)."""
    data = dg.payload
    try:
        header = ah_format.parse_ah(data)
    except ah_format.AhFormatError:
        spi = _SPI.unpack_from(data, 4)[0] if len(data) >= 8 else None
        status = EspStatus.TOO_SHORT if len(data) < ah_format.AH_FIXED else EspStatus.MALFORMED
        return EspResult(dg, "ah", spi, None, status, reason=AH_BAD_HEADER)
    candidates = sadb.candidates("ah", header.spi, dg.src, dg.dst)
    if not candidates:
        sadb.note_no_keys("ah", header.spi, dg.src, dg.dst, dg.time, len(data), dg.frame)
        return _ah_payload(EspResult(dg, "ah", header.spi, header.seq, EspStatus.NO_KEYS), header, data)

    chosen: tuple[IpsecSa, bool | None, int | None] | None = None
    fallback: tuple[IpsecSa, bool | None, int | None] | None = None
    problem: tuple[IpsecSa, str] | None = None
    unsupported: IpsecSa | None = None
    icv_field = data[ah_format.AH_FIXED : header.length]
    for sa in candidates:
        auth = _ah_auth(sa)
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
            sa.state.counters.tracker(header.spi).infer_high_bits(header.seq, sa.initial_seq_hi)
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
                sadb.promote("ah", header.spi, dg.src, dg.dst, sa)
            break
        if fallback is None or (fallback[1] is False and ok is None):
            fallback = (sa, ok, seq_hi)
    chosen = chosen or fallback
    if chosen is None:
        if problem is not None:
            sa, reason = problem
            count(sa, dg.time, len(data))
            sa.state.counters.malformed += 1
            return EspResult(dg, "ah", header.spi, header.seq, EspStatus.MALFORMED, sa=sa, reason=reason)
        assert unsupported is not None
        count(unsupported, dg.time, len(data))
        unsupported.state.counters.unsupported += 1
        return _ah_payload(
            EspResult(
                dg,
                "ah",
                header.spi,
                header.seq,
                EspStatus.UNSUPPORTED,
                sa=unsupported,
                reason=NOT_AVAILABLE,
            ),
            header,
            data,
        )

    sa, icv_ok, seq_hi = chosen
    counters = sa.state.counters
    count(sa, dg.time, len(data))
    seq = header.seq if seq_hi is None else (seq_hi << 32) | header.seq
    result = EspResult(dg, "ah", header.spi, seq, EspStatus.ICV_FAILED, sa=sa, icv_ok=icv_ok)
    result.next_header = header.next_header
    result.payload = bytes(data[header.length :])
    result.mode = sa.mode or ("tunnel" if header.next_header in TUNNEL_NEXT_HEADERS else "transport")
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


def _ah_auth(sa: IpsecSa) -> AuthOnly | None:
    state = sa.state
    auth = state.crypto
    if auth is None:
        if not sa.supported:
            return None
        try:
            auth = AuthOnly(sa.integrity_algorithm, sa.integrity_key)
        except (UnknownAlgorithm, ValueError):
            return None
        state.crypto = auth
    return auth  # type: ignore[return-value]
