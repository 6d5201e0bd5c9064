"""``--format show``: ``show crypto isakmp sa`` / ``show crypto ipsec sa`` at the end of a capture.

``dpd-timeout`` ends with the tunnel still up (east was killed, no delete was sent): west sent 20
ESP packets on 0x3b8fd67a, east 4 on 0x6252a352, both verified; lifetime 3600 s from the quick
mode at +0.025 s, the capture ends at +8.941 s.
"""

from __future__ import annotations

from functools import lru_cache

from ikedecode.keys.loader import load_key_file
from ikedecode.render.cisco import render_cisco
from ikedecode.render.show import render_show
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path


@lru_cache(maxsize=4)
def _report(name: str):  # noqa: ANN202
    return analyze_path(CAPTURES_DIR / f"{name}.pcap", load_key_file(str(KEYS_DIR / f"{name}.toml")))


def block(text: str, spi_line: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(spi_line)
    return [line.strip() for line in lines[start : start + 7]]


def test_isakmp_sa_table_from_the_initiator():
    text = render_show(_report("dpd-timeout"), perspective="initiator")
    lines = text.splitlines()
    header = lines.index("Initiator#show crypto isakmp sa")
    assert lines[header + 1].split() == ["dst", "src", "state", "conn-id", "slot"]
    assert lines[header + 2].split() == ["192.0.2.2", "192.0.2.1", "QM_IDLE", "1", "0"]


def test_ipsec_sa_counters_and_sas_from_the_initiator():
    text = render_show(_report("dpd-timeout"), perspective="initiator")
    assert "local ident (addr/mask/prot/port): (10.1.0.0/255.255.255.0/0/0)" in text
    assert "remote ident (addr/mask/prot/port): (10.2.0.0/255.255.255.0/0/0)" in text
    assert "current_peer: 192.0.2.2" in text
    assert "  #pkts encaps: 20, #pkts encrypt: 20, #pkts digest 20" in text
    assert "  #pkts decaps: 4, #pkts decrypt: 4, #pkts verify 4" in text
    assert "  #send errors 0, #recv errors 0" in text
    assert "current outbound spi: 3B8FD67A" in text
    inbound = block(text, "  spi: 0x6252A352(1649582930)")
    assert inbound[1] == "transform: esp-aes esp-sha-hmac ,"
    assert inbound[2] == "in use settings ={Tunnel UDP-Encaps, }"
    # 3600 s from QM3 at +0.025 s, capture end at +8.941 s: 3591 s left; 528 bytes used: 1 KB
    assert inbound[4] == "sa timing: remaining key lifetime (k/sec): (4607999/3591)"
    assert inbound[5] == "IV size: 16 bytes" and inbound[6] == "replay detection support: Y"
    outbound = block(text, "  spi: 0x3B8FD67A(999282298)")
    assert outbound[4] == "sa timing: remaining key lifetime (k/sec): (4607997/3591)"  # 2640 bytes: 3 KB
    sections = [line for line in text.splitlines() if line.endswith(" sas:")]
    assert sections == [
        "inbound esp sas:", "inbound ah sas:", "inbound pcp sas:",
        "outbound esp sas:", "outbound ah sas:", "outbound pcp sas:",
    ]  # fmt: skip
    assert text.index("  spi: 0x6252A352") < text.index("outbound esp sas:") < text.index("  spi: 0x3B8FD67A")


def test_responder_view_mirrors_the_initiator():
    text = render_show(_report("dpd-timeout"), perspective="responder")
    assert "Responder#show crypto ipsec sa" in text
    assert "local ident (addr/mask/prot/port): (10.2.0.0/255.255.255.0/0/0)" in text
    assert "  #pkts encaps: 4, #pkts encrypt: 4, #pkts digest 4" in text
    assert "  #pkts decaps: 20, #pkts decrypt: 20, #pkts verify 20" in text
    assert "current outbound spi: 6252A352" in text


def test_conn_ids_match_the_debug_output():
    report = _report("dpd-timeout")
    for perspective in ("initiator", "responder"):
        show = render_show(report, perspective=perspective)
        debug = render_cisco(report, perspective=perspective)
        for spi_hex, spi in (("0x3B8FD67A", 999282298), ("0x6252A352", 1649582930)):
            conn = int(block(show, f"  spi: {spi_hex}({spi})")[3].split("conn id: ")[1].split(",")[0])
            assert (
                f"sa_spi= {spi_hex}({spi}),\n    sa_trans= esp-aes esp-sha-hmac , sa_conn_id= {conn}" in debug
            )


def test_deleted_sas_are_counted_but_not_listed():
    text = render_show(_report("esp-rekey-delete"), perspective="initiator")
    # every SA and the IKE SA were deleted before the capture ended
    lines = text.splitlines()
    header = lines.index("Initiator#show crypto isakmp sa")
    assert lines[header + 2] == ""
    assert "  spi: 0x" not in text
    assert "  #pkts encaps: 66, #pkts encrypt: 66, #pkts digest 66" in text  # 39 + 27 on both SAs
    assert "  #pkts decaps: 66, #pkts decrypt: 66, #pkts verify 66" in text
    assert "current outbound spi: 0" in text


def test_without_keys_the_spis_seen_are_listed_and_the_proxies_are_unknown():
    report = analyze_path(CAPTURES_DIR / "dpd-timeout.pcap")
    text = render_show(report, perspective="initiator")
    assert "local ident (addr/mask/prot/port): (encrypted: no keys)" in text
    assert "  outbound esp spi: 0x3B8FD67A(999282298), 20 packets seen" in text
    assert "  inbound esp spi: 0x6252A352(1649582930), 4 packets seen" in text
    assert "sa timing" not in text  # no lifetime without the quick mode's proposal
