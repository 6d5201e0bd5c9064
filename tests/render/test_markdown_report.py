"""``--format markdown``: summary, a Mermaid ladder per IKE SA, each message with a sentence, findings."""

from __future__ import annotations

import re

from ikedecode.keys.loader import load_key_file
from ikedecode.render.markdown import render_markdown
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path


def _markdown(name: str, with_keys: bool = True) -> str:
    keyring = load_key_file(str(KEYS_DIR / f"{name}.toml")) if with_keys else None
    return render_markdown(analyze_path(CAPTURES_DIR / f"{name}.pcap", keyring))


def mermaid_blocks(text: str) -> list[list[str]]:
    return [block.strip().splitlines() for block in re.findall(r"```mermaid\n(.*?)```", text, re.S)]


def test_case_study_report_reads_top_down():
    text = _markdown("case-3des-sha1-modp768")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# IKE/IPsec report: captures/case-3des-sha1-modp768.pcap".replace(
            "captures/", str(CAPTURES_DIR) + "/"
        ),
        "## Summary",
        "## IKE SA 1: 192.0.2.1 and 192.0.2.2",
        "### Ladder",
        "### Messages",
        "### IPsec SAs",
        "## Findings",
    ]
    assert "**Verdict: The tunnel came up (" in text
    assert "main mode, 3DES-CBC, SHA, Pre-shared key, group 1, 86400 seconds" in text


def test_ladder_is_a_mermaid_sequence_diagram_with_every_message():
    blocks = mermaid_blocks(_markdown("case-3des-sha1-modp768"))
    assert len(blocks) == 1
    diagram = blocks[0]
    assert diagram[:3] == [
        "sequenceDiagram",
        "    participant I as Initiator 192.0.2.1",
        "    participant R as Responder 192.0.2.2",
    ]
    arrows = [line.strip() for line in diagram if re.match(r"\s+[IR](->>|-->>|-x|-\))[IR]:", line)]
    labels = [re.search(r"s (\w+)", a).group(1) for a in arrows]
    assert labels == [
        "MM1",
        "MM2",
        "MM3",
        "MM4",
        "MM5",
        "MM6",
        "QM1",
        "QM2",
        "QM3",
        "ESP",
        "ESP",
        "INFO",
        "INFO",
    ]
    assert arrows[0].startswith("I->>R: +0.000s MM1:") and arrows[1].startswith("R->>I: +0.004s MM2:")
    assert "I-)R: +0.526s ESP 0x7d544aea: 8 packets, 928 bytes" in arrows
    assert any(line.strip().startswith("Note over I,R: phase 1 complete") for line in diagram)
    assert not any(";" in line or "#" in line for line in diagram)  # Mermaid statement/entity characters


def test_each_message_has_a_sentence_and_its_payloads():
    text = _markdown("case-3des-sha1-modp768")
    assert (
        "- **MM3** (frame 3, +0.006 s, initiator → responder): "
        "the initiator sends its Diffie-Hellman public value and nonce" in text
    )
    assert "  - KE: 96 bytes" in text
    assert "the initiator deletes ESP SA 0xcbdbab9e (its inbound SPI; the pair goes)" in text


def test_failed_negotiation_says_what_went_wrong():
    text = _markdown("fail-psk-mismatch")
    assert "**Verdict: The tunnel did not come up:" in text
    assert "Did not come up: phase 1 stopped after MM5 from the initiator (state MM\\_KEY\\_EXCH)" in text
    assert "What went wrong: psk-mismatch: the peers use different preshared keys" in text
    diagram = mermaid_blocks(text)[0]
    assert sum("-->>" in line for line in diagram) == 2  # the two MM5 retransmissions, dashed
    assert sum("receiver cannot decrypt" in line for line in diagram) == 6


def test_without_keys_encrypted_messages_are_marked():
    text = _markdown("case-3des-sha1-modp768", with_keys=False)
    assert "MM5 (encrypted, no keys)" in text
    assert "the initiator proves its identity" in text  # the shape still says what MM5 is for


def test_an_ikev2_summary_speaks_of_the_ike_sa_and_child_sas_not_phase_1_and_quick_modes():
    name = "ikev2-psk-aes-cbc-sha256"
    keyring = load_key_file(str(KEYS_DIR / f"{name}.toml"))
    text = render_markdown(analyze_path(CAPTURES_DIR / f"{name}.pcap", keyring))
    assert "Came up: IKE SA established at +0.017 s, 1 Child SA(s) (aes-cbc-256/hmac-sha2-256-128)" in text
    assert "quick mode" not in text.split("## IKE SA 1")[0]
