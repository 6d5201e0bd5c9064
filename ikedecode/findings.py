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
    code: str
    severity: Severity  # the usual severity; a check may lower it (e.g. a capture that ends too early)
    producer: str  # "capture", "engine", "pipeline", "diagnosis", "crack"
    meaning: str  # one line for docs and --help
    hint: str  # what to check, in configuration terms


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741 - reads like the table below

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
        "an IKE datagram whose header or payload chain is broken",
        "a broken or non-IKE packet on an IKE port",
    ),
    FindingKind(
        "state-cap",
        W,
        "engine",
        "more IKE SAs than --max-ike-sas; the oldest was dropped",
        "raise --max-ike-sas",
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
        "wrong-keys",
        E,
        "engine",
        "encrypted messages do not decrypt with any key candidate",
        "check that --dh-secret/--dh-private belong to this SA and that the PSK is the one configured",
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
        "a bug in ikedecode: please report it, with the frame if you can share it",
    ),
    FindingKind(
        "ipsec-sa-unkeyed",
        W,
        "pipeline",
        "a quick mode's SA cannot be keyed (unknown transform)",
        "the transform is not one ikedecode can decrypt; give its keys in a key file",
    ),
    # -- phase 1 -----------------------------------------------------------------------------------
    FindingKind(
        "no-response",
        E,
        "diagnosis",
        "a message was sent (and retransmitted) and never answered",
        "UDP 500/4500 blocked on the path, or the peer has no crypto map / connection for this address",
    ),
    FindingKind(
        "p1-proposal-mismatch",
        E,
        "diagnosis",
        "the responder refused every ISAKMP proposal, or chose one that was not offered",
        "make one ISAKMP policy identical on both peers: encryption, hash, authentication, DH group",
    ),
    FindingKind(
        "psk-mismatch",
        E,
        "engine+diagnosis",
        "the peers use different pre-shared keys",
        "configure the same pre-shared key for this peer on both ends (crypto isakmp key ... address ...)",
    ),
    FindingKind(
        "error-notify",
        E,
        "diagnosis",
        "a peer sent an error notification no other finding explains",
        "read the notify type; the sending peer's log says why it refused",
    ),
    # -- phase 2 -----------------------------------------------------------------------------------
    FindingKind(
        "p2-proposal-mismatch",
        E,
        "diagnosis",
        "the responder refused the quick mode's IPsec proposals",
        "make the transform sets match (ESP cipher, key length, integrity, mode) and the PFS setting",
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
        "the proxy identities (crypto ACLs / traffic selectors) of the peers do not mirror each other",
        "the crypto ACL of one peer must be the mirror image of the other's (permit local remote <-> "
        "permit remote local)",
    ),
    FindingKind(
        "pfs-mismatch",
        E,
        "diagnosis",
        "PFS requested on one side only, or with different DH groups",
        "configure the same PFS group on both peers (set pfs groupN in the crypto map) or none on both",
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
        "the silent peer has no SA or route for the traffic, or ESP / UDP 4500 is blocked on its way",
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
        "ESP packets whose integrity check value does not verify",
        "all failing: wrong ESP keys for this SPI; some failing: corruption on the path",
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
    ),
    FindingKind(
        "sa-deleted",
        I,
        "diagnosis",
        "delete notifications: which SA, who sent it, when",
        "a delete right after setup points to a policy the sender refused after the fact",
    ),
    FindingKind(
        "retransmission",
        W,
        "diagnosis",
        "IKE messages sent more than once",
        "the peer answers slowly or not at all, or answers are lost on the way back",
    ),
    FindingKind(
        "ip-fragmentation",
        W,
        "diagnosis",
        "a large IKE message needs IP fragments and goes unanswered",
        "fragments are dropped on the path: enable IKE fragmentation (crypto isakmp fragmentation) or "
        "lower the MTU / certificate chain size",
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
        "no word-list candidate verifies the aggressive-mode HASH_R",
        "",
    ),
)

CATALOG: dict[str, FindingKind] = {kind.code: kind for kind in _KINDS}


def finding(
    code: str,
    message: str,
    evidence: dict[str, Any],
    *,
    severity: Severity | None = None,
    hint: str | None = None,
) -> Finding:
    """A Finding of a catalogued code, with the catalogue's severity and hint unless given."""
    kind = CATALOG[code]
    return Finding(
        severity or kind.severity,
        code,
        message,
        evidence=evidence,
        hint=kind.hint if hint is None else hint,
    )
