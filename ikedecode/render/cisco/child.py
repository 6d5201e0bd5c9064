"""A quick mode seen from one router: its inbound and outbound SPIs, proxies and transform.

RFC 2409 5.5: the SPI each side puts in its SA payload is the one it will *receive* on, so the
local router's inbound SPI is the one it proposed (QM1 as quick-mode initiator, QM2 as
responder) and its outbound SPI is the peer's. IDci/IDcr are the quick-mode initiator's and
responder's client (proxy) identities; without them the proxies are the peers' own addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.registries import PROTO_IPSEC_AH
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.payloads import IdPayload, SaPayload, Transform
from ikedecode.render.cisco import attributes as attrs
from ikedecode.render.cisco import vocabulary as v

ID_IPV4_ADDR, ID_IPV4_ADDR_SUBNET = 1, 4


@dataclass(frozen=True, slots=True)
class Proxy:
    """``10.1.1.0/255.255.255.0/0/0 (type=4)`` in IOS key engine messages."""

    text: str  # address/mask, address, range
    id_type: int
    protocol: int = 0
    port: int = 0

    @property
    def address(self) -> str:
        return self.text.split("/")[0].split("-")[0]

    @property
    def key_engine(self) -> str:
        text = self.text if "/" in self.text or "-" in self.text else f"{self.text}/255.255.255.255"
        return f"{text}/{self.protocol}/{self.port} (type={self.id_type})"

    @property
    def ident(self) -> str:
        """``show crypto ipsec sa``: ``(10.1.1.0/255.255.255.0/0/0)``."""
        text = self.text if "/" in self.text or "-" in self.text else f"{self.text}/255.255.255.255"
        return f"({text}/{self.protocol}/{self.port})"


@dataclass(slots=True)
class ChildPart:
    """One accepted proposal (ESP or AH) of a quick mode: a pair of SAs."""

    number: int
    protocol_id: int
    transform: Transform
    payload: SaPayload  # the SA payload the transform came from (for wire attribute bytes)
    inbound_spi: int | None = None
    outbound_spi: int | None = None

    @property
    def protocol(self) -> str:
        return "ah" if self.protocol_id == PROTO_IPSEC_AH else "esp"

    @property
    def transform_set(self) -> str:
        return attrs.transform_set(self.protocol_id, self.transform)

    @property
    def lifetimes(self) -> tuple[int | None, int | None]:
        return attrs.lifetimes(self.transform)

    @property
    def kilobytes(self) -> int:
        return self.lifetimes[1] or v.DEFAULT_LIFETIME_KILOBYTES

    @property
    def seconds(self) -> int:
        return self.lifetimes[0] or v.DEFAULT_LIFETIME_SECONDS

    @property
    def encapsulation(self) -> int | None:
        value = self.transform.get(attrs.SA_ENCAPS)
        return value if isinstance(value, int) else None


@dataclass(slots=True)
class LocalChild:
    sa: IkeSa
    message_id: int
    local: str
    remote: str
    local_initiated: bool  # the local router sent QM1
    messages: list[IkeMessage]  # first copies, in order
    offered: SaPayload | None = None  # QM1's SA payload
    accepted: SaPayload | None = None  # QM2's SA payload
    local_proxy: Proxy | None = None
    remote_proxy: Proxy | None = None
    parts: list[ChildPart] = field(default_factory=list)
    complete: bool = False
    created: float | None = None

    @property
    def readable(self) -> bool:
        return bool(self.parts)


def _first(m: IkeMessage | None, kind: type) -> object | None:
    if m is None:
        return None
    return next((p for p in m.payloads if isinstance(p, kind)), None)


def _proxy(p: IdPayload) -> Proxy:
    return Proxy(p.text, p.id_type, p.protocol_id, p.port)


def build_children(sa: IkeSa, local: str, remote: str) -> list[LocalChild]:
    """Every quick mode of ``sa`` from the router at ``local``, in the order they started."""
    out: list[LocalChild] = []
    quick: dict[int, list[IkeMessage]] = {}
    for m in sa.messages:
        if m.exchange == "quick" and m.retransmission_of is None:
            quick.setdefault(m.message_id, []).append(m)
    for ex in sa.phase2.values():
        if ex.exchange != "quick":
            continue
        messages = quick.get(ex.message_id, [])
        if not messages:
            continue
        by_label = {m.label: m for m in messages}
        qm1 = by_label.get(Label.QM1)
        initiator = qm1.sender if qm1 is not None else messages[0].sender
        child = LocalChild(
            sa, ex.message_id, local, remote, initiator == local, messages, complete=ex.complete
        )
        last = messages[-1]
        if ex.complete:
            child.created = last.time
        child.offered = _first(qm1, SaPayload)  # type: ignore[assignment]
        child.accepted = _first(by_label.get(Label.QM2), SaPayload)  # type: ignore[assignment]
        ids = [p for p in (qm1.payloads if qm1 is not None else []) if isinstance(p, IdPayload)]
        idci: Proxy | None
        idcr: Proxy | None
        if len(ids) >= 2:
            idci, idcr = _proxy(ids[0]), _proxy(ids[1])
        elif qm1 is not None and qm1.decrypted is not False:
            # RFC 2409 5.5: no IDs means the peers' own addresses
            idci, idcr = (
                Proxy(initiator, ID_IPV4_ADDR),
                Proxy(sa.responder if initiator == sa.initiator else sa.initiator, ID_IPV4_ADDR),
            )
        else:
            idci = idcr = None
        if idci is not None and idcr is not None:
            child.local_proxy, child.remote_proxy = (idci, idcr) if child.local_initiated else (idcr, idci)
        child.parts = _parts(child)
        out.append(child)
    return out


def _parts(child: LocalChild) -> list[ChildPart]:
    if child.offered is None:
        return []
    offered = {p.number: p for p in child.offered.proposals}
    parts: list[ChildPart] = []
    chosen = child.accepted.proposals if child.accepted is not None else []
    for proposal in chosen:
        mine = offered.get(proposal.number)
        if not proposal.transforms:
            continue
        part = ChildPart(proposal.number, proposal.protocol_id, proposal.transforms[0], child.accepted)  # type: ignore[arg-type]
        qm1_spi = int.from_bytes(mine.spi, "big") if mine is not None and len(mine.spi) == 4 else None
        qm2_spi = int.from_bytes(proposal.spi, "big") if len(proposal.spi) == 4 else None
        # the SPI a side proposes is the one it receives on
        part.inbound_spi, part.outbound_spi = (
            (qm1_spi, qm2_spi) if child.local_initiated else (qm2_spi, qm1_spi)
        )
        parts.append(part)
    return parts


def offered_parts(child: LocalChild) -> list[ChildPart]:
    """QM1's proposals as parts (first transform each), for ``IPSEC(sa_request)``."""
    if child.offered is None:
        return []
    out = []
    for proposal in child.offered.proposals:
        if proposal.transforms:
            spi = int.from_bytes(proposal.spi, "big") if len(proposal.spi) == 4 else None
            out.append(
                ChildPart(proposal.number, proposal.protocol_id, proposal.transforms[0], child.offered, spi)
            )
    return out
