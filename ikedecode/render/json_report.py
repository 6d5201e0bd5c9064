"""``--format json``: the documented, stable schema of docs/json.md."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any, TextIO

from ikedecode import __version__
from ikedecode.analysis.report import Report
from ikedecode.analysis.timeline import build_timeline
from ikedecode.analysis.verdict import verdict_of
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import UnknownSpi
from ikedecode.ike.records import IkeMessage, IkeSa, ProposalRecord
from ikedecode.render import json_writer
from ikedecode.render.json_writer import Encoded, Lazy
from ikedecode.render.map_in_order import MapInOrder
from ikedecode.render.redact import redact_payload_dict

SCHEMA_VERSION = 1


def report_to_dict(report: Report, *, show_keys: bool = False) -> dict[str, Any]:
    return _document(report, show_keys, list)


def _document(report: Report, show_keys: bool, listing: Callable[[Iterator[Any]], Any]) -> dict[str, Any]:
    """The report as docs/json.md has it; ``listing`` makes each list of the report from an
    iterator: ``list``, or ``json_writer.Lazy`` to make each SA's dict only when it is written."""
    stats = report.stats
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"ikedecode {__version__}",
        "capture": {
            "name": report.capture_name,
            **stats.as_dict(),
            "nat_keepalives": stats.nat_keepalives,
            "ip_fragments": stats.ip_fragments,
            "malformed_reasons": dict(stats.malformed_reasons),
            "truncated": stats.truncated,
            "first_time": stats.first_time,
            "last_time": stats.last_time,
        },
        "sources": [source.to_dict() for source in report.sources],  # docs/json.md "sources"
        "verdict": verdict_of(report).to_dict(),  # docs/json.md "verdict"
        "ike_sas": listing(ike_sa_to_dict(sa, show_keys=show_keys) for sa in report.ike_sas),
        "ipsec_sas": listing(
            chain(
                (ipsec_sa_to_dict(sa, show_keys=show_keys) for sa in report.ipsec_sas),
                (unknown_spi_to_dict(u) for u in report.unknown_spis),
            )
        ),
        "decrypted_packets_written": report.decrypted_written,
        "unattached_messages": listing(message_to_dict(m, show_keys=show_keys) for m in report.unattached),
        "timeline": build_timeline(report).to_dict(listing),  # docs/json.md "timeline"
        "findings": listing(f.to_dict() for f in report.all_findings()),
    }


def proposal_to_dict(proposal: ProposalRecord) -> dict[str, Any]:
    """An offered or chosen phase-1 proposal in its JSON form (docs/json.md): the record's fields
    and its one-line description."""
    return {**proposal.to_dict(), "description": proposal.describe()}


def ike_sa_to_dict(sa: IkeSa, *, show_keys: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": sa.version,
        "initiator_cookie": sa.initiator_cookie.hex(),
        "responder_cookie": sa.responder_cookie.hex() if sa.responder_cookie else None,
        "initiator": sa.initiator,
        "responder": sa.responder,
        "initiator_inferred": sa.initiator_inferred,
        "exchange": sa.exchange,
        "state": sa.state,
        "established": sa.established,
        "authenticated": sa.authenticated,
        "auth_method": sa.auth_method,
        "offered": [proposal_to_dict(p) for p in sa.offered],
        "chosen": proposal_to_dict(sa.chosen) if sa.chosen is not None else None,
        "identities": sa.identities,
        "vendor_ids": sa.vendor_ids,
        "key_source": _key_source(sa),
        "first_time": sa.first_time,
        "last_time": sa.last_time,
        "messages": [message_to_dict(m, show_keys=show_keys) for m in sa.messages],
        "phase2": [ex.to_dict() for ex in sa.phase2.values()],
    }
    if sa.ikev2 is not None:
        out["ikev2"] = sa.ikev2.to_dict()
        # RFC 7296 names: the cookie pair is the SPI pair; rekey_of is the IKE SA this one rekeyed
        out["initiator_spi"], out["responder_spi"] = out["initiator_cookie"], out["responder_cookie"]
        out["rekey_of"] = sa.ikev2.rekeyed_from
    if show_keys and sa.keys is not None:
        out["keys"] = sa.keys.to_dict()
    if not show_keys:
        out["phase2"] = [redact_payload_dict(p) for p in out["phase2"]]
    return out


def ipsec_sa_to_dict(sa: IpsecSa, *, show_keys: bool = False) -> dict[str, Any]:
    c = sa.counters
    out: dict[str, Any] = {
        "protocol": sa.protocol,
        "spi": f"0x{sa.spi:08x}" if sa.spi is not None else "*",
        "src": sa.src,
        "dst": sa.dst,
        "mode": sa.observed_mode,
        "encryption": sa.encryption,
        "integrity": sa.integrity,
        "esn": sa.esn,
        "keys_known": True,
        "supported": sa.supported,
        **c.as_dict(),
        "unknown_spi": 0,
        "first_frame": None,
        "ike_sa": sa.ike_cookies,
        "quick_mode": f"0x{sa.message_id:08x}" if sa.message_id is not None else None,
        "origin": sa.origin,
    }
    if show_keys:
        out["keys"] = {"encryption_key": sa.encryption_key.hex(), "integrity_key": sa.integrity_key.hex()}
    return out


# Every ``ipsec_sas`` entry has these fields, in this order, keys or not (docs/json.md): a flow
# without keys has null wherever only keys could tell (``keys`` comes only with --show-keys).
IPSEC_SA_FIELDS = tuple(ipsec_sa_to_dict(IpsecSa("esp", 0)))


def unknown_spi_to_dict(u: UnknownSpi) -> dict[str, Any]:
    """ESP/AH packets whose SPI has no keys: reported with their counts, never dropped."""
    out: dict[str, Any] = dict.fromkeys(IPSEC_SA_FIELDS)
    out.update(
        {
            "protocol": u.protocol,
            "spi": f"0x{u.spi:08x}",
            "src": u.src,
            "dst": u.dst,
            "keys_known": False,
            "packets": u.packets,
            "decrypted": 0,
            "verified": 0,
            "icv_failed": 0,
            "unknown_spi": u.packets,
            "replays": 0,
            "bytes": u.bytes,
            "first_seen": u.first_seen,
            "last_seen": u.last_seen,
            "first_frame": u.first_frame,
        }
    )
    return out


def _key_source(sa: IkeSa) -> dict[str, str | None] | None:
    if sa.keys is None:
        return None
    return {"psk": sa.keys.psk_origin, "dh_secret": sa.keys.dh_origin, "keys": sa.keys.key_origin}


def message_to_dict(m: IkeMessage, *, show_keys: bool = False) -> dict[str, Any]:
    payloads = [p.to_dict() for p in m.payloads]
    if not show_keys:
        payloads = [redact_payload_dict(p) for p in payloads]
    out = {
        "frame": m.frame,
        "frames": list(m.frames),
        "label": m.label,
        "exchange": m.exchange,
        "exchange_type": m.exchange_type,
        "message_id": f"0x{m.message_id:08x}",
        "time": m.time,
        "sender": m.sender,
        "receiver": m.receiver,
        "sport": m.sport,
        "dport": m.dport,
        "length": m.length,
        "retransmission": m.retransmission,
        "retransmission_of": m.retransmission_of,
        "encrypted": m.encrypted,
        "decrypted": m.decrypted,
        "protection": m.protection.value,
        "hash_verified": m.hash_verified,
        "hash": m.hash_name,
        "note": m.note,
        "problems": m.problems,
        "payloads": payloads,
    }
    if m.version == 2:  # docs/json.md: IKEv2 messages
        out |= {
            "response": m.response,
            "integrity_verified": m.integrity_verified,
            "auth_verified": m.auth_verified,
            "key_stage": m.key_stage,
        }
    return out


def render_json(report: Report, *, show_keys: bool = False, map_in_order: MapInOrder | None = None) -> str:
    """The whole JSON document as one string (``write_json`` streams the same text)."""
    parts: list[str] = []
    _write(report, parts.append, show_keys, map_in_order)
    return "".join(parts)


def write_json(
    report: Report, stream: TextIO, *, show_keys: bool = False, map_in_order: MapInOrder | None = None
) -> None:
    """``render_json``'s text written to ``stream`` SA by SA: neither the dicts nor the text of
    the whole report are held in memory at once (a capture of 10,000 IKE SAs made 390 MB of JSON).
    ``map_in_order``, when given, makes the IKE SAs' text one SA at a time (the same text; the
    CLI's runs on ``--jobs`` processes)."""
    _write(report, stream.write, show_keys, map_in_order)


IKE_SA_LEVEL = 2  # nesting of an IKE SA in the document: {"ike_sas": [{...}]}


def _write(
    report: Report, sink: Callable[[str], object], show_keys: bool, map_in_order: MapInOrder | None
) -> None:
    # json.dumps(report_to_dict(report), indent=2, default=_default) + "\n", byte for byte
    document = _document(report, show_keys, Lazy)
    if map_in_order is not None:
        sas = report.ike_sas

        def ike_sa_text(index: int) -> str:
            value = ike_sa_to_dict(sas[index], show_keys=show_keys)
            return json_writer.dumps(value, indent=2, default=_default, level=IKE_SA_LEVEL)

        document["ike_sas"] = Lazy(map(Encoded, map_in_order(ike_sa_text, len(sas))))
        # while the workers make the IKE SAs, this process makes what comes after them
        after = list(document)[list(document).index("ike_sas") + 1 :]
        for key in after:
            document[key] = Encoded(json_writer.dumps(document[key], indent=2, default=_default, level=1))
    json_writer.write(document, sink, indent=2, default=_default)
    sink("\n")


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
