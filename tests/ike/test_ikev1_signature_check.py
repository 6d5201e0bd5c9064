"""IKEv1 SIG payload checking (RFC 2409 section 5.1): RSA PKCS#1 type 1 over the bare HASH, DSS and
ECDSA over the HASH as digest.

Real data: Wireshark's ikev1-certs.pcap (Juniper SRX vs OpenSwan, RSA signatures, 3DES/MD5) with
the 3DES key of wireshark/config/ikev1_decryption_table. MM5 / MM6 decrypt to ID, CERT, SIG; each
SIG opens with the public key of the CERT in the same message to PKCS#1 type 1 padding around a
16-byte value (the length of an MD5 HASH_I / HASH_R), with no DigestInfo. HASH_I / HASH_R
themselves cannot be recomputed (SKEYID needs g^xy, which is not published), so the equality with
the HASH is tested on signatures made here.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from ikedecode.ike.certificates import certificate_from_payload
from ikedecode.ike.ciphers import cbc_decrypt
from ikedecode.ike.v1.signature import recover_rsa_signed_hash, verify_ikev1_signature

TRIPLE_DES = 5
KE, ID, CERT, SIG = 4, 5, 6, 9


def _chain(data: bytes, first: int) -> dict[int, bytes]:
    out, kind, offset = {}, first, 0
    while kind and offset + 4 <= len(data):
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        out.setdefault(kind, data[offset + 4 : offset + length])
        kind, offset = data[offset], offset + length
    return out


def test_the_openswan_and_srx_signatures_are_type1_padded_bare_md5_length_hashes(reference_dir):
    from ikedecode.capture import open_capture

    key = bytes.fromhex("735be0cb62f82675c4f7bf8fbab9b56834ba76d6ab4fa240")  # ikev1_decryption_table line 1
    with open_capture(reference_dir / "wireshark/captures/ikev1-certs.pcap") as reader:
        messages = [d.payload for d in reader]
    g_xi = _chain(messages[2][28:], messages[2][16])[KE]
    g_xr = _chain(messages[3][28:], messages[3][16])[KE]
    iv = hashlib.md5(g_xi + g_xr).digest()[:8]  # RFC 2409 appendix B
    seen = []
    for message in messages[4:6]:  # MM5, MM6
        body = message[28:]
        plain = cbc_decrypt(TRIPLE_DES, key, iv, body)
        iv = body[-8:]
        payloads = _chain(plain, message[16])
        cert = certificate_from_payload(payloads[CERT])
        assert cert is not None and cert.key_type == "RSA"
        recovered = recover_rsa_signed_hash(payloads[SIG], cert.public_key)
        assert recovered is not None and len(recovered) == 16  # an MD5 HASH, no DigestInfo around it
        check = verify_ikev1_signature(recovered, payloads[SIG], cert.public_key)
        assert check.verified is True
        assert verify_ikev1_signature(bytes(16), payloads[SIG], cert.public_key).verified is False
        seen.append(cert.subject)
    assert any("OpenSwan" in s for s in seen) and any("srx210-3" in s for s in seen)


def test_rsa_signature_over_a_bare_hash_verifies_and_a_digestinfo_one_does_not():
    key = rsa.generate_private_key(65537, 2048)
    hash_i = os.urandom(20)
    # a raw type-1 "encryption" of the bare hash, made with the private numbers
    n, d = key.public_key().public_numbers().n, key.private_numbers().d
    size = (n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(hash_i)) + b"\x00" + hash_i
    signature = pow(int.from_bytes(block, "big"), d, n).to_bytes(size, "big")
    assert verify_ikev1_signature(hash_i, signature, key.public_key()).verified is True
    assert verify_ikev1_signature(os.urandom(20), signature, key.public_key()).verified is False
    other = rsa.generate_private_key(65537, 2048)
    assert verify_ikev1_signature(hash_i, signature, other.public_key()).verified is False
    # a normal PKCS#1 signature (DigestInfo inside) is not what IKEv1 sends
    from cryptography.hazmat.primitives.asymmetric import padding

    wrapped = key.sign(hash_i, padding.PKCS1v15(), Prehashed(hashes.SHA1()))
    assert verify_ikev1_signature(hash_i, wrapped, key.public_key()).verified is False


def test_dss_and_ecdsa_sign_the_hash_as_the_digest_with_fixed_size_r_and_s():
    hash_i = os.urandom(20)
    dsa_key = dsa.generate_private_key(1024)
    r, s = decode_dss_signature(dsa_key.sign(hash_i, Prehashed(hashes.SHA1())))
    assert verify_ikev1_signature(
        hash_i, r.to_bytes(20, "big") + s.to_bytes(20, "big"), dsa_key.public_key()
    ).verified
    hash_256 = os.urandom(32)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    r, s = decode_dss_signature(ec_key.sign(hash_256, ec.ECDSA(Prehashed(hashes.SHA256()))))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert verify_ikev1_signature(hash_256, raw, ec_key.public_key()).verified is True
    assert verify_ikev1_signature(os.urandom(32), raw, ec_key.public_key()).verified is False
    assert verify_ikev1_signature(hash_256, raw[:-1], ec_key.public_key()).verified is None
    assert verify_ikev1_signature(hash_256, raw, None).verified is None
