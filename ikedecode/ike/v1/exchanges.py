"""Exchange shapes, declared as data (RFC 2408 section 4, RFC 2409 sections 5 and 5.5).

Every IKEv1 message is labelled by its exchange and its place in it. The label follows from who
sent it and how many distinct messages that side has sent in the exchange so far, so
out-of-order arrival and retransmissions do not shift labels. The table carries the rules the
engine and the renderers follow: which hash each message carries to check, which message
completes an exchange (the last step of a phase-1 shape establishes the IKE SA), and the state each
side reaches once the message has been seen, in the names Cisco IOS uses in
``show crypto isakmp sa`` and ``debug crypto isakmp``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ikedecode.ike.messages import UNKNOWN_LABEL


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
    UNKNOWN = UNKNOWN_LABEL  # beyond the shape of its exchange, or an exchange ikedecode does not follow


class HashCheck(StrEnum):
    """Which hash a message carries for ikedecode to check (its value is the hash's RFC name)."""

    SENDER_PHASE1 = "HASH_I/HASH_R"  # RFC 2409 5: HASH_I from the initiator, HASH_R from the responder
    CLEAR_HASH_R = "HASH_R"  # RFC 2409 5.4 aggressive mode: in clear text, checkable with a PSK alone
    QM_HASH1 = "HASH(1)"  # RFC 2409 5.5
    QM_HASH2 = "HASH(2)"
    QM_HASH3 = "HASH(3)"
    INFORMATIONAL_HASH1 = "informational HASH(1)"  # RFC 2409 5.7, draft-dukes-ike-mode-cfg 3.2


I, R = Role.INITIATOR, Role.RESPONDER  # noqa: E741 - the shapes read like the RFC's diagrams


@dataclass(frozen=True, slots=True)
class Step:
    label: Label
    sender: Role
    encrypted: bool  # whether RFC 2409 sends this message encrypted
    expected_payloads: tuple[str, ...]  # payload names the shape expects (for sanity findings)
    state: str  # show crypto isakmp sa state once this message has been seen
    ios_state_initiator: str  # debug crypto isakmp "New State" on the initiator after it
    ios_state_responder: str
    purpose: str  # one plain sentence for reports
    hash_check: HashCheck | None = None  # the hash this message carries for ikedecode to check
    completes: bool = False  # seeing this message completes its exchange (phase 1: establishes the IKE SA)
    keys_ipsec_sas: bool = False  # once verified, this message gives what KEYMAT needs (RFC 2409 5.5)
    # debug crypto isakmp: the state tag of the "sending/received packet" line for this message on
    # the initiator and on the responder (Examples 13-3 and 13-5; the SA's state as the line prints)
    ios_packet_state_initiator: str = ""
    ios_packet_state_responder: str = ""

    def ios_packet_state(self, side: Role) -> str:
        return self.ios_packet_state_initiator if side is Role.INITIATOR else self.ios_packet_state_responder


@dataclass(frozen=True, slots=True)
class ExchangeShape:
    name: str
    exchange_type: int
    phase: int
    steps: tuple[Step, ...]
    distinct_messages_to_complete: int | None = None  # complete after so many messages, whatever they are
    # each sender's steps, in order (``step_for`` asks per message)
    by_sender: dict[Role, tuple[Step, ...]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        own = {role: tuple(s for s in self.steps if s.sender is role) for role in Role}
        object.__setattr__(self, "by_sender", own)

    def step_for(self, sender: Role, ordinal: int) -> Step | None:
        """The ``ordinal``-th (0-based) distinct message from ``sender`` in this exchange."""
        own = self.by_sender[sender]
        return own[ordinal] if ordinal < len(own) else None

    @property
    def final_label(self) -> Label:
        return self.steps[-1].label


# RFC 2409 section 5 (main mode, identity protection)
MAIN_MODE = ExchangeShape(
    "main",
    2,
    1,
    (
        Step(
            Label.MM1,
            I,
            False,
            ("SA",),
            "MM_NO_STATE",
            "IKE_I_MM1",
            "IKE_R_MM1",
            "the initiator offers its ISAKMP policies (proposals and transforms)",
            ios_packet_state_initiator="MM_NO_STATE",
            ios_packet_state_responder="NEW SA",
        ),
        Step(
            Label.MM2,
            R,
            False,
            ("SA",),
            "MM_SA_SETUP",
            "IKE_I_MM2",
            "IKE_R_MM2",
            "the responder picks one transform from the offer",
            ios_packet_state_initiator="MM_NO_STATE",
            ios_packet_state_responder="MM_SA_SETUP",
        ),
        Step(
            Label.MM3,
            I,
            False,
            ("KE", "NONCE"),
            "MM_SA_SETUP",
            "IKE_I_MM3",
            "IKE_R_MM3",
            "the initiator sends its Diffie-Hellman public value and nonce",
            ios_packet_state_initiator="MM_SA_SETUP",
            ios_packet_state_responder="MM_SA_SETUP",
        ),
        Step(
            Label.MM4,
            R,
            False,
            ("KE", "NONCE"),
            "MM_KEY_EXCH",
            "IKE_I_MM4",
            "IKE_R_MM4",
            "the responder sends its Diffie-Hellman public value and nonce; both sides can now derive SKEYID",
            ios_packet_state_initiator="MM_SA_SETUP",
            ios_packet_state_responder="MM_KEY_EXCH",
        ),
        Step(
            Label.MM5,
            I,
            True,
            ("ID", "HASH"),
            "MM_KEY_EXCH",
            "IKE_I_MM5",
            "IKE_R_MM5",
            "the initiator proves its identity (encrypted ID and HASH_I or signature)",
            hash_check=HashCheck.SENDER_PHASE1,
            ios_packet_state_initiator="MM_KEY_EXCH",
            ios_packet_state_responder="MM_KEY_EXCH",
        ),
        Step(
            Label.MM6,
            R,
            True,
            ("ID", "HASH"),
            "QM_IDLE",
            "IKE_P1_COMPLETE",
            "IKE_P1_COMPLETE",
            "the responder proves its identity (encrypted ID and HASH_R or signature); phase 1 is complete",
            hash_check=HashCheck.SENDER_PHASE1,
            completes=True,
            ios_packet_state_initiator="MM_KEY_EXCH",
            ios_packet_state_responder="QM_IDLE",
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
            Label.AM1,
            I,
            False,
            ("SA", "KE", "NONCE", "ID"),
            "AG_NO_STATE",
            "IKE_I_AM1",
            "IKE_R_AM1",
            "the initiator offers its policies, Diffie-Hellman value, nonce and identity in one message",
            ios_packet_state_initiator="AG_NO_STATE",
            ios_packet_state_responder="NEW SA",
        ),
        Step(
            Label.AM2,
            R,
            False,
            ("SA", "KE", "NONCE", "ID", "HASH"),
            "AG_INIT_EXCH",
            "IKE_I_AM2",
            "IKE_R_AM2",
            "the responder accepts a transform and authenticates itself (HASH_R in clear text)",
            hash_check=HashCheck.CLEAR_HASH_R,
            ios_packet_state_initiator="AG_NO_STATE",
            ios_packet_state_responder="AG_INIT_EXCH",
        ),
        Step(
            Label.AM3,
            I,
            False,
            ("HASH",),
            "QM_IDLE",
            "IKE_P1_COMPLETE",
            "IKE_P1_COMPLETE",
            "the initiator authenticates itself (HASH_I); phase 1 is complete",
            hash_check=HashCheck.SENDER_PHASE1,
            completes=True,
            ios_packet_state_initiator="AG_INIT_EXCH",
            ios_packet_state_responder="AG_INIT_EXCH",
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
            Label.QM1,
            I,
            True,
            ("HASH", "SA", "NONCE"),
            "QM_IDLE",
            "IKE_QM_I_QM1",
            "IKE_QM_R_QM1",
            "the initiator proposes IPsec transforms, its SPI and the proxy identities",
            hash_check=HashCheck.QM_HASH1,
        ),
        Step(
            Label.QM2,
            R,
            True,
            ("HASH", "SA", "NONCE"),
            "QM_IDLE",
            "IKE_QM_I_QM2",
            "IKE_QM_R_QM2",
            "the responder accepts a transform and sends its SPI",
            hash_check=HashCheck.QM_HASH2,
            keys_ipsec_sas=True,
        ),
        Step(
            Label.QM3,
            I,
            True,
            ("HASH",),
            "QM_IDLE",
            "IKE_QM_PHASE2_COMPLETE",
            "IKE_QM_PHASE2_COMPLETE",
            "the initiator confirms (HASH(3)); the IPsec SAs are installed",
            hash_check=HashCheck.QM_HASH3,
            completes=True,
        ),
    ),
)

# RFC 2408 section 4.8 (informational) and draft-dukes-ike-mode-cfg (transaction): labelled per message.
INFORMATIONAL = ExchangeShape(
    "informational",
    5,
    2,
    (
        Step(
            Label.INFO,
            I,
            True,
            ("HASH",),
            "",
            "",
            "",
            "a notification or delete",
            hash_check=HashCheck.INFORMATIONAL_HASH1,
            completes=True,
        ),
    ),
)
TRANSACTION = ExchangeShape(
    "transaction",
    6,
    2,
    (
        Step(
            Label.TRANSACTION,
            I,
            True,
            ("HASH", "ATTR"),
            "",
            "",
            "",
            "a mode-config or XAUTH attribute exchange",
            hash_check=HashCheck.INFORMATIONAL_HASH1,
        ),
    ),
    distinct_messages_to_complete=2,  # draft-dukes-ike-mode-cfg 3.2: REQUEST/REPLY or SET/ACK
)

SHAPES = (MAIN_MODE, AGGRESSIVE_MODE, QUICK_MODE, INFORMATIONAL, TRANSACTION)
SHAPES_BY_TYPE: dict[int, ExchangeShape] = {s.exchange_type: s for s in SHAPES}
STEP_BY_LABEL: dict[str, Step] = {step.label: step for shape in SHAPES for step in shape.steps}
PHASE1_SHAPES = tuple(s for s in SHAPES if s.phase == 1)
PHASE1_TYPES = frozenset(s.exchange_type for s in PHASE1_SHAPES)
PHASE1_EXCHANGES = frozenset(s.name for s in PHASE1_SHAPES)
PHASE2_TYPES = frozenset(s.exchange_type for s in SHAPES if s.phase == 2)

# The last message of a phase-1 exchange establishes the IKE SA (MM6, AM3), in the state
# ``show crypto isakmp sa`` shows from then on (QM_IDLE).
ESTABLISHING_LABELS = frozenset(step.label for s in PHASE1_SHAPES for step in s.steps if step.completes)
(ESTABLISHED_STATE,) = {s.steps[-1].state for s in PHASE1_SHAPES}

# A phase-2 message beyond its exchange's shape (or of an exchange ikedecode does not follow) is
# checked as an informational message: HASH(1) over the payloads after it (RFC 2409 5.7).
UNSHAPED_PHASE2_HASH = HashCheck.INFORMATIONAL_HASH1

# Phase-1 state reached once a message has been seen (show crypto isakmp sa).
STATE_AFTER: dict[str, str] = {s.label: s.state for shape in PHASE1_SHAPES for s in shape.steps}
