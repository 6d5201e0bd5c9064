"""An IPsec SA (ESP or AH): its key configuration (frozen), and apart from it what was seen on it.

``IpsecSa`` is configuration: selectors, algorithms, keys, where it came from. It is frozen, so
the key sources (``keys/``), IKE (``analysis/keying.py``) and every worker process that rebuilds
it hold the same immutable value. What an SA acquires while packets are processed, its counters
and its keyed cipher/MAC state, is an ``SaState`` of its own, never compared or copied with the
configuration: ``fresh()`` gives the same configuration with a new one (a KeyRing's SAs are
configuration that each run counts on its own copies of).
"""

from __future__ import annotations

import builtins
import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ikedecode.esp.algorithms import (
    EncryptionAlgorithm,
    IntegrityAlgorithm,
    UnknownAlgorithm,
    resolve_encryption,
    resolve_integrity,
)
from ikedecode.esp.sequence import SequenceTracker
from ikedecode.esp.transforms import transform_text
from ikedecode.stored_fields import stores_every_field

Protocol = Literal["esp", "ah"]
MAX_TRACKED_SPIS = 1024
OTHER_SPIS = -1  # ``SaCounters.sequences`` key shared by SPIs beyond MAX_TRACKED_SPIS
Mode = Literal["tunnel", "transport"]


class InvalidSa(ValueError):
    """An SA whose keys do not fit its algorithms, or whose fields are out of range."""


@dataclass(slots=True)
class SaCounters:
    """Per-SA packet accounting. ``packets`` counts every packet matched to the SA."""

    packets: int = 0
    decrypted: int = 0  # plaintext produced and no ICV to check (null integrity)
    verified: int = 0  # ICV checked and correct
    icv_failed: int = 0
    bad_padding: int = 0  # padding bytes not 1, 2, 3, ... (RFC 4303 section 2.4); still emitted
    malformed: int = 0  # too short, ciphertext not block-aligned, pad length beyond the payload
    unsupported: int = 0  # algorithm the crypto backend does not offer
    garbled: int = 0  # decrypted to noise (esp/plaintext.py): neither verified nor decrypted
    garbled_icv_ok: int = 0  # of those, packets whose ICV verified: the integrity key is right
    bytes: int = 0  # ESP/AH payload bytes (from the SPI on) of all packets
    first_seen: float | None = None
    last_seen: float | None = None
    tunnel: int = 0  # authentic packets whose next header is IPv4/IPv6 (or the SA says tunnel)
    transport: int = 0
    # garbled packets by the check they failed (the codes of plaintext.GARBLED)
    failed_checks: dict[str, int] = field(default_factory=dict)
    icv_failed_sample: builtins.bytes | None = None  # the first packet that failed the ICV (esp/diagnose.py)
    # one tracker per SPI: a wildcard-SPI SA from a key file may serve several
    sequences: dict[int, SequenceTracker] = field(default_factory=dict)

    def tracker(self, spi: int) -> SequenceTracker:
        found = self.sequences.get(spi)
        if found is None:
            if len(self.sequences) >= MAX_TRACKED_SPIS:
                spi = OTHER_SPIS  # a wildcard SA hit by very many SPIs: share one tracker
                found = self.sequences.get(spi)
            if found is None:
                found = self.sequences[spi] = SequenceTracker()
        return found

    @property
    def replays(self) -> int:
        return sum(t.replays for t in self.sequences.values())

    @property
    def gaps(self) -> int:
        return sum(t.gaps for t in self.sequences.values())

    @property
    def seq_min(self) -> int | None:
        return min((t.lowest for t in self.sequences.values() if t.lowest is not None), default=None)

    @property
    def seq_max(self) -> int | None:
        return max((t.highest for t in self.sequences.values() if t.highest is not None), default=None)

    def as_dict(self) -> dict[str, int | float | dict[str, int] | None]:
        return {
            "packets": self.packets,
            "decrypted": self.decrypted,
            "verified": self.verified,
            "icv_failed": self.icv_failed,
            "bad_padding": self.bad_padding,
            "malformed": self.malformed,
            "unsupported": self.unsupported,
            "garbled": self.garbled,
            "garbled_icv_ok": self.garbled_icv_ok,
            "failed_checks": dict(self.failed_checks),
            "replays": self.replays,
            "gaps": self.gaps,
            "bytes": self.bytes,
            "tunnel": self.tunnel,
            "transport": self.transport,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "seq_min": self.seq_min,
            "seq_max": self.seq_max,
        }


@dataclass(slots=True)
class SaState:
    """What an SA acquires at run time: its counters, and its keyed cipher/MAC state (``EspCrypto``
    or ``AuthOnly``), built by the opener or the AH processor on first use (None until then)."""

    counters: SaCounters = field(default_factory=SaCounters)
    crypto: object | None = None


def _normalise_address(address: str | None) -> str | None:
    """The canonical text of an address, None for none or a wildcard ("", "*"); once per distinct
    text (the peers of a capture repeat, and ``ipaddress`` was most of the cost of building an SA
    from IKE). ``IpsecSa.derived`` looks an address up in ``_CANONICAL`` first, without this call."""
    if address is None or address in ("", "*"):
        return None
    found = _CANONICAL.get(address)
    if found is None:
        try:
            found = str(ipaddress.ip_address(address.strip()))
        except ValueError:
            raise InvalidSa(f"{address!r} is not an IP address") from None
        if len(_CANONICAL) >= _CANONICAL_MAX:
            _CANONICAL.clear()
        _CANONICAL[address] = found
    return found


_CANONICAL: dict[str | None, str] = {}  # address text -> its canonical text (None: never a key)
_CANONICAL_MAX = 4096


def _check_scalars(protocol: str, spi: int | None, initial_seq_hi: int, mode: str | None) -> None:
    if protocol not in ("esp", "ah"):
        raise InvalidSa(f"protocol must be 'esp' or 'ah', not {protocol!r}")
    if spi is not None and not 0 <= spi <= 0xFFFFFFFF:
        raise InvalidSa(f"SPI {spi} does not fit 32 bits")
    if not 0 <= initial_seq_hi <= 0xFFFFFFFF:
        raise InvalidSa(f"ESN high bits {initial_seq_hi} do not fit 32 bits")
    if mode not in (None, "tunnel", "transport"):
        raise InvalidSa(f"mode must be 'tunnel', 'transport' or None, not {mode!r}")


_new_object = object.__new__


@functools.lru_cache(maxsize=256)
def _settled(
    protocol: str, encryption: str, integrity: str, encryption_key_size: int, integrity_key_size: int
) -> tuple[EncryptionAlgorithm, IntegrityAlgorithm]:
    """The algorithms of an SA, checked against its protocol and key sizes: once per distinct
    combination (the SAs of a capture repeat a few); raises ``UnknownAlgorithm`` / ``InvalidSa``
    each time (``lru_cache`` keeps no exception)."""
    enc, implied_key_size = resolve_encryption(encryption)
    integ = resolve_integrity(integrity)
    if protocol == "ah" and enc.mode != "null":
        raise InvalidSa(f"AH does not encrypt; encryption must be null, not {enc.name}")
    if enc.combined and integ.checks:
        raise InvalidSa(f"{enc.name} authenticates by itself; integrity must be null, not {integ.name}")
    if enc.mode != "null":
        cipher_key = encryption_key_size - enc.salt_size
        allowed = (implied_key_size,) if implied_key_size else enc.key_sizes
        if cipher_key not in allowed:
            sizes = "/".join(str(size + enc.salt_size) for size in allowed)
            raise InvalidSa(
                f"{enc.name} needs a {sizes}-byte key"
                + (f" (cipher key + {enc.salt_size}-byte salt)" if enc.salt_size else "")
                + f", got {encryption_key_size} bytes"
            )
    if integ.checks:  # without a check the integrity key is dropped, whatever it was
        if integ.kind in ("xcbc", "cmac") and integrity_key_size != integ.key_size:
            raise InvalidSa(f"{integ.name} needs a {integ.key_size}-byte key, got {integrity_key_size}")
        if not integrity_key_size:
            raise InvalidSa(f"{integ.name} needs a key")
    return enc, integ


@dataclass(frozen=True, slots=True, eq=False)
class IpsecSa:
    """One direction of an IPsec SA: its key configuration, frozen; ``state`` holds what was seen.

    ``src``/``dst``/``spi`` None mean "any" (wildcards of key files). Algorithm names may be any
    spelling ``algorithms.resolve_*`` knows; they are stored canonical. ``encryption_key``
    includes the salt/nonce of CTR/GCM/CCM/GMAC/ChaCha20 (RFC 3686/4106/4309/4543/7634).
    """

    protocol: Protocol
    spi: int | None
    src: str | None = None
    dst: str | None = None
    encryption: str = "null"
    encryption_key: bytes = field(default=b"", repr=False)  # keys stay out of logs and tracebacks
    integrity: str = "null"
    integrity_key: bytes = field(default=b"", repr=False)
    mode: Mode | None = None  # None: inferred per packet from the next header
    esn: bool = False
    origin: str = ""
    initial_seq_hi: int = 0  # ESN high bits at the start of the capture (0 unless 2^32 packets went before)
    ike_cookies: str | None = None  # the IKE SA whose quick mode made this SA ("icookie/rcookie")
    message_id: int | None = None  # that quick mode's message ID
    encryption_algorithm: EncryptionAlgorithm = field(init=False, repr=False)
    integrity_algorithm: IntegrityAlgorithm = field(init=False, repr=False)
    # not configuration: what the SA acquires at run time (a new one for every copy, see ``fresh``)
    state: SaState = field(default_factory=SaState, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_scalars(self.protocol, self.spi, self.initial_seq_hi, self.mode)
        normalise = object.__setattr__  # frozen: the configuration is settled here, once
        normalise(self, "src", _normalise_address(self.src))
        normalise(self, "dst", _normalise_address(self.dst))
        encryption_key, integrity_key = bytes(self.encryption_key), bytes(self.integrity_key)
        enc, integ = _settled(
            self.protocol, self.encryption, self.integrity, len(encryption_key), len(integrity_key)
        )
        normalise(self, "encryption", enc.name)
        normalise(self, "integrity", integ.name)
        normalise(self, "encryption_algorithm", enc)
        normalise(self, "integrity_algorithm", integ)
        normalise(self, "encryption_key", b"" if enc.mode == "null" else encryption_key)
        normalise(self, "integrity_key", integrity_key if integ.checks else b"")

    @classmethod
    def derived(
        cls,
        protocol: Protocol,
        spi: int,
        src: str | None,
        dst: str | None,
        encryption: str,
        encryption_key: bytes,
        integrity: str,
        integrity_key: bytes,
        mode: Mode | None,
        esn: bool,
        origin: str,
        ike_cookies: str | None,
        message_id: int | None,
    ) -> IpsecSa:
        """``IpsecSa(protocol, spi, src, dst, encryption=..., ..., message_id=...)`` with
        ``initial_seq_hi`` 0: the same checks in the same order, the same errors, the same record,
        for the two SAs of every IKE quick mode / Child SA (``analysis/keying.py``). The generated
        frozen ``__init__`` and ``__post_init__`` write 23 attributes through ``object.__setattr__``
        and read each field back; this writes each of the 17 once, through its slot's own setter."""
        _check_scalars(protocol, spi, 0, mode)
        src = _CANONICAL.get(src) or _normalise_address(src)  # (get None: not seen yet)
        dst = _CANONICAL.get(dst) or _normalise_address(dst)
        encryption_key, integrity_key = bytes(encryption_key), bytes(integrity_key)
        enc, integ = _settled(protocol, encryption, integrity, len(encryption_key), len(integrity_key))
        sa = _new_object(cls)
        _set_protocol(sa, protocol)
        _set_spi(sa, spi)
        _set_src(sa, src)
        _set_dst(sa, dst)
        _set_encryption(sa, enc.name)
        _set_encryption_key(sa, b"" if enc.mode == "null" else encryption_key)
        _set_integrity(sa, integ.name)
        _set_integrity_key(sa, integrity_key if integ.checks else b"")
        _set_mode(sa, mode)
        _set_esn(sa, esn)
        _set_origin(sa, origin)
        _set_initial_seq_hi(sa, 0)
        _set_ike_cookies(sa, ike_cookies)
        _set_message_id(sa, message_id)
        _set_encryption_algorithm(sa, enc)
        _set_integrity_algorithm(sa, integ)
        _set_state(sa, SaState())
        return sa

    @property
    def counters(self) -> SaCounters:
        """What was seen on the SA (``state.counters``)."""
        return self.state.counters

    def fresh(self) -> IpsecSa:
        """The same configuration with nothing seen yet: a new ``SaState``."""
        return replace(self)

    def made_by_ike(self, derived: IpsecSa) -> IpsecSa:
        """This SA (a key file's, say) learning that an IKE quick mode derived it too: the
        configuration names that quick mode, and the state (what was seen so far) carries over."""
        learned = replace(
            self,
            ike_cookies=derived.ike_cookies,
            message_id=derived.message_id,
            origin=f"{derived.origin} (also {self.origin})",
        )
        object.__setattr__(learned, "state", self.state)
        return learned

    @property
    def observed_mode(self) -> Mode | None:
        """The configured mode, else the one the packets showed (RFC 4303 section 2.6 next header)."""
        if self.mode is not None:
            return self.mode
        if self.counters.tunnel or self.counters.transport:
            return "tunnel" if self.counters.tunnel >= self.counters.transport else "transport"
        return None

    @property
    def supported(self) -> bool:
        return self.encryption_algorithm.supported and self.integrity_algorithm.supported

    @property
    def transform(self) -> str:
        """The transform as every report spells it (``transforms.transform_text``)."""
        alg = self.encryption_algorithm
        key = len(self.encryption_key) - alg.salt_size
        return transform_text(self.encryption, self.integrity, key * 8 if key in alg.key_sizes else None)

    @property
    def label(self) -> str:
        spi = "*" if self.spi is None else f"0x{self.spi:08x}"
        return f"{self.protocol.upper()} SPI {spi} {self.src or '*'} -> {self.dst or '*'}"


# Each field's own setter, bound once (its slot's member descriptor), for ``IpsecSa.derived``: a frozen
# record's fields are written once, when it is made, and ``object.__setattr__`` looks the name up on
# every write (about 80 ns a field against 40). Bound by name; ``stores_every_field`` fails the import
# when a field is added to ``IpsecSa`` (or moved) until ``derived`` writes it too.
_DERIVED_FIELDS = (
    *("protocol", "spi", "src", "dst", "encryption", "encryption_key", "integrity", "integrity_key"),
    *("mode", "esn", "origin", "initial_seq_hi", "ike_cookies", "message_id", "encryption_algorithm"),
    *("integrity_algorithm", "state"),
)
stores_every_field(IpsecSa, _DERIVED_FIELDS)
_SETTERS: dict[str, Callable[[IpsecSa, Any], None]] = {
    name: getattr(IpsecSa, name).__set__ for name in _DERIVED_FIELDS
}
_set_protocol, _set_spi, _set_src = _SETTERS["protocol"], _SETTERS["spi"], _SETTERS["src"]
_set_dst, _set_encryption = _SETTERS["dst"], _SETTERS["encryption"]
_set_encryption_key, _set_integrity = _SETTERS["encryption_key"], _SETTERS["integrity"]
_set_integrity_key, _set_mode, _set_esn = _SETTERS["integrity_key"], _SETTERS["mode"], _SETTERS["esn"]
_set_origin, _set_initial_seq_hi = _SETTERS["origin"], _SETTERS["initial_seq_hi"]
_set_ike_cookies, _set_message_id = _SETTERS["ike_cookies"], _SETTERS["message_id"]
_set_encryption_algorithm = _SETTERS["encryption_algorithm"]
_set_integrity_algorithm, _set_state = _SETTERS["integrity_algorithm"], _SETTERS["state"]


__all__ = ["InvalidSa", "IpsecSa", "Mode", "Protocol", "SaCounters", "SaState", "UnknownAlgorithm"]
