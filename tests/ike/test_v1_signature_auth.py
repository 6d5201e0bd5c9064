"""IKEv1 main/aggressive mode with signatures: the engine checks SIG_I / SIG_R with the public key of
the signer's CERT payload (RFC 2409 5.1) and reports a SIG that does not verify as a finding.

Real data: Wireshark's ikev1-certs.pcap (Juniper SRX vs OpenSwan, RSA signatures, 3DES/MD5) with
the 3DES key of its ikev1_decryption_table: no g^xy, so HASH_I / HASH_R cannot be made; each SIG
opens with the CERT key to a 16-byte (MD5-sized) hash, shown and left unjudged. The equality with
HASH_I / HASH_R is checked on signatures made here with the repo's lab PKI (keys/ikev2-pki).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ikedecode.findings import CATALOG, Severity
from ikedecode.ike.certificates import load_certificates
from ikedecode.ike.records import IkeMessage, IkeSa, Protection
from ikedecode.ike.v1 import authhash, keyderiv
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v1.payloads import CertPayload, SignaturePayload
from ikedecode.ike.v1.phase1 import Phase1Policy
from ikedecode.ike.v1.sa_state import SaState
from ikedecode.ike.v1.sig_auth import verify_phase1_signature
from ikedecode.keys.loader import load_key_text

PKI = Path(__file__).resolve().parents[2] / "keys" / "ikev2-pki"
MD5, RSA_SIG, TRIPLE_DES, X509 = 1, 3, 5, 4


def _certs_run(reference_dir, run_pipeline):
    table = reference_dir / "wireshark/config/ikev1_decryption_table"
    keyring = load_key_text(table.read_text(), str(table))
    return run_pipeline(reference_dir / "wireshark/captures/ikev1-certs.pcap", keyring)


def test_certs_capture_signatures_open_with_the_cert_keys_but_hash_is_not_computable(
    reference_dir, run_pipeline
):
    report = _certs_run(reference_dir, run_pipeline)
    sa = report.ike_sas[0]
    mm5, mm6 = (m for m in sa.messages if m.label in ("MM5", "MM6"))
    for msg, sig, hash_name, subject in (
        (mm5, "SIG_I", "HASH_I", "OpenSwan"),
        (mm6, "SIG_R", "HASH_R", "srx210-3"),
    ):
        assert msg.protection is Protection.DECRYPTED
        assert msg.hash_name == sig and msg.hash_verified is None
        assert f"CN={subject}" in msg.note
        assert "well-formed 16-byte hash" in msg.note
        assert f"{hash_name} not computable without g^xy" in msg.note
    assert sa.authenticated is None
    assert not [f for f in report.all_findings() if f.code == "signature-mismatch"]


def _signed_material(role: Role, tamper: bool = False):
    """A main mode SA whose MM5/MM6 SIG is made here with the lab PKI's east key over HASH_I/HASH_R."""
    key = serialization.load_pem_private_key((PKI / "east-rsa.key").read_bytes(), None)
    cert = load_certificates((PKI / "east-rsa.crt").read_bytes())[0]
    sa = IkeSa(1, os.urandom(8), os.urandom(8), "192.0.2.1", "192.0.2.2", exchange="main")
    state = SaState(sa, policy=Phase1Policy(TRIPLE_DES, MD5, RSA_SIG, 2, None))
    state.sai_b, state.g_xi, state.g_xr = os.urandom(40), os.urandom(128), os.urandom(128)
    state.ni_b, state.nr_b = os.urandom(16), os.urandom(16)
    state.idii_b, state.idir_b = b"\x01\x00\x00\x00\xc0\x00\x02\x01", b"\x01\x00\x00\x00\xc0\x00\x02\x02"
    skeyid = keyderiv.skeyid_signature(MD5, state.ni_b, state.nr_b, os.urandom(128))
    make = authhash.hash_i if role is Role.INITIATOR else authhash.hash_r
    id_b = state.idii_b if role is Role.INITIATOR else state.idir_b
    hash_value = make(
        MD5, skeyid, state.g_xi, state.g_xr, sa.initiator_cookie, sa.responder_cookie, state.sai_b, id_b
    )
    if tamper:
        hash_value = bytes([hash_value[0] ^ 1]) + hash_value[1:]
    # PKCS#1 type 1 over the bare hash (no DigestInfo), as IKEv1 peers sign
    numbers = key.private_numbers()
    size = (numbers.public_numbers.n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(hash_value)) + b"\x00" + hash_value
    signature = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n).to_bytes(size, "big")
    sender, receiver = ("192.0.2.1", "192.0.2.2") if role is Role.INITIATOR else ("192.0.2.2", "192.0.2.1")
    label = "MM5" if role is Role.INITIATOR else "MM6"
    msg = IkeMessage(
        frame=1,
        time=0.0,
        sender=sender,
        receiver=receiver,
        sport=500,
        dport=500,
        length=0,
        exchange_type=2,
        exchange="main",
        message_id=0,
        label=label,
        flags=1,
        encrypted=True,
    )
    msg.protection = Protection.DECRYPTED
    msg.payloads = [
        CertPayload(
            type=6, offset=28, raw=b"\x00" * 5 + cert.der, next_payload=9, encoding=X509, data=cert.der
        ),
        SignaturePayload(
            type=9, offset=33 + len(cert.der), raw=b"\x00" * 4 + signature, next_payload=0, data=signature
        ),
    ]
    sa.messages.append(msg)
    return state, msg, skeyid


@pytest.mark.parametrize("role", [Role.INITIATOR, Role.RESPONDER])
def test_signature_over_the_computed_hash_verifies_with_the_cert_key(role):
    state, msg, skeyid = _signed_material(role)
    assert verify_phase1_signature(state, msg, role, skeyid) is True
    assert msg.hash_verified is True and msg.protection is Protection.VERIFIED
    assert msg.hash_name == ("SIG_I" if role is Role.INITIATOR else "SIG_R")
    assert not state.sa.findings


def test_signature_over_another_hash_is_a_signature_mismatch_finding():
    state, msg, skeyid = _signed_material(Role.RESPONDER, tamper=True)
    verify_phase1_signature(state, msg, Role.RESPONDER, skeyid)
    assert msg.hash_verified is False and msg.protection is Protection.HASH_MISMATCH
    assert state.sa.authenticated is False
    [found] = state.sa.findings
    assert found.code == "signature-mismatch" and found.severity is Severity.ERROR
    assert found.hint == CATALOG["signature-mismatch"].hint
    assert found.evidence["frame"] == 1 and "east" in found.evidence["certificate"].lower()
    assert "SIG_R in MM6 from 192.0.2.2" in found.message


def test_without_skeyid_a_signature_that_does_not_open_is_a_mismatch_and_one_that_opens_is_shown():
    state, msg, _ = _signed_material(Role.INITIATOR)
    verify_phase1_signature(state, msg, Role.INITIATOR, None)
    assert msg.hash_verified is None and "well-formed 16-byte hash" in msg.note
    assert not state.sa.findings
    broken = bytes(len(msg.payloads[1].data))
    msg.payloads[1] = SignaturePayload(
        type=9, offset=0, raw=b"\x00" * 4 + broken, next_payload=0, data=broken
    )
    verify_phase1_signature(state, msg, Role.INITIATOR, None)
    assert msg.hash_verified is False and [f.code for f in state.sa.findings] == ["signature-mismatch"]


def test_a_sig_without_any_certificate_is_not_judged():
    state, msg, skeyid = _signed_material(Role.INITIATOR)
    msg.payloads = msg.payloads[1:]
    verify_phase1_signature(state, msg, Role.INITIATOR, skeyid)
    assert msg.hash_verified is None and "no X.509 certificate" in msg.note


def test_certs_capture_with_another_ca_says_each_signer_certificate_is_untrusted(reference_dir):
    from ikedecode.capture import open_capture
    from ikedecode.pipeline import analyze

    table = reference_dir / "wireshark/config/ikev1_decryption_table"
    keyring = load_key_text(table.read_text(), str(table))
    keyring.trusted_certificates.extend(load_certificates((PKI / "ca-rsa.crt").read_bytes()))
    report = analyze(open_capture(reference_dir / "wireshark/captures/ikev1-certs.pcap"), keyring)
    found = [f for f in report.all_findings() if f.code == "certificate-untrusted"]
    assert [(f.evidence["label"], f.severity) for f in found] == [
        ("MM5", Severity.WARNING),
        ("MM6", Severity.WARNING),
    ]
    assert all(f.hint == CATALOG["certificate-untrusted"].hint for f in found)
    assert all("SchendlZertifikate" in f.evidence["issuer"] for f in found)
    assert "no certificate of the issuer" in found[0].evidence["problems"][0]


def test_the_lab_ca_verifies_the_signer_chain_and_a_foreign_ca_does_not():
    from ikedecode.ike.v1.sig_auth import check_signer_chain

    state, msg, _ = _signed_material(Role.RESPONDER)
    leaf = load_certificates((PKI / "east-rsa.crt").read_bytes())[0]
    msg.time = leaf.not_before.timestamp() + 86400
    check_signer_chain(state, msg, load_certificates((PKI / "ca-rsa.crt").read_bytes()))
    assert not state.sa.findings and "certificate chain to" in msg.note
    check_signer_chain(state, msg, load_certificates((PKI / "ca-ecdsa.crt").read_bytes()))
    assert [f.code for f in state.sa.findings] == ["certificate-untrusted"]


SIGNED = {"mm-rsa-sig": ("MM5", "MM6"), "am-rsa-sig": ("AM3", "AM2")}  # SIG_I, SIG_R carriers


def _lab_sig_run(captures_dir, lab_keys, run_pipeline, trusted=(), dh=None, name="mm-rsa-sig"):
    from ikedecode.keys.keyring import DhSecret, KeyRing

    [sa_keys] = lab_keys(name)["ike_sa"]
    ring = KeyRing()  # only g^xy from charon's log: SKEYID = prf(Ni_b | Nr_b, g^xy) is derived here
    ring.dh_secrets.append(DhSecret(dh or bytes.fromhex(sa_keys["dh_secret"]), "--dh-secret #1"))
    ring.trusted_certificates.extend(trusted)
    return run_pipeline(captures_dir / f"{name}.pcap", ring), sa_keys


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_lab_rsa_signatures_verify_with_skeyid_from_g_xy(name, captures_dir, lab_keys, run_pipeline):
    report, sa_keys = _lab_sig_run(captures_dir, lab_keys, run_pipeline, name=name)
    [sa] = report.ike_sas
    assert sa.keys is not None and sa.keys.skeyid.hex() == sa_keys["skeyid"]  # as charon logged it
    by_label = {m.label: m for m in sa.messages if not m.retransmission}
    sig_i, sig_r = (by_label[label] for label in SIGNED[name])
    assert (sig_i.hash_name, sig_i.hash_verified, sig_i.protection) == ("SIG_I", True, Protection.VERIFIED)
    assert (sig_r.hash_name, sig_r.hash_verified) == ("SIG_R", True)  # AM2's SIG_R is in clear
    assert "CN=west.lab.example" in sig_i.note and "CN=east.lab.example" in sig_r.note
    assert sa.authenticated is True
    assert not [f for f in report.all_findings() if f.severity is Severity.ERROR]


def test_lab_aggressive_mode_clear_sig_r_opens_without_keys(captures_dir, run_pipeline):
    [sa] = run_pipeline(captures_dir / "am-rsa-sig.pcap").ike_sas
    [am2] = [m for m in sa.messages if m.label == "AM2"]
    assert am2.hash_name == "SIG_R" and am2.hash_verified is None
    assert "well-formed 32-byte hash" in am2.note and "HASH_R not computable without g^xy" in am2.note
    assert sa.authenticated is None


def test_lab_rsa_signature_chain_is_checked_against_the_ca_given(captures_dir, lab_keys, run_pipeline):
    lab_ca = load_certificates((PKI / "ca-rsa.crt").read_bytes())
    report, _ = _lab_sig_run(captures_dir, lab_keys, run_pipeline, trusted=lab_ca)
    assert not [f for f in report.all_findings() if f.code == "certificate-untrusted"]
    other_ca = load_certificates((PKI / "ca-ecdsa.crt").read_bytes())
    report, _ = _lab_sig_run(captures_dir, lab_keys, run_pipeline, trusted=other_ca)
    found = [f for f in report.all_findings() if f.code == "certificate-untrusted"]
    assert [f.evidence["label"] for f in found] == ["MM5", "MM6"]
