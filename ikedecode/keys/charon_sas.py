"""What a charon log tells about each IKE SA and CHILD_SA (``charon_log.py`` fills these records
line by line), and the ``KeyRing`` made from them: which quick-mode keys protect which SPI
follows from the SPI inside each KEYMAT seed (RFC 2409 section 5.5, docs/keys.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ikedecode.esp.algorithms import UnknownAlgorithm
from ikedecode.esp.sa import InvalidSa, IpsecSa
from ikedecode.keys.charon_names import (
    IKEV2_LABELS,
    IPSEC_PROTOCOL_IDS,
    STRONGSWAN_ENCRYPTION,
    STRONGSWAN_INTEGRITY,
)
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import DhSecret, Ikev2KeyMaterial, KeyRing, Phase1KeyMaterial, PresharedKey

ZERO_COOKIE = bytes(8)


@dataclass(slots=True, eq=False)
class LoggedIkeSa:
    """One IKE SA as the log tells it: cookies/SPIs, version, and the keys dumped for it."""

    label: str  # "lab[1]" / "IKE SA of log line 163" for messages
    line: int = 0  # where its first key was dumped
    version: int | None = None
    initiator_spi: bytes | None = None
    responder_spi: bytes | None = None
    keys: dict[str, bytes] = field(default_factory=dict)
    proposal: str | None = None  # "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
    stages: list[LoggedDerivation] = field(default_factory=list)  # IKEv2: SKEYSEED/SK_* blocks, in order
    # IKEv2: the shared keys its AUTH payloads were computed with (keymat_v2.c: "secret"), by log line
    psks: list[tuple[int, bytes]] = field(default_factory=list)

    def learn_spis(self, version: int, initiator: bytes, responder: bytes) -> None:
        self.version = version
        self.initiator_spi = initiator
        if responder != ZERO_COOKIE:
            self.responder_spi = responder


@dataclass(slots=True, eq=False)
class LoggedDerivation:
    """One IKEv2 key derivation (``SKEYSEED``, ``Sk_* secret`` dumps of one thread, RFC 7296 2.14).

    It belongs to the IKE SA the thread checks in next (``checkin IKEv2 SA name[N] with SPIs``), not
    always to the SA of its ``<name|N>`` prefix: the peer that starts an IKE SA rekey logs the new
    SA's keys under the old SA's prefix (RFC 7296 2.18). Several derivations for one SA are its key
    stages in order (RFC 9370 additional key exchanges re-derive SK_* after each IKE_INTERMEDIATE).
    """

    prefix_sa: LoggedIkeSa  # the SA of the dumps' <name|N> prefix (or of the thread)
    line: int
    proposal: str | None = None  # the IKE proposal the thread selected last (a rekey's, for a rekey)
    keys: dict[str, bytes] = field(default_factory=dict)
    owner: LoggedIkeSa | None = None  # set by the check-in that follows


@dataclass(slots=True)
class LoggedInstall:
    """One "adding inbound|outbound ESP|AH SA" of a CHILD_SA, with the SPI and addresses that follow."""

    direction: str  # inbound / outbound
    protocol: str  # esp / ah
    spi: int | None = None
    src: str | None = None
    dst: str | None = None


@dataclass(slots=True, eq=False)
class LoggedChild:
    """One CHILD_SA's keys: both directions' KEYMAT, the SPIs and where they were installed."""

    sa: LoggedIkeSa
    line: int
    message_id: int | None = None
    we_initiated: bool | None = None  # IKEv2 only: whether this daemon initiated the exchange
    encryption: str | None = None
    integrity: str | None = None
    pfs: bytes | None = None
    seeds: dict[str, bytes] = field(default_factory=dict)  # role -> seed
    keys: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (encryption|integrity, role) -> key
    installs: list[LoggedInstall] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        directions = {i.direction for i in self.installs if i.spi is not None}
        return {"inbound", "outbound"} <= directions


@dataclass(slots=True)
class LoggedKeys:
    """Everything a charon log holds, as parsed; ``keyring()`` matches the keys to their SAs."""

    source: str  # the log's name, for origins and errors
    sas: list[LoggedIkeSa]
    children: list[LoggedChild]
    sad_algorithms: dict[int, dict[str, str]]  # SPI -> {encryption|integrity: name} (kernel-libipsec)
    dumps: int  # key dumps read

    def keyring(self) -> KeyRing:
        if not self.dumps:
            raise KeyFileError(
                "no key material in this strongSwan log (charon logs keys at 'ike = 4' and 'chd = 4')",
                self.source,
            )
        ring = KeyRing()
        for sa in self.sas:
            self._ike_keys(sa, ring)
        for child in self.children:
            ring.ipsec_sas.extend(self._child_sas(child))
            if child.pfs is not None and child.message_id is not None:
                # the quick mode's own g^xy; its message ID scopes it even when the cookies are unknown
                ring.dh_secrets.append(
                    DhSecret(
                        child.pfs,
                        self._origin(child.line, child.sa, f"quick mode 0x{child.message_id:08x} DH secret"),
                        child.sa.initiator_spi,
                        child.message_id,
                    )
                )
        return ring

    def _origin(self, line: int, sa: LoggedIkeSa, what: str = "") -> str:
        return f"{self.source} line {line} ({sa.label}{', ' + what if what else ''})"

    def _ikev2_keys(self, sa: LoggedIkeSa, ring: KeyRing) -> None:
        """Each key stage of an IKEv2 SA whose SPIs the log names (mgr 2 check-in lines), the g^ir
        each stage was derived from (scoped by the SA's initiator SPI) and its AUTH shared keys."""
        for line, secret in sa.psks:
            if all(secret != known.secret for known in ring.psks):
                ring.psks.append(PresharedKey(secret, self._origin(line, sa, "AUTH shared key")))
        if sa.initiator_spi is None:
            return
        if "dh_secret" in sa.keys:  # dumped before the log said the SA was IKEv2
            ring.dh_secrets.append(
                DhSecret(sa.keys["dh_secret"], self._origin(sa.line, sa, "DH secret"), sa.initiator_spi)
            )
        for stage, derivation in enumerate(sa.stages):
            keys = derivation.keys
            # an IKE SA rekey selects the new SA's proposal under the old SA, in the deriving thread
            encryption, integrity = _ikev2_algorithms(
                derivation.proposal or sa.proposal or derivation.prefix_sa.proposal
            )
            what = f"key stage {stage + 1}" if len(sa.stages) > 1 else ""
            if derivation.prefix_sa is not sa:
                what = _join(what, f"logged under {derivation.prefix_sa.label}")
            if "dh_secret" in keys:
                where = self._origin(derivation.line, sa, _join(what, "DH secret"))
                ring.dh_secrets.append(DhSecret(keys["dh_secret"], where, sa.initiator_spi))
            if sa.responder_spi is None or not any(k in keys for k in IKEV2_LABELS.values()):
                continue  # a DH secret alone: nothing was derived from it
            ring.ikev2_keys.append(
                Ikev2KeyMaterial(
                    sa.initiator_spi,
                    sa.responder_spi,
                    self._origin(derivation.line, sa, what),
                    encryption=encryption,
                    integrity=integrity,
                    sk_ei=keys.get("sk_ei", b""),
                    sk_er=keys.get("sk_er", b""),
                    sk_ai=keys.get("sk_ai", b""),
                    sk_ar=keys.get("sk_ar", b""),
                    sk_d=keys.get("sk_d"),
                    sk_pi=keys.get("sk_pi"),
                    sk_pr=keys.get("sk_pr"),
                    stage=stage,
                )
            )

    def _ike_keys(self, sa: LoggedIkeSa, ring: KeyRing) -> None:
        if sa.stages or sa.version == 2:
            self._ikev2_keys(sa, ring)
            return
        if not sa.keys:
            return
        origin = self._origin(sa.line, sa)
        if sa.initiator_spi is None:
            # no cookies: g^xy still works for every SA when the user also gives the PSK
            if "dh_secret" in sa.keys:
                ring.dh_secrets.append(DhSecret(sa.keys["dh_secret"], origin))
            return
        fields = {k: sa.keys.get(k) for k in ("skeyid", "skeyid_d", "skeyid_a", "skeyid_e", "encryption_key")}
        ring.phase1_keys.append(
            Phase1KeyMaterial(
                sa.initiator_spi, origin, sa.responder_spi, dh_secret=sa.keys.get("dh_secret"), **fields
            )
        )

    def _child_sas(self, child: LoggedChild) -> list[IpsecSa]:
        """Both directions of a CHILD_SA: which keys belong to which SPI (module docstring)."""
        if not child.keys:
            return []
        by_spi = {i.spi: i for i in child.installs if i.spi is not None}
        roles: dict[str, LoggedInstall] = {}
        for role, seed in child.seeds.items():
            spi, protocol = _seed_spi(seed, child.pfs)
            if spi is None:
                continue
            install = by_spi.get(spi) or LoggedInstall("", protocol or "esp", spi)
            if protocol is not None:
                install.protocol = protocol
            roles[role] = install
        if not roles and child.we_initiated is not None:  # IKEv2: no seeds are logged
            outbound = next((i for i in child.installs if i.direction == "outbound"), None)
            inbound = next((i for i in child.installs if i.direction == "inbound"), None)
            mine, theirs = ("initiator", "responder") if child.we_initiated else ("responder", "initiator")
            if outbound is not None:
                roles[mine] = outbound
            if inbound is not None:
                roles[theirs] = inbound
        sas = []
        for role, install in roles.items():
            encryption_key = child.keys.get(("encryption", role), b"")
            integrity_key = child.keys.get(("integrity", role), b"")
            if not (encryption_key or integrity_key):
                continue
            logged = self.sad_algorithms.get(install.spi, {}) if install.spi is not None else {}
            encryption = child.encryption or logged.get("encryption")
            integrity = child.integrity or logged.get("integrity") or "null"
            what = _child_name(child)
            if encryption is None and install.protocol == "esp":
                raise KeyFileError(
                    f"{what}: keys without the encryption algorithm (no 'using ... for encryption' line)",
                    self.source,
                    child.line,
                )
            try:
                sas.append(
                    IpsecSa(
                        install.protocol,  # type: ignore[arg-type]
                        install.spi,
                        install.src,
                        install.dst,
                        encryption=encryption or "null",
                        encryption_key=encryption_key,
                        integrity=integrity,
                        integrity_key=integrity_key,
                        origin=self._origin(child.line, child.sa, f"{what} {role} keys"),
                    )
                )
            except (UnknownAlgorithm, InvalidSa) as exc:
                raise KeyFileError(f"{what} {role} keys: {exc}", self.source, child.line) from None
        return sas


def _join(a: str, b: str) -> str:
    return f"{a}, {b}" if a else b


def _child_name(child: LoggedChild) -> str:
    if child.sa.version == 2:
        return "CHILD_SA" + (f" of message {child.message_id}" if child.message_id is not None else "")
    return f"quick mode 0x{child.message_id:08x}" if child.message_id is not None else "quick mode"


def _seed_spi(seed: bytes, pfs: bytes | None) -> tuple[int | None, str | None]:
    """The SPI and protocol inside a KEYMAT seed ``[g(qm)^xy |] protocol | SPI | Ni_b | Nr_b``."""
    offset = len(pfs) if pfs is not None and seed.startswith(pfs) else 0
    if len(seed) < offset + 5:
        return None, None
    return int.from_bytes(seed[offset + 1 : offset + 5], "big"), IPSEC_PROTOCOL_IDS.get(seed[offset])


def _ikev2_algorithms(proposal: str | None) -> tuple[str | None, str | None]:
    """Encryption and integrity of ``AES_CBC_256/HMAC_SHA2_256_128/PRF_...`` (IKEv2 SA only)."""
    if not proposal:
        return None, None
    tokens = proposal.split("/")
    encryption = None
    name = re.sub(r"_(128|192|256)$", "", tokens[0])
    encryption = STRONGSWAN_ENCRYPTION.get(name)
    integrity = next((STRONGSWAN_INTEGRITY[t] for t in tokens[1:] if t in STRONGSWAN_INTEGRITY), None)
    if integrity is None and encryption is not None:
        integrity = "null"
    return encryption, integrity
