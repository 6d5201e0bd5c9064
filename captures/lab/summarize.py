#!/usr/bin/env python3
"""Print the per-capture Markdown sections of captures/README.md from the lab's run records.

    python3 captures/lab/summarize.py > /tmp/sections.md

Reads, for every scenario in make-captures.sh's order: captures/lab/runs/<name>/{scenario.txt,
west.swanctl.conf, east.swanctl.conf, verify.md, extract.txt}, keys/<name>.toml and the capture.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

LAB = Path(__file__).resolve().parent
PROJECT = LAB.parents[1]


def scenario_names() -> list[str]:
    text = (LAB / "make-captures.sh").read_text()
    block = re.search(r"^SCENARIOS=\((.*?)^\)", text, re.S | re.M)
    return block[1].split() if block else []


def config_values(conf: Path, key: str) -> list[str]:
    if not conf.exists():
        return []
    return re.findall(rf"^\s*{key} = (.*)$", conf.read_text(), re.M)


def frame_count(pcap: Path) -> int:
    out = subprocess.run(["capinfos", "-c", "-M", str(pcap)], capture_output=True, text=True).stdout
    match = re.search(r"Number of packets:\s+(\d+)", out)
    return int(match[1]) if match else -1


def section(name: str) -> str:
    run = LAB / "runs" / name
    pcap = PROJECT / "captures" / f"{name}.pcap"
    key_file = PROJECT / "keys" / f"{name}.toml"
    if not pcap.exists() or not key_file.exists():
        return f"### {name}\n\n(not made yet)\n"
    description, _, version = (run / "scenario.txt").read_text().partition("\n")
    keys = tomllib.loads(key_file.read_text())
    lines = [f"### {name}", "", f"- Scenario: {description.strip()}"]
    for side in ("west", "east"):
        conf = run / f"{side}.swanctl.conf"
        if conf.exists():
            ike = config_values(conf, "proposals")
            esp = config_values(conf, "esp_proposals")
            mode = config_values(conf, "mode")
            aggressive = config_values(conf, "aggressive")
            lines.append(
                f"- {side} ({'initiator' if side == 'west' else 'responder'}): IKE `{', '.join(ike)}`, "
                f"ESP `{', '.join(esp)}`, mode {', '.join(mode)}, aggressive {', '.join(aggressive)} "
                f"(config: `captures/lab/runs/{name}/{side}.swanctl.conf`)"
            )
        else:
            lines.append(f"- {side}: no charon")
    lines.append(
        f"- {version.strip()}; file `captures/{name}.pcap`, {pcap.stat().st_size} bytes, "
        f"{frame_count(pcap)} frames"
    )
    for ike in keys.get("ike_sa", []):
        lines.append(
            f"- IKE SA cookies {ike['initiator_cookie']} / {ike['responder_cookie']}, "
            f"{len(ike['dh_secret']) // 2}-byte g^xy, {len(ike['encryption_key']) // 2}-byte Ka"
        )
    for quick_mode in keys.get("quick_mode", []):
        pfs = ", PFS" if "dh_secret" in quick_mode else ""
        lines.append(f"- quick mode {quick_mode['message_id']}{pfs}")
    for sa in keys.get("ipsec_sa", []):
        lines.append(
            f"- ESP SA {sa['spi']} {sa['src']} -> {sa['dst']} {sa['mode']} {sa['encryption']}"
            f"/{sa['integrity']}"
        )
    lines += ["", "tshark with `keys/" + name + ".toml` (`captures/lab/verify_tshark.py`):", ""]
    lines.append((run / "verify.md").read_text().strip())
    extract = (run / "extract.txt").read_text().strip() if (run / "extract.txt").exists() else ""
    notes = [line for line in extract.splitlines() if line.startswith("note:")]
    if notes:
        lines += ["", "Key extraction notes:", ""] + [f"- {line[6:]}" for line in notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    print("\n".join(section(name) for name in scenario_names()))


if __name__ == "__main__":
    main()
