"""Every ``ipsec_sas`` entry of the JSON report has one shape (docs/json.md): the same fields, keys
or not, each of one type (null where only keys could tell)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikedecode.capture import open_capture
from ikedecode.keys.keyring import KeyRing
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.pipeline import analyze
from ikedecode.render.json_report import IPSEC_SA_FIELDS, report_to_dict
from tests.conftest import KEYS_DIR, LAB_CAPTURES

NUMBER = (int, float)
# field -> the types it may have; None allowed where a flow without keys cannot know it
SCHEMA: dict[str, tuple[tuple[type, ...], bool]] = {
    "protocol": ((str,), False),
    "spi": ((str,), False),
    "src": ((str,), True),  # a key file's wildcard
    "dst": ((str,), True),
    "mode": ((str,), True),
    "encryption": ((str,), True),
    "integrity": ((str,), True),
    "esn": ((bool,), True),
    "keys_known": ((bool,), False),
    "supported": ((bool,), True),
    **{
        name: ((int,), name not in ("packets", "decrypted", "verified", "icv_failed", "replays", "bytes"))
        for name in (
            "packets",
            "decrypted",
            "verified",
            "icv_failed",
            "bad_padding",
            "malformed",
            "unsupported",
            "garbled",
            "garbled_icv_ok",
            "replays",
            "gaps",
            "bytes",
            "tunnel",
            "transport",
            "seq_min",
            "seq_max",
            "unknown_spi",
            "first_frame",
        )
    },  # fmt: skip
    "failed_checks": ((dict,), True),
    "first_seen": (NUMBER, True),
    "last_seen": (NUMBER, True),
    "ike_sa": ((str,), True),
    "quick_mode": ((str,), True),
    "origin": ((str,), True),
}


def _entries(capture: Path, keys: bool) -> list[dict]:
    ring = KeyRing()
    key_file = KEYS_DIR / f"{capture.stem}.toml"
    if keys and key_file.exists():
        ring = parse_key_file(key_file.read_text(), key_file.name).keyring
    return report_to_dict(analyze(open_capture(capture), ring))["ipsec_sas"]


def test_the_schema_names_every_field_the_report_writes():
    assert set(SCHEMA) == set(IPSEC_SA_FIELDS)


@pytest.mark.parametrize("keys", [True, False], ids=["keys", "no-keys"])
@pytest.mark.parametrize("capture", LAB_CAPTURES, ids=lambda p: p.stem)
def test_every_ipsec_sa_entry_has_the_one_shape(capture: Path, keys: bool):
    for entry in _entries(capture, keys):
        assert tuple(entry) == IPSEC_SA_FIELDS, entry.get("spi")
        for name, value in entry.items():
            types, nullable = SCHEMA[name]
            if value is None:
                assert nullable or not entry["keys_known"] and name not in ("protocol", "spi"), name
            else:
                assert isinstance(value, types) and not (bool in types) ^ isinstance(value, bool), (
                    name,
                    value,
                )
        if not entry["keys_known"]:
            assert entry["unknown_spi"] == entry["packets"] and entry["origin"] is None
