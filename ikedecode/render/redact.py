"""Keeping secrets out of output unless the user asked for them (``--show-keys``)."""

from __future__ import annotations

from typing import Any

REDACTED = "(secret: use --show-keys)"
# Mode-config/XAUTH attributes whose values are secrets (draft-ietf-ipsec-isakmp-xauth 6.2:
# XAUTH-USER-PASSWORD 16522, XAUTH-PASSCODE 16523, XAUTH-CHALLENGE response is not secret).
SECRET_ATTRIBUTE_TYPES = frozenset({16522, 16523})


def redact_payload_dict(d: dict[str, Any]) -> dict[str, Any]:
    """Mask secret attribute values in a payload's ``to_dict()`` form (walks nested lists)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, list):
            out[k] = [redact_payload_dict(x) if isinstance(x, dict) else x for x in v]
        elif isinstance(v, dict):
            out[k] = redact_payload_dict(v)
        else:
            out[k] = v
    if out.get("type") in SECRET_ATTRIBUTE_TYPES and out.get("value") not in (None, "", b""):
        out["value"] = REDACTED
        for extra in ("text", "value_text", "hex"):
            if extra in out:
                out[extra] = REDACTED
    return out
