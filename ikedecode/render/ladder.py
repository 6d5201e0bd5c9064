"""The ladder (sequence) diagram of one IKE SA, shared by the Mermaid (Markdown) and SVG (HTML)
renderers, with one plain sentence per message saying what it does.

Arrows are IKE messages (MM1..MM6, AM1..AM3, QM1..QM3, INFO, TRANSACTION; retransmissions and
messages the receiver could not read are marked) and ESP/AH flows (one arrow per SA direction at
its first packet, with its packet and byte counts); notes mark phase 1 complete, the IPsec SAs
being installed, deletes and the end of the capture.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ikedecode.analysis.timeline import keys_disagree
from ikedecode.analysis.timeline_records import IkeSaTimeline
from ikedecode.ike.records import IkeMessage, IkeSa, Protection
from ikedecode.ike.registries import (
    PROTO_IPCOMP,
    PROTO_IPSEC_AH,
    PROTO_IPSEC_ESP,
    PROTO_ISAKMP,
    R_U_THERE,
    R_U_THERE_ACK,
)
from ikedecode.ike.v1.exchanges import SHAPES_BY_TYPE, Label, Role
from ikedecode.ike.v1.payloads import DeletePayload, NotifyPayload, SaPayload
from ikedecode.render import ladder_ikev2

PROTOCOLS = {PROTO_ISAKMP: "ISAKMP", PROTO_IPSEC_AH: "AH", PROTO_IPSEC_ESP: "ESP", PROTO_IPCOMP: "IPCOMP"}

INITIATOR, RESPONDER = "I", "R"
PHASE1_EXCHANGES = frozenset({2, 4})  # main, aggressive: message ID 0


@dataclass(slots=True)
class Arrow:
    time: float
    offset: float  # seconds since the SA's first packet
    source: str  # INITIATOR or RESPONDER
    label: str  # MM1, QM2, INFO, ESP, ...
    text: str  # what the arrow says
    kind: str  # "ike", "retransmission", "unreadable", "esp"
    frame: int | None = None
    sentence: str = ""
    payloads: list[str] = field(default_factory=list)  # decoded payloads, one line each

    @property
    def target(self) -> str:
        return RESPONDER if self.source == INITIATOR else INITIATOR


@dataclass(slots=True)
class Note:
    time: float
    offset: float
    text: str


@dataclass(slots=True)
class Ladder:
    title: str
    initiator: str
    responder: str
    items: list[Arrow | Note] = field(default_factory=list)

    @property
    def arrows(self) -> list[Arrow]:
        return [item for item in self.items if isinstance(item, Arrow)]


def role_name(sa: IkeSa, address: str) -> Role:
    return Role.INITIATOR if address == sa.initiator else Role.RESPONDER


def build_ladder(sa: IkeSa, timeline: IkeSaTimeline) -> Ladder:
    start = timeline.start
    ladder = Ladder(f"IKE SA {sa.cookies}", sa.initiator, sa.responder)
    copies: Counter[int] = Counter()
    disagree = keys_disagree(sa)
    for m in sa.messages:
        source = INITIATOR if m.sender == sa.initiator else RESPONDER
        if m.retransmission_of is not None:
            copies[m.retransmission_of] += 1
            text = f"{m.label} again (retransmission {copies[m.retransmission_of]})"
            if disagree and m.encrypted:
                text += " - receiver cannot decrypt"
            ladder.items.append(
                Arrow(
                    m.time,
                    m.time - start,
                    source,
                    m.label,
                    text,
                    "retransmission",
                    m.frame,
                    retransmission_sentence(sa, m),
                )
            )
            continue
        kind = (
            "unreadable"
            if m.encrypted and not m.decrypted and m.protection is not Protection.NO_KEYS
            else "ike"
        )
        if sa.version == 2:
            text, sentence = ladder_ikev2.arrow_text(m), ladder_ikev2.sentence(sa, m)
        else:
            text, sentence = arrow_text(m), message_sentence(sa, m)
        if sa.ikev2 is not None and sa.ikev2.key_stages and m.key_stage is not None:
            text += f" [key stage {m.key_stage}]"  # RFC 9370: the keys that protected it
        if disagree and m.encrypted:
            # the peers' keys differ (PSK mismatch): the receiver cannot decrypt what the sender encrypted
            kind = "unreadable"
            text += " - receiver cannot decrypt"
            sentence += f"; the {role_name(sa, m.receiver)} cannot decrypt it: the peers' keys differ"
        ladder.items.append(
            Arrow(
                m.time,
                m.time - start,
                source,
                m.label,
                text,
                kind,
                m.frame,
                sentence,
                [p.summary() for p in m.payloads],
            )
        )
    if timeline.phase1_complete is not None:
        ladder.items.append(
            Note(
                timeline.phase1_complete,
                timeline.phase1_complete - start,
                "IKE SA established" if sa.version == 2 else "phase 1 complete",
            )
        )
    for child in timeline.children:
        if child.complete and child.created is not None:
            ladder.items.append(
                Note(
                    child.created,
                    child.created - start,
                    ("Child SA " if child.exchange else "")
                    + f"{child.name}: IPsec SAs {child.spis_text} installed",
                )
            )
        for d in child.directions:
            if d.packets and d.first_seen is not None:
                source = INITIATOR if d.src == sa.initiator else RESPONDER
                text = f"{d.label}: {d.packets} packets, {d.bytes} bytes"
                if d.icv_failed:
                    text += f", {d.icv_failed} ICV failures"
                span = (d.last_seen or d.first_seen) - d.first_seen
                sentence = (
                    f"ESP traffic from the {role_name(sa, d.src or '')} on SPI 0x{d.spi:08x} "
                    f"for {span:.1f} s ({d.packets} packets"
                    + (", all verified" if d.keys_known and d.verified == d.packets else "")
                    + ")"
                )
                ladder.items.append(
                    Arrow(d.first_seen, d.first_seen - start, source, "ESP", text, "esp", sentence=sentence)
                )
    end = timeline.events[-1].time if timeline.events else timeline.end
    ladder.items.append(Note(end, end - start, "end of capture"))
    ladder.items.sort(key=lambda item: (item.time, isinstance(item, Note)))
    return ladder


def arrow_text(m: IkeMessage) -> str:
    """A message in a few words: its label and the payloads that matter."""
    if m.encrypted and not m.decrypted:
        why = "no keys" if m.protection is Protection.NO_KEYS else "cannot decrypt"
        label = m.label if m.exchange_type in PHASE1_EXCHANGES else f"{m.label} 0x{m.message_id:08x}"
        return f"{label} (encrypted, {why})"
    parts: list[str] = []
    previous, count = "", 0
    for p in [*m.payloads, None]:
        simple = p is not None and not isinstance(p, SaPayload | NotifyPayload | DeletePayload)
        if simple and p.short == previous:
            count += 1
            continue
        if previous:
            parts.append(previous if count == 1 else f"{previous} x{count}")
        previous, count = (p.short, 1) if simple else ("", 0)
        if isinstance(p, SaPayload):
            transforms = p.transforms
            if len(transforms) == 1:
                spi = p.proposals[0].spi if p.proposals else b""
                parts.append((f"SA SPI 0x{spi.hex()} " if spi else "SA ") + transforms[0].describe())
            else:
                parts.append(f"SA ({len(transforms)} transforms)")
        elif isinstance(p, NotifyPayload):
            parts.append(f"N({p.notify_name})")
        elif isinstance(p, DeletePayload):
            spis = ", ".join(f"0x{spi.hex()}" for spi in p.spis[:2])
            parts.append(f"DELETE {PROTOCOLS.get(p.protocol_id, p.protocol_id)} {spis}")
    label = m.label if m.exchange_type in PHASE1_EXCHANGES else f"{m.label} 0x{m.message_id:08x}"
    return f"{label}: " + ", ".join(parts) if parts else label


def message_sentence(sa: IkeSa, m: IkeMessage) -> str:
    """One plain sentence on what a message does."""
    role = role_name(sa, m.sender)
    shape = SHAPES_BY_TYPE.get(m.exchange_type)
    if shape is not None and shape.name in ("main", "aggressive", "quick"):
        for step in shape.steps:
            if step.label == m.label:
                sentence = step.purpose
                if shape.name == "quick" and step.label == Label.QM1 and role is Role.RESPONDER:
                    sentence += " (here the IKE responder starts the quick mode)"
                return sentence
    if m.exchange == "informational":
        return _informational_sentence(role, m)
    if m.exchange == "transaction":
        return f"the {role} sends a mode-config / XAUTH message"
    return f"a {m.exchange} message from the {role}"


def _informational_sentence(role: str, m: IkeMessage) -> str:
    if m.encrypted and not m.decrypted:
        return f"an encrypted informational message from the {role} that cannot be read without its keys"
    said: list[str] = []
    for p in m.payloads:
        if isinstance(p, DeletePayload):
            protocol = PROTOCOLS.get(p.protocol_id, str(p.protocol_id))
            if p.protocol_id == PROTO_ISAKMP:
                said.append(f"the {role} deletes the IKE SA")
            else:
                spis = ", ".join(f"0x{spi.hex()}" for spi in p.spis)
                said.append(f"the {role} deletes {protocol} SA {spis} (its inbound SPI; the pair goes)")
        elif isinstance(p, NotifyPayload):
            if p.notify_type == R_U_THERE:
                said.append(
                    f"dead peer detection: the {role} asks whether its peer is still alive (R-U-THERE)"
                )
            elif p.notify_type == R_U_THERE_ACK:
                said.append(f"dead peer detection: the {role} answers that it is alive (R-U-THERE-ACK)")
            elif p.is_error:
                said.append(f"the {role} reports an error: {p.notify_name}")
            else:
                said.append(f"the {role} notifies {p.notify_name}")
    return "; ".join(said) or f"an informational message from the {role}"


def retransmission_sentence(sa: IkeSa, m: IkeMessage) -> str:
    role = role_name(sa, m.sender)
    first = next((x for x in sa.messages if x.frame == m.retransmission_of), None)
    gap = f", {m.time - first.time:.1f} s after the first copy" if first is not None else ""
    return f"the {role} sends the same message again{gap}: it has no (usable) answer yet"
