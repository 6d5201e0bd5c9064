#!/usr/bin/env python3
"""Check an IKEv2 lab capture against its charon logs with tshark; print a Markdown summary.

    python3 captures/lab/verify_ikev2_tshark.py captures/NAME.pcap --west-log keys/NAME.west.log.gz \
        --east-log keys/NAME.east.log.gz > captures/lab/runs/NAME/verify.md

Writes Wireshark's ``ikev2_decryption_table`` (SPIi, SPIr, SK_ei, SK_er, SK_ai, SK_ar per IKE SA) and
``esp_sa`` (per ESP SA, addresses ``*``) from the logged keys (captures/lab/ikev2_keys.py) into a
temporary WIRESHARK_CONFIG_DIR and runs tshark without and with them.  Passes when every encrypted
IKEv2 message (SK or SKF payload) of an IKE SA with keys that Wireshark 4.0 supports decrypts with a
correct integrity checksum (none without keys), no frame is malformed, and every ESP packet decrypts
to an inner ICMP packet with a correct ICV.  ChaCha20-Poly1305 is not in Wireshark 4.0's IKEv2 or
ESP tables: such SAs are listed as not checkable.  Exit status 0 = pass, 1 = a check failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ikev2_keys import CharonLog, EspSa, IkeSa, parse_charon_log  # noqa: E402

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
    "isakmp.enc.decrypted",
    "isakmp.notify.msgtype",
    "isakmp.frag.number",
    "isakmp.frag.total",
    "esp.spi",
    "esp.sequence",
    "esp.icv_good",
    "esp.icv_bad",
    "icmp.type",
    "_ws.expert.message",
]
EXCHANGES = {"34": "IKE_SA_INIT", "35": "IKE_AUTH", "36": "CREATE_CHILD_SA", "37": "INFORMATIONAL"}
PAYLOADS = {
    "33": "SA",
    "34": "KE",
    "35": "IDi",
    "36": "IDr",
    "37": "CERT",
    "38": "CERTREQ",
    "39": "AUTH",
    "40": "Nonce",
    "41": "N",
    "42": "D",
    "43": "V",
    "44": "TSi",
    "45": "TSr",
    "46": "SK",
    "47": "CP",
    "48": "EAP",
    "53": "SKF",
}
IKE_ENCRYPTION = {  # strongSwan proposal token -> Wireshark 4.0 ikev2_decryption_table name
    "AES_CBC_128": "AES-CBC-128 [RFC3602]",
    "AES_CBC_192": "AES-CBC-192 [RFC3602]",
    "AES_CBC_256": "AES-CBC-256 [RFC3602]",
    "3DES_CBC": "3DES [RFC2451]",
    **{
        f"AES_GCM_{icv}_{bits}": f"AES-GCM-{bits} with {icv} octet ICV [RFC5282]"
        for icv in (8, 12, 16)
        for bits in (128, 192, 256)
    },
}
IKE_INTEGRITY = {
    "HMAC_SHA1_96": "HMAC_SHA1_96 [RFC2404]",
    "HMAC_SHA2_256_128": "HMAC_SHA2_256_128 [RFC4868]",
    "HMAC_SHA2_384_192": "HMAC_SHA2_384_192 [RFC4868]",
    "HMAC_SHA2_512_256": "HMAC_SHA2_512_256 [RFC4868]",
    "HMAC_MD5_96": "HMAC_MD5_96 [RFC2403]",
}
ESP_ENCRYPTION = {
    "aes-cbc": "AES-CBC [RFC3602]",
    "aes-ctr": "AES-CTR [RFC3686]",
    "aes-gcm-8": "AES-GCM with 8 octet ICV [RFC4106]",
    "aes-gcm-12": "AES-GCM with 12 octet ICV [RFC4106]",
    "aes-gcm-16": "AES-GCM with 16 octet ICV [RFC4106]",
    "3des-cbc": "TripleDES-CBC [RFC2451]",
}
ESP_INTEGRITY = {
    "null": "NULL",
    "hmac-sha1-96": "HMAC-SHA-1-96 [RFC2404]",
    "hmac-sha2-256-128": "HMAC-SHA-256-128 [RFC4868]",
    "hmac-sha2-384-192": "HMAC-SHA-384-192 [RFC4868]",
    "hmac-sha2-512-256": "HMAC-SHA-512-256 [RFC4868]",
    "hmac-md5-96": "HMAC-MD5-96 [RFC2403]",
}


def ike_table_line(ike: IkeSa) -> str | None:
    """One ikev2_decryption_table line, or None when Wireshark 4.0 lacks the algorithm."""
    parts = ike.proposal.removeprefix("IKE:").split("/")
    encryption = next((IKE_ENCRYPTION[p] for p in parts if p in IKE_ENCRYPTION), None)
    if encryption is None:
        return None
    aead = "GCM" in encryption
    integrity = (
        "NONE [RFC4306]" if aead else next((IKE_INTEGRITY[p] for p in parts if p in IKE_INTEGRITY), None)
    )
    if integrity is None:
        return None
    keys = ike.keys
    sk_ai = "" if aead else keys["sk_ai"].hex()
    sk_ar = "" if aead else keys["sk_ar"].hex()
    return (
        f'{ike.spi_i},{ike.spi_r},{keys["sk_ei"].hex()},{keys["sk_er"].hex()},"{encryption}",'
        f'{sk_ai},{sk_ar},"{integrity}"'
    )


def esp_table_line(sa: EspSa) -> str | None:
    if sa.encryption not in ESP_ENCRYPTION or sa.integrity not in ESP_INTEGRITY:
        return None
    integrity_key = f"0x{sa.integrity_key.hex()}" if sa.integrity_key else ""
    values = (
        "IPv4",
        "*",
        "*",
        f"0x{sa.spi}",
        ESP_ENCRYPTION[sa.encryption],
        f"0x{sa.encryption_key.hex()}",
        ESP_INTEGRITY[sa.integrity],
        integrity_key,
    )
    return ",".join(f'"{v}"' for v in values)


def run_tshark(pcap: Path, config: dict[str, list[str]]) -> list[dict[str, str]]:
    with tempfile.TemporaryDirectory() as config_dir:
        for name, lines in config.items():
            Path(config_dir, name).write_text("".join(line + "\n" for line in lines))
        command = [
            "tshark",
            "-n",
            "-r",
            str(pcap),
            "-o",
            "esp.enable_encryption_decode:TRUE",
            "-o",
            "esp.enable_authentication_check:TRUE",
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
    for frame in frames:
        frame["ip.src"], frame["ip.dst"] = frame["ip.src"].split(",")[0], frame["ip.dst"].split(",")[0]
    return frames


def first(value: str) -> str:
    return value.split(",")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pcap", type=Path)
    parser.add_argument("--west-log", type=Path)
    parser.add_argument("--east-log", type=Path)
    parser.add_argument("--psk", action="append", default=[])  # accepted (same arguments as ikev2_keys)
    parser.add_argument("--psk-peer", action="append", default=[])
    args = parser.parse_args(argv)
    logs: list[CharonLog] = [parse_charon_log(p) for p in (args.west_log, args.east_log) if p]
    ike_lines: dict[tuple[str, str], str] = {}
    esp_lines: dict[str, str] = {}
    unsupported: list[str] = []
    for log in logs:
        for ike in log.ike_sas:
            if (ike.spi_i, ike.spi_r) in ike_lines or not ike.spi_r:
                continue
            line = ike_table_line(ike)
            if line is None:
                unsupported.append(f"IKE SA {ike.spi_i}/{ike.spi_r} ({ike.proposal})")
            else:
                ike_lines[(ike.spi_i, ike.spi_r)] = line
        for sa in log.esp_sas():
            if sa.spi in esp_lines:
                continue
            line = esp_table_line(sa)
            if line is None:
                unsupported.append(f"ESP SA 0x{sa.spi} ({sa.encryption}/{sa.integrity})")
                esp_lines[sa.spi] = ""
            else:
                esp_lines[sa.spi] = line
    plain = {f["frame.number"]: f for f in run_tshark(args.pcap, {})}
    keyed = run_tshark(
        args.pcap,
        {
            "ikev2_decryption_table": list(ike_lines.values()),
            "esp_sa": [line for line in esp_lines.values() if line],
        },
    )
    version = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    problems: list[str] = []
    out = [
        f"- tshark: `{version}`; {len(keyed)} frames, "
        f"{float(keyed[-1]['frame.time_relative']) if keyed else 0:.1f} s; "
        f"{len(ike_lines)} IKE SA(s) and {sum(1 for v in esp_lines.values() if v)} ESP SA(s)"
        " given to tshark.",
        "",
        "| frame | t (s) | from -> to | exchange | MID | I/R | SPIi / SPIr | payloads (decrypted) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    checkable = {spis for spis in ike_lines}
    encrypted = decrypted = hidden = icmp_errors = 0
    esp: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"n": 0, "good": 0, "bad": 0, "inner": Counter(), "seq": []}
    )
    for frame in keyed:
        number = frame["frame.number"]
        expert = frame["_ws.expert.message"]
        if "alformed" in expert:
            problems.append(f"frame {number}: {expert}")
        if "Integrity Checksum Data is incorrect" in expert:
            problems.append(f"frame {number}: IKEv2 integrity checksum incorrect")
        if first(frame["ip.proto"]) == "1":
            icmp_errors += 1  # an ICMP error quoting one of our packets: not itself IKE or ESP
            continue
        if frame["isakmp.exchangetype"]:
            flags = int(first(frame["isakmp.flags"]), 16)
            types = [t for t in frame["isakmp.typepayload"].split(",") if t]
            spis = (first(frame["isakmp.ispi"]), first(frame["isakmp.rspi"]))
            names = " ".join(
                PAYLOADS.get(t, t) for t in types if t not in ("2", "3")
            )  # not proposals/transforms
            if "46" in types or "53" in types:
                encrypted += 1
                if spis in checkable:
                    if frame["isakmp.enc.decrypted"]:
                        decrypted += 1
                    else:
                        problems.append(
                            f"frame {number}: encrypted IKEv2 message not decrypted with the keys"
                        )
                if not plain[number]["isakmp.enc.decrypted"]:
                    hidden += 1
            notify = f" N={frame['isakmp.notify.msgtype']}" if frame["isakmp.notify.msgtype"] else ""
            frag = (
                f" (fragment {first(frame['isakmp.frag.number'])}/{first(frame['isakmp.frag.total'])})"
                if frame["isakmp.frag.number"]
                else ""
            )
            out.append(
                f"| {number} | {float(frame['frame.time_relative']):.3f} | "
                f"{frame['ip.src']}:{first(frame['udp.srcport'])} -> "
                f"{frame['ip.dst']}:{first(frame['udp.dstport'])} | "
                f"{EXCHANGES.get(first(frame['isakmp.exchangetype']), frame['isakmp.exchangetype'])} | "
                f"{int(first(frame['isakmp.messageid']), 16)} | {'I' if flags & 0x08 else 'R'}"
                f"{' resp' if flags & 0x20 else ''} | {spis[0]} / {spis[1]} | {names}{notify}{frag} |"
            )
        elif frame["esp.spi"]:
            spi = first(frame["esp.spi"])
            stats = esp[(frame["ip.src"], frame["ip.dst"], spi)]
            stats["n"] += 1
            stats["seq"].append(int(first(frame["esp.sequence"])))
            stats["good"] += first(frame["esp.icv_good"]) in ("1", "True")
            stats["bad"] += first(frame["esp.icv_bad"]) in ("1", "True")
            if frame["icmp.type"]:
                stats["inner"]["ICMP type " + frame["icmp.type"].split(",")[-1]] += 1
    out.append("")
    out.append(
        f"- IKEv2 encrypted messages: {encrypted}; decrypted with the keys: {decrypted} "
        f"(of those whose IKE SA tshark can take); unreadable without keys: {hidden}/{encrypted}."
    )
    if icmp_errors:
        out.append(f"- {icmp_errors} ICMP error message(s) quoting our packets left out above.")
    if hidden != encrypted:
        problems.append("an encrypted IKEv2 message was readable without keys")
    for (src, dst, spi), stats in sorted(esp.items(), key=lambda item: min(item[1]["seq"])):
        key = spi.removeprefix("0x")
        inner = ", ".join(f"{count} x {kind}" for kind, count in sorted(stats["inner"].items()))
        status = (
            "no keys in the logs"
            if key not in esp_lines
            else ("not checkable (tshark 4.0)" if not esp_lines[key] else "")
        )
        out.append(
            f"- ESP SPI {spi} {src} -> {dst}: {stats['n']} packets, "
            f"seq {min(stats['seq'])}-{max(stats['seq'])}, "
            f"ICV correct {stats['good']}/{stats['n']}; decrypted: {inner or 'nothing'} {status}".rstrip()
        )
        if key not in esp_lines:
            problems.append(f"ESP SPI {spi}: no keys in the logs")
        elif esp_lines[key] and (stats["good"] != stats["n"] or sum(stats["inner"].values()) != stats["n"]):
            problems.append(
                f"ESP SPI {spi}: {stats['good']}/{stats['n']} ICV correct, "
                f"{sum(stats['inner'].values())} decrypted"
            )
    for item in unsupported:
        out.append(f"- Not checkable with tshark 4.0 (algorithm missing from its tables): {item}")
    out.append(
        "- Result: "
        + ("PASS" if not problems else "FAIL: " + "; ".join(problems))
        + (" (partly: see 'not checkable')" if unsupported and not problems else "")
    )
    print("\n".join(out))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
