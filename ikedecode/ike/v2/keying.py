"""IKEv2 keys: candidates from the key ring, opening SK payloads, AUTH, rekeys, Child SA keys."""

from __future__ import annotations

from typing import Any

from ikedecode.ike.dh_work import DhProvider
from ikedecode.ike.records import IkeMessage, Protection
from ikedecode.ike.v2.child_sa import Ikev2ChildSaKeys
from ikedecode.ike.v2.payloads import Ikev2Payload, Ikev2Proposal
from ikedecode.ike.v2.sa_state import ExchangeState, Ikev2SaState
from ikedecode.keys.keyring import KeyRing


class Ikev2Keying:
    def __init__(self, keyring: KeyRing, dh_provider: DhProvider | None = None) -> None:
        self.keyring = keyring

    def open(
        self,
        state: Ikev2SaState,
        message: bytes,
        protected: Ikev2Payload,
        from_initiator: bool,
        msg: IkeMessage,
        exchange: ExchangeState,
    ) -> list[Ikev2Payload] | None:
        msg.protection = Protection.NO_KEYS
        msg.note = "no keys"
        return None

    def verify_auth(
        self, state: Ikev2SaState, msg: IkeMessage, payloads: list[Any], from_initiator: bool
    ) -> None:
        return None

    def rekey_ike_sa(
        self,
        old: Ikev2SaState,
        new: Ikev2SaState,
        exchange: ExchangeState,
        request: list[Any],
        response: list[Any],
    ) -> None:
        return None

    def child_sa_keys(
        self,
        state: Ikev2SaState,
        msg: IkeMessage,
        exchange: ExchangeState,
        offered: Ikev2Proposal,
        chosen: Ikev2Proposal,
        transport: bool,
        kind: str,
    ) -> list[Ikev2ChildSaKeys]:
        return []
