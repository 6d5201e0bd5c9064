"""IKEv2 Child SA failures (RFC 7296): traffic selectors refused (TS_UNACCEPTABLE, ``proxy-id-mismatch``)
or narrowed (``proxy-id-changed``, 2.9), rekey collisions and duplicate rekeys (2.8, 2.25:
``rekey-collision``), INVALID_SPI (``invalid-spi``, 1.5). Split from ``ikev2_failures.py``, which
runs these checks with its others (and imports this module when it runs them: the helpers both
share are its own).
"""

from __future__ import annotations

from typing import Any

from ikedecode.analysis.checks.facts import Context, evidence_of
from ikedecode.analysis.checks.ikev2_failures import Exchanges, _first, _notifies, _notify_evidence, _role
from ikedecode.findings import Finding, Severity, finding
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads import Ikev2DeletePayload, Ikev2SaPayload, Ikev2TsPayload


def _ts_payloads(msg: IkeMessage) -> list[Any]:
    """The first TSi and the first TSr payload of a message (None where it has none), in one pass."""
    found: list[Any] = [None, None]
    for p in msg.payloads:
        if isinstance(p, Ikev2TsPayload) and p.type in (reg.PT_TSI, reg.PT_TSR):
            i = 0 if p.type == reg.PT_TSI else 1
            if found[i] is None:
                found[i] = p
    return found


def _ts_text(ts: Ikev2TsPayload | None) -> str | None:
    return None if ts is None else ", ".join([s.text() for s in ts.selectors])


# -- TS_UNACCEPTABLE and narrowing ----------------------------------------------------------------


def _selectors(
    sa: IkeSa, exchanges: Exchanges, ctx: Context, read: dict[int, list[Any]], refusals: bool
) -> list[Finding]:
    """``read``: the TSi/TSr payloads of messages, by id, as ``ikev2_view`` found them (others are
    looked up here); ``refusals``: whether any message of the SA carries TS_UNACCEPTABLE."""
    out: list[Finding] = []
    for request, response in exchanges:
        if request.exchange_type not in (reg.IKE_AUTH, reg.CREATE_CHILD_SA) or response is None:
            continue
        asked = read.get(id(request)) or _ts_payloads(request)
        refused = _notifies(response, reg.N_TS_UNACCEPTABLE) if refusals else []
        if refused:
            tsi, tsr = _ts_text(asked[0]), _ts_text(asked[1])
            base = _ts_base(sa, request, tsi, tsr)
            p = refused[0]
            ctx.explained.add((response.frame, p.notify_type))
            text = (
                f"{response.sender} refused the traffic selectors of the {request.exchange} request "
                f"(frame {request.frame}) with {p.type_name} (frame {response.frame})"
            )
            text += (
                f": {request.sender} proposed TSi {tsi} <-> TSr {tsr}; the {_role(sa, response.sender)}'s "
                f"local/remote subnets must cover them mirrored (local {tsr}, remote {tsi})"
                if tsi is not None
                else ": the selectors are encrypted (give the keys to see them)"
            )
            out.append(
                finding(
                    "proxy-id-mismatch",
                    text,
                    {**base, "notify": p.type_name, "refusal": _notify_evidence(response, p)},
                )
            )
            continue
        accepted = read.get(id(response)) or _ts_payloads(response)
        if asked[0] is None or accepted[0] is None:
            continue  # the selectors of one side are not readable
        tsi, tsr, rtsi, rtsr = (_ts_text(ts) for ts in (*asked, *accepted))
        if (rtsi, rtsr) != (tsi, tsr):
            base = _ts_base(sa, request, tsi, tsr)
            text = (
                f"{response.sender} narrowed the traffic selectors of the {request.exchange} request "
                f"(frames {request.frame}, {response.frame}): proposed TSi {tsi} <-> TSr {tsr}, accepted "
                f"TSi {rtsi} <-> TSr {rtsr} (RFC 7296 2.9)"
            )
            out.append(
                finding(
                    "proxy-id-changed",
                    text,
                    {**base, "response": evidence_of(response), "accepted": {"TSi": rtsi, "TSr": rtsr}},
                )
            )
    return out


def _ts_base(sa: IkeSa, request: IkeMessage, tsi: str | None, tsr: str | None) -> dict[str, Any]:
    """The evidence a selector finding starts with (made only for a finding: most SAs have none)."""
    return {"ike_sa": sa.cookies, "request": evidence_of(request), "proposed": {"TSi": tsi, "TSr": tsr}}


# -- rekey collisions, INVALID_SPI -------------------------------------------------------------------


def _rekey_collisions(sa: IkeSa, exchanges: Exchanges, ctx: Context) -> list[Finding]:
    """RFC 7296 2.25: both peers rekey the same Child SA at once; one side answers TEMPORARY_FAILURE
    (or both succeed and the SA with the lowest nonce must be deleted: a duplicate when it is not)."""
    out: list[Finding] = []
    rekeys = [
        (q, r)
        for q, r in exchanges
        if q.exchange_type == reg.CREATE_CHILD_SA and _notifies(q, reg.N_REKEY_SA)
    ]
    for request, response in rekeys:
        failures = _notifies(response, reg.N_TEMPORARY_FAILURE)
        if not failures or response is None:
            continue
        ctx.explained.add((response.frame, failures[0].notify_type))
        crossing = [
            (q, r) for q, r in rekeys if q.sender != request.sender and abs(q.time - request.time) < 30.0
        ]
        rekeyed = _notifies(request, reg.N_REKEY_SA)[0].spi.hex()
        evidence: dict[str, Any] = {
            "ike_sa": sa.cookies,
            "notify": failures[0].type_name,
            "request": evidence_of(request, rekey_of=rekeyed),
            "refusal": _notify_evidence(response, failures[0]),
        }
        text = (
            f"rekey collision: {request.sender} rekeyed Child SA 0x{rekeyed} (frame {request.frame}) while "
            f"{response.sender} rekeyed it too"
        )
        if crossing:
            q, r = crossing[0]
            evidence["other_rekey"] = evidence_of(q, rekey_of=_notifies(q, reg.N_REKEY_SA)[0].spi.hex())
            text += f" (frame {q.frame}" + (f", answered in frame {r.frame}" if r is not None else "") + ")"
        text += (
            f"; {response.sender} answered {failures[0].type_name} (frame {response.frame}) and its own "
            "rekey "
            "stands (RFC 7296 2.25)"
        )
        duplicates = [
            q
            for q, r in crossing
            if r is not None
            and _first(r, Ikev2SaPayload) is not None
            and not _notifies(r, reg.N_TEMPORARY_FAILURE)
        ]
        severity = Severity.INFO if duplicates or not crossing else None
        if not crossing:
            text += "; the other rekey is not in the capture"
        out.append(finding("rekey-collision", text, evidence, severity=severity))
    return out


def _same_child(sa: IkeSa, spi_a: str, spi_b: str) -> bool:
    assert sa.ikev2 is not None
    return (
        any({spi_a, spi_b} <= {c.get("spi_initiator"), c.get("spi_responder")} for c in sa.ikev2.child_sas)
        or spi_a == spi_b
    )


def _new_spis(request: IkeMessage, response: IkeMessage) -> list[str]:
    out = []
    for msg in (request, response):
        sa_payload = _first(msg, Ikev2SaPayload)
        if sa_payload is not None and sa_payload.proposals:
            out.append(sa_payload.proposals[0].spi.hex())
    return out


def _duplicate_rekeys(sa: IkeSa, exchanges: Exchanges) -> list[Finding]:
    """RFC 7296 2.25.1: both simultaneous rekeys of one Child SA succeeded; the peer whose rekey has the
    lowest nonce must delete its new SA. When neither new SA is deleted, a duplicate is left over."""
    if sa.ikev2 is None:
        return []
    done = [
        (q, r)
        for q, r in exchanges
        if q.exchange_type == reg.CREATE_CHILD_SA
        and _notifies(q, reg.N_REKEY_SA)
        and r is not None
        and _first(r, Ikev2SaPayload) is not None
    ]
    deleted: dict[str, IkeMessage] = {}
    for m in sa.messages:
        for p in m.payloads:
            if isinstance(p, Ikev2DeletePayload):
                for deleted_spi in p.spis:
                    deleted.setdefault(deleted_spi.hex(), m)
    out: list[Finding] = []
    for i, (q1, r1) in enumerate(done):
        for q2, r2 in done[i + 1 :]:
            assert r1 is not None and r2 is not None
            spi1, spi2 = (
                _notifies(q1, reg.N_REKEY_SA)[0].spi.hex(),
                _notifies(q2, reg.N_REKEY_SA)[0].spi.hex(),
            )
            if q1.sender == q2.sender or abs(q1.time - q2.time) > 30.0 or not _same_child(sa, spi1, spi2):
                continue
            new1, new2 = _new_spis(q1, r1), _new_spis(q2, r2)
            # resolved: one new SA deleted while the other lives on (deleted later, or never)
            first_delete = [
                min((deleted[s] for s in new if s in deleted), key=lambda m: m.time, default=None)
                for new in (new1, new2)
            ]
            times = [m.time if m is not None else float("inf") for m in first_delete]
            gone = [
                (next(s for s in new if s in deleted and deleted[s] is m), m)
                for new, m, t in zip((new1, new2), first_delete, times, strict=True)
                if m is not None and t < max(times)
            ]
            evidence: dict[str, Any] = {
                "ike_sa": sa.cookies,
                "request": evidence_of(q1, rekey_of=spi1, new_spis=new1),
                "other_rekey": evidence_of(q2, rekey_of=spi2, new_spis=new2),
                "answers": [evidence_of(r1), evidence_of(r2)],
            }
            text = (
                f"rekey collision: {q1.sender} (frame {q1.frame}) and {q2.sender} (frame {q2.frame}) rekeyed "
                f"the same Child SA and both rekeys succeeded (frames {r1.frame}, {r2.frame})"
            )
            if gone:
                gone_spi, where = gone[0]
                evidence["deleted"] = evidence_of(where, spi=gone_spi)
                text += f"; the redundant SA 0x{gone_spi} was deleted (frame {where.frame}) (RFC 7296 2.25.1)"
                out.append(finding("rekey-collision", text, evidence, severity=Severity.INFO))
            else:
                evidence["duplicate_spis"] = new1 + new2
                text += (
                    f"; neither new SA ({', '.join('0x' + s for s in new1 + new2)}) was deleted: a duplicate "
                    "Child SA is left over (RFC 7296 2.25.1: the rekey with the lowest nonce must be deleted)"
                )
                out.append(finding("rekey-collision", text, evidence))
    return out


def _invalid_spi(sa: IkeSa, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for msg in sa.messages:
        if msg.retransmission_of is not None:
            continue
        for p in _notifies(msg, reg.N_INVALID_SPI):
            ctx.explained.add((msg.frame, p.notify_type))
            spi = p.decoded.get("spi") or (p.data.hex() if p.data else p.spi.hex())
            out.append(
                finding(
                    "invalid-spi",
                    f"{msg.sender} reports {p.type_name} for SPI 0x{spi} (frame {msg.frame}): it has no "
                    "Child SA "
                    "for ESP it received",
                    {
                        "ike_sa": sa.cookies,
                        "notify": p.type_name,
                        "spi": spi,
                        "message": _notify_evidence(msg, p),
                    },
                )
            )
    return out
