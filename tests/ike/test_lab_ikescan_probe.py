"""ike-scan's aggressive-mode probe of a strongSwan responder: AM1 and AM2 only, HASH_R in clear."""

from __future__ import annotations

from ikedecode.keys.tomlfile import parse_key_file

NAME = "ikescan-aggressive-pskcrack"


def _ring(keys_dir):  # noqa: ANN001, ANN202
    ring = parse_key_file((keys_dir / f"{NAME}.toml").read_text(), NAME).keyring
    ring.dh_secrets, ring.phase1_keys = [], []  # HASH_R needs only the PSK
    return ring


def test_identity_scoped_psk_verifies_hash_r_without_a_dh_secret(captures_dir, keys_dir, run_pipeline):
    report = run_pipeline(captures_dir / f"{NAME}.pcap", _ring(keys_dir))
    sa = report.ike_sas[0]
    assert sa.exchange == "aggressive" and sa.state == "AG_INIT_EXCH" and not sa.established
    assert sa.identities["initiator"] == "west@lab.example"
    am2 = sa.messages[1]
    assert (am2.label, am2.hash_name, am2.hash_verified) == ("AM2", "HASH_R", True)


def test_wrong_psk_fails_hash_r(captures_dir, keys_dir, run_pipeline):
    ring = _ring(keys_dir)
    ring.psks = [type(ring.psks[0])(b"abc123", "--psk #1")]
    report = run_pipeline(captures_dir / f"{NAME}.pcap", ring)
    assert report.ike_sas[0].messages[1].hash_verified is False
    # the engine's psk-mismatch is about the key given: the diagnosis makes it given-psk-wrong
    codes = [f.code for f in report.all_findings()]
    assert "given-psk-wrong" in codes and "psk-mismatch" not in codes
