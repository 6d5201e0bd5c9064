"""The key material a user supplied, as candidates to try.

Every candidate remembers where it came from (``origin``: "--psk #2", "keys/lab.toml [[psk]] 1")
so the report can say which key verified. Nothing here prints a secret; renderers decide whether
keys may be shown (``--show-keys``).
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ikedecode.esp.sa import IpsecSa


@dataclass(frozen=True, slots=True)
class PresharedKey:
    secret: bytes
    origin: str
    scope: str | None = None  # peer address or identity; None: try against every SA

    def applies_to(self, addresses: tuple[str, ...], identities: tuple[str, ...] = ()) -> bool:
        """Whether this key may be tried for an SA between ``addresses``.

        A scope that is an IP address must be one of the peers' addresses; any other scope is an
        identity (FQDN, user@FQDN, DN), which can only be checked once the ID payloads are
        known (aggressive mode, or after decryption): until then the key is tried.
        """
        if self.scope is None:
            return True
        if is_address(self.scope):
            return any(same_address(self.scope, a) for a in addresses)
        return not identities or self.scope in identities


@dataclass(frozen=True, slots=True)
class DhSecret:
    """A Diffie-Hellman shared secret g^xy, of phase 1 or of a PFS quick mode."""

    value: bytes
    origin: str
    initiator_cookie: bytes | None = None  # scope; None: try against every SA
    message_id: int | None = None  # scope to a quick mode (PFS)
    # IKEv2 key exchange number: 0 = the exchange's own KE payload (IKE_SA_INIT, CREATE_CHILD_SA);
    # n = the n-th additional key exchange (RFC 9370: IKE_INTERMEDIATE / IKE_FOLLOWUP_KE), SK(n)
    stage: int = 0


@dataclass(frozen=True, slots=True)
class Ppk:
    """An RFC 8784 Postquantum Preshared Key and its PPK_ID (the bytes of PPK_IDENTITY's data
    after the PPK_ID type octet); ``initiator_cookie`` scopes it to one IKE SA when given."""

    identity: bytes
    value: bytes
    origin: str
    initiator_cookie: bytes | None = None


@dataclass(frozen=True, slots=True)
class DhPrivate:
    """One side's private DH exponent/scalar; g^xy follows from the other side's KE payload."""

    value: bytes
    origin: str


@dataclass(frozen=True, slots=True)
class Phase1KeyMaterial:
    """IKE SA keys given directly (a Wireshark ikev1 table line, a daemon log)."""

    initiator_cookie: bytes
    origin: str
    responder_cookie: bytes | None = None
    encryption_key: bytes | None = None
    skeyid: bytes | None = None
    skeyid_d: bytes | None = None
    skeyid_a: bytes | None = None
    skeyid_e: bytes | None = None
    dh_secret: bytes | None = None


@dataclass(frozen=True, slots=True)
class Ikev2KeyMaterial:
    """The keys of one IKEv2 SA (RFC 7296 section 2.14), from a daemon log or Wireshark's table.

    ``encryption``/``integrity`` are the project's algorithm names (``aes-cbc``, ``aes-gcm-16``,
    ``hmac-sha2-256-128``, ...) or None when the source does not say; SK_e* include any salt.
    Kept for IKEv2 decryption and for ``--export-wireshark``; IKEv1 decoding does not use them.
    ``stage``: several entries for one SPI pair from one source are successive key stages (0 first;
    RFC 9370 re-derives SK_* after each additional key exchange), not duplicates.
    """

    initiator_spi: bytes
    responder_spi: bytes
    origin: str
    encryption: str | None = None
    integrity: str | None = None
    sk_ei: bytes = b""
    sk_er: bytes = b""
    sk_ai: bytes = b""
    sk_ar: bytes = b""
    sk_d: bytes | None = None
    sk_pi: bytes | None = None
    sk_pr: bytes | None = None
    stage: int = 0
    # the source's own tool decrypts without checking the ICV (tcpdump -E): when the ICV does not
    # verify, a message that decrypts to a sound payload chain is shown, marked unverified
    icv_unchecked: bool = False

    @property
    def values(self) -> list[bytes]:
        keys = (self.sk_ei, self.sk_er, self.sk_ai, self.sk_ar, self.sk_d, self.sk_pi, self.sk_pr)
        return [v for v in keys if v]


@dataclass(slots=True)
class _CookieIndex:
    """Positions of a key list's entries by initiator cookie, so a lookup does not scan the list.

    Built from ``source`` when it had ``size`` entries: a list that grew or was replaced is indexed
    again (key sources only append to the lists or replace them).
    """

    source: Sequence[DhSecret] | Sequence[Phase1KeyMaterial]
    size: int
    by_cookie: dict[bytes, list[int]]
    unscoped: list[int]  # entries without a cookie: they apply to every IKE SA

    @classmethod
    def of(cls, source: Sequence[DhSecret] | Sequence[Phase1KeyMaterial]) -> _CookieIndex:
        by_cookie: dict[bytes, list[int]] = {}
        unscoped: list[int] = []
        entries: Sequence[DhSecret | Phase1KeyMaterial] = source
        for position, entry in enumerate(entries):
            if entry.initiator_cookie is None:
                unscoped.append(position)
            else:
                by_cookie.setdefault(entry.initiator_cookie, []).append(position)
        return cls(source, len(source), by_cookie, unscoped)

    def current(self, source: Sequence[object]) -> bool:
        return self.source is source and self.size == len(source)

    def positions(self, initiator_cookie: bytes) -> list[int]:
        """Entries scoped to this cookie and unscoped ones, in the list's order."""
        scoped = self.by_cookie.get(initiator_cookie, [])
        if not self.unscoped:
            return scoped
        if not scoped:
            return self.unscoped
        return list(heapq.merge(scoped, self.unscoped))


@dataclass(slots=True)
class KeyRing:
    psks: list[PresharedKey] = field(default_factory=list)
    dh_secrets: list[DhSecret] = field(default_factory=list)
    dh_privates: list[DhPrivate] = field(default_factory=list)
    phase1_keys: list[Phase1KeyMaterial] = field(default_factory=list)
    ipsec_sas: list[IpsecSa] = field(default_factory=list)  # ESP/AH keys given directly
    ikev2_keys: list[Ikev2KeyMaterial] = field(default_factory=list)  # IKEv2 SA keys (logs, Wireshark)
    ppks: list[Ppk] = field(default_factory=list)  # RFC 8784 PPKs (--ppk ID=HEX, key files)
    trusted_certificates: list[Any] = field(default_factory=list)  # --ca: ike.certificates.CertificateInfo
    # Lookups by cookie: a key file with the g^xy of 10,000 SAs must not make each SA scan them all.
    _dh_secret_index: _CookieIndex | None = field(default=None, init=False, repr=False, compare=False)
    _phase1_key_index: _CookieIndex | None = field(default=None, init=False, repr=False, compare=False)
    # IKEv2 SA keys by SPI pair: (the list indexed, its length then, the index)
    _ikev2_key_index: (
        tuple[list[Ikev2KeyMaterial], int, dict[tuple[bytes, bytes], list[Ikev2KeyMaterial]]] | None
    ) = field(default=None, init=False, repr=False, compare=False)

    def merge(self, other: KeyRing) -> None:
        self.psks.extend(other.psks)
        self.dh_secrets.extend(other.dh_secrets)
        self.dh_privates.extend(other.dh_privates)
        self.phase1_keys.extend(other.phase1_keys)
        self.ipsec_sas.extend(other.ipsec_sas)
        self.ikev2_keys.extend(other.ikev2_keys)
        self.ppks.extend(other.ppks)
        self.trusted_certificates.extend(other.trusted_certificates)

    def psks_for(self, addresses: tuple[str, ...], identities: tuple[str, ...] = ()) -> list[PresharedKey]:
        # an unscoped key applies to every SA: asked without a method call (two AUTH payloads per
        # IKEv2 SA ask this)
        return [k for k in self.psks if k.scope is None or k.applies_to(addresses, identities)]

    def dh_secrets_for(self, initiator_cookie: bytes, message_id: int | None = None) -> list[DhSecret]:
        """The g^xy values that may belong to this IKE SA (or quick mode), in the order given."""
        index = self._dh_secret_index
        if index is None or not index.current(self.dh_secrets):
            index = self._dh_secret_index = _CookieIndex.of(self.dh_secrets)
        secrets = self.dh_secrets
        return [
            s
            for s in (secrets[i] for i in index.positions(initiator_cookie))
            if s.message_id is None or s.message_id == message_id
        ]

    def ikev2_keys_for(self, initiator_spi: bytes, responder_spi: bytes | None) -> list[Ikev2KeyMaterial]:
        """The IKEv2 SA keys given for this SPI pair (every stage), in the order given: an index,
        not a scan of the list per SA (a charon log or Wireshark table of 10,000 SAs)."""
        keys = self.ikev2_keys
        index = self._ikev2_key_index
        if index is None or index[0] is not keys or index[1] != len(keys):
            by_pair: dict[tuple[bytes, bytes], list[Ikev2KeyMaterial]] = {}
            for material in keys:
                by_pair.setdefault((material.initiator_spi, material.responder_spi), []).append(material)
            index = self._ikev2_key_index = (keys, len(keys), by_pair)
        if responder_spi is None:
            return []
        return index[2].get((initiator_spi, responder_spi), [])

    def phase1_keys_for(self, initiator_cookie: bytes, responder_cookie: bytes) -> list[Phase1KeyMaterial]:
        """IKE SA keys given for this cookie pair, in the order given."""
        if not self.phase1_keys:  # the usual key ring (a key file of g^xy, PSKs)
            return []
        index = self._phase1_key_index
        if index is None or not index.current(self.phase1_keys):
            index = self._phase1_key_index = _CookieIndex.of(self.phase1_keys)
        keys = self.phase1_keys
        return [
            k
            for k in (keys[i] for i in index.positions(initiator_cookie))
            if k.responder_cookie is None or k.responder_cookie == responder_cookie
        ]

    @property
    def empty(self) -> bool:
        return not (
            self.psks
            or self.dh_secrets
            or self.dh_privates
            or self.phase1_keys
            or self.ipsec_sas
            or self.ikev2_keys
            or self.ppks
        )

    @property
    def secrets(self) -> list[bytes]:
        """Every secret value held, so tests and renderers can check none leaks into output."""
        out: list[bytes] = [k.secret for k in self.psks]
        out += [s.value for s in self.dh_secrets] + [p.value for p in self.dh_privates]
        for k in self.phase1_keys:
            out += [
                v for v in (k.encryption_key, k.skeyid, k.skeyid_d, k.skeyid_a, k.skeyid_e, k.dh_secret) if v
            ]
        for sa in self.ipsec_sas:
            out += [v for v in (sa.encryption_key, sa.integrity_key) if v]
        for k2 in self.ikev2_keys:
            out += k2.values
        out += [p.value for p in self.ppks]
        return out

    def ppks_for(self, identity: bytes, initiator_cookie: bytes) -> list[Ppk]:
        """The PPKs named ``identity`` (RFC 8784 PPK_ID) that may belong to this IKE SA."""
        return [
            p for p in self.ppks if p.identity == identity and p.initiator_cookie in (None, initiator_cookie)
        ]


def is_address(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def same_address(a: str, b: str) -> bool:
    """Whether two texts are the same IP address however written (False if either is none)."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False
