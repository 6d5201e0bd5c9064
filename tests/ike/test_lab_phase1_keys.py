"""Acceptance on real strongSwan captures (captures/, made by captures/lab/make-captures.sh).

Only the PSK and the DH shared secret that charon logged are given; everything else
(SKEYID.., cipher key, IVs) is derived by ikedecode and compared with what the daemon logged.
"""

from __future__ import annotations

import pytest

from ikedecode.ike.records import Protection
from ikedecode.keys.keyring import DhSecret, KeyRing, PresharedKey

HEALTHY = {
    # capture name -> (exchange, initiator identity, responder identity)
    "mm-3des-md5-modp1024": ("main", "192.0.2.1", "192.0.2.2"),
    "mm-aes128-sha1-modp2048": ("main", "192.0.2.1", "192.0.2.2"),
    "mm-aes256-sha256-modp2048": ("main", "192.0.2.1", "192.0.2.2"),
    "am-aes128-sha1-modp2048": ("aggressive", "west.lab.example", "east.lab.example"),
    "qm-pfs-modp2048": ("main", "192.0.2.1", "192.0.2.2"),
    "mm-delete": ("main", "192.0.2.1", "192.0.2.2"),
    "case-3des-sha1-modp768": ("main", "192.0.2.1", "192.0.2.2"),
    "esp-rekey-delete": ("main", "192.0.2.1", "192.0.2.2"),
}


def keyring_from_log(keys: dict, *, psk: bytes | None = None, dh: bytes | None = None) -> KeyRing:
    ring = KeyRing()
    ring.psks.append(PresharedKey(psk if psk is not None else keys["psk"][0]["secret"].encode(), "--psk #1"))
    for i, sa in enumerate(keys["ike_sa"], 1):
        ring.dh_secrets.append(
            DhSecret(dh if dh is not None else bytes.fromhex(sa["dh_secret"]), f"--dh-secret #{i}")
        )
    return ring


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_derived_phase1_keys_equal_what_the_daemon_logged(name, captures_dir, lab_keys, run_pipeline):
    keys = lab_keys(name)
    report = run_pipeline(captures_dir / f"{name}.pcap", keyring_from_log(keys))
    by_cookie = {sa.initiator_cookie.hex(): sa for sa in report.ike_sas}
    assert keys["ike_sa"], "the lab key file names at least one IKE SA"
    for logged in keys["ike_sa"]:
        sa = by_cookie[logged["initiator_cookie"]]
        assert sa.responder_cookie.hex() == logged["responder_cookie"]
        assert sa.keys is not None, f"{name}: no keys adopted"
        assert sa.keys.skeyid.hex() == logged["skeyid"]
        assert sa.keys.skeyid_d.hex() == logged["skeyid_d"]
        assert sa.keys.skeyid_a.hex() == logged["skeyid_a"]
        assert sa.keys.skeyid_e.hex() == logged["skeyid_e"]
        assert sa.keys.encryption_key.hex() == logged["encryption_key"]


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_every_hash_verifies_and_identities_decrypt(name, captures_dir, lab_keys, run_pipeline):
    exchange, initiator_id, responder_id = HEALTHY[name]
    report = run_pipeline(captures_dir / f"{name}.pcap", keyring_from_log(lab_keys(name)))
    sa = report.ike_sas[0]
    assert sa.exchange == exchange
    assert sa.established and sa.authenticated is True
    assert sa.state == "QM_IDLE"
    assert sa.identities == {"initiator": initiator_id, "responder": responder_id}
    phase1_hashes = [m.hash_name for m in sa.messages if m.exchange == exchange and m.hash_verified]
    assert phase1_hashes == (["HASH_I", "HASH_R"] if exchange == "main" else ["HASH_R", "HASH_I"])
    quick = [m for m in sa.messages if m.exchange == "quick"]
    assert quick and all(m.protection is Protection.VERIFIED for m in quick)
    assert {m.hash_name for m in quick} == {"HASH(1)", "HASH(2)", "HASH(3)"}
    for m in sa.messages:
        if m.encrypted:
            assert m.protection is Protection.VERIFIED, (m.frame, m.label, m.note)
    # icv-failure-pfs: this keyring has no PFS g(qm)^xy, so qm-pfs-modp2048's ESP keys are (rightly) wrong
    assert not [f for f in report.all_findings() if f.severity == "error" and f.code != "icv-failure-pfs"]


def test_quick_mode_with_pfs_shows_both_ke_payloads(captures_dir, lab_keys, run_pipeline):
    report = run_pipeline(
        captures_dir / "qm-pfs-modp2048.pcap", keyring_from_log(lab_keys("qm-pfs-modp2048"))
    )
    quick = [ex for ex in report.ike_sas[0].phase2.values() if ex.exchange == "quick"]
    assert quick[0].summary["pfs"] == {"initiator": 256, "responder": 256}
    assert quick[0].complete and quick[0].hashes_verified


def test_informational_delete_is_decrypted_and_names_the_spis(captures_dir, lab_keys, run_pipeline):
    report = run_pipeline(captures_dir / "mm-delete.pcap", keyring_from_log(lab_keys("mm-delete")))
    sa = report.ike_sas[0]
    deletes = [d for ex in sa.phase2.values() for d in ex.summary.get("deletes", [])]
    protocols = sorted(d["protocol_name"] if "protocol_name" in d else d["protocol"] for d in deletes)
    assert len(deletes) == 2, deletes
    assert any("ESP" in str(p).upper() for p in protocols) and any(
        "ISAKMP" in str(p).upper() for p in protocols
    )
    info = [m for m in sa.messages if m.exchange == "informational"]
    assert info and all(m.hash_verified for m in info)


def test_wrong_psk_in_aggressive_mode_is_a_hash_r_finding(captures_dir, lab_keys, run_pipeline):
    keys = lab_keys("am-aes128-sha1-modp2048")
    report = run_pipeline(
        captures_dir / "am-aes128-sha1-modp2048.pcap", keyring_from_log(keys, psk=b"not-the-psk")
    )
    sa = report.ike_sas[0]
    am2 = next(m for m in sa.messages if m.label == "AM2")
    assert am2.hash_verified is False
    assert "does not verify" in am2.note
    assert sa.authenticated is False
    codes = {f.code for f in report.all_findings()}  # the key given is wrong, not the peers' (AM3, QM, ESP)
    assert "given-psk-wrong" in codes and "psk-mismatch" not in codes


def test_wrong_psk_in_main_mode_means_mm5_cannot_be_decrypted(captures_dir, lab_keys, run_pipeline):
    # In main mode SKEYID_e depends on the PSK: a wrong PSK makes MM5 undecryptable (RFC 2409 s5).
    keys = lab_keys("mm-aes128-sha1-modp2048")
    report = run_pipeline(captures_dir / "mm-aes128-sha1-modp2048.pcap", keyring_from_log(keys, psk=b"nope"))
    sa = report.ike_sas[0]
    mm5 = next(m for m in sa.messages if m.label == "MM5")
    assert mm5.protection is Protection.UNDECRYPTABLE
    finding = next(f for f in report.all_findings() if f.code == "wrong-keys")
    assert "preshared key or the DH secret" in finding.message


def test_wrong_dh_secret_means_cannot_decrypt(captures_dir, lab_keys, run_pipeline):
    keys = lab_keys("mm-3des-md5-modp1024")
    bogus = bytes(128)
    report = run_pipeline(captures_dir / "mm-3des-md5-modp1024.pcap", keyring_from_log(keys, dh=bogus))
    sa = report.ike_sas[0]
    assert sa.keys is None
    encrypted = [m for m in sa.messages if m.encrypted]
    assert encrypted and all(m.protection is Protection.UNDECRYPTABLE for m in encrypted)
    assert any(f.code == "wrong-keys" for f in report.all_findings())
