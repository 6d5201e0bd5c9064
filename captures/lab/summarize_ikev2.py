#!/usr/bin/env python3
"""Print the per-capture Markdown sections of captures/README.md for the IKEv2 lab captures.

    python3 captures/lab/summarize_ikev2.py > /tmp/ikev2-sections.md

Reads, for every scenario in make-ikev2-captures.sh's order: captures/lab/runs/<name>/{scenario.txt,
*.swanctl.conf, west.ipsec.conf, verify.md}, the charon logs (through ikev2_keys.py) and the capture.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LAB = Path(__file__).resolve().parent
PROJECT = LAB.parents[1]
sys.path.insert(0, str(LAB))
from ikev2_keys import SK_NAMES, parse_charon_log, udp_datagrams  # noqa: E402


def scenario_names() -> list[str]:
    text = (LAB / "make-ikev2-captures.sh").read_text()
    block = re.search(r"^SCENARIOS=\((.*?)^\)", text, re.S | re.M)
    return block[1].split() if block else []


def config_values(conf: Path, key: str) -> list[str]:
    return re.findall(rf"^\s*{key} = (.*)$", conf.read_text(), re.M) if conf.exists() else []


def exchanges(verify: str) -> list[str]:
    """Condense verify.md's frame table: one line per frame, 'frame: exchange MID I/R payloads'."""
    out = []
    for row in verify.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) == 8 and cells[0].isdigit():
            out.append(f"{cells[0]} {cells[3]} {cells[4]} {cells[5]}: {cells[7]}")
    return out


def section(name: str) -> str:
    run = LAB / "runs" / name
    pcap = PROJECT / "captures" / f"{name}.pcap"
    if not pcap.exists():
        return f"### {name}\n\n(not made)\n"
    description, _, rest = (run / "scenario.txt").read_text().partition("\n")
    version = next((line for line in rest.splitlines() if line.startswith("strongSwan")), "")
    frames = len(udp_datagrams(pcap))
    lines = [f"### {name}", "", f"- Scenario: {description.strip()}", f"- Daemons: {version}"]
    for side, role in (("west", "initiator"), ("east", "responder")):
        conf = run / f"{side}.swanctl.conf"
        if conf.exists():
            auth = config_values(conf, "auth")
            lines.append(
                f"- {side} ({role}): IKE `{', '.join(config_values(conf, 'proposals'))}`, ESP "
                f"`{', '.join(config_values(conf, 'esp_proposals'))}`, auth local/remote `{'/'.join(auth)}`"
                f" (`captures/lab/runs/{name}/{side}.swanctl.conf`)"
            )
        elif (run / f"{side}.ipsec.conf").exists():
            lines.append(f"- {side} ({role}): libreswan pluto, `captures/lab/runs/{name}/{side}.ipsec.conf`")
    lines.append(f"- Capture: `captures/{name}.pcap`, {frames} UDP frames (tshark's view below)")
    for side in ("west", "east"):
        path = PROJECT / "keys" / f"{name}.{side}.log.gz"
        if not path.exists():
            continue
        log = parse_charon_log(path)
        for ike in log.ike_sas:
            have = [n for n in ("dh_secret", "skeyseed", *SK_NAMES) if n in ike.keys]
            origin = f"CREATE_CHILD_SA rekey of #{ike.rekeyed_from}" if ike.rekeyed_from else "IKE_SA_INIT"
            lines.append(
                f"- {side} log: IKE SA #{ike.number} SPIi {ike.spi_i} SPIr {ike.spi_r} ({origin}; "
                f"{ike.proposal}): {', '.join(have)}"
            )
            for child in ike.children:
                sas = ", ".join(f"0x{sa.spi} {sa.src}->{sa.dst}" for sa in child.esp_sas(log.algorithms))
                pfs = " + PFS g^ir" if child.dh_secret else ""
                lines.append(
                    f"  - child from {child.exchange} MID {child.message_id} ({child.role} here), "
                    f"{child.proposal}{pfs}: {sas}"
                )
    verify = (run / "verify.md").read_text()
    lines += ["- Frames (tshark with the logged keys; frame exchange MID I/R: payloads):", "", "  ```"]
    lines += [f"  {row}" for row in exchanges(verify)]
    lines += ["  ```", ""]
    lines += [f"  {row}" for row in verify.splitlines() if row.startswith("- ")]
    return "\n".join(lines) + "\n"


def main() -> int:
    for name in scenario_names():
        print(section(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
