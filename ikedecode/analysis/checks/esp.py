"""ESP/AH after the negotiation: one-way or missing traffic, ICV failures, replays, gaps, INVALID-SPI,
traffic on deleted or expired SAs (RFC 4303 sections 3.4.3-3.4.4, RFC 2408 3.14.1, RFC 2409 5.5).

Flows are counted per direction between two addresses from both the keyed SAs (their counters)
and the SPIs without keys, so the one-way check works with or without ESP keys.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ikedecode.analysis.checks.facts import Context, QuickModeFacts, SaFacts, evidence_of, lifetimes, plural
from ikedecode.esp.diagnose import esn_explanation
from ikedecode.esp.plaintext import GARBLED
from ikedecode.esp.sa import IpsecSa
from ikedecode.findings import Finding, finding
from ikedecode.ike.registries import PROTO_IPSEC_AH, PROTO_IPSEC_ESP, SA_LIFE_DURATION, SA_LIFE_TYPE
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.payloads import DeletePayload

# module names: reading an enum member costs about 1k instructions on Python 3.11
QM2, QM3 = Label.QM2, Label.QM3

INVALID_SPI = 11  # RFC 2408 3.14.1
ONE_WAY_MIN_PACKETS = 3  # fewer packets with no answer prove little (a lone probe)
IN_FLIGHT = 1.0  # seconds: packets already on the way when a delete or an expiry happens


@dataclass(slots=True)
class Flow:
    """ESP/AH packets with one SPI in one direction, keyed or not."""

    protocol: str
    spi: int
    src: str
    dst: str
    packets: int
    bytes: int
    first_seen: float | None
    last_seen: float | None
    keyed: bool

    @property
    def label(self) -> str:
        return f"{self.protocol.upper()} SPI 0x{self.spi:08x} {self.src} -> {self.dst}"


def flows_of(ctx: Context) -> list[Flow]:
    """The ESP/AH flows of the report, made once per diagnosis (``check_esp`` and ``check_liveness``
    read them; nothing changes them)."""
    if ctx.flows is None:
        ctx.flows = _flows(ctx)
    return ctx.flows


def _flows(ctx: Context) -> list[Flow]:
    out = []
    for sa in ctx.report.ipsec_sas:
        c = sa.counters
        if sa.spi is None or sa.src is None or sa.dst is None or not c.packets:
            continue
        out.append(
            Flow(sa.protocol, sa.spi, sa.src, sa.dst, c.packets, c.bytes, c.first_seen, c.last_seen, True)
        )
    for u in ctx.report.unknown_spis:
        out.append(
            Flow(u.protocol, u.spi, u.src, u.dst, u.packets, u.bytes, u.first_seen, u.last_seen, False)
        )
    return out


def _one_way(ctx: Context, flows: list[Flow]) -> list[Finding]:
    packets: dict[tuple[str, str], int] = defaultdict(int)
    spis: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in flows:
        packets[(f.src, f.dst)] += f.packets
        spis[(f.src, f.dst)].append(f"0x{f.spi:08x}")
    out = []
    for (src, dst), count in sorted(packets.items()):
        if count >= ONE_WAY_MIN_PACKETS and packets.get((dst, src), 0) == 0:
            out.append(
                finding(
                    "esp-one-way",
                    f"{plural(count, 'ESP/AH packet')} went from {src} to {dst} and none came back "
                    f"from {dst}",
                    {"from": src, "to": dst, "packets": count, "spis": spis[(src, dst)]},
                )
            )
    return out


def _no_esp(ctx: Context, flows: list[Flow]) -> list[Finding]:
    out = []
    talking = {frozenset((f.src, f.dst)) for f in flows}
    for facts in ctx.sas:
        done = [q for q in facts.quick_modes if q.exchange.complete]  # QM3 seen: SAs installed
        if not done or (talking and frozenset((facts.sa.initiator, facts.sa.responder)) in talking):
            continue
        out.append(
            finding(
                "no-esp",
                f"quick mode {done[0].message_id} between {facts.sa.initiator} and {facts.sa.responder} "
                "completed but no ESP/AH between them follows in the capture",
                {"ike_sa": facts.cookies, "quick_modes": [q.message_id for q in done]},
            )
        )
    return out


def _garbled(sa: IpsecSa, base: dict[str, Any]) -> Finding:
    """Packets that decrypted to noise (esp/plaintext.py): all of them, or some."""
    c = sa.counters
    checks = ", ".join(
        f"{count} {GARBLED.get(check, check)}" for check, count in sorted(c.failed_checks.items())
    )
    evidence = {
        **base,
        "garbled": c.garbled,
        "garbled_icv_ok": c.garbled_icv_ok,
        "failed_checks": dict(c.failed_checks),
        "decrypted": c.decrypted,
        "verified": c.verified,
    }
    if c.decrypted or c.verified:
        return finding(
            "esp-plaintext-garbled",
            f"{sa.label}: {c.garbled} of {c.packets} packets decrypt to noise ({checks}) while "
            f"{c.decrypted + c.verified} decrypt soundly",
            evidence,
        )
    authentic = (
        f"; {c.garbled_icv_ok} of them verify their ICV, so the integrity key is right"
        if c.garbled_icv_ok
        else ""
    )
    return finding(
        "esp-encryption-key-wrong",
        f"{sa.label}: {c.garbled} of {c.packets} packets decrypt to noise ({checks}){authentic}: "
        "the encryption key is wrong",
        evidence,
    )


def _counters(ctx: Context) -> list[Finding]:
    out = []
    for sa in ctx.report.ipsec_sas:
        c = sa.counters
        if not (c.garbled or c.icv_failed or c.sequences):
            continue  # no replays or gaps without a sequence number seen: nothing to say
        base = {"sa": sa.label, "origin": sa.origin, "packets": c.packets}
        if c.garbled:
            out.append(_garbled(sa, base))
        esn = esn_explanation(sa) if c.icv_failed and not c.verified else None
        if esn is not None:
            out.append(
                finding(
                    "esp-esn-mismatch",
                    f"{sa.label}: {c.icv_failed} of {c.packets} packets fail the ICV check "
                    + (
                        f"as configured without ESN, but verify with extended sequence numbers "
                        f"(high bits {esn.seq_hi}): the SA uses ESN"
                        if not sa.esn
                        else "as configured with ESN, but verify without: the SA does not use ESN"
                    ),
                    {
                        **base,
                        "icv_failed": c.icv_failed,
                        "esn": sa.esn,
                        "verifies_with": esn.verifies_with,
                        "seq_hi": esn.seq_hi,
                    },
                )
            )
        elif c.icv_failed:
            all_bad = c.verified == 0
            out.append(
                finding(
                    _icv_code(sa.origin) if all_bad else "icv-failure-partial",
                    f"{sa.label}: {c.icv_failed} of {c.packets} packets fail the ICV check"
                    + (
                        (
                            f": the key is wrong for this SPI ({sa.encryption} authenticates with its "
                            "encryption key)"
                            if sa.encryption_algorithm.combined
                            else ": the integrity key is wrong for this SPI"
                        )
                        if all_bad
                        else ": corruption on the path"
                    ),
                    {**base, "icv_failed": c.icv_failed, "verified": c.verified},
                )
            )
        if c.replays:
            out.append(
                finding(
                    "esp-replay",
                    f"{sa.label}: {plural(c.replays, 'packet')} repeated a sequence number already seen",
                    {**base, "replays": c.replays, "seq_min": c.seq_min, "seq_max": c.seq_max},
                )
            )
        if c.gaps:
            out.append(
                finding(
                    "esp-sequence-gap",
                    f"{sa.label}: {plural(c.gaps, 'sequence number')} between {c.seq_min} and {c.seq_max} "
                    "never appeared",
                    {**base, "gaps": c.gaps, "seq_min": c.seq_min, "seq_max": c.seq_max},
                )
            )
    return out


def _icv_code(origin: str) -> str:
    """Every packet fails: the keys are wrong; a PFS quick mode's own secret is the usual culprit."""
    return "icv-failure-pfs" if "PFS secret" in origin else "icv-failure"


def _after_delete(ctx: Context, flows: list[Flow]) -> list[Finding]:
    by_spi: dict[int, list[Flow]] = defaultdict(list)
    for f in flows:
        by_spi[f.spi].append(f)
    out = []
    for facts in ctx.sas:
        for msg, delete in facts.deletes:
            if delete.protocol_id not in (PROTO_IPSEC_ESP, PROTO_IPSEC_AH) or delete.spi_size != 4:
                continue
            for raw_spi in delete.spis:
                spi = int.from_bytes(raw_spi, "big")
                # RFC 2408 3.15: the deleting peer names its own inbound SPI
                late = [
                    f
                    for f in by_spi.get(spi, [])
                    if f.dst == msg.sender and f.last_seen and f.last_seen > msg.time + IN_FLIGHT
                ]
                for f in late:
                    assert f.last_seen is not None  # the list holds only flows seen after the delete
                    out.append(
                        finding(
                            "esp-after-delete",
                            f"{f.label}: packets kept arriving until {f.last_seen - msg.time:.1f} s after "
                            f"{msg.sender} deleted that SPI (frame {msg.frame})",
                            {
                                "ike_sa": facts.cookies,
                                "flow": f.label,
                                "delete": evidence_of(msg),
                                "last_seen": f.last_seen,
                            },
                        )
                    )
    return out


def _lifetime_exceeded(ctx: Context) -> list[Finding]:
    quick_modes: dict[tuple[str, str], tuple[SaFacts, QuickModeFacts]] | None = None  # once an SA has packets
    out = []
    for sa in ctx.report.ipsec_sas:
        if sa.ike_cookies is None or sa.message_id is None or not sa.state.counters.packets:
            continue
        if quick_modes is None:
            quick_modes = {(f.cookies, q.message_id): (f, q) for f in ctx.sas for q in f.quick_modes}
        found = quick_modes.get((sa.ike_cookies, f"0x{sa.message_id:08x}"))
        if found is None:
            continue
        facts, qm = found
        accepted = qm.sa_payload(QM2)
        done = qm.label(QM3) or qm.label(QM2)
        if accepted is None or done is None:
            continue
        limits: dict[str, int] = {}
        for proposal in accepted.proposals:
            for transform in proposal.transforms:
                limits.update(lifetimes(transform, SA_LIFE_TYPE, SA_LIFE_DURATION))
        c = sa.counters
        over = []
        if "seconds" in limits and c.last_seen and c.last_seen > done.time + limits["seconds"] + IN_FLIGHT:
            over.append(
                f"{c.last_seen - done.time:.0f} s after the quick mode, lifetime {limits['seconds']} s"
            )
        if "kilobytes" in limits and c.bytes > limits["kilobytes"] * 1024:
            over.append(f"{c.bytes} bytes, lifetime {limits['kilobytes']} KB")
        if over:
            out.append(
                finding(
                    "sa-lifetime-exceeded",
                    f"{sa.label} carries traffic past its lifetime ({'; '.join(over)})",
                    {
                        "ike_sa": facts.cookies,
                        "quick_mode": qm.message_id,
                        "sa": sa.label,
                        "lifetime": limits,
                    },
                )
            )
    return out


def _invalid_spi(ctx: Context, flows: list[Flow]) -> list[Finding]:
    out = []
    for facts in ctx.sas:
        for n in facts.notifications:
            if n.payload.notify_type != INVALID_SPI:
                continue
            ctx.explain(n)
            spi = int.from_bytes(n.payload.spi, "big") if n.payload.spi else None
            if spi is None and len(n.payload.data) == 4:
                spi = int.from_bytes(n.payload.data, "big")  # some peers put the SPI in the data
            seen = [f.label for f in flows if spi is not None and f.spi == spi]
            deleted = _was_deleted(facts, spi)
            spi_text = f"0x{spi:08x}" if spi is not None else "(no SPI given)"
            out.append(
                finding(
                    "invalid-spi",
                    f"{n.msg.sender} reports INVALID-SPI for SPI {spi_text} (frame {n.msg.frame}): it "
                    "receives ESP for an SA it does not have"
                    + (f"; {n.msg.sender} had deleted it" if deleted else ""),
                    {"ike_sa": facts.cookies, "notify": n.evidence, "flows": seen, "deleted_before": deleted},
                )
            )
    return out


def _was_deleted(facts: SaFacts, spi: int | None) -> bool:
    if spi is None:
        return False
    return any(
        isinstance(d, DeletePayload) and any(int.from_bytes(s, "big") == spi for s in d.spis)
        for _, d in facts.deletes
    )


def check_esp(ctx: Context) -> list[Finding]:
    flows = flows_of(ctx)
    return (
        _one_way(ctx, flows)
        + _no_esp(ctx, flows)
        + _counters(ctx)
        + _after_delete(ctx, flows)
        + _lifetime_exceeded(ctx)
        + _invalid_spi(ctx, flows)
    )
