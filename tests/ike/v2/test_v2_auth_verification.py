"""IKEv2 AUTH verification (RFC 7296 section 2.15, RFC 4754, RFC 7427, RFC 9242 section 3.3.2).

Signatures are made here with cryptography's signers (an implementation independent of the
verifier's parsing); the AlgorithmIdentifier encodings are the DER forms of RFC 7427 Appendix A.
The real-capture evidence (the NAT-T reference capture) is limited to parsing: its AUTH payloads
use method 14 / ecdsa-with-SHA256 with P-256 certificates, but no SK_pi / SK_pr is published, so
the signed octets (which include prf(SK_p, ID)) cannot be rebuilt and the signatures not checked.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from ikev2_reference import encrypted_payload, ike_messages, load_table, payload_chain

from ikedecode.ike.v2.auth import (
    IntAuth,
    psk_auth_data,
    signed_octets,
    verify_auth,
    verify_psk_candidates,
    verify_signature,
)
from ikedecode.ike.v2.prf import prf
from ikedecode.ike.v2.protection import open_sk
from ikedecode.ike.v2.signature_algorithms import parse_digital_signature

OCTETS = b"RealMessage1" * 20 + b"NonceRData" + b"m" * 32

# RFC 7427 Appendix A
SHA256_WITH_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
SHA1_WITH_RSA = bytes.fromhex("300d06092a864886f70d0101050500")
ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
ECDSA_SHA512 = bytes.fromhex("300a06082a8648ce3d040304")
ED25519 = bytes.fromhex("300506032b6570")
ED448 = bytes.fromhex("300506032b6571")
DSA_SHA256 = bytes.fromhex("300b0609608648016503040302")
RSASSA_PSS_SHA256_SALT32 = bytes.fromhex(
    "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108"
    "300d06096086480165030402010500a203020120"
)


def method14(algorithm_identifier: bytes, signature: bytes) -> bytes:
    return bytes([len(algorithm_identifier)]) + algorithm_identifier + signature


def test_signed_octets_are_message_nonce_and_maced_id_then_intauth():
    octets = signed_octets(5, b"K" * 32, b"MSG1", b"NONCE", b"\x02\x00\x00\x00id")
    assert octets == b"MSG1NONCE" + prf(5, b"K" * 32, b"\x02\x00\x00\x00id")
    extra = IntAuth(b"I" * 32, b"R" * 32, 2)
    assert signed_octets(5, b"K" * 32, b"MSG1", b"NONCE", b"\x02\x00\x00\x00id", extra) == (
        octets + b"I" * 32 + b"R" * 32 + b"\x00\x00\x00\x02"
    )


def test_psk_auth_is_prf_of_prf_of_the_key_pad_and_candidates_name_the_match():
    auth = psk_auth_data(2, b"secret", OCTETS)
    assert auth == prf(2, prf(2, b"secret", b"Key Pad for IKEv2"), OCTETS)
    found = verify_psk_candidates(2, [b"wrong", b"secret", b"other"], auth, OCTETS)
    assert (found.verified, found.psk_index, found.detail) == (True, 1, "shared key candidate 2")
    miss = verify_psk_candidates(2, [b"wrong", b"other"], auth, OCTETS)
    assert (miss.verified, miss.psk_index) == (False, None) and "none of 2" in miss.detail
    assert verify_psk_candidates(2, [], auth, OCTETS).verified is None
    # AES-XCBC PRF: any PSK length (RFC 4434 key rule) works
    xcbc = psk_auth_data(4, b"a much longer shared secret than sixteen bytes", OCTETS)
    assert verify_auth(
        2, xcbc, OCTETS, prf_id=4, psks=[b"a much longer shared secret than sixteen bytes"]
    ).verified


def test_null_auth_and_unknown_prf_are_not_verifiable():
    assert verify_auth(13, b"", OCTETS).verified is None
    assert "NULL" in verify_auth(13, b"", OCTETS).detail
    assert verify_auth(2, b"x" * 20, OCTETS, psks=[b"k"]).verified is None  # no prf_id
    assert verify_auth(14, b"x", OCTETS, public_key=None).verified is None


RSA_KEY = rsa.generate_private_key(65537, 2048)


def _ec_raw(key, hash_type, size):
    r, s = decode_dss_signature(key.sign(OCTETS, ec.ECDSA(hash_type())))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@pytest.mark.parametrize(
    ("method", "curve", "hash_type", "size"),
    [
        (9, ec.SECP256R1, hashes.SHA256, 32),
        (10, ec.SECP384R1, hashes.SHA384, 48),
        (11, ec.SECP521R1, hashes.SHA512, 66),
    ],
)
def test_ecdsa_methods_9_to_11_take_fixed_size_r_and_s(method, curve, hash_type, size):
    key = ec.generate_private_key(curve())
    auth = _ec_raw(key, hash_type, size)
    assert verify_signature(method, auth, OCTETS, key.public_key()).verified is True
    assert verify_signature(method, auth, OCTETS + b"x", key.public_key()).verified is False
    assert verify_signature(method, auth[:-1], OCTETS, key.public_key()).verified is None
    other = ec.generate_private_key(ec.SECP256K1() if method == 9 else ec.SECP256R1())
    assert verify_signature(method, auth, OCTETS, other.public_key()).verified is None  # wrong curve


def test_rsa_method_1_is_pkcs1_v15_with_sha1():
    auth = RSA_KEY.sign(OCTETS, padding.PKCS1v15(), hashes.SHA1())
    assert verify_signature(1, auth, OCTETS, RSA_KEY.public_key()).verified is True
    sha256 = RSA_KEY.sign(OCTETS, padding.PKCS1v15(), hashes.SHA256())
    assert verify_signature(1, sha256, OCTETS, RSA_KEY.public_key()).verified is False


def test_dss_method_3_is_dsa_sha1_with_r_and_s_of_20_bytes():
    key = dsa.generate_private_key(1024)
    r, s = decode_dss_signature(key.sign(OCTETS, hashes.SHA1()))
    auth = r.to_bytes(20, "big") + s.to_bytes(20, "big")
    assert verify_signature(3, auth, OCTETS, key.public_key()).verified is True


def _sign_all():
    ec_key = ec.generate_private_key(ec.SECP384R1())
    ed_key, ed448_key = ed25519.Ed25519PrivateKey.generate(), ed448.Ed448PrivateKey.generate()
    dsa_key = dsa.generate_private_key(2048)
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    pkcs1 = padding.PKCS1v15()
    return [
        ("sha256WithRSAEncryption", SHA256_WITH_RSA, RSA_KEY, RSA_KEY.sign(OCTETS, pkcs1, hashes.SHA256())),
        ("sha1WithRSAEncryption", SHA1_WITH_RSA, RSA_KEY, RSA_KEY.sign(OCTETS, pkcs1, hashes.SHA1())),
        ("RSASSA-PSS (SHA256, MGF1 SHA256, salt 32)", RSASSA_PSS_SHA256_SALT32, RSA_KEY,
         RSA_KEY.sign(OCTETS, pss, hashes.SHA256())),
        ("ecdsa-with-SHA512", ECDSA_SHA512, ec_key, ec_key.sign(OCTETS, ec.ECDSA(hashes.SHA512()))),
        ("Ed25519", ED25519, ed_key, ed_key.sign(OCTETS)),
        ("Ed448", ED448, ed448_key, ed448_key.sign(OCTETS)),
        ("dsa-with-sha256", DSA_SHA256, dsa_key, dsa_key.sign(OCTETS, hashes.SHA256())),
    ]  # fmt: skip


def test_rfc7427_digital_signatures_verify_with_each_algorithm_identifier():
    for name, algorithm_identifier, key, signature in _sign_all():
        auth = method14(algorithm_identifier, signature)
        result = verify_auth(14, auth, OCTETS, public_key=key.public_key())
        assert (result.verified, result.algorithm) == (True, name), result
        assert verify_signature(14, auth, OCTETS[1:], key.public_key()).verified is False, name


def test_pss_with_a_different_salt_length_does_not_verify():
    signature = RSA_KEY.sign(OCTETS, padding.PSS(padding.MGF1(hashes.SHA256()), 20), hashes.SHA256())
    result = verify_signature(14, method14(RSASSA_PSS_SHA256_SALT32, signature), OCTETS, RSA_KEY.public_key())
    assert result.verified is False


def test_mismatched_key_types_and_broken_identifiers_are_unverifiable_not_errors():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_auth = method14(SHA256_WITH_RSA, RSA_KEY.sign(OCTETS, padding.PKCS1v15(), hashes.SHA256()))
    assert verify_signature(14, rsa_auth, OCTETS, ec_key.public_key()).verified is None
    for broken in (
        b"",
        b"\x05",
        b"\x40" + SHA256_WITH_RSA,
        b"\x0f" + SHA256_WITH_RSA,
        b"\x03\x30\x01\x05abc",
        b"\x05\x30\x03\x06\x01\x80sig",  # an OID that ends inside a sub-identifier
    ):
        result = verify_signature(14, broken, OCTETS, RSA_KEY.public_key())
        assert result.verified is None and result.detail
    unknown = method14(bytes.fromhex("300b06092a864886f70d010102"), b"sig")  # md2WithRSAEncryption
    assert "not supported" in verify_signature(14, unknown, OCTETS, RSA_KEY.public_key()).detail
    assert verify_signature(12, b"x", OCTETS, RSA_KEY.public_key()).verified is None  # GSPAM


def test_the_nat_t_capture_auth_payloads_are_method_14_ecdsa_sha256_with_der_signatures(reference_dir):
    folder = reference_dir / "wireshark-wiki/ipsec_ikev2_esp_nat_t"
    keys = load_table(folder / "ikev2_decryption_table")
    seen = []
    for _frame, message in ike_messages(folder / "capture.pcapng"):
        found = encrypted_payload(message)
        if found is None or message[18] != 35:  # IKE_AUTH only
            continue
        sa, initiator = keys[message[:8]], bool(message[19] & 0x08)
        sk_e, sk_a = (sa.sk_ei, sa.sk_ai) if initiator else (sa.sk_er, sa.sk_ar)
        opened = open_sk(message, found[1], encr_id=sa.encr_id, sk_e=sk_e, integ_id=sa.integ_id, sk_a=sk_a)
        for kind, _offset, body in payload_chain(opened.plaintext, opened.next_payload, 0):
            if kind == 39:
                parsed = parse_digital_signature(body[4:])
                assert body[0] == 14 and not isinstance(parsed, str)
                algorithm, signature = parsed
                r, s = decode_dss_signature(signature)  # a well-formed DER Ecdsa-Sig-Value
                order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 n
                assert 0 < r < order and 0 < s < order
                seen.append(algorithm.name)
    assert seen == ["ecdsa-with-SHA256"] * 6


def test_random_authentication_data_never_raises():
    import random

    rng = random.Random(7427)
    keys = [RSA_KEY.public_key(), ec.generate_private_key(ec.SECP256R1()).public_key(), None]
    seeds = [
        method14(a, b"\x30\x06\x02\x01\x01\x02\x01\x01") for a in (ECDSA_SHA256, RSASSA_PSS_SHA256_SALT32)
    ]
    for _ in range(1500):
        data = bytearray(rng.choice(seeds) if rng.random() < 0.7 else rng.randbytes(rng.randint(0, 80)))
        for _ in range(rng.randint(0, 4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data[: rng.randint(0, len(data))])
        parsed = parse_digital_signature(data)
        assert isinstance(parsed, str) or parsed[1]
        for method in (1, 2, 3, 9, 13, 14, 200):
            result = verify_auth(method, data, OCTETS, prf_id=5, psks=[b"k"], public_key=rng.choice(keys))
            assert result.verified in (True, False, None) and result.detail
