"""Acceptance (issue 17): an IKEv2 lab capture decoded from one daemon's charon log alone gives the
same JSON report as with the PSK and DH secrets of its key file, every field compared except those
that name where keys came from (key sources, origins, notes), with the ESP SAs in SPI order."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from tests.conftest import CAPTURES_DIR, KEYS_DIR, LAB_CAPTURES
from tests.keys.test_keylog_decodes_like_psk_and_dh import psk_and_dh_args

KEY_SOURCE_FIELDS = {"key_source", "from", "origin", "note", "dh_origin", "psk_origin", "key_origin"}
# post-quantum captures: the engine does not derive RFC 9370 key stages yet (issue 18); nothing derived
LEFT_OUT = {"ikev2-no-proposal"}
CAPTURES = sorted(
    p.stem
    for p in LAB_CAPTURES
    if p.stem.startswith("ikev2-") and not p.stem.startswith("ikev2-pq-") and p.stem not in LEFT_OUT
)
LOGS = [
    (name, side)
    for name in CAPTURES
    for side in ("west", "east")
    if (KEYS_DIR / f"{name}.{side}.log.gz").exists()
]
# each daemon logs the shared key it uses; with different PSKs the peer's AUTH fails under the other
# log's key (the report says so), while the key file's PSK verifies it
OWN_PSK_ONLY = {("ikev2-auth-failed", "east")}
# a refused AUTH: with both PSKs the diagnosis says which each peer used; a log knows only its own
DIAGNOSIS_NEEDS_BOTH_PSKS = {"ikev2-auth-failed"}


def report(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def without_key_sources(value):  # noqa: ANN001, ANN201
    if isinstance(value, dict):
        return {k: without_key_sources(v) for k, v in value.items() if k not in KEY_SOURCE_FIELDS}
    if isinstance(value, list):
        return [without_key_sources(v) for v in value]
    return value


def comparable(data: dict) -> dict:
    data = without_key_sources(data)
    for sa in data["ipsec_sas"]:
        if not sa["packets"]:
            sa.pop("mode", None)  # negotiated SAs know it, logged ones learn it from packets
    data["ipsec_sas"].sort(key=lambda s: (s["spi"], s["src"] or "", s["dst"] or ""))
    return data


def test_the_ikev2_lab_logs_are_all_compared():
    assert len(LOGS) >= 25 and {side for _, side in LOGS} == {"west", "east"}


@pytest.mark.parametrize(("name", "side"), LOGS, ids=[f"{n}.{s}" for n, s in LOGS])
def test_one_daemon_log_gives_the_report_of_psk_and_dh_secrets(name, side, tmp_path):
    reference = comparable(report(*psk_and_dh_args(name, tmp_path)))
    assert any(m["decrypted"] for sa in reference["ike_sas"] for m in sa["messages"])
    from_log = comparable(
        report(str(CAPTURES_DIR / f"{name}.pcap"), "--keylog", str(KEYS_DIR / f"{name}.{side}.log.gz"))
    )
    if (name, side) in OWN_PSK_ONLY:
        checked = [m for sa in from_log["ike_sas"] for m in sa["messages"] if m["auth_verified"] is not None]
        assert any(m["auth_verified"] is False for m in checked)
        assert "auth-mismatch" in {f["code"] for f in from_log["findings"]}
        for data in (reference, from_log):
            for sa in data["ike_sas"]:
                for m in sa["messages"]:
                    m.pop("auth_verified")
    if name in DIAGNOSIS_NEEDS_BOTH_PSKS:
        assert "psk-mismatch" in {f["code"] for f in reference["findings"]}  # both PSKs: which each used
        assert {"auth-failed", "psk-mismatch"} & {f["code"] for f in from_log["findings"]}
        assert reference["verdict"]["outcome"] == from_log["verdict"]["outcome"] == "down"
        for data in (reference, from_log):
            data.pop("findings")
            data.pop("verdict")
    assert from_log == reference
