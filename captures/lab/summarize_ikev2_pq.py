#!/usr/bin/env python3
"""Print the per-capture Markdown sections of captures/README.md for the post-quantum IKEv2 captures.

    PYTHONPATH=. python3 captures/lab/summarize_ikev2_pq.py > /tmp/ikev2-pq-sections.md

Reads, for every scenario in make-ikev2-pq-captures.sh's order: captures/lab/runs/<name>/{scenario.txt,
*.swanctl.conf}, the charon logs (through ikev2_keys.py), the key file and the capture, and opens every
SK / SKF payload with ikedecode's own ``open_sk`` / ``open_skf`` under the key stage in force
(IKE_INTERMEDIATE message ID k under stage k-1, everything after under the last stage), so each frame line
says which stage protected it and what is inside.
"""

from __future__ import annotations

import re
import struct
import sys
import tomllib
from pathlib import Path

LAB = Path(__file__).resolve().parent
PROJECT = LAB.parents[1]
sys.path.insert(0, str(LAB))
sys.path.insert(0, str(PROJECT))
import dpkt  # type: ignore[import-untyped]  # noqa: E402
from ikev2_keys import IkeSa, esp_packets, ip_packets, parse_charon_log  # noqa: E402

from ikedecode.ike.v2.protection import open_sk, open_skf  # noqa: E402

EXCHANGES = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL"}
EXCHANGES |= {43: "IKE_INTERMEDIATE", 44: "IKE_FOLLOWUP_KE"}
PAYLOADS = {33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ", 39: "AUTH", 40: "Ni/r"}
PAYLOADS |= {41: "N", 42: "D", 43: "V", 44: "TSi", 45: "TSr", 46: "SK", 47: "CP", 48: "EAP", 53: "SKF"}
NOTIFIES = {
    14: "NO_PROPOSAL_CHOSEN",
    16384: "INITIAL_CONTACT",
    16388: "NAT_DETECTION_SOURCE_IP",
    16389: "NAT_DETECTION_DESTINATION_IP",
    16393: "REKEY_SA",
    16396: "MOBIKE_SUPPORTED",
    16399: "NO_ADDITIONAL_ADDRESSES",
    16404: "MULTIPLE_AUTH_SUPPORTED",
    16406: "REDIRECT_SUPPORTED",
    16417: "EAP_ONLY_AUTHENTICATION",
    16418: "CHILDLESS_IKEV2_SUPPORTED",
    16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
    16430: "IKEV2_FRAGMENTATION_SUPPORTED",
    16431: "SIGNATURE_HASH_ALGORITHMS",
    16435: "USE_PPK",
    16436: "PPK_IDENTITY",
    16437: "NO_PPK_AUTH",
    16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
    16441: "ADDITIONAL_KEY_EXCHANGE",
}
SHOWN_NOTIFIES = {14, 16393, 16435, 16436, 16437, 16438, 16441}  # the others are in every message
KE_GROUPS = {
    19: "ECP-256",
    20: "ECP-384",
    31: "Curve25519",
    35: "ML-KEM-512",
    36: "ML-KEM-768",
    37: "ML-KEM-1024",
}
ENCR = {"AES_CBC_256": (12, 256), "AES_GCM_16_256": (20, 256), "CHACHA20_POLY1305": (28, None)}
INTEG = {"HMAC_SHA2_256_128": 12, "HMAC_SHA2_384_192": 13}


def ip_headers(pcap: Path) -> list[dpkt.ip.IP]:
    with open(pcap, "rb") as handle:
        return [dpkt.ethernet.Ethernet(frame).data for _timestamp, frame in dpkt.pcap.Reader(handle)]


def scenario_names() -> list[str]:
    text = (LAB / "make-ikev2-pq-captures.sh").read_text()
    block = re.search(r"^SCENARIOS=\((.*?)^\)", text, re.S | re.M)
    return block[1].split() if block else []


def chain(first: int, data: bytes, offset: int) -> list[tuple[int, int, bytes]]:
    out, kind = [], first
    while kind and offset + 4 <= len(data):
        following, length = data[offset], struct.unpack("!H", data[offset + 2 : offset + 4])[0]
        out.append((kind, offset, data[offset + 4 : offset + length]))
        if kind in (46, 53) or length < 4:
            break
        kind, offset = following, offset + length
    return out


def describe(items: list[tuple[int, int, bytes]], response: bool) -> str:
    words = []
    for kind, _offset, body in items:
        if kind == 34 and len(body) >= 4:
            group = struct.unpack("!H", body[:2])[0]
            words.append(f"KE({KE_GROUPS.get(group, group)}, {len(body) - 4} B)")
        elif kind == 41 and len(body) >= 4:
            notify = struct.unpack("!H", body[2:4])[0]
            if notify in SHOWN_NOTIFIES:
                words.append(f"N({NOTIFIES[notify]})")
            elif not words or words[-1] != "N(...)":
                words.append("N(...)")
        elif kind == 53:
            number, total = struct.unpack("!HH", body[:4])
            words.append(f"SKF {number}/{total}")
        else:
            words.append(PAYLOADS.get(kind, str(kind)))
    return " ".join(words)


def transforms(ike: IkeSa) -> tuple[int, int | None, int | None]:
    parts = ike.proposal.removeprefix("IKE:").split("/")
    encr, bits = next(ENCR[p] for p in parts if p in ENCR)
    return encr, bits, next((INTEG[p] for p in parts if p in INTEG), None)


def section(name: str) -> list[str]:
    run = LAB / "runs" / name
    pcap = PROJECT / "captures" / f"{name}.pcap"
    scenario = (run / "scenario.txt").read_text().splitlines()
    logs = {side: parse_charon_log(PROJECT / "keys" / f"{name}.{side}.log.gz") for side in ("west", "east")}
    keys = tomllib.loads((PROJECT / "keys" / f"{name}.toml").read_text())
    ike_sas = logs["east"].by_spis() | logs["west"].by_spis()  # west's view where both have the SA
    numbers = {spis: n for n, spis in enumerate(ike_sas, start=1)}
    out = [f"### {name}", "", f"- Scenario: {scenario[0]}"]
    out.append(f"- Daemons: {scenario[-1].removeprefix('strongSwan: ')}")
    for side in ("west", "east"):
        conf = (run / f"{side}.swanctl.conf").read_text()
        ike = re.findall(r"^\s*proposals = (.*)$", conf, re.M)
        esp = re.findall(r"^\s*esp_proposals = (.*)$", conf, re.M)
        ppk = re.findall(r"^\s*(ppk_id|ppk_required) = (.*)$", conf, re.M)
        extra = (", " + ", ".join(f"{k} = {v}" for k, v in ppk)) if ppk else ""
        role = "initiator" if side == "west" else "responder"
        conf_path = f"captures/lab/runs/{name}/{side}.swanctl.conf"
        out.append(f"- {side} ({role}): IKE `{ike[0]}`, ESP `{esp[0]}`{extra} (`{conf_path}`)")
    packets = ip_packets(pcap)
    esp = esp_packets(pcap)
    esp_count = sum(esp.values())
    out.append(
        f"- Capture: `captures/{name}.pcap`, {len(packets)} IP packets: {len(packets) - esp_count} IKE"
        f" (UDP 500/4500, IP fragments counted singly), {esp_count} ESP (IP protocol 50)"
    )
    for spis, ike in ike_sas.items():
        origin = "CREATE_CHILD_SA rekey + IKE_FOLLOWUP_KE" if ike.made_by_rekey else "IKE_SA_INIT"
        out.append(f"- IKE SA {numbers[spis]}: SPIi {spis[0]} SPIr {spis[1]} ({origin}; {ike.proposal}):")
        for number, stage in enumerate(ike.stages):
            if "ppk" in stage:
                out.append(
                    "  - RFC 8784 PPK step: SK_d, SK_pi, SK_pr = prf+(PPK, each); SK_e*, SK_a* as before"
                )
            elif number == 0 and ike.made_by_rekey:
                out.append(
                    f"  - keys: SKEYSEED = prf(SK_d(old), g^ir ({len(stage['dh_secret'])} B) | Ni | Nr |"
                    f" SK(1) ({len(stage['add_secret'])} B))"
                )
            elif number == 0:
                size = len(stage["dh_secret"])
                out.append(f"  - stage 0: SKEYSEED = prf(Ni | Nr, the KE's shared secret g^ir ({size} B))")
            else:
                size = len(stage["dh_secret"])
                out.append(
                    f"  - stage {number}: SKEYSEED = prf(SK_d({number - 1}), SK({number}) ({size} B ML-KEM"
                    f" shared secret) | Ni | Nr)"
                )
        for child in ike.children:
            sas = child.esp_sas(logs["west"].algorithms | logs["east"].algorithms)
            detail = ", ".join(
                f"0x{sa.spi} {sa.src}->{sa.dst} {sa.encryption} ({esp.get((sa.src, sa.dst, sa.spi), 0)} pkts)"
                for sa in sas
            )
            seed = " KEYMAT seed = g^ir | Ni | Nr | SK(1);" if child.add_secret else ""
            out.append(f"  - child from {child.exchange} MID {child.message_id}:{seed} {detail}")
    out.append(
        "- Frames (SK/SKF opened with ikedecode's `open_sk`/`open_skf`, the stage named; payloads inside):"
    )
    out += ["", "  ```"]
    for number, ip in enumerate(ip_headers(pcap), start=1):
        if ip.p != 17:
            continue
        if ip.offset or ip.mf:  # RFC 791 fragments: IKE_SA_INIT does not use RFC 7383
            what = (
                "IP fragment 1 (UDP + IKE header)"
                if not ip.offset
                else f"IP fragment at byte {ip.offset * 8}"
            )
            out.append(
                f"  {number} {what}, {len(ip.data) if isinstance(ip.data, bytes) else len(bytes(ip.data))} B"
            )
            continue
        data = bytes(ip.data)
        sport, dport = struct.unpack("!HH", data[:4])
        ike_data = data[8:]
        if 4500 in (sport, dport):
            if ike_data[:4] != b"\0\0\0\0":
                continue
            ike_data = ike_data[4:]
        spis = (ike_data[:8].hex(), ike_data[8:16].hex())
        exchange, flags, mid = ike_data[18], ike_data[19], struct.unpack("!I", ike_data[20:24])[0]
        response = bool(flags & 0x20)
        who = ("I" if flags & 0x08 else "R") + (" resp" if response else "")
        items = chain(ike_data[16], ike_data, 28)
        text = describe(items, response)
        last = items[-1] if items else (0, 0, b"")
        ike = ike_sas.get(spis)
        if last[0] in (46, 53) and ike is not None:
            stages = ike.key_stages
            stage_number = mid - 1 if exchange == 43 else len(stages) - 1
            stage_keys = stages[stage_number] if exchange == 43 else ike.keys
            encr, _bits, integ = transforms(ike)
            sender = "i" if flags & 0x08 else "r"
            opener = open_skf if last[0] == 53 else open_sk
            opened = opener(
                ike_data, last[1], encr_id=encr, sk_e=stage_keys["sk_e" + sender], integ_id=integ,
                sk_a=stage_keys.get("sk_a" + sender, b""),
            )  # fmt: skip
            inside = chain(opened.next_payload, opened.plaintext, 0) if opened.next_payload else []
            inner = describe(inside, response)
            ppk = "PPK'd " if ike.ppk_stage and exchange != 43 else ""
            stage = f"stage {stage_number} {ppk}keys" if len(stages) > 1 else "its keys"
            status = "ICV ok" if opened.integrity_verified else f"NOT OPENED ({opened.detail})"
            text += f" [{stage}, {status}]: {inner or '(empty)'}"
        name_ = EXCHANGES.get(exchange, str(exchange))
        sa = f"SA {numbers[spis]} " if spis in numbers else ""
        out.append(f"  {number} {sa}{name_} {mid} {who}: {text}")
    out += ["  ```", ""]
    entries = keys.get("ike_sa", [])
    if entries:
        fields = sorted({k for e in entries for k in e} - {"initiator_cookie", "responder_cookie"})
        out.append(
            f"- Key file `keys/{name}.toml`: PSK, {len(entries)} `[[ike_sa]]` by SPIs with"
            f" {', '.join(fields)}; every stage's SKEYSEED/SK_* and the ESP keys in comments"
        )
    else:
        out.append(f"- Key file `keys/{name}.toml`: the PSK only (no IKE SA was keyed)")
    return out


def main() -> int:
    for name in scenario_names():
        if (PROJECT / "captures" / f"{name}.pcap").exists():
            print("\n".join(section(name)))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
