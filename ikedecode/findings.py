"""Findings: what ikedecode concludes about a capture, with the evidence behind it, and the catalog.

A finding is data: a stable ``code``, a ``severity``, one sentence, the evidence and a hint of what
to check. Every code is declared once, in ``CATALOG`` below, with its severity, the layer that
produces it and its hint; every finding anywhere (capture layer, engines, ESP, pipeline, diagnosis,
cracker) is made by ``finding(code, message, evidence)``, so severity and hint exist in one place.
The codes are part of the documented interface: docs/findings.md has one section per code and a test
keeps the two in step. Hints speak configuration: ISAKMP policy, transform set, crypto ACL,
pre-shared key, PFS group, NAT-T, lifetimes.

This module is a leaf: it imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(slots=True)
class Finding:
    severity: Severity
    code: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "evidence": self.evidence,
        }
        if self.hint:
            out["hint"] = self.hint
        return out


@dataclass(frozen=True, slots=True)
class FindingKind:
    """One code: its severity, who produces it, what it means and what to check.

    ``hint`` is what to check. A few codes name the case they are about in their evidence (the state a
    stalled sender waits in, the notify a peer sent): ``case_field`` is that evidence key and
    ``case_hints`` the hint per value, ``hint`` the one for any other value. A check may report a code
    at ``lowered_to`` instead of its severity, in the case ``lowered_when`` says (None: never); no
    check raises a severity.
    """

    code: str
    severity: Severity
    producer: str  # "capture", "engine", "pipeline", "diagnosis", "crack"
    meaning: str  # one line for docs and --help
    hint: str  # what to check, in configuration terms
    lowered_to: Severity | None = None
    lowered_when: str = ""
    case_field: str = ""
    case_hints: Mapping[str, str] = field(default_factory=dict)

    def hint_for(self, evidence: Mapping[str, Any]) -> str:
        if self.case_field:
            return self.case_hints.get(str(evidence.get(self.case_field)), self.hint)
        return self.hint


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741 - reads like the table below

# IKEv2 error notifies (RFC 7296 3.10.1), by IANA name, in configuration terms
IKEV2_NOTIFY_HINTS: dict[str, str] = {
    "INVALID_IKE_SPI": "the peer has no IKE SA with these SPIs (it restarted or already deleted it)",
    "INVALID_SYNTAX": "the peer could not parse the message (or could not decrypt it)",
    "INVALID_MESSAGE_ID": "the peer does not expect this message ID: the windows are out of sync",
    "INVALID_SPI": "the peer does not know this ESP/AH SPI (it deleted the Child SA)",
    "NO_PROPOSAL_CHOSEN": "no proposal matched: compare the IKE / ESP proposals (cipher, PRF, integrity, "
    "group) of both peers",
    "INVALID_KE_PAYLOAD": "the peer wants another key exchange method: the initiator retries with the "
    "group in the notify",
    "AUTHENTICATION_FAILED": "authentication failed at the peer: pre-shared key, certificate or identity "
    "(IDi/IDr) mismatch",
    "SINGLE_PAIR_REQUIRED": "the peer accepts only one pair of traffic selectors: narrow the local/remote "
    "subnets",
    "INTERNAL_ADDRESS_FAILURE": "the peer could not assign a virtual IP address (pool exhausted or not "
    "configured)",
    "FAILED_CP_REQUIRED": "the peer requires a configuration payload (virtual IP request)",
    "TS_UNACCEPTABLE": "traffic selectors unacceptable: the local/remote subnets of both peers do not match",
    "TEMPORARY_FAILURE": "temporary failure (a simultaneous rekey): the peer retries later",
    "CHILD_SA_NOT_FOUND": "the peer has no Child SA with this SPI",
    "AUTHORIZATION_FAILED": "the identity is authenticated but not authorised on the peer",
    "STATE_NOT_FOUND": "the peer lost the state of a CREATE_CHILD_SA waiting for its IKE_FOLLOWUP_KE "
    "exchanges (RFC 9370 2.2.4: too late, or after a restart): the exchange is started again",
}

_KINDS = (
    # -- capture layer and engine (their producers keep them) -------------------------------------
    FindingKind(
        "capture-truncated",
        W,
        "capture",
        "the capture file ends inside a record",
        "the report covers the packets before the cut",
    ),
    FindingKind(
        "malformed-packets",
        W,
        "capture",
        "frames the capture layer could not decode",
        "see the reasons; a short snaplen truncates IKE messages",
    ),
    FindingKind(
        "malformed-message",
        W,
        "engine",
        "an IKE datagram whose header, payload chain or ciphertext is broken",
        "the message was cut or damaged on the way (or by the capture), or it is not IKE at all "
        "(another protocol on an IKE port)",
    ),
    FindingKind(
        "state-cap",
        W,
        "engine",
        "more IKE SAs than --max-ike-sas; the oldest were dropped from the report",
        "raise --max-ike-sas",
    ),
    FindingKind(
        "state-cap-phase2",
        W,
        "engine",
        "more phase-2 exchanges in one IKE SA than --max-phase2-per-sa; the oldest were dropped",
        "raise --max-phase2-per-sa",
    ),
    FindingKind(
        "state-cap-fragments",
        W,
        "capture",
        "more IP datagrams under reassembly at once than --max-fragment-buffers; the oldest were dropped",
        "raise --max-fragment-buffers",
    ),
    FindingKind(
        "ike-fragments-incomplete",
        W,
        "engine",
        "an IKE-fragmented message never completed",
        "a fragment of a large IKE message (certificates) was lost on the way",
    ),
    FindingKind(
        "auth-mismatch",
        E,
        "engine",
        "an IKEv2 AUTH payload does not verify (shared key or signature)",
        "the pre-shared key is not the one the peers use, or the certificate is not the signer's",
    ),
    FindingKind(
        "signature-mismatch",
        E,
        "engine",
        "an IKEv1 SIG_I / SIG_R does not verify with the public key of the signer's CERT payload "
        "(RFC 2409 5.1)",
        "the certificate sent is not the one whose private key signs (key pair mismatch on the signer), "
        "or the phase-1 keys given are not this SA's",
    ),
    FindingKind(
        "certificate-untrusted",
        W,
        "engine",
        "with --ca: an IKEv1 signer's certificate does not chain to the CA(s) given (unknown issuer, "
        "bad signature, not valid at the time of the message)",
        "give the CA that issued the peer's certificate (and any intermediate), or check the "
        "certificate's validity dates against the time of the capture",
    ),
    FindingKind(
        "keys-unmatched",
        I,
        "pipeline",
        "key material given (key file, daemon log, --keys) matches no IKE SA, ESP SA or peer of the capture",
        "check that the key file or log belongs to this capture: its cookies, SPIs and peer addresses",
    ),
    FindingKind(
        "wrong-keys",
        E,
        "engine",
        "encrypted messages do not decrypt with any key candidate",
        "check that --dh-secret/--dh-private belong to this SA and that the PSK is the one configured "
        "(when a PSK verified HASH_R, the DH secret is the wrong one)",
        lowered_to=W,
        lowered_when="when the peers went on (MM6, AM3 or a quick mode followed): the keys given are wrong, "
        "not the peers'",
    ),
    FindingKind(
        "key-stage-missing",
        W,
        "engine",
        "an IKEv2 SA changed its keys after an additional key exchange (RFC 9370) whose input is not given",
        "give that stage's shared secret SK(n) (--dh-secret SPIi:n=HEX, additional_secrets in a key "
        "file), the initiator's ML-KEM seed (--dh-private), or a daemon log with every key stage",
    ),
    FindingKind(
        "hash-mismatch",
        E,
        "engine",
        "a quick-mode or informational hash does not verify with SKEYID_a",
        "the message was altered, or the phase-1 keys are not this SA's",
    ),
    FindingKind(
        "decoder-error",
        E,
        "engine+pipeline",
        "ikedecode failed on one message or packet; the rest was decoded",
        "a bug in ikedecode: please report it, with this frame if you can share it",
    ),
    FindingKind(
        "ipsec-sa-unkeyed",
        W,
        "pipeline",
        "a quick mode's SA cannot be keyed (unknown transform)",
        "ikedecode cannot decrypt this transform (or protocol): its packets are counted, not opened",
    ),
    # -- phase 1 -----------------------------------------------------------------------------------
    FindingKind(
        "no-response",
        E,
        "diagnosis",
        "a message was sent (and retransmitted) and never answered",
        "UDP 500/4500 blocked on the path, or the peer has no crypto map / connection for this address",
        lowered_to=W,
        lowered_when="when the message was sent once and the capture ends less than 10 s later",
        case_field="state",  # the state the sender is left in (Cisco names)
        case_hints={
            "MM_WAIT_MSG2": "UDP 500 to the responder is blocked, no IKE daemon listens there, or the "
            "responder has no crypto map / connection for this peer address",
            "MM_WAIT_MSG3": "the initiator did not accept MM2 (the chosen proposal) or its MM3 was lost",
            "MM_WAIT_MSG4": "the responder accepted the proposal but does not answer MM3 (KE/nonce)",
            "MM_WAIT_MSG5": "the initiator stopped after MM4: it could not compute the keys, or MM5 was lost",
            "MM_WAIT_MSG6": "the responder cannot decrypt or authenticate MM5: usually a pre-shared key "
            "mismatch, or a large MM5 (certificates) lost in IP fragments",
            "AM_WAIT_MSG2": "UDP 500 to the responder is blocked, aggressive mode is not allowed there, or "
            "the responder has no policy / PSK for this identity",
            "AM_WAIT_MSG3": "the initiator did not accept AM2 (HASH_R does not verify with its PSK, or it "
            "refuses the identity)",
            "QM_WAIT_MSG2": "the responder ignores the quick mode: no matching crypto map entry, or it is "
            "still busy with phase 1",
            "QM_WAIT_MSG3": "the initiator did not confirm the quick mode (HASH(3) missing)",
        },
    ),
    FindingKind(
        "port-unreachable",
        E,
        "diagnosis",
        "IKE messages answered with ICMP port unreachable: nothing listens on UDP 500/4500 at the peer",
        "start the IKE daemon on the peer and check it listens on this address and port (crypto map "
        "applied to this interface; a host firewall that rejects UDP 500/4500 answers the same way)",
    ),
    FindingKind(
        "p1-proposal-mismatch",
        E,
        "diagnosis",
        "the responder refused every ISAKMP proposal",
        "make one ISAKMP policy identical on both peers: encryption, hash, authentication, DH group",
    ),
    FindingKind(
        "p1-chosen-not-offered",
        E,
        "diagnosis",
        "the responder chose an ISAKMP transform the initiator did not offer",
        "a responder must pick one of the offered transforms unchanged; check its ISAKMP policies and "
        "software",
    ),
    FindingKind(
        "psk-mismatch",
        E,
        "engine+diagnosis",
        "the peers use different pre-shared keys",
        "configure the same pre-shared key for this peer on both ends (crypto isakmp key ... address ...)",
    ),
    FindingKind(
        "given-psk-wrong",
        W,
        "diagnosis",
        "a pre-shared key given does not verify this SA, while the peers went on with it: the key given is "
        "wrong, not the peers'",
        "give the pre-shared key the peers are configured with (crypto isakmp key ...); the tunnel itself "
        "is not affected",
    ),
    FindingKind(
        "error-notify",
        E,
        "diagnosis",
        "a peer sent an error notification no other finding explains",
        "read the notify type; the sending peer's log says why it refused",
        lowered_to=I,
        lowered_when="when the notify is an IKEv2 INVALID_KE_PAYLOAD the initiator answered with a "
        "successful retry",
        case_field="notify",  # the notify's name (RFC 2408 3.14.1; IKEv2: RFC 7296 3.10.1, IANA spelling)
        case_hints={
            "INVALID-COOKIE": "the peer has no IKE SA with these cookies (it restarted or already deleted "
            "it)",
            "INVALID-MESSAGE-ID": "the peer does not know this message ID: the exchange was lost or the SAs "
            "are out of sync",
            "ATTRIBUTES-NOT-SUPPORTED": "the peer does not support an attribute of the proposal (lifetime "
            "type, key length ...)",
            "NO-PROPOSAL-CHOSEN": "no proposal matched: compare the ISAKMP policies / transform sets of both "
            "peers",
            "PAYLOAD-MALFORMED": "the peer could not parse the message: usually it decrypted it with another "
            "key (PSK mismatch)",
            "INVALID-KEY-INFORMATION": "the peer rejected the KE payload: DH group mismatch or an invalid "
            "public value",
            "INVALID-ID-INFORMATION": "the peer rejected an identity: phase-1 ID type/value or phase-2 proxy "
            "identities (crypto ACL)",
            "INVALID-CERTIFICATE": "the peer rejected the certificate: check its validity, CA and revocation",
            "INVALID-HASH-INFORMATION": "a hash did not verify at the peer: the pre-shared keys differ",
            "AUTHENTICATION-FAILED": "authentication failed at the peer: pre-shared key or "
            "certificate/identity mismatch",
            "INVALID-SIGNATURE": "a signature did not verify at the peer: certificate or key mismatch",
            **IKEV2_NOTIFY_HINTS,
        },
    ),
    FindingKind(
        "auth-failed",
        E,
        "diagnosis",
        "an IKEv2 peer refused the other's authentication (AUTHENTICATION_FAILED) for another reason than a "
        "pre-shared key mismatch: certificate, identity, EAP credentials or policy",
        "on the refusing peer compare the remote identity it expects with the ID sent (IDi/IDr), the "
        "certificate's subjectAltName with that ID, the CA it trusts and the certificate's validity; with "
        "EAP the user name and password",
    ),
    FindingKind(
        "invalid-ke",
        W,
        "diagnosis",
        "an IKEv2 responder asked for another key exchange method (INVALID_KE_PAYLOAD)",
        "put the responder's group first in the initiator's proposal (IKEv2 proposal / strongSwan proposals) "
        "to save a round trip; if the retry failed, align the DH groups of both peers",
        lowered_to=I,
        lowered_when="when the initiator's retry with the group asked for was accepted (RFC 7296 1.2: the "
        "protocol working)",
    ),
    FindingKind(
        "rekey-collision",
        W,
        "diagnosis",
        "both IKEv2 peers rekeyed the same SA at once (RFC 7296 2.25): one answered TEMPORARY_FAILURE",
        "harmless when one rekey won and the old SA was deleted; frequent collisions mean equal rekey "
        "times on both peers: give them different lifetimes (or rekey margins / random fuzz)",
        lowered_to=I,
        lowered_when="when the other peer's rekey is in the capture and succeeded (the collision was "
        "resolved)",
    ),
    FindingKind(
        "cookie-challenge",
        I,
        "diagnosis",
        "an IKEv2 responder answered IKE_SA_INIT with a COOKIE (RFC 7296 2.6): it defends against a flood",
        "normal under load (many half-open SAs) or when the responder always asks for cookies; if it never "
        "stops, look for a flood of IKE_SA_INIT requests",
    ),
    FindingKind(
        "redirect",
        I,
        "diagnosis",
        "an IKEv2 gateway redirected the client to another gateway (RFC 5685 REDIRECT)",
        "load balancing or maintenance on the gateway; check that the client can reach the gateway named",
    ),
    FindingKind(
        "ikev1-in-use",
        I,
        "diagnosis",
        "IKEv1 is still in use: RFC 9395 deprecates it",
        "plan the move to IKEv2 (crypto ikev2 proposal / policy / profile; strongSwan version = 2)",
    ),
    # -- phase 2 -----------------------------------------------------------------------------------
    FindingKind(
        "p2-proposal-mismatch",
        E,
        "diagnosis",
        "the responder refused the quick mode's IPsec proposals",
        "make the transform sets match (ESP cipher, key length, integrity, tunnel/transport mode); a "
        "responder that requires PFS also refuses an offer without it",
    ),
    FindingKind(
        "qm2-rejected",
        E,
        "diagnosis",
        "the initiator answered QM2 with an error notify instead of QM3: it cannot use what the responder "
        "accepted",
        "the initiator could not install the accepted SA: check that its IPsec stack supports the mode and "
        "algorithms it offered (e.g. transport mode, the cipher) and its own log",
    ),
    FindingKind(
        "qm-refused",
        E,
        "diagnosis",
        "QM1 was answered with an encrypted informational instead of QM2 (keys needed to see why)",
        "give the PSK and DH secret to read the notify; usually transform set, crypto ACL or PFS",
    ),
    FindingKind(
        "proxy-id-mismatch",
        E,
        "diagnosis",
        "the responder refused the proxy identities (crypto ACLs / traffic selectors) of the initiator",
        "the responder's crypto ACL must be the mirror image of the initiator's (permit local remote <-> "
        "permit remote local): check the local/remote subnets (traffic selectors) on both peers",
    ),
    FindingKind(
        "proxy-id-changed",
        W,
        "diagnosis",
        "the responder accepted the quick mode with other proxy identities than proposed",
        "the crypto ACL of one peer must be the mirror image of the other's (permit local remote <-> "
        "permit remote local)",
    ),
    FindingKind(
        "pfs-mismatch",
        E,
        "diagnosis",
        "PFS requested on one side only, or with different DH groups",
        "configure the same PFS group on both peers (set pfs groupN) or none on both; if PFS matches, "
        "compare the transform sets",
    ),
    FindingKind(
        "lifetime-mismatch",
        I,
        "diagnosis",
        "the peers proposed or accepted different SA lifetimes",
        "align the lifetimes (crypto isakmp policy lifetime, crypto ipsec security-association lifetime)",
    ),
    # -- NAT ---------------------------------------------------------------------------------------
    FindingKind(
        "nat-detected",
        I,
        "diagnosis",
        "NAT-D hashes show a NAT in front of a peer",
        "NAT-T (UDP 4500) must be enabled on both peers and UDP 500/4500 allowed through the NAT",
    ),
    FindingKind(
        "natt-forced",
        I,
        "diagnosis",
        "a peer forces UDP encapsulation: its NAT-D hash of itself does not match although nothing "
        "rewrote its address",
        "expected with strongSwan encap=yes or forced NAT-T; no action needed",
    ),
    FindingKind(
        "natt-not-negotiated",
        E,
        "diagnosis",
        "a NAT is on the path but NAT-T was not negotiated",
        "enable NAT traversal on both peers (crypto isakmp nat-traversal; strongSwan encap/NAT-T) and allow "
        "UDP 4500",
    ),
    # -- ESP and SA state ---------------------------------------------------------------------------
    FindingKind(
        "esp-one-way",
        W,
        "diagnosis",
        "ESP flows in one direction only",
        "the peer that receives but does not send has no outbound SA or route for the traffic (crypto "
        "ACL), drops what it receives (wrong keys), or its ESP / UDP 4500 is blocked",
    ),
    FindingKind(
        "no-esp",
        I,
        "diagnosis",
        "quick mode completed but no ESP followed in the capture",
        "no traffic matched the crypto ACL, or ESP (IP 50 / UDP 4500) is filtered before the capture point",
    ),
    FindingKind(
        "invalid-spi",
        E,
        "diagnosis",
        "a peer reports ESP for an SPI it has no SA for",
        "the SAs are out of sync (a peer rebooted or cleared them): enable DPD and "
        "'crypto isakmp invalid-spi-recovery', or clear the SAs on both ends",
    ),
    FindingKind(
        "esp-after-delete",
        W,
        "diagnosis",
        "ESP kept arriving on an SPI after its owner deleted it",
        "the sender missed the delete (lost or not accepted): check DPD and the delete notifications",
    ),
    FindingKind(
        "sa-lifetime-exceeded",
        W,
        "diagnosis",
        "ESP on an SA after its negotiated lifetime ran out",
        "the peer did not rekey in time; check the IPsec SA lifetimes on both peers",
    ),
    FindingKind(
        "icv-failure",
        E,
        "diagnosis",
        "no ESP packet of an SA verifies its integrity check value: the SA's keys are wrong",
        "check the ESP keys given for this SPI (or the PSK / DH secret of the quick mode that made them)",
    ),
    FindingKind(
        "icv-failure-pfs",
        E,
        "diagnosis",
        "no ESP packet of an SA keyed with a quick mode's PFS secret verifies: that secret is wrong",
        "the quick mode uses PFS and the g(qm)^xy tried is not its own: give the quick mode's DH secret "
        "([[quick_mode]] dh_secret in a key file)",
    ),
    FindingKind(
        "icv-failure-partial",
        E,
        "diagnosis",
        "some ESP packets of an SA fail the integrity check, others verify: corruption on the path",
        "packets are altered on the way (faulty link, middlebox) or another sender reuses the SPI",
    ),
    FindingKind(
        "esp-encryption-key-wrong",
        E,
        "diagnosis",
        "no ESP packet of an SA decrypts to sound plaintext: the SA's encryption key is wrong",
        "check the encryption key given for this SPI; an ICV that verifies proves only the integrity key",
    ),
    FindingKind(
        "esp-plaintext-garbled",
        W,
        "diagnosis",
        "some ESP packets of an SA decrypt to noise while others decrypt soundly",
        "the failing packets were altered before encryption or another sender reuses the SPI with other keys",
    ),
    FindingKind(
        "esp-esn-mismatch",
        E,
        "diagnosis",
        "the ICV of an SA's packets verifies only with the other sequence number size (ESN or not)",
        "set esn (extended sequence numbers, RFC 4303 2.2.1) as the SA uses it: esn = true/false in the "
        "key file, or the ESN flag of the xfrm state or esp_sa entry",
    ),
    FindingKind(
        "esp-replay",
        W,
        "diagnosis",
        "ESP sequence numbers seen twice (replays or duplicated packets)",
        "duplicates on the path (or a replay attack); the receiver drops them",
    ),
    FindingKind(
        "esp-sequence-gap",
        I,
        "diagnosis",
        "ESP sequence numbers missing between those seen",
        "packet loss before the capture point, or the capture dropped packets",
    ),
    # -- liveness ----------------------------------------------------------------------------------
    FindingKind(
        "dpd-timeout",
        E,
        "diagnosis",
        "DPD R-U-THERE messages went unanswered: the peer is dead",
        "the peer is down or unreachable; check it is running and that UDP 500/4500 reaches it",
        lowered_to=W,
        lowered_when="with a single unanswered R-U-THERE, or without keys",
    ),
    FindingKind(
        "sa-deleted",
        I,
        "diagnosis",
        "delete notifications: which SA, who sent it, when",
        "normal clean-up (a rekey replaced the SA, or the tunnel was closed); no action needed",
        case_field="timing",  # "right-after-setup": within a few seconds of the quick mode that made the SA
        case_hints={
            "right-after-setup": "a delete right after setup points to a policy the sender refused after the "
            "fact: compare the transform sets, proxy identities and lifetimes on the sender",
        },
    ),
    FindingKind(
        "retransmission",
        W,
        "diagnosis",
        "IKE messages sent more than once",
        "the peer answers slowly or not at all, or answers are lost on the way back",
        case_field="pattern",  # "answered": every copy got a quick answer; "unanswered"
        case_hints={
            "answered": "the answers came at once, so the peer is not slow: the sender does not accept them "
            "(it cannot decrypt or verify them, or refuses what they carry) or they do not reach it",
        },
    ),
    FindingKind(
        "ip-fragmentation",
        W,
        "diagnosis",
        "a large IKE message needs IP fragments and goes unanswered",
        "fragments are dropped on the path: enable IKE fragmentation (crypto isakmp fragmentation) or "
        "lower the MTU / certificate chain size",
    ),
    FindingKind(
        "ikev2-addke-unsupported",
        E,
        "diagnosis",
        "every IKEv2 proposal requires additional key exchanges (RFC 9370) that the responder does not do",
        "configure the same ADDKE methods (e.g. ke1_mlkem768) on the responder, or make them optional "
        "(ke1_none) on the initiator; the responder needs IKE_INTERMEDIATE (RFC 9242)",
    ),
    FindingKind(
        "ikev2-addke-declined",
        I,
        "diagnosis",
        "the responder chose a proposal without the optional additional key exchanges offered",
        "the IKE SA has no post-quantum key exchange: configure the ADDKE methods on the responder too",
    ),
    FindingKind(
        "ikev2-init-fragments-lost",
        W,
        "diagnosis",
        "an IKE_SA_INIT request with a large (ML-KEM) key share travels in IP fragments, never answered",
        "IKE fragmentation (RFC 7383) cannot cover IKE_SA_INIT: keep a classic group there and move ML-KEM "
        "to an additional key exchange (RFC 9370 IKE_INTERMEDIATE), or let IP fragments through the path",
    ),
    # -- security ----------------------------------------------------------------------------------
    FindingKind(
        "aggressive-mode-psk",
        W,
        "diagnosis",
        "aggressive mode with a pre-shared key: HASH_R can be attacked offline",
        "disable aggressive mode (crypto isakmp aggressive-mode disable) or use a long random PSK / "
        "certificates",
    ),
    FindingKind(
        "psk-verified",
        I,
        "diagnosis",
        "an aggressive-mode HASH_R verifies with a PSK given",
        "",
    ),
    FindingKind(
        "weak-crypto",
        W,
        "diagnosis",
        "DES, MD5, DH groups 1/2/5 or ESP without encryption in use",
        "move to AES, SHA-2 and DH group 14 or higher in the ISAKMP policy and the transform set",
    ),
    FindingKind(
        "no-pfs",
        I,
        "diagnosis",
        "quick modes without perfect forward secrecy",
        "add 'set pfs group14' (or higher) to the crypto map on both peers",
    ),
    FindingKind(
        "diagnosis-error",
        W,
        "diagnosis",
        "a diagnosis check failed on this capture; the other checks ran",
        "a bug in ikedecode: please report it with the capture if you can share it",
    ),
    # -- PSK recovery ------------------------------------------------------------------------------
    FindingKind(
        "psk-cracked",
        W,
        "crack",
        "the aggressive-mode PSK is in the word list",
        "the pre-shared key is guessable: replace it with a long random one and disable aggressive mode",
    ),
    FindingKind(
        "psk-not-cracked",
        I,
        "crack",
        "no word-list candidate verifies the aggressive-mode HASH_R (or the IKEv2 AUTH)",
        "",
    ),
    FindingKind(
        "ikev2-psk-cracked",
        W,
        "crack",
        "the PSK behind an IKEv2 AUTH payload is in the word list",
        "the pre-shared key is guessable by anyone who learns one side's DH secret or session keys "
        "(a debug log, a memory dump): replace it with a long random one, or use certificates",
    ),
    FindingKind(
        "ikev2-psk-not-attackable",
        I,
        "crack",
        "an IKEv2 SA's IKE_AUTH could not be opened, so its PSK cannot be tested against a word list",
        "",
    ),
)

CATALOG: dict[str, FindingKind] = {kind.code: kind for kind in _KINDS}


def finding(
    code: str, message: str, evidence: dict[str, Any], *, severity: Severity | None = None
) -> Finding:
    """A Finding of a catalogued code, with the catalogue's severity and hint.

    ``severity`` lowers the catalogue's, only to the one the entry names (``lowered_to``).
    """
    kind = CATALOG[code]
    if severity is None:
        severity = kind.severity
    elif severity is not kind.severity and severity is not kind.lowered_to:
        raise ValueError(f"{code} is {kind.severity.value}: no check reports it as {severity.value}")
    # positional, and hint_for only for a code with per-case hints: this runs for every finding
    return Finding(
        severity, code, message, evidence, kind.hint_for(evidence) if kind.case_field else kind.hint
    )
