"""Exchange shapes, declared as data (RFC 2408 section 4, RFC 2409 sections 5 and 5.5).

Every IKEv1 message is labelled by its exchange and its place in it. The label follows from who
sent it and how many distinct messages that side has sent in the exchange so far, so
out-of-order arrival and retransmissions do not shift labels. Each step names the state that
each side reaches once the message has been seen, in the names Cisco IOS uses in
``show crypto isakmp sa`` and ``debug crypto isakmp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class Label(StrEnum):
    """A message's place in its exchange (equal to its text: ``Label.MM1 == "MM1"``)."""

    MM1 = "MM1"
    MM2 = "MM2"
    MM3 = "MM3"
    MM4 = "MM4"
    MM5 = "MM5"
    MM6 = "MM6"
    AM1 = "AM1"
    AM2 = "AM2"
    AM3 = "AM3"
    QM1 = "QM1"
    QM2 = "QM2"
    QM3 = "QM3"
    INFO = "INFO"
    TRANSACTION = "TRANSACTION"
    FRAGMENT = "FRAG"  # an IKE fragment (its message is labelled once reassembled)
    UNKNOWN = "?"  # beyond the shape of its exchange, or an exchange ikedecode does not follow


I, R = Role.INITIATOR, Role.RESPONDER  # noqa: E741 - the shapes read like the RFC's diagrams


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    sender: Role
    encrypted: bool  # whether RFC 2409 sends this message encrypted
    expected_payloads: tuple[str, ...]  # payload names the shape expects (for sanity findings)
    state: str  # show crypto isakmp sa state once this message has been seen
    ios_state_initiator: str  # debug crypto isakmp "New State" on the initiator after it
    ios_state_responder: str
    purpose: str  # one plain sentence for reports


@dataclass(frozen=True, slots=True)
class ExchangeShape:
    name: str
    exchange_type: int
    phase: int
    steps: tuple[Step, ...]

    def step_for(self, sender: Role, ordinal: int) -> Step | None:
        """The ``ordinal``-th (0-based) distinct message from ``sender`` in this exchange."""
        own = [s for s in self.steps if s.sender is sender]
        return own[ordinal] if ordinal < len(own) else None

    @property
    def final_label(self) -> str:
        return self.steps[-1].label


# RFC 2409 section 5 (main mode, identity protection)
MAIN_MODE = ExchangeShape(
    "main",
    2,
    1,
    (
        Step(
            "MM1",
            I,
            False,
            ("SA",),
            "MM_NO_STATE",
            "IKE_I_MM1",
            "IKE_R_MM1",
            "the initiator offers its ISAKMP policies (proposals and transforms)",
        ),
        Step(
            "MM2",
            R,
            False,
            ("SA",),
            "MM_SA_SETUP",
            "IKE_I_MM2",
            "IKE_R_MM2",
            "the responder picks one transform from the offer",
        ),
        Step(
            "MM3",
            I,
            False,
            ("KE", "NONCE"),
            "MM_SA_SETUP",
            "IKE_I_MM3",
            "IKE_R_MM3",
            "the initiator sends its Diffie-Hellman public value and nonce",
        ),
        Step(
            "MM4",
            R,
            False,
            ("KE", "NONCE"),
            "MM_KEY_EXCH",
            "IKE_I_MM4",
            "IKE_R_MM4",
            "the responder sends its Diffie-Hellman public value and nonce; both sides can now derive SKEYID",
        ),
        Step(
            "MM5",
            I,
            True,
            ("ID", "HASH"),
            "MM_KEY_EXCH",
            "IKE_I_MM5",
            "IKE_R_MM5",
            "the initiator proves its identity (encrypted ID and HASH_I or signature)",
        ),
        Step(
            "MM6",
            R,
            True,
            ("ID", "HASH"),
            "QM_IDLE",
            "IKE_P1_COMPLETE",
            "IKE_P1_COMPLETE",
            "the responder proves its identity (encrypted ID and HASH_R or signature); phase 1 is complete",
        ),
    ),
)

# RFC 2409 section 5 (aggressive mode)
AGGRESSIVE_MODE = ExchangeShape(
    "aggressive",
    4,
    1,
    (
        Step(
            "AM1",
            I,
            False,
            ("SA", "KE", "NONCE", "ID"),
            "AG_NO_STATE",
            "IKE_I_AM1",
            "IKE_R_AM1",
            "the initiator offers its policies, Diffie-Hellman value, nonce and identity in one message",
        ),
        Step(
            "AM2",
            R,
            False,
            ("SA", "KE", "NONCE", "ID", "HASH"),
            "AG_INIT_EXCH",
            "IKE_I_AM2",
            "IKE_R_AM2",
            "the responder accepts a transform and authenticates itself (HASH_R in clear text)",
        ),
        Step(
            "AM3",
            I,
            False,
            ("HASH",),
            "QM_IDLE",
            "IKE_P1_COMPLETE",
            "IKE_P1_COMPLETE",
            "the initiator authenticates itself (HASH_I); phase 1 is complete",
        ),
    ),
)

# RFC 2409 section 5.5 (quick mode)
QUICK_MODE = ExchangeShape(
    "quick",
    32,
    2,
    (
        Step(
            "QM1",
            I,
            True,
            ("HASH", "SA", "NONCE"),
            "QM_IDLE",
            "IKE_QM_I_QM1",
            "IKE_QM_R_QM1",
            "the initiator proposes IPsec transforms, its SPI and the proxy identities",
        ),
        Step(
            "QM2",
            R,
            True,
            ("HASH", "SA", "NONCE"),
            "QM_IDLE",
            "IKE_QM_I_QM2",
            "IKE_QM_R_QM2",
            "the responder accepts a transform and sends its SPI",
        ),
        Step(
            "QM3",
            I,
            True,
            ("HASH",),
            "QM_IDLE",
            "IKE_QM_PHASE2_COMPLETE",
            "IKE_QM_PHASE2_COMPLETE",
            "the initiator confirms (HASH(3)); the IPsec SAs are installed",
        ),
    ),
)

# RFC 2408 section 4.8 (informational) and draft-dukes-ike-mode-cfg (transaction): labelled per message.
INFORMATIONAL = ExchangeShape(
    "informational",
    5,
    2,
    (Step("INFO", I, True, ("HASH",), "", "", "", "a notification or delete"),),
)
TRANSACTION = ExchangeShape(
    "transaction",
    6,
    2,
    (
        Step(
            "TRANSACTION", I, True, ("HASH", "ATTR"), "", "", "", "a mode-config or XAUTH attribute exchange"
        ),
    ),
)

SHAPES_BY_TYPE: dict[int, ExchangeShape] = {
    s.exchange_type: s for s in (MAIN_MODE, AGGRESSIVE_MODE, QUICK_MODE, INFORMATIONAL, TRANSACTION)
}
PHASE1_TYPES = frozenset({MAIN_MODE.exchange_type, AGGRESSIVE_MODE.exchange_type})

# Phase-1 state reached once a message has been seen (show crypto isakmp sa).
STATE_AFTER: dict[str, str] = {
    s.label: s.state for shape in (MAIN_MODE, AGGRESSIVE_MODE) for s in shape.steps
}
