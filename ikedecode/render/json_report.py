"""``--format json``: the documented, stable schema of docs/json.md."""

from __future__ import annotations

import json
from typing import Any

from ikedecode import __version__
from ikedecode.analysis.report import Report
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.render.redact import redact_payload_dict

SCHEMA_VERSION = 1


def report_to_dict(report: Report, *, show_keys: bool = False) -> dict[str, Any]:
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
        "ike_sas": [ike_sa_to_dict(sa, show_keys=show_keys) for sa in report.ike_sas],
        "unattached_messages": [message_to_dict(m, show_keys=show_keys) for m in report.unattached],
        "findings": [f.to_dict() for f in report.all_findings()],
    }


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
        "offered": sa.offered,
        "chosen": sa.chosen,
        "identities": sa.identities,
        "vendor_ids": sa.vendor_ids,
        "key_source": _key_source(sa),
        "first_time": sa.first_time,
        "last_time": sa.last_time,
        "messages": [message_to_dict(m, show_keys=show_keys) for m in sa.messages],
        "phase2": [ex.to_dict() for ex in sa.phase2.values()],
    }
    if show_keys and sa.keys is not None:
        out["keys"] = sa.keys.to_dict()
    if not show_keys:
        out["phase2"] = [redact_payload_dict(p) for p in out["phase2"]]
    return out


def _key_source(sa: IkeSa) -> dict[str, str | None] | None:
    if sa.keys is None:
        return None
    return {"psk": sa.keys.psk_origin, "dh_secret": sa.keys.dh_origin, "keys": sa.keys.key_origin}


def message_to_dict(m: IkeMessage, *, show_keys: bool = False) -> dict[str, Any]:
    payloads = [p.to_dict() for p in m.payloads]
    if not show_keys:
        payloads = [redact_payload_dict(p) for p in payloads]
    return {
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


def render_json(report: Report, *, show_keys: bool = False) -> str:
    return json.dumps(report_to_dict(report, show_keys=show_keys), indent=2, default=_default) + "\n"


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
