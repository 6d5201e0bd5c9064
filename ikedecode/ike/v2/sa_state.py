"""The IKEv2 engine's working state for one IKE SA (never rendered: the record is ``sa``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ikedecode.ike.records import IkeMessage, IkeSa, Phase2Exchange
from ikedecode.ike.v2.payloads import Ikev2Proposal


@dataclass(slots=True)
class ExchangeState:
    """One request/response pair (RFC 7296 2.1-2.2), keyed by message ID and who asked."""

    exchange_type: int
    message_id: int
    requester_is_initiator: bool
    request: IkeMessage | None = None
    response: IkeMessage | None = None
    request_frames: list[int] = field(default_factory=list)
    response_frames: list[int] = field(default_factory=list)
    # CREATE_CHILD_SA / IKE_AUTH material (clear once decrypted)
    request_payloads: list[Any] = field(default_factory=list)
    response_payloads: list[Any] = field(default_factory=list)
    record: Phase2Exchange | None = None
    # RFC 9370 2.2.4: a CREATE_CHILD_SA whose keys wait for IKE_FOLLOWUP_KE exchanges
    followups: list[tuple[Any, Any, int]] = field(default_factory=list)  # (KE req, KE resp, message ID)
    pending_response: IkeMessage | None = None


@dataclass(slots=True)
class Ikev2SaState:
    sa: IkeSa
    spi_i: bytes
    spi_r: bytes | None
    # IKE_SA_INIT material of the latest (successful) exchange: what the key schedule and AUTH need
    init_request: bytes | None = None  # RealMessage1 (RFC 7296 2.15)
    init_response: bytes | None = None  # RealMessage2
    nonce_i: bytes | None = None
    nonce_r: bytes | None = None
    ke_i: bytes | None = None
    ke_r: bytes | None = None
    ke_group: int | None = None
    offered: list[Ikev2Proposal] = field(default_factory=list)
    chosen: Ikev2Proposal | None = None
    answered_with: str | None = None  # "COOKIE" / "INVALID_KE_PAYLOAD" while a restart is due
    answered_frame: int = 0
    seen: dict[bytes, IkeMessage] = field(default_factory=dict)  # digest -> first copy
    exchanges: dict[tuple[int, bool], ExchangeState] = field(default_factory=dict)
    fragments: dict[tuple[int, bool], Any] = field(default_factory=dict)
    # keys, once known (ike/v2/keying.py); None: not yet / cannot
    keys: Any = None
    key_candidates: list[Any] | None = None
    candidates_complete: bool = False  # the derived candidates (IKE_SA_INIT complete) are in
    direct_keys_added: bool = False  # SK_* keys given for these SPIs are in
    key_notes: list[str] = field(default_factory=list)
    wrong_keys_reported: bool = False
    auth_material: dict[str, Any] = field(default_factory=dict)  # IDi/IDr bodies, AUTH payloads
    # RFC 9242 / 9370 / 8784 (ike/v2/intermediate.py)
    intermediate_frames: list[int] = field(default_factory=list)  # IKE_INTERMEDIATE messages read
    int_auth_i: bytes = b""  # IntAuth_iN so far
    int_auth_r: bytes = b""
    int_auth_broken: bool = False  # an IKE_INTERMEDIATE message could not be folded in
    additional_done: int = 0  # additional key exchanges completed (the stage of the next keys)
    stage_missing: int | None = None  # the stage whose input is missing
    ppk: Any = None  # keymat.Ikev2Keys mixed with the PPK the IKE_AUTH request names (RFC 8784)
    ppk_applied: bool = False
    followup_links: dict[bytes, ExchangeState] = field(default_factory=dict)  # ADDITIONAL_KEY_EXCHANGE data
    deleted: bool = False
