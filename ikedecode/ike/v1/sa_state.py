"""The engine's working state for one IKE SA, shared by the engine, decryption and hash checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ikedecode.findings import Finding
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.v1.child_sa import QuickModeMaterial
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v1.phase1 import ClearMaterial, KeyCandidate, Phase1Policy


class PendingCandidates(NamedTuple):
    """What the key candidates of an SA are built from, fixed when phase 1 gave it all (MM4, AM2)."""

    policy: Phase1Policy
    clear: ClearMaterial
    key_length: int
    psk_origin_filter: str | None


@dataclass(slots=True)
class SaState:
    """The engine's working state for one IKE SA: what the key schedule and the IV chains need
    (never rendered; the record the renderers read is ``sa``)."""

    sa: IkeSa
    policy: Phase1Policy | None = None
    sai_b: bytes | None = None
    g_xi: bytes | None = None
    g_xr: bytes | None = None
    ni_b: bytes | None = None
    nr_b: bytes | None = None
    idii_b: bytes | None = None
    idir_b: bytes | None = None
    candidates: list[KeyCandidate] | None = None
    pending: PendingCandidates | None = None  # candidates asked for, built when first needed
    candidate_notes: list[str] = field(default_factory=list)
    selected: KeyCandidate | None = None
    proven_psk: str | None = None  # origin of the PSK whose HASH_R verified (aggressive mode)
    phase1_iv: bytes | None = None  # current phase-1 CBC chain state
    initial_iv: bytes | None = None  # hash(g^xi | g^xr), RFC 2409 Appendix B
    # frame -> the candidate that decrypted it, when not ``selected`` (read as
    # ``message_keys.get(frame, selected)``: ``selected``, once set, never changes)
    message_keys: dict[int, KeyCandidate] = field(default_factory=dict)
    other_key_reported: bool = False
    exchange_ivs: dict[int, bytes] = field(default_factory=dict)  # message ID -> next IV in that exchange
    seen: dict[bytes, IkeMessage] = field(default_factory=dict)  # digest of message -> first copy
    sent_count: dict[tuple[int, Role], int] = field(
        default_factory=dict
    )  # (message ID, role) -> distinct msgs
    qm_initiator: dict[int, str] = field(default_factory=dict)  # message ID -> address that opened it
    quick_modes: dict[int, QuickModeMaterial] = field(default_factory=dict)  # message ID -> QM1/QM2 material
    key_failure_reported: bool = False
    phase2_cap_finding: Finding | None = None  # set once the phase-2 cap dropped an exchange
