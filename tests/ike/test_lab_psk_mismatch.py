"""A real PSK mismatch (captures/fail-psk-mismatch.pcap): west and east hold different PSKs.

East cannot decrypt MM5 and answers with encrypted PAYLOAD-MALFORMED notifications, which it
encrypts with its own keys and IVs from hash(initial IV | M-ID) (strongSwan).
"""

from __future__ import annotations

from ikedecode.ike.records import Protection
from ikedecode.keys.tomlfile import parse_key_file

NAME = "fail-psk-mismatch"


def test_both_psks_prove_the_mismatch(captures_dir, keys_dir, run_pipeline):
    keyfile = parse_key_file((keys_dir / f"{NAME}.toml").read_text(), f"{NAME}.toml")
    assert len(keyfile.keyring.psks) == 2
    report = run_pipeline(captures_dir / f"{NAME}.pcap", keyfile.keyring)
    sa = report.ike_sas[0]
    assert sa.state == "MM_KEY_EXCH" and not sa.established
    mm5 = [m for m in sa.messages if m.label == "MM5"]
    assert [m.retransmission for m in mm5] == [False, True, True]
    assert mm5[0].protection is Protection.VERIFIED and mm5[0].hash_name == "HASH_I"
    infos = [m for m in sa.messages if m.label == "INFO"]
    assert len(infos) == 3 and all(m.sender == sa.responder for m in infos)
    assert all(m.protection is Protection.VERIFIED for m in infos)
    assert all(p.notify_name == "PAYLOAD-MALFORMED" for m in infos for p in m.payloads[1:])
    mismatch = [f for f in report.all_findings() if f.code == "psk-mismatch"]
    assert len(mismatch) == 1 and mismatch[0].evidence["frame"] == infos[0].frame
    assert "[[psk]] #2" in mismatch[0].message and "[[psk]] #1" in mismatch[0].message


def test_with_only_the_initiators_psk_the_responders_notifies_stay_encrypted(
    captures_dir, keys_dir, run_pipeline
):
    keyfile = parse_key_file((keys_dir / f"{NAME}.toml").read_text(), f"{NAME}.toml")
    ring = keyfile.keyring
    ring.psks = ring.psks[:1]
    ring.phase1_keys = []  # east's logged SKEYIDs would decrypt east's messages directly
    report = run_pipeline(captures_dir / f"{NAME}.pcap", ring)
    sa = report.ike_sas[0]
    assert next(m for m in sa.messages if m.label == "MM5").protection is Protection.VERIFIED
    infos = [m for m in sa.messages if m.label == "INFO"]
    assert infos and all(m.protection is Protection.UNDECRYPTABLE for m in infos)
