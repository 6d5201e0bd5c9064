"""Checking SIG_I / SIG_R of main and aggressive mode with signature authentication (RFC 2409 5.1).

The signer's public key comes from its CERT payload (X.509, encoding 4) in the same message or an
earlier one of the same side. With SKEYID (signatures: prf(Ni_b | Nr_b, g^xy), RFC 2409 section 5)
HASH_I / HASH_R is computed and the signature checked over it (``signature.verify_ikev1_signature``).
Without SKEYID (a direct phase-1 cipher key, no g^xy) an RSA signature can still be opened with the
certificate's key: a well-formed hash of the negotiated size is shown, the check stays open.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ikedecode.findings import finding
from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.records import IkeMessage, Protection
from ikedecode.ike.v1 import authhash
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v1.payloads import CertPayload, SignaturePayload
from ikedecode.ike.v1.sa_state import SaState
from ikedecode.ike.v1.signature import recover_rsa_signed_hash, verify_ikev1_signature

if TYPE_CHECKING:
    from ikedecode.ike.certificates import CertificateInfo

__all__ = ["check_signer_chain", "sender_certificates", "signer_certificate", "verify_phase1_signature"]


def sender_certificates(state: SaState, msg: IkeMessage) -> list[CertificateInfo]:
    """The X.509 certificates the sender of ``msg`` sent in phase 1 (this message first, then the
    earlier ones): the first is the signer's (RFC 4945 3.3: the end-entity certificate comes first)."""
    # X.509 (cryptography.x509, ~15 ms) is imported when a signature is checked, not at start-up
    from ikedecode.ike.certificates import CertificateError, certificate_from_payload

    sender, out, seen = msg.sender, [], set()
    for m in [msg, *reversed(state.sa.messages)]:
        if m.sender != sender or m.exchange != msg.exchange:
            continue
        for p in m.payloads:
            if isinstance(p, CertPayload):
                try:
                    cert = certificate_from_payload(bytes([p.encoding]) + p.data)
                except CertificateError:
                    continue
                if cert is not None and cert.fingerprint_sha256 not in seen:
                    seen.add(cert.fingerprint_sha256)
                    out.append(cert)
    return out


def signer_certificate(state: SaState, msg: IkeMessage) -> CertificateInfo | None:
    """The signer's certificate: the first X.509 certificate its side sent in phase 1."""
    certs = sender_certificates(state, msg)
    return certs[0] if certs else None


def check_signer_chain(state: SaState, msg: IkeMessage, trusted: Sequence[CertificateInfo]) -> None:
    """With --ca: the signer's certificate must chain to a trusted CA through the certificates its
    side sent, each valid at the time of the message (RFC 4945 5); a finding when it does not."""
    if not trusted or not any(isinstance(p, SignaturePayload) for p in msg.payloads):
        return
    certs = sender_certificates(state, msg)
    if not certs:
        return
    from ikedecode.ike.certificates import check_chain  # imported by sender_certificates already

    at = datetime.datetime.fromtimestamp(msg.time, datetime.UTC)
    chain = check_chain(certs[0], certs[1:], trusted, at=at)
    if chain.valid:
        msg.note = f"{msg.note}; certificate chain to {chain.path[-1].subject} verifies".lstrip("; ")
        return
    sa = state.sa
    problems = "; ".join(chain.problems)
    msg.note = f"{msg.note}; certificate chain does not verify: {problems}".lstrip("; ")
    sa.findings.append(
        finding(
            "certificate-untrusted",
            f"the certificate {certs[0].subject} in {msg.label} from {msg.sender} does not chain to "
            f"the CA(s) given: {problems}",
            {
                "cookies": sa.cookies,
                "frame": msg.frame,
                "label": msg.label,
                "certificate": certs[0].subject,
                "issuer": certs[0].issuer,
                "problems": list(chain.problems),
                "trusted": [c.subject for c in trusted],
            },
        )
    )


def verify_phase1_signature(state: SaState, msg: IkeMessage, role: Role, skeyid: bytes | None) -> bool:
    """Check the SIG payload of ``msg``; False when it carries none (the caller goes on)."""
    sigs = [p for p in msg.payloads if isinstance(p, SignaturePayload)]
    if not sigs:
        return False
    sa = state.sa
    side = "I" if role is Role.INITIATOR else "R"
    sig_name, hash_name = f"SIG_{side}", f"HASH_{side}"
    msg.hash_name = sig_name
    cert = signer_certificate(state, msg)
    if cert is None:
        msg.note = f"{sig_name} not checked: the sender sent no X.509 certificate (CERT payload)"
        return True
    id_b = state.idii_b if role is Role.INITIATOR else state.idir_b
    inputs = (state.policy, state.g_xi, state.g_xr, state.sai_b, sa.responder_cookie, id_b)
    if skeyid is None or None in inputs:
        _open_without_hash(state, msg, sig_name, hash_name, sigs[0].data, cert)
        return True
    try:
        expected = (authhash.hash_i if role is Role.INITIATOR else authhash.hash_r)(
            state.policy.hash_algorithm,  # type: ignore[union-attr]
            skeyid,
            state.g_xi,  # type: ignore[arg-type]
            state.g_xr,  # type: ignore[arg-type]
            sa.initiator_cookie,
            sa.responder_cookie,  # type: ignore[arg-type]
            state.sai_b,  # type: ignore[arg-type]
            id_b,  # type: ignore[arg-type]
        )
    except UnsupportedAlgorithm as exc:
        msg.note = f"{sig_name} not checked: {exc}"
        return True
    check = verify_ikev1_signature(expected, sigs[0].data, cert.public_key)
    if check.verified is None:
        msg.note = f"{sig_name} not checked: {check.detail}"
        return True
    msg.hash_verified = check.verified
    if msg.protection is Protection.DECRYPTED:
        msg.protection = Protection.VERIFIED if check.verified else Protection.HASH_MISMATCH
    if check.verified:
        msg.note = f"{sig_name} verifies over {hash_name} with the key of {cert.subject} ({check.algorithm})"
        return True
    _mismatch(state, msg, sig_name, cert, check.detail)
    return True


def _open_without_hash(
    state: SaState, msg: IkeMessage, sig_name: str, hash_name: str, signature: bytes, cert: CertificateInfo
) -> None:
    """No SKEYID: an RSA signature is opened with the certificate's key, the HASH cannot be made."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(cert.public_key, rsa.RSAPublicKey):
        msg.note = f"{sig_name} not checked: {hash_name} not computable without g^xy (give the DH secret)"
        return
    recovered = recover_rsa_signed_hash(signature, cert.public_key)
    if recovered is None:
        _mismatch(state, msg, sig_name, cert, "the signature does not open with this RSA key")
        return
    msg.note = (
        f"{sig_name} opens with the key of {cert.subject} to a well-formed {len(recovered)}-byte hash "
        f"{recovered.hex()}; {hash_name} not computable without g^xy"
    )


def _mismatch(state: SaState, msg: IkeMessage, sig_name: str, cert: CertificateInfo, detail: str) -> None:
    sa = state.sa
    msg.hash_verified = False
    if msg.protection is Protection.DECRYPTED:
        msg.protection = Protection.HASH_MISMATCH
    sa.authenticated = False
    msg.note = f"{sig_name} does not verify with the key of {cert.subject}: {detail}"
    sa.findings.append(
        finding(
            "signature-mismatch",
            f"{sig_name} in {msg.label} from {msg.sender} does not verify with the key of its certificate "
            f"({cert.subject}): {detail}",
            {
                "cookies": sa.cookies,
                "frame": msg.frame,
                "label": msg.label,
                "certificate": cert.subject,
                "fingerprint_sha256": cert.fingerprint_sha256,
            },
        )
    )
