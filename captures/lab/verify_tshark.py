#!/usr/bin/env python3
"""Check a lab capture's key file with tshark and print a Markdown summary (for captures/README.md).

    python3 captures/lab/verify_tshark.py captures/NAME.pcap keys/NAME.toml > captures/lab/runs/NAME/verify.md

Runs tshark twice with an empty configuration directory: without keys, then with every IKE SA's
cookie/encryption key in ``ikev1_decryption_table`` and every ESP SA in ``esp_sa`` (decryption and ICV
checking on).  Passes when every encrypted ISAKMP message shows a HASH payload (or, in MM5/MM6 of
signature authentication, a SIG) with the keys (and none without), no frame is malformed, and every
ESP packet decrypts to an inner packet with a correct ICV.
Exit status 0 = pass, 1 = some check failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

import dpkt

FIELDS = [
    "frame.number",
    "frame.time_relative",
    "ip.proto",
    "ip.src",
    "ip.dst",
    "udp.srcport",
    "udp.dstport",
    "isakmp.exchangetype",
    "isakmp.messageid",
    "isakmp.flags",
    "isakmp.ispi",
    "isakmp.rspi",
    "isakmp.typepayload",
    "isakmp.hash",
    "isakmp.notify.msgtype",
    "esp.spi",
    "esp.sequence",
    "esp.icv_good",
    "esp.icv_bad",
    "icmp.type",
    "_ws.expert.message",
]
EXCHANGE_NAMES = {
    "2": "Main Mode",
    "4": "Aggressive",
    "5": "Informational",
    "6": "Transaction",
    "32": "Quick Mode",
}
PAYLOAD_NAMES = {
    "1": "SA",
    "4": "KE",
    "5": "ID",
    "6": "CERT",
    "7": "CR",
    "8": "HASH",
    "9": "SIG",
    "10": "NONCE",
    "11": "N",
    "12": "D",
    "13": "VID",
    "14": "ATTR",
    "15": "SAK",
    "20": "NAT-D",
    "21": "NAT-OA",
    "130": "NAT-D(draft)",
    "131": "NAT-OA(draft)",
    "132": "FRAG",
}
ESP_ENCRYPTION = {
    "null": "NULL",
    "des-cbc": "DES-CBC [RFC2405]",
    "3des-cbc": "TripleDES-CBC [RFC2451]",
    "aes-cbc": "AES-CBC [RFC3602]",
    "aes-ctr": "AES-CTR [RFC3686]",
    "aes-gcm-8": "AES-GCM with 8 octet ICV [RFC4106]",
    "aes-gcm-12": "AES-GCM with 12 octet ICV [RFC4106]",
    "aes-gcm-16": "AES-GCM with 16 octet ICV [RFC4106]",
}
ESP_INTEGRITY = {
    "null": "NULL",
    "hmac-md5-96": "HMAC-MD5-96 [RFC2403]",
    "hmac-sha1-96": "HMAC-SHA-1-96 [RFC2404]",
    "hmac-sha2-256-128": "HMAC-SHA-256-128 [RFC4868]",
    "hmac-sha2-384-192": "HMAC-SHA-384-192 [RFC4868]",
    "hmac-sha2-512-256": "HMAC-SHA-512-256 [RFC4868]",
}


def key_options(keys: dict) -> list[str]:
    options = []
    for ike in keys.get("ike_sa", []):
        options += ["-o", f"uat:ikev1_decryption_table:{ike['initiator_cookie']},{ike['encryption_key']}"]
    for sa in keys.get("ipsec_sa", []):
        integrity_key = f"0x{sa['integrity_key']}" if sa.get("integrity_key") else ""
        options += [
            "-o",
            "uat:esp_sa:"
            + ",".join(
                f'"{value}"'
                for value in (
                    "IPv4",
                    sa["src"],
                    sa["dst"],
                    sa["spi"],
                    ESP_ENCRYPTION[sa["encryption"]],
                    f"0x{sa['encryption_key']}",
                    ESP_INTEGRITY[sa["integrity"]],
                    integrity_key,
                )
            ),
        ]
    if keys.get("ipsec_sa"):
        options += ["-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE"]
    return options


def run_tshark(pcap: Path, options: list[str]) -> list[dict[str, str]]:
    with tempfile.TemporaryDirectory() as config_dir:
        command = [
            "tshark",
            "-n",
            "-r",
            str(pcap),
            *options,
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ]
        for name in FIELDS:
            command += ["-e", name]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, WIRESHARK_CONFIG_DIR=config_dir),
        )
    frames = [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in result.stdout.splitlines()]
    for frame in frames:  # outer header first; decrypted ESP adds the inner addresses after it
        frame["ip.src"], frame["ip.dst"] = frame["ip.src"].split(",")[0], frame["ip.dst"].split(",")[0]
    return frames


def is_true(value: str) -> bool:
    return value.split(",")[0] in ("1", "True", "true")


def payload_list(frame: dict[str, str]) -> str:
    types = [t for t in frame["isakmp.typepayload"].split(",") if t and t not in ("2", "3")]
    return " ".join(PAYLOAD_NAMES.get(t, t) for t in types)


def tshark_version() -> str:
    return subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def key_variants(keys: dict) -> list[dict]:
    """One key set per alternative: when two [[ike_sa]] entries share an initiator cookie (the peers
    derived different keys, e.g. a PSK mismatch) tshark can hold only one of them, so run it per choice."""
    by_cookie: dict[str, list[dict]] = defaultdict(list)
    for ike in keys.get("ike_sa", []):
        by_cookie[ike["initiator_cookie"]].append(ike)
    count = max((len(entries) for entries in by_cookie.values()), default=1)
    return [
        dict(keys, ike_sa=[entries[min(i, len(entries) - 1)] for entries in by_cookie.values()])
        for i in range(count)
    ]


def retransmissions(pcap: Path) -> set[str]:
    """Frame numbers whose UDP payload is byte-identical to an earlier frame's (a retransmission)."""
    seen: set[bytes] = set()
    repeats: set[str] = set()
    with open(pcap, "rb") as handle:
        for number, (_timestamp, frame) in enumerate(dpkt.pcap.Reader(handle), start=1):
            ip = dpkt.ethernet.Ethernet(frame).data
            if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP):
                payload = bytes(ip.data.data)
                if payload in seen:
                    repeats.add(str(number))
                seen.add(payload)
    return repeats


def isakmp_decrypted(frame: dict[str, str]) -> bool:
    # the first payload's type is in the clear header: require a parsed HASH value and no exception;
    # MM5/MM6 of signature authentication carry SIG instead (RFC 2409 5.1): the SIG after the first
    # payload is only visible decrypted
    payloads = payload_list(frame).split()
    authenticated = ("HASH" in payloads and bool(frame["isakmp.hash"])) or "SIG" in payloads[1:]
    return authenticated and not is_malformed(frame)


def is_malformed(frame: dict[str, str]) -> bool:
    return "alformed" in frame["_ws.expert.message"]


def main(argv: list[str]) -> int:
    pcap, key_file = Path(argv[0]), Path(argv[1])
    keys = tomllib.loads(key_file.read_text())
    plain = {f["frame.number"]: f for f in run_tshark(pcap, [])}
    passes = [run_tshark(pcap, key_options(variant)) for variant in key_variants(keys)]
    repeats = retransmissions(pcap)
    problems: list[str] = []
    notes: list[str] = []
    out = [
        f"- tshark: `{tshark_version()}`; {len(passes[0])} frames, "
        f"{float(passes[0][-1]['frame.time_relative']) if passes[0] else 0:.1f} s"
        + (f"; {len(passes)} tshark passes (alternative IKE keys per cookie)." if len(passes) > 1 else "."),
        "",
        "| frame | t (s) | from -> to | exchange | message ID | E | payloads (decrypted with the keys) |",
        "|---|---|---|---|---|---|---|",
    ]
    esp = defaultdict(lambda: {"packets": 0, "good": 0, "bad": 0, "inner": Counter(), "seq": []})
    encrypted = decrypted = hidden_without_keys = icmp_errors = 0
    for alternatives in zip(*passes, strict=True):
        best = next((f for f in alternatives if isakmp_decrypted(f)), None)
        best = best or next((f for f in alternatives if not is_malformed(f)), alternatives[0])
        frame, number = best, best["frame.number"]
        if frame["ip.proto"].split(",")[0] == "1":
            icmp_errors += 1  # an ICMP error quoting one of our packets: not itself IKE or ESP
            continue
        retransmitted = number in repeats
        if is_malformed(frame) and not retransmitted:
            problems.append(f"frame {number}: {frame['_ws.expert.message']}")
        if frame["isakmp.exchangetype"]:
            exchange = frame["isakmp.exchangetype"].split(",")[0]
            flags = int(frame["isakmp.flags"].split(",")[0], 16)
            payloads = payload_list(frame)
            if flags & 1:
                encrypted += 1
                if isakmp_decrypted(frame):
                    decrypted += 1
                elif retransmitted:
                    notes.append(
                        f"frame {number} is a byte-identical retransmission; tshark 4.0 decrypts it "
                        "with an advanced IV (known bug), so it is not counted"
                    )
                    payloads = "(retransmission; tshark IV bug) " + payloads
                else:
                    problems.append(f"frame {number}: encrypted ISAKMP message shows no HASH with the keys")
                if "8" not in plain[number]["isakmp.typepayload"].split(","):
                    hidden_without_keys += 1
            notify = f" N={frame['isakmp.notify.msgtype']}" if frame["isakmp.notify.msgtype"] else ""
            if len(passes) > 1 and flags & 1:
                which = [i + 1 for i, f in enumerate(alternatives) if isakmp_decrypted(f)]
                notify += f" (key set {','.join(map(str, which)) or '-'})"
            out.append(
                f"| {number} | {float(frame['frame.time_relative']):.3f} | "
                f"{frame['ip.src']}:{frame['udp.srcport']} -> {frame['ip.dst']}:{frame['udp.dstport']} | "
                f"{EXCHANGE_NAMES.get(exchange, exchange)} | "
                f"0x{int(frame['isakmp.messageid'].split(',')[0], 16):08x} | "
                f"{'y' if flags & 1 else ''} | {payloads}{notify} |"
            )
        if frame["esp.spi"]:
            sa = esp[(frame["ip.src"], frame["ip.dst"], frame["esp.spi"].split(",")[0])]
            sa["packets"] += 1
            sa["seq"].append(int(frame["esp.sequence"].split(",")[0]))
            sa["good"] += is_true(frame["esp.icv_good"])
            sa["bad"] += is_true(frame["esp.icv_bad"])
            if frame["icmp.type"]:
                sa["inner"]["ICMP type " + frame["icmp.type"].split(",")[-1]] += 1
            else:
                problems.append(f"frame {number}: ESP packet not decrypted to an inner ICMP packet")
    out.append("")
    out.append(
        f"- ISAKMP with the keys: {decrypted}/{encrypted} encrypted messages decrypted (HASH payload "
        f"visible); without keys {hidden_without_keys}/{encrypted} showed no HASH."
    )
    out += [f"- Note: {note}" for note in notes]
    if icmp_errors:
        out.append(f"- {icmp_errors} ICMP error messages (quoting our packets) left out above.")
    if hidden_without_keys != encrypted:
        problems.append("some encrypted ISAKMP message was readable without keys")
    for (src, dst, spi), sa in sorted(esp.items(), key=lambda item: min(item[1]["seq"])):
        inner = ", ".join(f"{count} x {kind}" for kind, count in sorted(sa["inner"].items()))
        out.append(
            f"- ESP SPI {spi} {src} -> {dst}: {sa['packets']} packets, seq {min(sa['seq'])}-"
            f"{max(sa['seq'])}, ICV correct {sa['good']}/{sa['packets']} (bad {sa['bad']}); "
            f"decrypted: {inner or 'nothing'}"
        )
        if sa["good"] != sa["packets"]:
            problems.append(f"ESP SPI {spi}: ICV correct on {sa['good']} of {sa['packets']} packets")
    known = {(sa["src"], sa["dst"], sa["spi"]) for sa in keys.get("ipsec_sa", [])}
    for src, dst, spi in esp:
        if (src, dst, spi) not in known:
            problems.append(f"ESP SPI {spi} {src} -> {dst} in the capture has no [[ipsec_sa]] entry")
    out.append("- Result: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    print("\n".join(out))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
