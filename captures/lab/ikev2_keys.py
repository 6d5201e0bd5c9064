#!/usr/bin/env python3
"""IKEv2 key material from a strongSwan charon log (lab tooling; not part of the ikedecode package).

    from ikev2_keys import parse_charon_log
    for ike in parse_charon_log("keys/ikev2-psk-aes-cbc-sha256.west.log.gz"):
        ike.spi_i, ike.spi_r, ike.skeyseed, ike.sk_d, ike.sk_ei, ..., ike.children

    python3 captures/lab/ikev2_keys.py show keys/NAME.west.log.gz          # summary (secrets in hex)
    python3 captures/lab/ikev2_keys.py toml --name NAME --pcap captures/NAME.pcap \
        --west-log keys/NAME.west.log.gz --east-log keys/NAME.east.log.gz --psk S --psk-peer ID \
        --out keys/NAME.toml

Pure Python, standard library only (gzip, re, struct, dataclasses; a minimal pcap reader counts ESP
packets).  What it reads
(strongSwan 5.9.8 wording, log levels ike 4, chd 4, mgr 2, enc 1+):

* IKE SA keys (keymat_v2.c, group IKE): ``shared Diffie Hellman secret``, ``SKEYSEED``, ``Sk_d secret``,
  ``Sk_ai secret``, ``Sk_ar secret``, ``Sk_ei secret``, ``Sk_er secret``, ``Sk_pi secret``,
  ``Sk_pr secret``, each ``<label> => <n> bytes @ <addr>`` followed by hex dump rows.
* Which IKE SA a derivation belongs to: the first ``checkin IKEv2 SA <conn>[M] with SPIs <i>_i <r>_r``
  line of the same thread after it.  (The peer that starts an IKE SA rekey derives the new SA's keys
  under the *old* SA's ``<conn|N>`` prefix, and checks in the new ``<conn>[M]`` right after; the SPIs
  of SA M are those of its last check-in with a non-zero responder SPI.)
* Child SA keys (group CHD): ``DH secret`` (PFS, CREATE_CHILD_SA only), ``seed`` (= [g^ir(new)] | Ni | Nr),
  ``encryption|integrity initiator|responder key``; then ``adding inbound|outbound ESP SA`` +
  ``SPI 0x..., src A dst B``, and ``adding SAD entry with SPI X`` + ``using encryption|integrity
  algorithm ALG with key size N`` (libipsec).  RFC 7296 section 2.17: the "initiator" keys protect
  traffic from the initiator *of the exchange that made the child* (IKE_AUTH or CREATE_CHILD_SA) to its
  responder; this side's role is taken from the last ``parsed <EXCHANGE> request|response`` line of the
  thread (keys derived after parsing a response = initiator).
"""

from __future__ import annotations

import argparse
import gzip
import re
import socket
import struct
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

LINE = re.compile(
    r"^\S+ \S+ (?P<thread>\d+)\[(?P<group>\w+)\] (?:<(?:(?P<conn>[^|>]+)\|)?(?P<ike>\d+)> )?(?P<text>.*)$"
)
DUMP_HEADER = re.compile(r"^(?P<label>[A-Za-z_ ()0-9]+?) => (?P<length>\d+) bytes @ (?:0x[0-9a-f]+|\(nil\))$")
DUMP_ROW = re.compile(r"^\s*(?P<offset>\d+): (?P<hex>(?:[0-9A-F]{2} )+)")
CHECKIN = re.compile(
    r"checkin(?: and destroy)? IKEv2 SA \S+\[(?P<ike>\d+)\] with SPIs "
    r"(?P<i>[0-9a-f]{16})_i (?P<r>[0-9a-f]{16})_r"
)
MESSAGE = re.compile(
    r"^(?P<verb>generating|parsed) (?P<exchange>[A-Z_]+) (?P<kind>request|response) (?P<mid>\d+) "
)
PROPOSAL = re.compile(r"^selected proposal: (?P<proposal>(?:IKE|ESP|AH):\S+)")
ADDING_SA = re.compile(r"^adding (?P<dir>inbound|outbound) ESP SA")
SA_ADDRS = re.compile(r"^\s+SPI 0x(?P<spi>[0-9a-f]{8}), src (?P<src>\S+) dst (?P<dst>\S+)$")
SAD_ENTRY = re.compile(r"^adding SAD entry with SPI (?P<spi>[0-9a-f]{8}) ")
SAD_ALGORITHM = re.compile(
    r"using (?P<kind>encryption|integrity) algorithm (?P<alg>\S+) with key size (?P<bits>\d+)"
)

IKE_LABELS = {
    "shared Diffie Hellman secret": "dh_secret",  # strongSwan 5.x
    "key exchange secret": "dh_secret",  # strongSwan 6: the first key exchange of this derivation
    "additional key exchange secret": "add_secret",  # strongSwan 6: SK(1) | ... | SK(n) of a rekey
    "derive keys using PPK": "ppk",  # strongSwan 6: RFC 8784 PPK, then Sk_d, Sk_pi, Sk_pr again
    "SKEYSEED": "skeyseed",
    "Sk_d secret": "sk_d",
    "Sk_ai secret": "sk_ai",
    "Sk_ar secret": "sk_ar",
    "Sk_ei secret": "sk_ei",
    "Sk_er secret": "sk_er",
    "Sk_pi secret": "sk_pi",
    "Sk_pr secret": "sk_pr",
}
SK_NAMES = ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")
STAGE_STARTERS = ("dh_secret", "ppk")  # the first value charon logs in each key derivation
CHILD_LABELS = {
    "DH secret": "dh_secret",  # strongSwan 5.x
    "key exchange secret": "dh_secret",  # strongSwan 6
    "additional key exchange secret": "add_secret",  # strongSwan 6: SK(1) | ... (IKE_FOLLOWUP_KE)
    "seed": "seed",
    "encryption initiator key": "encryption_i",
    "encryption responder key": "encryption_r",
    "integrity initiator key": "integrity_i",
    "integrity responder key": "integrity_r",
}
# libipsec algorithm names -> the key file's names (docs/keys.md)
ENCRYPTION_NAMES = {
    "AES_CBC": "aes-cbc",
    "AES_CTR": "aes-ctr",
    "AES_GCM_8": "aes-gcm-8",
    "AES_GCM_12": "aes-gcm-12",
    "AES_GCM_16": "aes-gcm-16",
    "CHACHA20_POLY1305": "chacha20-poly1305",
    "3DES_CBC": "3des-cbc",
    "NULL": "null",
}
INTEGRITY_NAMES = {
    "HMAC_SHA1_96": "hmac-sha1-96",
    "HMAC_SHA2_256_128": "hmac-sha2-256-128",
    "HMAC_SHA2_384_192": "hmac-sha2-384-192",
    "HMAC_SHA2_512_256": "hmac-sha2-512-256",
    "HMAC_MD5_96": "hmac-md5-96",
    "AES_XCBC_96": "aes-xcbc-mac-96",
    "UNDEFINED": "null",
}


@dataclass
class EspSa:
    """One direction of a child SA: the SPI its receiver chose, outer addresses, keys, algorithms."""

    spi: str
    src: str
    dst: str
    encryption: str
    encryption_key: bytes
    integrity: str
    integrity_key: bytes


@dataclass
class ChildSa:
    ike_number: int
    exchange: str = ""  # IKE_AUTH or CREATE_CHILD_SA
    message_id: int | None = None
    role: str = ""  # this log's side in that exchange: initiator | responder
    keys: dict[str, bytes] = field(default_factory=dict)  # dh_secret, seed, encryption_i, ...
    spi_in: str = ""
    spi_out: str = ""
    addresses: dict[str, tuple[str, str]] = field(default_factory=dict)  # spi -> (src, dst)
    proposal: str = ""

    @property
    def dh_secret(self) -> bytes | None:
        return self.keys.get("dh_secret")

    @property
    def add_secret(self) -> bytes:
        """SK(1) | ... | SK(n) of the IKE_FOLLOWUP_KE exchanges that made this child (RFC 9370)."""
        return self.keys.get("add_secret", b"")

    def esp_sas(self, algorithms: dict[str, dict[str, str]]) -> list[EspSa]:
        """Both directions; the exchange initiator's keys go with the SA towards its responder."""
        out = []
        for spi, outbound in ((self.spi_out, True), (self.spi_in, False)):
            if not spi:
                continue
            initiator_to_responder = outbound == (self.role == "initiator")
            suffix = "i" if initiator_to_responder else "r"
            src, dst = self.addresses.get(spi, ("", ""))
            alg = algorithms.get(spi, {})
            out.append(
                EspSa(
                    spi,
                    src,
                    dst,
                    ENCRYPTION_NAMES.get(alg.get("encryption", ""), alg.get("encryption", "").lower()),
                    self.keys.get("encryption_" + suffix, b""),
                    INTEGRITY_NAMES.get(alg.get("integrity", "UNDEFINED"), alg.get("integrity", "").lower()),
                    self.keys.get("integrity_" + suffix, b""),
                )
            )
        return out


@dataclass
class IkeSa:
    """One IKE SA.  ``keys`` are the keys in force after the last key stage (what protects IKE_AUTH
    and everything after it, PPK applied); ``stages`` are the logged values of each derivation in order:
    the first from IKE_SA_INIT (or the CREATE_CHILD_SA that rekeyed the SA), then one per
    IKE_INTERMEDIATE additional key exchange (RFC 9370: its ``dh_secret`` is SK(n)), then, with an
    RFC 8784 PPK, ``{"ppk", "sk_d", "sk_pi", "sk_pr"}``."""

    number: int  # charon's unique IKE SA number (<conn|N>)
    spi_i: str = ""
    spi_r: str = ""
    keys: dict[str, bytes] = field(default_factory=dict)  # dh_secret, skeyseed, sk_d, ...
    proposal: str = ""
    derived_under: int = (
        0  # the <conn|N> prefix the keys were logged under (the old SA for a rekey initiator)
    )
    exchange: str = (
        ""  # the exchange whose message this log's thread handled last: IKE_SA_INIT or CREATE_CHILD_SA
    )
    old_sa: int | None = None  # the <conn|N> of that message (the old IKE SA for a rekey)
    children: list[ChildSa] = field(default_factory=list)
    stages: list[dict[str, bytes]] = field(default_factory=list)

    @property
    def key_stages(self) -> list[dict[str, bytes]]:
        """The full key sets (SKEYSEED and SK_*) in order, without the PPK step."""
        stages = self.stages or [self.keys]
        return [stage for stage in stages if "ppk" not in stage]

    @property
    def ppk_stage(self) -> dict[str, bytes]:
        return next((stage for stage in self.stages if "ppk" in stage), {})

    @property
    def additional_ke_count(self) -> int:
        """ADDKE transforms in the selected proposal (strongSwan writes them KE1_..., KE2_...)."""
        return sum(1 for part in self.proposal.split("/") if re.fullmatch(r"KE[1-7]_\S+", part))

    @property
    def expected_stages(self) -> int:
        """1 + the ADDKE count for an SA made by IKE_SA_INIT (one IKE_INTERMEDIATE per additional key
        exchange); 1 for one made by a rekey (RFC 9370 section 2.2.2: every secret in one SKEYSEED)."""
        return 1 if self.made_by_rekey else 1 + self.additional_ke_count

    @property
    def made_by_rekey(self) -> bool:
        """Known from this log: keys derived under another SA's prefix, or with IKE_FOLLOWUP_KE secrets."""
        return self.rekeyed_from is not None or bool(self.key_stages[0].get("add_secret"))

    @property
    def additional_secrets(self) -> list[bytes]:
        """SK(1) ... SK(n) of RFC 9370 in order: from the IKE_INTERMEDIATE stages, or split from the
        concatenation a rekey with IKE_FOLLOWUP_KE logs as ``additional key exchange secret``."""
        stages = self.key_stages
        if len(stages) > 1:
            return [stage.get("dh_secret", b"") for stage in stages[1:]]
        joined, count = stages[0].get("add_secret", b""), self.additional_ke_count
        if not joined or not count or len(joined) % count:
            return [joined] if joined else []
        size = len(joined) // count
        return [joined[i : i + size] for i in range(0, len(joined), size)]

    # the logged values (b"" when the log has none)
    @property
    def dh_secret(self) -> bytes:
        """g^ir of the IKE_SA_INIT (or rekey) key exchange, the first stage's."""
        return self.key_stages[0].get("dh_secret", b"")

    @property
    def skeyseed(self) -> bytes:
        return self.keys.get("skeyseed", b"")

    @property
    def sk_d(self) -> bytes:
        return self.keys.get("sk_d", b"")

    @property
    def sk_ai(self) -> bytes:
        return self.keys.get("sk_ai", b"")

    @property
    def sk_ar(self) -> bytes:
        return self.keys.get("sk_ar", b"")

    @property
    def sk_ei(self) -> bytes:
        return self.keys.get("sk_ei", b"")

    @property
    def sk_er(self) -> bytes:
        return self.keys.get("sk_er", b"")

    @property
    def sk_pi(self) -> bytes:
        return self.keys.get("sk_pi", b"")

    @property
    def sk_pr(self) -> bytes:
        return self.keys.get("sk_pr", b"")

    @property
    def aead(self) -> bool:
        """AES-GCM/CCM or ChaCha20-Poly1305: no SK_ai/SK_ar (RFC 5282 section 7, RFC 7634 section 4)."""
        return any(name in self.proposal for name in ("_GCM_", "_CCM_", "CHACHA20_POLY1305"))

    @property
    def rekeyed_from(self) -> int | None:
        """The charon number of the IKE SA whose CREATE_CHILD_SA made this one (None: IKE_SA_INIT)."""
        return self.old_sa if self.exchange in ("CREATE_CHILD_SA", "IKE_FOLLOWUP_KE") else None


@dataclass
class CharonLog:
    ike_sas: list[IkeSa]
    algorithms: dict[str, dict[str, str]]  # ESP SPI -> {encryption, integrity, *_bits}

    def by_spis(self) -> dict[tuple[str, str], IkeSa]:
        return {(sa.spi_i, sa.spi_r): sa for sa in self.ike_sas}

    def esp_sas(self) -> list[EspSa]:
        return [sa for ike in self.ike_sas for child in ike.children for sa in child.esp_sas(self.algorithms)]


def read_lines(path: str | Path) -> list[str]:
    path = Path(path)
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(path, "rt", errors="replace") as handle:
        return handle.read().splitlines()


def parse_charon_log(path: str | Path) -> CharonLog:
    """Every IKE SA with keys in the log (in the order their keys were derived)."""
    return parse_lines(read_lines(path))


def parse_lines(lines: list[str]) -> CharonLog:
    derived: list[IkeSa] = []
    spis: dict[int, tuple[str, str]] = {}
    algorithms: dict[str, dict[str, str]] = {}
    open_dumps: dict[str, tuple[str, str, int | None, int, bytearray]] = {}
    pending_ike: dict[str, IkeSa] = {}  # thread -> derivation waiting for its check-in
    pending_child: dict[str, ChildSa] = {}
    children: list[ChildSa] = []
    # thread -> (verb, exchange, kind, message ID, <conn|N> of the line)
    last_message: dict[str, tuple[str, str, str, int, int | None]] = {}
    last_proposal: dict[str, str] = {}
    ike_proposal: dict[int, str] = {}  # <conn|N> -> the last IKE proposal selected under it
    pending_direction: dict[str, str] = {}
    last_sad: dict[str, str] = {}

    def finish_dump(thread: str) -> None:
        group, label, ike_number, length, data = open_dumps.pop(thread)
        if len(data) != length or ike_number is None:
            return
        if group == "IKE" and label in IKE_LABELS:
            name = IKE_LABELS[label]
            ike = pending_ike.get(thread)
            if ike is None or name in ike.keys or name in STAGE_STARTERS:
                ike = IkeSa(ike_number, derived_under=ike_number)
                _verb, ike.exchange, _kind, _mid, ike.old_sa = last_message.get(
                    thread, ("", "", "", -1, None)
                )
                thread_proposal = last_proposal.get(thread, "")
                ike.proposal = (
                    ike_proposal.get(ike_number)
                    or (thread_proposal if thread_proposal.startswith("IKE:") else "")
                    or ike_proposal.get(-1, "")  # an IKE SA rekey selects its proposal under the old SA
                )
                pending_ike[thread] = ike
                derived.append(ike)
            ike.keys[name] = bytes(data)
        elif group == "CHD" and label in CHILD_LABELS:
            name = CHILD_LABELS[label]
            child = pending_child.get(thread)
            if child is None or name in child.keys or (name == "dh_secret" and child.keys):
                child = ChildSa(ike_number)
                verb, exchange, kind, mid, _number = last_message.get(thread, ("", "", "", -1, None))
                child.exchange, child.message_id = exchange, mid
                child.role = "initiator" if (verb, kind) == ("parsed", "response") else "responder"
                child.proposal = last_proposal.get(thread, "")
                pending_child[thread] = child
                children.append(child)
            child.keys[name] = bytes(data)

    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        thread, group, text = match["thread"], match["group"], match["text"]
        ike_number = int(match["ike"]) if match["ike"] else None
        if thread in open_dumps:
            row = DUMP_ROW.match(text)
            if row:
                open_dumps[thread][4].extend(bytes.fromhex(row["hex"]))
                continue
            finish_dump(thread)
        header = DUMP_HEADER.match(text)
        if header:
            if header["label"] in IKE_LABELS or header["label"] in CHILD_LABELS:
                open_dumps[thread] = (group, header["label"], ike_number, int(header["length"]), bytearray())
            continue
        if (message := MESSAGE.match(text)) is not None:
            last_message[thread] = (
                message["verb"],
                message["exchange"],
                message["kind"],
                int(message["mid"]),
                ike_number,
            )
        elif (proposal := PROPOSAL.match(text)) is not None:
            last_proposal[thread] = proposal["proposal"]
            if proposal["proposal"].startswith("IKE:") and ike_number is not None:
                ike_proposal[ike_number] = ike_proposal[-1] = proposal["proposal"]
        elif (checkin := CHECKIN.search(text)) is not None:
            number = int(checkin["ike"])
            if checkin["r"] != "0" * 16 or number not in spis:
                spis[number] = (checkin["i"], checkin["r"])
            if thread in pending_ike:
                pending_ike.pop(thread).number = number
            pending_child.pop(thread, None)
        elif (adding := ADDING_SA.match(text)) is not None:
            pending_direction[thread] = adding["dir"]
        elif (addrs := SA_ADDRS.match(text)) is not None and thread in pending_direction:
            direction = pending_direction.pop(thread)
            child = pending_child.get(thread)
            if child is None and direction == "outbound":
                # a CREATE_CHILD_SA responder installs its outbound SA later (when the old one goes)
                child = next(
                    (
                        c
                        for c in reversed(children)
                        if c.ike_number == ike_number and c.spi_in and not c.spi_out
                    ),
                    None,
                )
            if child is not None:
                setattr(child, "spi_in" if direction == "inbound" else "spi_out", addrs["spi"])
                child.addresses[addrs["spi"]] = (addrs["src"], addrs["dst"])
        elif (sad := SAD_ENTRY.match(text)) is not None:
            last_sad[thread] = sad["spi"]
        elif (algorithm := SAD_ALGORITHM.search(text)) is not None and thread in last_sad:
            entry = algorithms.setdefault(last_sad[thread], {})
            entry[algorithm["kind"]] = algorithm["alg"]
            entry[algorithm["kind"] + "_bits"] = algorithm["bits"]
    for thread in list(open_dumps):
        finish_dump(thread)
    by_number: dict[int, IkeSa] = {}
    ike_sas: list[IkeSa] = []
    for ike in derived:
        owner = by_number.get(ike.number)
        if owner is not None and ("ppk" in ike.keys or ike.derived_under == ike.number):
            # another key stage of an SA already seen (RFC 9370 IKE_INTERMEDIATE, RFC 8784 PPK), logged
            # under the SA's own <conn|N>; a responder derives each stage lazily, when the next message
            # (IKE_INTERMEDIATE request, IKE_AUTH request) arrives, so the exchange does not tell.  The
            # keys of a rekey's new SA are logged under the old SA's prefix or the new SA's first.
            owner.stages.append(ike.keys)
            owner.keys = {**owner.keys, **ike.keys} if "ppk" in ike.keys else dict(ike.keys)
            continue
        ike.spi_i, ike.spi_r = spis.get(ike.number, ("", ""))
        ike.stages = [ike.keys]
        ike.keys = dict(ike.keys)
        by_number.setdefault(ike.number, ike)
        ike_sas.append(ike)
    for child in children:
        owner = by_number.get(child.ike_number)
        if owner is not None:
            owner.children.append(child)
    return CharonLog(ike_sas, algorithms)


# ---------------------------------------------------------------- key file (docs/keys.md TOML)
def ip_packets(pcap: Path) -> list[tuple[str, str, int, bytes]]:
    """(src, dst, protocol, payload) of every IPv4 packet in a classic pcap (Ethernet or raw IP);
    a minimal reader so that this helper needs nothing outside the standard library."""
    data = Path(pcap).read_bytes()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    offset, out = 24, []
    while offset + 16 <= len(data):
        captured = struct.unpack(endian + "I", data[offset + 8 : offset + 12])[0]
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        ip = frame[14:] if linktype == 1 else frame
        if linktype == 1 and frame[12:14] != b"\x08\x00":
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        header = (ip[0] & 0x0F) * 4
        out.append((socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), ip[9], ip[header:total]))
    return out


def udp_datagrams(pcap: Path) -> list[tuple[str, str, int, int, bytes]]:
    """(src, dst, sport, dport, payload) of every IPv4/UDP packet in a classic pcap."""
    out = []
    for src, dst, protocol, udp in ip_packets(pcap):
        if protocol == 17 and len(udp) >= 8:
            sport, dport, length = struct.unpack("!HHH", udp[:6])
            out.append((src, dst, sport, dport, udp[8:length]))
    return out


def esp_packets(pcap: Path) -> Counter[tuple[str, str, str]]:
    """(src, dst, spi) -> count of ESP packets: RFC 3948 UDP-encapsulated (port 4500, no non-ESP
    marker) and plain IP protocol 50 (strongSwan >= 5.9.11 kernel-libipsec.raw_esp)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for src, dst, protocol, payload in ip_packets(pcap):
        if protocol == 50 and len(payload) >= 8:
            counts[(src, dst, payload[:4].hex())] += 1
        elif protocol == 17 and len(payload) >= 16:
            sport, dport = struct.unpack("!HH", payload[:4])
            esp = payload[8:]
            if 4500 in (sport, dport) and esp[:4] != b"\0\0\0\0":
                counts[(src, dst, esp[:4].hex())] += 1
    return counts


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def compare_logs(west: CharonLog, east: CharonLog) -> list[str]:
    """Differences between the two peers' IKE SA keys (same SPIs); empty when they agree."""
    problems = []
    east_by = east.by_spis()
    for ike in west.ike_sas:
        other = east_by.get((ike.spi_i, ike.spi_r))
        if other is None:
            problems.append(f"IKE SA {ike.spi_i}/{ike.spi_r}: only in west's log")
            continue
        for name, value in ike.keys.items():
            if other.keys.get(name) != value:
                problems.append(f"IKE SA {ike.spi_i}/{ike.spi_r}: {name} differs between west and east")
    return problems


def stage_title(ike: IkeSa, number: int, stage: dict[str, bytes]) -> str:
    if "ppk" in stage:
        return f"RFC 8784 PPK applied to SK_d, SK_pi, SK_pr: ppk = {stage['ppk'].hex()}"
    if number == 0:
        kind = "CREATE_CHILD_SA rekey" if ike.made_by_rekey else "IKE_SA_INIT"
        extra = " + IKE_FOLLOWUP_KE additional secrets" if stage.get("add_secret") else ""
        return f"stage 0 ({kind}{extra}): g^ir = {stage.get('dh_secret', b'').hex()}"
    secret = stage.get("dh_secret", b"").hex()
    return f"stage {number} (IKE_INTERMEDIATE, ADDKE{number}): SK({number}) = {secret}"


def render_toml(
    name: str,
    psks: list[tuple[str, str]],
    logs: dict[str, CharonLog],
    view: str,
    counts: Counter[tuple[str, str, str]],
    ppks: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
) -> str:
    primary = logs.get(view) or next(iter(logs.values()))
    others = [log for side, log in logs.items() if log is not primary]
    driver = "make-ikev2-pq-captures.sh" if name.startswith("ikev2-pq-") else "make-ikev2-captures.sh"
    out = [
        f"# keys/{name}.toml -- made by captures/lab/{driver} from charon's logs",
        f"# (keys/{name}.<west|east>.log.gz; capture captures/{name}.pcap).  What a user would know:",
        "# the PSK(s) and each IKE SA's g^ir, by SPIs",
        "# (IKEv2: initiator_cookie = SPIi, responder_cookie = SPIr).",
        "# The key file format has no fields for IKEv2's SK_* or for CREATE_CHILD_SA PFS secrets; they are",
        "# in comments below (read them with captures/lab/ikev2_keys.py), with each child SA's ESP keys.",
    ]
    if any(ike.additional_secrets or ike.ppk_stage for log in logs.values() for ike in log.ike_sas):
        out += [
            "# Post-quantum IKE SAs: additional_secrets = the RFC 9370 shared secrets SK(1)..SK(n) of the",
            "# additional key exchanges (ML-KEM), in ADDKE order; ppk / ppk_id = the RFC 8784 PPK.",
            "# ikedecode's key-file reader does not read these fields yet (docs/keys.md);",
            "# each key stage is in the comments.",
        ]
    for secret, peer in psks:
        out += ["", "[[psk]]", f"secret = {quote(secret)}", f"peer = {quote(peer)}"]
    seen: set[tuple[str, str, bytes]] = set()
    ike_sas = list(primary.ike_sas) + [ike for log in others for ike in log.ike_sas]
    numbers = {(id(log), ike.number): ike for log in logs.values() for ike in log.ike_sas}
    owner = {id(ike): log for log in logs.values() for ike in log.ike_sas}
    for ike in ike_sas:
        key = (ike.spi_i, ike.spi_r, ike.keys.get("sk_d", b""))
        if key in seen:
            continue
        seen.add(key)
        old = numbers.get((id(owner[id(ike)]), ike.rekeyed_from or -1))
        origin = (
            f"a CREATE_CHILD_SA rekey of IKE SA {old.spi_i}/{old.spi_r}"
            if old
            else "a CREATE_CHILD_SA rekey (with IKE_FOLLOWUP_KE)"
            if ike.made_by_rekey
            else "IKE_SA_INIT"
        )
        out += ["", f"# IKE SA {ike.spi_i}/{ike.spi_r} from {origin}; {ike.proposal}"]
        staged = len(ike.stages) > 1 or bool(ike.additional_secrets)
        for number, stage in enumerate(ike.stages):
            if staged:
                out.append("#  " + stage_title(ike, number, stage))
            for sk in ("add_secret", "skeyseed", *SK_NAMES):
                if sk in stage and (sk != "add_secret" or stage[sk]):
                    out.append(f"#   {sk} = {stage[sk].hex()}")
        out += [
            "[[ike_sa]]",
            f"initiator_cookie = {quote(ike.spi_i)}",
            f"responder_cookie = {quote(ike.spi_r)}",
        ]
        if ike.dh_secret:
            out.append(f"dh_secret = {quote(ike.dh_secret.hex())}")
        if ike.additional_secrets:
            out.append(
                "additional_secrets = ["
                + ", ".join(quote(secret.hex()) for secret in ike.additional_secrets)
                + "]  # RFC 9370 SK(1)..SK(n), ADDKE order"
            )
        if ike.ppk_stage:
            ppk = ike.ppk_stage["ppk"]
            ppk_id = next((i for i, v in ppks if v == ppk), "")
            out += [
                f"ppk_id = {quote(ppk_id)}",
                f"ppk = {quote(ppk.hex())}  # RFC 8784, mixed into SK_d/SK_pi/SK_pr",
            ]
        elif ppks and not ike.made_by_rekey:
            # offered (USE_PPK, PPK_IDENTITY, AUTH with it + NO_PPK_AUTH) but the responder went without
            ppk_id, ppk = ppks[0]
            out += [
                f"ppk_id = {quote(ppk_id)}",
                f"ppk = {quote(ppk.hex())}  # RFC 8784: the initiator's, offered; its AUTH used it",
                "ppk_applied = false  # the responder answered without PPK_IDENTITY: keys without the PPK",
            ]
        log = owner[id(ike)]
        for child in ike.children:
            out.append(
                f"#   child SA from {child.exchange} message ID {child.message_id}"
                f" ({child.proposal or 'ESP'})"
                + (f", PFS dh_secret = {child.dh_secret.hex()}" if child.dh_secret else "")
                + (f", additional secrets = {child.add_secret.hex()}" if child.add_secret else "")
            )
            for sa in child.esp_sas(log.algorithms):
                seen_packets = counts.get((sa.src, sa.dst, sa.spi), 0)
                out.append(
                    f"#     ESP SPI 0x{sa.spi} {sa.src} -> {sa.dst} ({seen_packets} packets in the capture):"
                    f" {sa.encryption} {sa.encryption_key.hex()}"
                    + (f" {sa.integrity} {sa.integrity_key.hex()}" if sa.integrity_key else "")
                )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="summarise the IKE and child SAs of a charon log")
    show.add_argument("log", type=Path)
    toml = sub.add_parser("toml", help="write keys/<name>.toml")
    toml.add_argument("--name", required=True)
    toml.add_argument("--pcap", type=Path, required=True)
    toml.add_argument("--west-log", type=Path)
    toml.add_argument("--east-log", type=Path)
    toml.add_argument("--psk", action="append", default=[])
    toml.add_argument("--psk-peer", action="append", default=[])
    toml.add_argument("--ppk", action="append", default=[], help="RFC 8784 PPK as ID=0xHEX")
    toml.add_argument("--view", choices=("west", "east"), default="west")
    toml.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "show":
        log = parse_charon_log(args.log)
        for ike in log.ike_sas:
            print(
                f"IKE SA #{ike.number} {ike.spi_i}/{ike.spi_r} {ike.proposal}"
                f" (keys under #{ike.derived_under}; from {ike.exchange or '?'}"
                + (f" on #{ike.rekeyed_from})" if ike.rekeyed_from else ")")
            )
            for number, stage in enumerate(ike.stages or [ike.keys]):
                if len(ike.stages) > 1:
                    print("  " + stage_title(ike, number, stage))
                for name, value in stage.items():
                    print(f"    {name} = {value.hex()}")
            for child in ike.children:
                print(f"  child {child.exchange} {child.message_id} {child.role} {child.proposal}")
                for sa in child.esp_sas(log.algorithms):
                    print(f"    {sa}")
        return 0
    logs = {
        side: parse_charon_log(path)
        for side, path in (("west", args.west_log), ("east", args.east_log))
        if path
    }
    status = 0
    for side, log in logs.items():
        if not log.ike_sas:
            print(f"note: no IKE SA keys in {side}'s log", file=sys.stderr)
        for ike in log.ike_sas:
            missing = [
                f"{n} (stage {number})" if number else n
                for number, stage in enumerate(ike.key_stages)
                for n in ("skeyseed", *SK_NAMES)
                if n not in stage and not (ike.aead and n in ("sk_ai", "sk_ar"))
            ]
            if len(ike.key_stages) != ike.expected_stages:
                missing.append(f"{ike.expected_stages} key stages, {len(ike.key_stages)} logged")
            if missing or not ike.spi_r:
                print(
                    f"problem: {side} IKE SA #{ike.number} {ike.spi_i}/{ike.spi_r}: missing {missing}",
                    file=sys.stderr,
                )
                status = 1
    if "west" in logs and "east" in logs:
        for problem in compare_logs(logs["west"], logs["east"]):
            print(f"note: {problem}", file=sys.stderr)
    counts = esp_packets(args.pcap)
    args.out.write_text(
        render_toml(
            args.name,
            list(zip(args.psk, args.psk_peer, strict=True)),
            logs,
            args.view,
            counts,
            [(i, bytes.fromhex(v.removeprefix("0x"))) for i, _, v in (p.partition("=") for p in args.ppk)],
        )
    )
    for side, log in logs.items():
        print(
            f"{side}: {len(log.ike_sas)} IKE SA(s) "
            + ", ".join(f"{ike.spi_i}/{ike.spi_r} ({len(ike.children)} child)" for ike in log.ike_sas),
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
