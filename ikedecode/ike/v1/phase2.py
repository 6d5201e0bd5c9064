"""Summaries of phase-2 style exchanges: what a quick mode negotiated, what an informational said."""

from __future__ import annotations

from typing import Any

from ikedecode.ike.v1.exchanges import Label, Role
from ikedecode.ike.v1.payloads import (
    ConfigAttributePayload,
    DeletePayload,
    IdPayload,
    KePayload,
    NotifyPayload,
    Proposal,
    SaPayload,
)

INITIATOR, RESPONDER = Role.INITIATOR.value, Role.RESPONDER.value  # summary keys: plain text
# enum members as module names: ``Label.QM1`` costs ten times as much to read (CPython 3.11)
QM1, QM2, QM3 = Label.QM1, Label.QM2, Label.QM3
PROPOSAL_DICT = Proposal.to_dict  # (mapped over the proposals: no comprehension made per message)


def summarize_quick_mode_message(summary: dict[str, Any], label: str, payloads: list[Any]) -> None:
    """Fold the decoded payloads of QM1/QM2/QM3 into the exchange's summary."""
    side = INITIATOR if label == QM1 or label == QM3 else RESPONDER
    ids: list[IdPayload] = []
    for p in payloads:  # (by exact type: no payload record has subclasses; one call a payload)
        kind = type(p)
        if kind is IdPayload:
            ids.append(p)
        elif kind is SaPayload:
            proposals = p.proposals
            key = "proposals" if label == QM1 else "accepted"
            summary[key] = list(map(PROPOSAL_DICT, proposals))
            spis = summary.get("spis")
            if spis is None:
                spis = summary["spis"] = {}
            for prop in proposals:
                if prop.spi:
                    spis.setdefault(side, []).append(prop.spi.hex())
        elif kind is KePayload:
            summary.setdefault("pfs", {})[side] = len(p.data)
        elif kind is NotifyPayload:
            summary.setdefault("notifies", []).append(p.to_dict())
    if len(ids) >= 2 and (label == QM1 or label == QM2):
        # RFC 2409 section 5.5: IDci then IDcr, the client (proxy) identities
        summary.setdefault("proxy_ids", {})[side] = {"local": ids[0].text, "remote": ids[1].text}


def summarize_informational(summary: dict[str, Any], payloads: list[Any]) -> None:
    for p in payloads:
        if isinstance(p, NotifyPayload):
            summary.setdefault("notifies", []).append(p.to_dict())
        elif isinstance(p, DeletePayload):
            summary.setdefault("deletes", []).append(p.to_dict())


def summarize_transaction(summary: dict[str, Any], payloads: list[Any]) -> None:
    for p in payloads:
        if isinstance(p, ConfigAttributePayload):
            summary.setdefault("attributes", []).append(p.to_dict())
