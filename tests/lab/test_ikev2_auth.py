"""AUTH payloads and certificates of the IKEv2 lab captures, checked with RFC 7296 alone (not ikedecode).

Every AUTH payload on the wire (decrypted with the logged SK_e, RFC 7383 fragments reassembled) must
verify: shared-key MIC = prf(prf(PSK, "Key Pad for IKEv2"), SignedOctets) with the key file's PSK
(section 2.15), RFC 7427 signatures with the peer certificate from the CERT payload, which must be the
committed lab certificate and be issued by the committed lab CA (keys/ikev2-pki/).  Only the two
final AUTHs of the EAP capture (keyed with the EAP MSK, which no log prints) are left out, and counted.
"""

from __future__ import annotations

import struct
import tomllib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.lab.ikev2_wire import (
    CAPTURES,
    FLAG_INITIATOR,
    FLAG_RESPONSE,
    IDS,
    IKE_AUTH,
    IKE_SA_INIT,
    KEYS,
    PAYLOAD_NONCE,
    PAYLOAD_SKF,
    PROJECT_ROOT,
    Lab,
    Message,
    init_request,
    load,
    open_sk,
    payloads,
    prf,
    prf_of,
)

PAYLOAD_IDI, PAYLOAD_IDR, PAYLOAD_CERT, PAYLOAD_AUTH, PAYLOAD_EAP = 35, 36, 37, 39, 48
AUTH_SHARED_KEY, AUTH_DIGITAL_SIGNATURE = 2, 14  # RFC 7296 section 3.8, RFC 7427 section 3
CERT_X509_SIGNATURE = 4
KEY_PAD = b"Key Pad for IKEv2"
PKI = KEYS / "ikev2-pki"
CERT_CAPTURES = {
    "ikev2-rsa-cert": ("rsa", "ca-rsa"),
    "ikev2-ecdsa-cert": ("ecdsa", "ca-ecdsa"),
    "ikev2-fragments": ("rsa4096", "ca-rsa"),
    "ikev2-eap-mschapv2": ("rsa", "ca-rsa"),  # east only
}


def auth_messages(lab: Lab) -> dict[tuple[str, str], list[tuple[Message, dict[int, list[bytes]]]]]:
    """Per IKE SA: its IKE_AUTH messages in capture order, decrypted, fragments reassembled."""
    ike_sas = lab.ike_sas()
    out: dict[tuple[str, str], list[tuple[Message, dict[int, list[bytes]]]]] = {}
    fragments: dict[tuple, dict[int, tuple[int, bytes]]] = {}
    for message in lab.messages:
        if message.exchange != IKE_AUTH or message.spis not in ike_sas:
            continue
        opened = open_sk(ike_sas[message.spis], message)
        assert opened is not None
        first, plain = opened
        kind, _offset, body = payloads(message.data[16], message.data, 28)[-1]
        if kind == PAYLOAD_SKF:  # RFC 7383 section 2.5: Fragment Number, Total Fragments
            number, total = struct.unpack("!HH", body[:4])
            key = (message.spis, message.flags & (FLAG_INITIATOR | FLAG_RESPONSE), message.message_id)
            parts = fragments.setdefault(key, {})
            parts[number] = (first, plain)
            if len(parts) < total:
                continue
            first, plain = parts[1][0], b"".join(parts[n][1] for n in range(1, total + 1))
        inner: dict[int, list[bytes]] = {}
        for kind, _offset, body in payloads(first, plain, 0):
            inner.setdefault(kind, []).append(body)
        out.setdefault(message.spis, []).append((message, inner))
    return out


def ike_sa_init_pair(lab: Lab, spis: tuple[str, str]) -> tuple[Message, Message]:
    response = next(
        m for m in lab.messages if m.exchange == IKE_SA_INIT and m.flags & FLAG_RESPONSE and m.spis == spis
    )
    request = init_request(lab.messages, response)
    return request, response


def nonce(message: Message) -> bytes:
    return next(b for k, _o, b in payloads(message.data[16], message.data, 28) if k == PAYLOAD_NONCE)


def verify_signature(certificate: x509.Certificate, signature: bytes, octets: bytes) -> str:
    """RFC 7427 AUTH data: length | AlgorithmIdentifier | signature; returns the hash that verified."""
    signature = signature[1 + signature[0] :]
    key = certificate.public_key()
    for hash_algorithm in (hashes.SHA256(), hashes.SHA384(), hashes.SHA512()):
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, octets, padding.PKCS1v15(), hash_algorithm)
            else:
                assert isinstance(key, ec.EllipticCurvePublicKey)
                key.verify(signature, octets, ec.ECDSA(hash_algorithm))
            return hash_algorithm.name
        except InvalidSignature:
            continue
    raise AssertionError("signature does not verify")


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_every_auth_payload_verifies_with_the_psk_or_the_lab_certificate(capture: Path) -> None:
    lab = load(capture)
    keys = tomllib.loads((KEYS / f"{capture.stem}.toml").read_text())
    psks = [p["secret"].encode() for p in keys.get("psk", [])]
    verified, mac_by_msk = [], 0
    for spis, messages in auth_messages(lab).items():
        ike = lab.ike_sas()[spis]
        hash_function = prf_of(ike)
        request, response = ike_sa_init_pair(lab, spis)
        uses_eap = any(PAYLOAD_EAP in inner for _m, inner in messages)
        ids = {k: inner[k][0] for _m, inner in messages for k in (PAYLOAD_IDI, PAYLOAD_IDR) if k in inner}
        for message, inner in messages:
            if PAYLOAD_AUTH not in inner:
                continue
            from_initiator = bool(message.flags & FLAG_INITIATOR)
            # RFC 7296 section 2.15: RealMessage | Nonce of the peer | prf(SK_px, RestOfIDPayload)
            if from_initiator:
                octets = request.data + nonce(response) + prf(hash_function, ike.sk_pi, ids[PAYLOAD_IDI])
            else:
                octets = response.data + nonce(request) + prf(hash_function, ike.sk_pr, ids[PAYLOAD_IDR])
            auth = inner[PAYLOAD_AUTH][0]
            method, data = auth[0], auth[4:]
            if method == AUTH_SHARED_KEY and uses_eap:
                mac_by_msk += 1  # RFC 7296 2.16: both final AUTHs are keyed with the EAP MSK (not logged)
                continue
            if method == AUTH_SHARED_KEY:
                matching = [
                    p for p in psks if prf(hash_function, prf(hash_function, p, KEY_PAD), octets) == data
                ]
                assert len(matching) == 1, f"frame {message.frame}: AUTH matches {len(matching)} PSKs"
                # the PSK mismatch capture: west's AUTH was made with west's PSK, the first in the file
                if capture.stem == "ikev2-auth-failed":
                    assert matching[0] == psks[0] != psks[1]
                verified.append("psk")
            else:
                assert method == AUTH_DIGITAL_SIGNATURE, method
                certificate = x509.load_der_x509_certificate(inner[PAYLOAD_CERT][0][1:])
                assert inner[PAYLOAD_CERT][0][0] == CERT_X509_SIGNATURE
                verified.append(verify_signature(certificate, data, octets))
    if capture.stem == "ikev2-no-proposal":
        assert not verified
    elif capture.stem == "ikev2-auth-failed":
        assert verified == ["psk"]  # east answered AUTHENTICATION_FAILED without AUTH
    elif capture.stem == "ikev2-eap-mschapv2":
        assert verified == ["sha256"] and mac_by_msk == 2
    elif capture.stem == "ikev2-libreswan":
        assert verified == ["psk"] * 6  # three IKE SAs, both peers
    elif capture.stem == "ikev2-fragments":
        assert verified == ["sha384", "sha384"]  # strongSwan picks SHA2-384 for RSA-4096
    elif capture.stem in CERT_CAPTURES:
        assert verified == ["sha256", "sha256"]
    else:
        assert verified.count("psk") >= 2


@pytest.mark.parametrize("capture", sorted(CERT_CAPTURES), ids=sorted(CERT_CAPTURES))
def test_certificates_on_the_wire_are_the_committed_lab_certificates_issued_by_the_lab_ca(
    capture: str,
) -> None:
    lab = load(PROJECT_ROOT / "captures" / f"{capture}.pcap")
    kind, ca_name = CERT_CAPTURES[capture]
    ca = x509.load_pem_x509_certificate((PKI / f"{ca_name}.crt").read_bytes())
    committed = {
        x509.load_pem_x509_certificate((PKI / f"{side}-{kind}.crt").read_bytes()): side
        for side in ("west", "east")
    }
    seen = set()
    for messages in auth_messages(lab).values():
        for message, inner in messages:
            for body in inner.get(PAYLOAD_CERT, []):
                certificate = x509.load_der_x509_certificate(body[1:])
                assert certificate in committed, f"frame {message.frame}: not a committed lab certificate"
                certificate.verify_directly_issued_by(ca)
                side = committed[certificate]
                assert (side == "west") == bool(message.flags & FLAG_INITIATOR)
                seen.add(side)
    assert seen == ({"east"} if capture == "ikev2-eap-mschapv2" else {"west", "east"})
    for side in seen:  # the committed private key belongs to the certificate
        private = load_pem_private_key((PKI / f"{side}-{kind}.key").read_bytes(), None)
        certificate = next(c for c, s in committed.items() if s == side)
        assert private.public_key().public_numbers() == certificate.public_key().public_numbers()  # type: ignore[union-attr]
