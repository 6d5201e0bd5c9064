#!/usr/bin/env python3
"""Turn two charon logs (ike 4, chd 4, mgr 2, esp 2) plus the capture into keys/<name>.toml.

Run by make-captures.sh after each scenario; can be re-run by hand:

    python3 captures/lab/extract_keys.py --name NAME --pcap captures/NAME.pcap --psk SECRET \
        --west-log keys/NAME.west.log --east-log keys/NAME.east.log --out keys/NAME.toml

What it reads from a log (strongSwan 5.9.8 wording):
  * ``checkin IKEv1 SA <conn>[N] with SPIs <icookie>_i <rcookie>_r`` ties the ``<conn|N>`` line prefix to
    the cookies (the last non-zero responder cookie wins).
  * hex dumps following ``<label> => <n> bytes @ <addr>`` lines: ``shared Diffie Hellman secret``,
    ``SKEYID``, ``SKEYID_d``, ``SKEYID_a``, ``SKEYID_e``, ``encryption key Ka``, ``initial IV`` (phase 1),
    ``DH secret`` (quick-mode PFS), ``initiator SA seed`` / ``responder SA seed`` and
    ``encryption|integrity initiator|responder key`` (quick-mode KEYMAT).
  * ``generating|parsed QUICK_MODE request|response <mid>`` gives the message ID the KEYMAT belongs to.
  * ``adding inbound|outbound ESP SA`` + ``SPI 0x..., src A dst B`` and the ``using encryption|integrity
    algorithm`` lines that follow ``adding SAD entry with SPI ...`` give addresses and algorithms per SPI.

A KEYMAT seed is ``[g(qm)^xy |] protocol | SPI | Ni_b | Nr_b`` (RFC 2409 section 5.5); the SPI in it is
the one the SA's *receiver* chose, so the "initiator" keys protect traffic on the SA whose SPI is in the
initiator seed.  Both logs are parsed and must agree; ESP packets in the capture are counted per
(src, dst, SPI) to check every SA's direction.
"""

from __future__ import annotations

import argparse
import gzip
import re
import socket
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import dpkt

LINE = re.compile(
    r"^\S+ \S+ (?P<thread>\d+)\[(?P<group>\w+)\] (?:<(?:(?P<conn>[^|>]+)\|)?(?P<ike>\d+)> )?(?P<text>.*)$"
)
DUMP_HEADER = re.compile(r"^(?P<label>[A-Za-z_ ()0-9]+?) => (?P<length>\d+) bytes @ 0x[0-9a-f]+$")
DUMP_ROW = re.compile(r"^\s*(?P<offset>\d+): (?P<hex>(?:[0-9A-F]{2} )+)")
CHECKIN = re.compile(r"IKEv1 SA \S+\[(?P<ike>\d+)\] with SPIs (?P<i>[0-9a-f]{16})_i (?P<r>[0-9a-f]{16})_r")
QUICK_MODE = re.compile(r"(?:generating|parsed) QUICK_MODE (?:request|response) (?P<mid>\d+) ")
ADDING_SA = re.compile(r"adding (?P<dir>inbound|outbound) ESP SA")
SA_ADDRS = re.compile(r"^\s+SPI 0x(?P<spi>[0-9a-f]{8}), src (?P<src>\S+) dst (?P<dst>\S+)$")
SAD_ENTRY = re.compile(r"adding SAD entry with SPI (?P<spi>[0-9a-f]{8}) ")
SAD_ALGORITHM = re.compile(
    r"using (?P<kind>encryption|integrity) algorithm (?P<alg>\S+) with key size (?P<bits>\d+)"
)

PHASE1_LABELS = {
    "shared Diffie Hellman secret": "dh_secret",
    "SKEYID": "skeyid",
    "SKEYID_d": "skeyid_d",
    "SKEYID_a": "skeyid_a",
    "SKEYID_e": "skeyid_e",
    "encryption key Ka": "encryption_key",
    "initial IV": "initial_iv",
}
KEYMAT_LABELS = {
    "initiator SA seed": ("initiator", "seed"),
    "responder SA seed": ("responder", "seed"),
    "encryption initiator key": ("initiator", "encryption_key"),
    "encryption responder key": ("responder", "encryption_key"),
    "integrity initiator key": ("initiator", "integrity_key"),
    "integrity responder key": ("responder", "integrity_key"),
}
# strongSwan algorithm names (libipsec "using ... algorithm" lines) -> the key file's canonical names
ENCRYPTION_NAMES = {
    "NULL": "null",
    "DES_CBC": "des-cbc",
    "3DES_CBC": "3des-cbc",
    "AES_CBC": "aes-cbc",
    "AES_CTR": "aes-ctr",
    "AES_GCM_8": "aes-gcm-8",
    "AES_GCM_12": "aes-gcm-12",
    "AES_GCM_16": "aes-gcm-16",
    "CHACHA20_POLY1305": "chacha20-poly1305",
}
INTEGRITY_NAMES = {
    "HMAC_MD5_96": "hmac-md5-96",
    "HMAC_SHA1_96": "hmac-sha1-96",
    "HMAC_SHA2_256_128": "hmac-sha2-256-128",
    "HMAC_SHA2_384_192": "hmac-sha2-384-192",
    "HMAC_SHA2_512_256": "hmac-sha2-512-256",
    "AES_XCBC_96": "aes-xcbc-mac-96",
    "UNDEFINED": "null",  # AEAD (GCM): no separate integrity algorithm
}
ESP_PROTOCOL_ID = 3  # RFC 2407 section 4.4.1 PROTO_IPSEC_ESP


@dataclass
class QuickMode:
    message_id: int
    dh_secret: bytes | None = None
    keymat: dict[str, dict[str, bytes]] = field(default_factory=dict)  # role -> {seed, encryption_key, ...}


@dataclass
class IkeSa:
    number: int
    initiator_cookie: str = ""
    responder_cookie: str = ""
    phase1: dict[str, bytes] = field(default_factory=dict)
    quick_modes: dict[int, QuickMode] = field(default_factory=dict)
    current_qm: int | None = None


@dataclass
class SaInstall:
    spi: str
    src: str = ""
    dst: str = ""
    direction: str = ""
    encryption: str = ""
    integrity: str = ""


@dataclass
class LogFacts:
    ike_sas: dict[int, IkeSa] = field(default_factory=dict)
    sa_installs: dict[str, SaInstall] = field(default_factory=dict)


def open_log(path: Path) -> list[str]:
    if not path.exists() and Path(str(path) + ".gz").exists():
        path = Path(str(path) + ".gz")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", errors="replace") as handle:
        return handle.read().splitlines()


def parse_log(lines: list[str]) -> LogFacts:
    facts = LogFacts()
    open_dumps: dict[str, tuple[str, int, int | None, bytearray]] = {}  # thread -> (label, length, ike, data)
    pending_direction: dict[str, str] = {}  # thread -> inbound/outbound awaiting its "SPI ..." line
    last_sad_spi: dict[str, str] = {}  # thread -> SPI of the last "adding SAD entry"

    def finish_dump(thread: str) -> None:
        label, length, ike_number, data = open_dumps.pop(thread)
        if len(data) != length or ike_number is None:
            return
        ike = facts.ike_sas.setdefault(ike_number, IkeSa(ike_number))
        if label in PHASE1_LABELS:
            ike.phase1.setdefault(PHASE1_LABELS[label], bytes(data))
        elif label == "DH secret" and ike.current_qm is not None:
            ike.quick_modes[ike.current_qm].dh_secret = bytes(data)
        elif label in KEYMAT_LABELS and ike.current_qm is not None:
            role, what = KEYMAT_LABELS[label]
            ike.quick_modes[ike.current_qm].keymat.setdefault(role, {})[what] = bytes(data)

    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        thread, text = match["thread"], match["text"]
        ike_number = int(match["ike"]) if match["ike"] else None
        if thread in open_dumps:
            row = DUMP_ROW.match(text)
            if row:
                open_dumps[thread][3].extend(bytes.fromhex(row["hex"]))
                continue
            finish_dump(thread)
        header = DUMP_HEADER.match(text)
        if header:
            open_dumps[thread] = (header["label"], int(header["length"]), ike_number, bytearray())
            continue
        checkin = CHECKIN.search(text)
        if checkin:
            ike = facts.ike_sas.setdefault(int(checkin["ike"]), IkeSa(int(checkin["ike"])))
            ike.initiator_cookie = checkin["i"]
            if checkin["r"] != "0" * 16:
                ike.responder_cookie = checkin["r"]
            continue
        quick = QUICK_MODE.search(text)
        if quick and ike_number is not None:
            ike = facts.ike_sas.setdefault(ike_number, IkeSa(ike_number))
            mid = int(quick["mid"])
            ike.quick_modes.setdefault(mid, QuickMode(mid))
            ike.current_qm = mid
            continue
        adding = ADDING_SA.search(text)
        if adding:
            pending_direction[thread] = adding["dir"]
            continue
        addrs = SA_ADDRS.match(text)
        if addrs and thread in pending_direction:
            install = facts.sa_installs.setdefault(addrs["spi"], SaInstall(addrs["spi"]))
            install.src, install.dst = addrs["src"], addrs["dst"]
            install.direction = pending_direction.pop(thread)
            continue
        sad = SAD_ENTRY.search(text)
        if sad:
            last_sad_spi[thread] = sad["spi"]
            continue
        algorithm = SAD_ALGORITHM.search(text)
        if algorithm and thread in last_sad_spi:
            install = facts.sa_installs.setdefault(last_sad_spi[thread], SaInstall(last_sad_spi[thread]))
            setattr(install, algorithm["kind"], algorithm["alg"])
    for thread in list(open_dumps):
        finish_dump(thread)
    return facts


def seed_spi(seed: bytes, dh_secret: bytes | None) -> str | None:
    """The SPI inside a KEYMAT seed ``[g(qm)^xy |] protocol | SPI | Ni_b | Nr_b`` (RFC 2409 5.5)."""
    offset = len(dh_secret) if dh_secret else 0
    if len(seed) < offset + 5 or seed[offset] != ESP_PROTOCOL_ID:
        return None
    return seed[offset + 1 : offset + 5].hex()


def esp_packets(pcap: Path) -> Counter[tuple[str, str, str]]:
    """(src, dst, spi) -> count for ESP packets: IP protocol 50 or UDP-encapsulated (RFC 3948) on 4500."""
    counts: Counter[tuple[str, str, str]] = Counter()
    with open(pcap, "rb") as handle:
        for _timestamp, frame in dpkt.pcap.Reader(handle):
            ip = dpkt.ethernet.Ethernet(frame).data
            if not isinstance(ip, dpkt.ip.IP):
                continue
            payload = None
            if ip.p == dpkt.ip.IP_PROTO_ESP:
                payload = bytes(ip.data) if not isinstance(ip.data, bytes) else ip.data
            elif isinstance(ip.data, dpkt.udp.UDP) and 4500 in (ip.data.sport, ip.data.dport):
                body = bytes(ip.data.data)
                if len(body) >= 8 and body[:4] != b"\0\0\0\0":  # non-ESP marker = IKE
                    payload = body
            if payload and len(payload) >= 8:
                counts[(socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst), payload[:4].hex())] += 1
    return counts


def collect(facts: LogFacts) -> tuple[list[dict], list[dict], list[dict]]:
    ike_entries, qm_entries, sa_entries = [], [], []
    for ike in sorted(facts.ike_sas.values(), key=lambda sa: sa.number):
        if not ike.initiator_cookie:
            continue
        if ike.phase1:
            ike_entries.append(
                {"initiator_cookie": ike.initiator_cookie, "responder_cookie": ike.responder_cookie}
                | {key: ike.phase1[key].hex() for key in PHASE1_LABELS.values() if key in ike.phase1}
            )
        for qm in ike.quick_modes.values():
            if not qm.keymat:
                continue  # a quick mode that never produced keys (failed/refused)
            entry = {"initiator_cookie": ike.initiator_cookie, "message_id": f"0x{qm.message_id:08x}"}
            if qm.dh_secret:
                entry["dh_secret"] = qm.dh_secret.hex()
            qm_entries.append(entry)
            for role in ("initiator", "responder"):
                material = qm.keymat.get(role, {})
                spi = seed_spi(material.get("seed", b""), qm.dh_secret)
                if spi is None:
                    continue
                install = facts.sa_installs.get(spi, SaInstall(spi))
                sa_entries.append(
                    {
                        "protocol": "esp",
                        "spi": f"0x{spi}",
                        "src": install.src,
                        "dst": install.dst,
                        "mode": "",
                        "encryption": ENCRYPTION_NAMES.get(install.encryption, install.encryption.lower()),
                        "encryption_key": material.get("encryption_key", b"").hex(),
                        "integrity": INTEGRITY_NAMES.get(
                            install.integrity, install.integrity.lower() or "null"
                        ),
                        "integrity_key": material.get("integrity_key", b"").hex(),
                        "_role": role,
                        "_message_id": f"0x{qm.message_id:08x}",
                        "_cookie": ike.initiator_cookie,
                    }
                )
    return ike_entries, qm_entries, sa_entries


def compare(west: list[dict], east: list[dict], key: str, what: str) -> list[str]:
    """Both daemons derived the same material: every secret present in both logs must agree."""
    problems = []
    east_by = {entry[key]: entry for entry in east}
    for entry in west:
        other = east_by.get(entry[key])
        if other is None:
            continue
        for field_name, value in entry.items():
            if field_name in ("src", "dst", "mode") or field_name.startswith("_"):
                continue  # addresses differ behind NAT; the role label is the QM initiator's view
            if field_name in other and other[field_name] != value:
                problems.append(f"{what} {entry[key]}: {field_name} differs between west and east logs")
    return problems


def toml_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(
    name: str,
    psks: list[tuple[str, str]],
    mode: str,
    ikes: list[dict],
    qms: list[dict],
    sas: list[dict],
    counts: Counter,
    notes: list[str],
) -> str:
    out = [
        f"# keys/{name}.toml -- made by captures/lab/make-captures.sh from charon's logs",
        f"# (keys/{name}.<west|east>.log.gz, those that exist; capture captures/{name}.pcap).",
        "# Values are lowercase hex; cookies tie the log to the capture.",
    ]
    out += [f"# NOTE: {note}" for note in notes]
    for secret, peer in psks:
        out += ["", "[[psk]]", f"secret = {toml_value(secret)}", f"peer = {toml_value(peer)}"]
    for ike in ikes:
        out += ["", "[[ike_sa]]"] + [f"{key} = {toml_value(value)}" for key, value in ike.items()]
    for qm in qms:
        out += ["", "[[quick_mode]]"] + [f"{key} = {toml_value(value)}" for key, value in qm.items()]
    for sa in sas:
        sa = dict(sa, mode=mode)
        seen = counts.get((sa["src"], sa["dst"], sa["spi"][2:]), 0)
        out += [
            "",
            f"# quick mode {sa['_message_id']} of IKE SA {sa['_cookie']}, {sa['_role']} keys;"
            f" {seen} ESP packets {sa['src']} -> {sa['dst']} with this SPI in the capture",
            "[[ipsec_sa]]",
        ]
        out += [f"{key} = {toml_value(value)}" for key, value in sa.items() if not key.startswith("_")]
    return "\n".join(out) + "\n"


def merge(primary: list[dict], secondary: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Entries of the primary log, plus those only the other log has (e.g. a daemon that was killed)."""
    known = {tuple(entry[k] for k in key) for entry in primary}
    return primary + [entry for entry in secondary if tuple(entry[k] for k in key) not in known]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--pcap", type=Path, required=True)
    parser.add_argument("--psk", action="append", default=[], help="repeatable; pairs with --psk-peer")
    parser.add_argument("--psk-peer", action="append", default=[])
    parser.add_argument("--mode", default="tunnel")
    parser.add_argument("--west-log", type=Path)
    parser.add_argument("--east-log", type=Path)
    parser.add_argument(
        "--view",
        choices=("west", "east"),
        default="west",
        help="whose log gives the ESP SAs' addresses: the side of the link captured on",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    empty: tuple[list[dict], list[dict], list[dict]] = ([], [], [])
    logs = {
        side: collect(parse_log(open_log(path))) if path else empty
        for side, path in (("west", args.west_log), ("east", args.east_log))
    }
    primary, secondary = (logs["west"], logs["east"]) if args.view == "west" else (logs["east"], logs["west"])
    notes = compare(primary[0], secondary[0], "initiator_cookie", "IKE SA")
    notes += compare(primary[2], secondary[2], "spi", "ESP SA")
    if notes:
        notes.insert(
            0,
            f"the two daemons disagree: of [[ike_sa]] entries sharing cookies the first is the {args.view} "
            "daemon's, the second the other's (each peer encrypts with its own); other entries: "
            f"the {args.view} daemon's",
        )
    ikes = merge(primary[0], secondary[0], ("initiator_cookie",))
    # Same cookies, different keys (PSK mismatch): keep the other daemon's set as well; each side
    # encrypts its own messages with its own keys.
    ikes += [
        entry
        for entry in secondary[0]
        if entry not in ikes
        and any(entry["initiator_cookie"] == other["initiator_cookie"] for other in primary[0])
    ]
    qms = merge(primary[1], secondary[1], ("initiator_cookie", "message_id"))
    sas = merge(primary[2], secondary[2], ("spi",))
    counts = esp_packets(args.pcap)
    for sa in sas:
        if counts.get((sa["src"], sa["dst"], sa["spi"][2:]), 0) == 0:
            print(
                f"note: no ESP packet {sa['src']} -> {sa['dst']} with SPI {sa['spi']} in {args.pcap}",
                file=sys.stderr,
            )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    psks = list(zip(args.psk, args.psk_peer, strict=True))
    args.out.write_text(render(args.name, psks, args.mode, ikes, qms, sas, counts, notes))
    print(f"{args.out}: {len(ikes)} IKE SA, {len(qms)} quick mode, {len(sas)} ESP SA", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
