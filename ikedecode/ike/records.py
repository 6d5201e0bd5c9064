"""Records the IKE engine produces: what a renderer needs, and nothing about files or terminals."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from ikedecode.findings import Finding


class Protection(StrEnum):
    """What became of a protected (encrypted) message."""

    CLEAR = "clear"  # not encrypted
    VERIFIED = "verified"  # decrypted and its hash verified
    DECRYPTED = "decrypted"  # decrypted; no hash to check, or hash not checkable yet
    HASH_MISMATCH = "hash-mismatch"  # decrypted but the hash does not verify
    UNDECRYPTABLE = "undecryptable"  # decryption gives a garbage payload chain or padding
    NO_KEYS = "no-keys"  # no key material to try
    MALFORMED = "malformed"  # not even the ISAKMP header could be read


# protections of a message that was decrypted (a module name: an enum class attribute costs ten
# times as much to read, CPython 3.11)
_DECRYPTED = (Protection.VERIFIED, Protection.DECRYPTED, Protection.HASH_MISMATCH)


class ProposalRecord(Protocol):
    """An offered or chosen phase-1 proposal as the engine keeps it: IKEv1's ``Transform`` (one
    transform of the ISAKMP proposal, RFC 2408 3.6), IKEv2's ``Ikev2Proposal`` (RFC 7296 3.3.1).
    Readers narrow it by ``isinstance``; only the JSON renderer turns it into a dict."""

    @property
    def number(self) -> int: ...

    def describe(self) -> str:
        """One line for reports, e.g. ``AES-CBC-256, SHA2-256, XAUTHInitPreShared, group 2``."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(slots=True)
class IkeMessage:
    frame: int
    time: float
    sender: str
    receiver: str
    sport: int
    dport: int
    length: int
    exchange_type: int
    exchange: str  # "main", "aggressive", "quick", "informational", "transaction", IKEv2: "IKE_AUTH", ...
    message_id: int
    label: str  # MM1..MM6, AM1..AM3, QM1..QM3, INFO, TRANSACTION, ?; IKEv2: "IKE_AUTH request"
    flags: int
    encrypted: bool
    retransmission_of: int | None = None  # frame of the first copy
    protection: Protection = Protection.CLEAR
    hash_verified: bool | None = None  # None: no hash to check / could not check
    hash_name: str | None = None  # "HASH_I", "HASH_R", "HASH(1)", ...
    payloads: list[Any] = field(default_factory=list)  # ike.payloads.Payload objects
    problems: list[str] = field(default_factory=list)  # malformed chain, bad padding, ...
    frames: tuple[int, ...] = ()
    udp_encapsulated: bool = False
    note: str = ""  # one line on what happened (e.g. why it could not be decrypted)
    # IKEv2 only (docs/json.md): the R flag, the SK payload's ICV, the AUTH payload's check
    version: int = 1
    response: bool | None = None
    integrity_verified: bool | None = None
    auth_verified: bool | None = None
    key_stage: int | None = None  # IKEv2: the key stage that opened it (RFC 9370; 0 = IKE_SA_INIT's)

    def add_note(self, more: str) -> None:
        """Append ``more`` to the note, "; "-separated."""
        self.note = f"{self.note}; {more}" if self.note else more

    @property
    def retransmission(self) -> bool:
        return self.retransmission_of is not None

    @property
    def decrypted(self) -> bool | None:
        if not self.encrypted:
            return None
        return self.protection in _DECRYPTED


@dataclass(slots=True)
class Phase2Exchange:
    """A quick mode, informational or transaction exchange, grouped by message ID."""

    message_id: int
    exchange: str
    exchange_type: int
    frames: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    complete: bool = False
    decrypted: bool | None = None
    hashes_verified: bool | None = None
    summary: dict[str, Any] = field(default_factory=dict)  # proposals, SPIs, proxy IDs, notifies, deletes...

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": f"0x{self.message_id:08x}",
            "exchange": self.exchange,
            "frames": self.frames,
            "labels": self.labels,
            "complete": self.complete,
            "decrypted": self.decrypted,
            "hashes_verified": self.hashes_verified,
            **self.summary,
        }


@dataclass(slots=True)
class DerivedKeys:
    """Phase-1 key material that verified, and where its inputs came from."""

    skeyid: bytes | None
    skeyid_d: bytes | None
    skeyid_a: bytes | None
    skeyid_e: bytes | None
    encryption_key: bytes
    dh_secret: bytes | None
    psk_origin: str | None
    dh_origin: str | None
    key_origin: str | None = None  # when keys were given directly

    def to_dict(self) -> dict[str, str | None]:
        def hx(v: bytes | None) -> str | None:
            return v.hex() if v is not None else None

        return {
            "skeyid": hx(self.skeyid),
            "skeyid_d": hx(self.skeyid_d),
            "skeyid_a": hx(self.skeyid_a),
            "skeyid_e": hx(self.skeyid_e),
            "encryption_key": hx(self.encryption_key),
            "dh_secret": hx(self.dh_secret),
        }


@dataclass(slots=True)
class Ikev2DerivedKeys:
    """An IKEv2 SA's keys (RFC 7296 2.14) and where they came from; same reading interface as
    ``DerivedKeys`` (``psk_origin``, ``dh_origin``, ``key_origin``, ``to_dict``)."""

    sk_d: bytes | None
    sk_ai: bytes
    sk_ar: bytes
    sk_ei: bytes
    sk_er: bytes
    sk_pi: bytes | None = None
    sk_pr: bytes | None = None
    skeyseed: bytes | None = None
    dh_secret: bytes | None = None
    psk_origin: str | None = None
    dh_origin: str | None = None
    key_origin: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        def hx(v: bytes | None) -> str | None:
            return v.hex() if v is not None else None

        return {
            "skeyseed": hx(self.skeyseed),
            "sk_d": hx(self.sk_d),
            "sk_ai": hx(self.sk_ai),
            "sk_ar": hx(self.sk_ar),
            "sk_ei": hx(self.sk_ei),
            "sk_er": hx(self.sk_er),
            "sk_pi": hx(self.sk_pi),
            "sk_pr": hx(self.sk_pr),
            "dh_secret": hx(self.dh_secret),
        }


class Ikev2PskAuth(NamedTuple):
    """A shared-key AUTH payload with the octets it signs (RFC 7296 2.15), known once SK_pi/SK_pr
    are: AUTH = prf(prf(PSK, "Key Pad for IKEv2"), signed octets), so a PSK guess can be tested
    offline. Kept for ``--crack``; not in the JSON report."""

    side: str  # "initiator" / "responder"
    frame: int
    prf_id: int
    signed_octets: bytes
    auth_data: bytes


@dataclass(slots=True)
class Ikev2Facts:
    """What only an IKEv2 SA has: NAT detection (RFC 7296 2.23), IKE_SA_INIT restarts (2.6, 1.2),
    rekeying links (2.18), the negotiated PRF, and the child SAs made."""

    initiator_nat_detected: bool | None = None  # NAT_DETECTION hashes of the initiator's address
    responder_nat_detected: bool | None = None
    nat_checks: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)  # "COOKIE (frame 2)", "INVALID_KE_PAYLOAD ..."
    rekeyed_from: str | None = None  # SPIs of the IKE SA this one replaced
    rekeyed_into: list[str] = field(default_factory=list)
    prf: str | None = None
    child_sas: list[dict[str, Any]] = field(default_factory=list)
    psk_auth: list[Ikev2PskAuth] = field(default_factory=list)  # for --crack (crack/ikev2.py)
    key_stages: list[dict[str, Any]] = field(default_factory=list)  # RFC 9370 stages after stage 0
    ppk: str | None = None  # RFC 8784: "used", "offered, not used", "offered (PPK unknown)"
    # shared-key AUTH checks (RFC 7296 2.15): frame, side, the keys tried (origin, scope), the one that
    # verified (None: none did); read by the diagnosis to say which PSK each peer used
    psk_checks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "initiator_nat_detected": self.initiator_nat_detected,
            "responder_nat_detected": self.responder_nat_detected,
            "nat_checks": self.nat_checks,
            "restarts": self.restarts,
            "rekeyed_from": self.rekeyed_from,
            "rekeyed_into": self.rekeyed_into,
            "prf": self.prf,
            "child_sas": self.child_sas,
            "key_stages": self.key_stages,
            "ppk": self.ppk,
        }


_CookiePair = tuple[bytes, bytes | None]


@dataclass(slots=True)
class IkeSa:
    version: int
    initiator_cookie: bytes
    responder_cookie: bytes | None
    initiator: str
    responder: str
    initiator_inferred: bool = False  # True when the capture missed the first message
    exchange: str | None = None  # "main" / "aggressive"
    offered: list[ProposalRecord] = field(default_factory=list)  # phase-1 transforms / proposals offered
    chosen: ProposalRecord | None = None  # the transform / proposal the responder accepted
    auth_method: str | None = None
    state: str = "MM_NO_STATE"
    established: bool = False
    authenticated: bool | None = None
    identities: dict[str, str] = field(default_factory=dict)  # role -> ID text
    keys: DerivedKeys | Ikev2DerivedKeys | None = None
    messages: list[IkeMessage] = field(default_factory=list)
    phase2: dict[int, Phase2Exchange] = field(default_factory=dict)
    vendor_ids: dict[str, list[str]] = field(default_factory=dict)  # role -> names
    findings: list[Finding] = field(default_factory=list)
    first_time: float = 0.0
    last_time: float = 0.0
    ikev2: Ikev2Facts | None = None  # IKEv2 SAs only
    # ``cookies`` as last computed, and the cookie values it was computed from: the diagnosis and
    # the timeline ask for it per pair of SAs, and with 10,000 SAs the formatting added up
    _cookies_text: str = field(default="", init=False, repr=False, compare=False)
    _cookies_of: _CookiePair | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def cookies(self) -> str:
        """``initiator/responder`` cookies in hex (zeros while the responder's is unknown)."""
        of = self._cookies_of
        if of is None or of[0] is not self.initiator_cookie or of[1] is not self.responder_cookie:
            rc = self.responder_cookie.hex() if self.responder_cookie else "0" * 16
            self._cookies_text = f"{self.initiator_cookie.hex()}/{rc}"
            self._cookies_of = (self.initiator_cookie, self.responder_cookie)
        return self._cookies_text
