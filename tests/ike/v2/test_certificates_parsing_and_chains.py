"""X.509 from CERT payloads and the chain check (ikedecode.ike.certificates).

Real data: the lab PKI of keys/ikev2-pki (RSA and ECDSA CAs with east/west certificates, made by
the lab script) and the certificates in the decrypted IKE_AUTH messages of the Wireshark wiki
NAT-T capture (whose issuing CA is not in the capture).
"""

from __future__ import annotations

import datetime
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ikev2_reference import encrypted_payload, ike_messages, load_table, payload_chain

from ikedecode.ike.certificates import (
    CertificateError,
    certificate_from_payload,
    check_chain,
    load_certificates,
    parse_certificate,
)
from ikedecode.ike.v2.protection import open_sk


@pytest.fixture
def pki(keys_dir):
    def load(name):
        return load_certificates((keys_dir / "ikev2-pki" / f"{name}.crt").read_bytes())[0]

    return load


def test_lab_certificates_describe_subject_issuer_names_and_keys(pki):
    west = pki("west-ecdsa")
    assert west.subject == "CN=west.lab.example,O=ikedecode lab,C=XX"
    assert west.issuer == "CN=ikedecode lab ECDSA CA,O=ikedecode lab,C=XX"
    assert west.subject_alt_names == ("DNS:west.lab.example",)
    assert (west.key_type, west.key_bits, west.curve) == ("EC", 256, "secp256r1")
    assert west.signature_algorithm == "ecdsa-with-SHA256" and not west.self_signed
    big = pki("east-rsa4096")
    assert (big.key_type, big.key_bits, big.curve) == ("RSA", 4096, None)
    ca = pki("ca-rsa")
    assert ca.is_ca is True and ca.self_signed
    assert west.not_before < west.not_after


def test_chains_to_the_right_ca_only(pki):
    west, ca_rsa, ca_ecdsa = pki("west-rsa"), pki("ca-rsa"), pki("ca-ecdsa")
    good = check_chain(west, [], [ca_rsa], at=west.not_before)
    assert good.valid and [c.subject for c in good.path] == [west.subject, ca_rsa.subject]
    wrong = check_chain(west, [], [ca_ecdsa])
    assert not wrong.valid and "no certificate of the issuer" in wrong.problems[0]
    # an intermediate list holding the CA is not trust: the path must end at a trusted certificate
    untrusted = check_chain(west, [ca_rsa], [])
    assert not untrusted.valid and "self-signed and not among the trusted" in untrusted.problems[0]
    late = check_chain(west, [], [ca_rsa], at=west.not_after + datetime.timedelta(days=1))
    assert not late.valid and "not valid at" in late.problems[0]


def test_a_ca_with_the_right_name_but_another_key_does_not_verify_the_signature(pki):
    east, real_ca = pki("east-ecdsa"), pki("ca-ecdsa")
    key = ec.generate_private_key(ec.SECP256R1())
    name = real_ca.certificate.subject
    impostor = parse_certificate(
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(real_ca.not_before)
        .not_valid_after(real_ca.not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    forged = check_chain(east, [], [impostor])
    assert not forged.valid and "does not verify" in forged.problems[0]
    assert check_chain(east, [], [impostor, real_ca]).valid


def test_cert_payload_bodies_other_than_x509_signature_are_not_parsed_and_junk_is_an_error(pki):
    der = pki("west-rsa").der
    assert certificate_from_payload(b"\x04" + der).subject.startswith("CN=west")
    assert certificate_from_payload(b"\x0c" + b"http://example/cert") is None  # hash and URL
    with pytest.raises(CertificateError, match="not a readable X.509 certificate"):
        parse_certificate(der[:100])
    with pytest.raises(CertificateError):
        load_certificates(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")


def test_a_certificate_with_a_negative_serial_is_described_without_a_warning(pki):
    # RFC 5280 4.1.2.2 wants a positive serial; cryptography reads a negative one but warns (a
    # CryptographyDeprecationWarning, which a user of the command would see on stderr). Found by
    # the fuzz target v2-fragments, which printed the warning on some runs.
    der = pki("west-rsa").der
    serial_at = der.index(b"\xa0\x03\x02\x01\x02") + 5  # tbsCertificate: version v3, then serial
    assert der[serial_at] == 0x02  # INTEGER
    negative = der[: serial_at + 2] + b"\x80" + der[serial_at + 3 :]  # top bit set: negative
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = parse_certificate(negative)
    assert info.serial < 0
    assert info.subject == pki("west-rsa").subject


def test_the_nat_t_capture_carries_its_client_and_server_certificates(reference_dir):
    folder = reference_dir / "wireshark-wiki/ipsec_ikev2_esp_nat_t"
    keys = load_table(folder / "ikev2_decryption_table")
    subjects = set()
    for _frame, message in ike_messages(folder / "capture.pcapng"):
        found = encrypted_payload(message)
        if found is None or message[18] != 35:
            continue
        sa, initiator = keys[message[:8]], bool(message[19] & 0x08)
        sk_e, sk_a = (sa.sk_ei, sa.sk_ai) if initiator else (sa.sk_er, sa.sk_ar)
        opened = open_sk(message, found[1], encr_id=sa.encr_id, sk_e=sk_e, integ_id=sa.integ_id, sk_a=sk_a)
        for kind, _offset, body in payload_chain(opened.plaintext, opened.next_payload, 0):
            if kind == 37:
                cert = certificate_from_payload(body)
                assert cert is not None and cert.key_type == "EC" and cert.curve == "secp256r1"
                subjects.add(cert.subject)
                assert not check_chain(cert, [], []).valid  # the CA is not in the capture
    assert len(subjects) == 2 and any("Server1" in s for s in subjects)
