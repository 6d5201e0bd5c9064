"""Acceptance: ``--format cisco`` on the lab capture of the seed's case study (IKE 3DES/SHA/group 1,
PSK, 86400 s; ESP 3DES/HMAC-MD5, 3600 s) prints, in the same order, the protocol-event lines of the
IOS debug in Examples 13-3 (initiator) and 13-5 (responder) of ../shared/seeds/004_*.txt, with the
capture's real addresses, SPIs, message ID and lifetimes.

The expected sequences below are those examples, line by line, with the lab's values put in. Where
the capture differs from the book's Cisco peer it says so: strongSwan sends its vendor IDs in MM1/MM2
(the book's peer in MM4), its ID payload with protocol 0 port 0 (Cisco: 17/500), the IPsec attributes
Authentication-Algorithm first (IOS prints them in wire order) and encapsulation 3 (UDP tunnel, as
the lab forces NAT-T); lines IOS prints only for things the book's peer did not send (NAT-D, the
port float to 4500, INITIAL-CONTACT) may come in between.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pytest

from ikedecode.keys.loader import load_key_file
from ikedecode.render.cisco import render_cisco
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path

NAME = "case-3des-sha1-modp768"
I_ADDR, R_ADDR = "192.0.2.1", "192.0.2.2"
I_SPI, R_SPI = 0xCBDBAB9E, 0x7D544AEA  # inbound SPI of the initiator / of the responder (QM1 / QM2)
MID = 0x63868E63
STAMP = re.compile(r"^\*(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d\.\d{3}: ")

PROXY_I = "10.1.0.0/255.255.255.0/0/0 (type=4)"
PROXY_R = "10.2.0.0/255.255.255.0/0/0 (type=4)"

INITIATOR_EXPECTED = f"""
IPSEC(sa_request): ,
(key eng. msg.) OUTBOUND local= {I_ADDR}, remote= {R_ADDR},
local_proxy= {PROXY_I},
remote_proxy= {PROXY_R},
protocol= ESP, transform= esp-3des esp-md5-hmac ,
lifedur= 3600s and 4608000kb,
spi= 0xCBDBAB9E(3420171166), conn_id= 0, keysize= 0, flags= 0x400C
ISAKMP: received ke message (1/1)
ISAKMP: local port 500, remote port 500
ISAKMP (0:1): Input = IKE_MSG_FROM_IPSEC, IKE_SA_REQ_MM
Old State = IKE_READY New State = IKE_I_MM1
ISAKMP (0:1): beginning Main Mode exchange
ISAKMP (0:1): sending packet to {R_ADDR} (I) MM_NO_STATE
ISAKMP (0:1): received packet from {R_ADDR} (I) MM_NO_STATE
ISAKMP (0:1): Input = IKE_MSG_FROM_PEER, IKE_MM_EXCH
Old State = IKE_I_MM1 New State = IKE_I_MM2
ISAKMP (0:1): processing SA payload. message ID = 0
ISAKMP (0:1): found peer pre-shared key matching {R_ADDR}
ISAKMP (0:1): Checking ISAKMP transform 1 against priority 1 policy
ISAKMP: encryption 3DES-CBC
ISAKMP: hash SHA
ISAKMP: default group 1
ISAKMP: auth pre-share
ISAKMP: life type in seconds
ISAKMP: life duration (VPI) of 0x0 0x1 0x51 0x80
ISAKMP (0:1): atts are acceptable. Next payload is 0
ISAKMP (0:1): processing vendor id payload
ISAKMP (0:1): vendor ID is DPD
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE
Old State = IKE_I_MM2 New State = IKE_I_MM2
ISAKMP (0:1): sending packet to {R_ADDR} (I) MM_SA_SETUP
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE
Old State = IKE_I_MM2 New State = IKE_I_MM3
ISAKMP (0:1): received packet from {R_ADDR} (I) MM_SA_SETUP
ISAKMP (0:1): Input = IKE_MSG_FROM_PEER, IKE_MM_EXCH
Old State = IKE_I_MM3 New State = IKE_I_MM4
ISAKMP (0:1): processing KE payload. message ID = 0
ISAKMP (0:1): processing NONCE payload. message ID = 0
ISAKMP (0:1): found peer pre-shared key matching {R_ADDR}
ISAKMP (0:1): SKEYID state generated
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE
Old State = IKE_I_MM4 New State = IKE_I_MM4
ISAKMP (0:1): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR
ISAKMP (1): ID payload
next-payload : 8
type : 1
protocol : 0
port : 0
length : 8
ISAKMP (1): Total payload length: 12
ISAKMP (0:1): sending packet to {R_ADDR} (I) MM_KEY_EXCH
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE
Old State = IKE_I_MM4 New State = IKE_I_MM5
ISAKMP (0:1): received packet from {R_ADDR} (I) MM_KEY_EXCH
ISAKMP (0:1): Input = IKE_MSG_FROM_PEER, IKE_MM_EXCH
Old State = IKE_I_MM5 New State = IKE_I_MM6
ISAKMP (0:1): processing ID payload. message ID = 0
ISAKMP (0:1): processing HASH payload. message ID = 0
ISAKMP (0:1): SA has been authenticated with {R_ADDR}
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE
Old State = IKE_I_MM6 New State = IKE_I_MM6
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE
Old State = IKE_I_MM6 New State = IKE_P1_COMPLETE
ISAKMP (0:1): beginning Quick Mode exchange, M-ID of {MID}
ISAKMP (0:1): sending packet to {R_ADDR} (I) QM_IDLE
ISAKMP (0:1): Node {MID}, Input = IKE_MSG_INTERNAL, IKE_INIT_QM
Old State = IKE_QM_READY New State = IKE_QM_I_QM1
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PHASE1_COMPLETE
Old State = IKE_P1_COMPLETE New State = IKE_P1_COMPLETE
ISAKMP (0:1): received packet from {R_ADDR} (I) QM_IDLE
ISAKMP (0:1): processing HASH payload. message ID = {MID}
ISAKMP (0:1): processing SA payload. message ID = {MID}
ISAKMP (0:1): Checking IPsec proposal 1
ISAKMP: transform 1, ESP_3DES
ISAKMP: attributes in transform:
ISAKMP: authenticator is HMAC-MD5
ISAKMP: encaps is 3
ISAKMP: SA life type in seconds
ISAKMP: SA life duration (basic) of 3600
ISAKMP (0:1): atts are acceptable.
IPSEC(validate_proposal_request): proposal part #1,
(key eng. msg.) INBOUND local= {I_ADDR}, remote= {R_ADDR},
local_proxy= {PROXY_I},
remote_proxy= {PROXY_R},
protocol= ESP, transform= esp-3des esp-md5-hmac ,
lifedur= 0s and 0kb,
spi= 0x0(0), conn_id= 0, keysize= 0, flags= 0x4
ISAKMP (0:1): processing NONCE payload. message ID = {MID}
ISAKMP (0:1): processing ID payload. message ID = {MID}
ISAKMP (0:1): processing ID payload. message ID = {MID}
ISAKMP (0:1): Creating IPsec SAs
inbound SA from {R_ADDR} to {I_ADDR}
(proxy 10.2.0.0 to 10.1.0.0)
has spi 0xCBDBAB9E and conn_id 2000 and flags 4
lifetime of 3600 seconds
lifetime of 4608000 kilobytes
outbound SA from {I_ADDR} to {R_ADDR}
(proxy 10.1.0.0 to 10.2.0.0)
has spi 2102676202 and conn_id 2001 and flags C
lifetime of 3600 seconds
lifetime of 4608000 kilobytes
IPSEC(key_engine): got a queue event...
IPSEC(initialize_sas): ,
(key eng. msg.) INBOUND local= {I_ADDR}, remote= {R_ADDR},
local_proxy= {PROXY_I},
remote_proxy= {PROXY_R},
protocol= ESP, transform= esp-3des esp-md5-hmac ,
lifedur= 3600s and 4608000kb,
spi= 0xCBDBAB9E(3420171166), conn_id= 2000, keysize= 0, flags= 0x4
IPSEC(initialize_sas): ,
(key eng. msg.) OUTBOUND local= {I_ADDR}, remote= {R_ADDR},
local_proxy= {PROXY_I},
remote_proxy= {PROXY_R},
protocol= ESP, transform= esp-3des esp-md5-hmac ,
lifedur= 3600s and 4608000kb,
spi= 0x7D544AEA(2102676202), conn_id= 2001, keysize= 0, flags= 0xC
IPSEC(create_sa): sa created,
(sa) sa_dest= {I_ADDR}, sa_prot= 50,
sa_spi= 0xCBDBAB9E(3420171166),
sa_trans= esp-3des esp-md5-hmac , sa_conn_id= 2000
IPSEC(create_sa): sa created,
(sa) sa_dest= {R_ADDR}, sa_prot= 50,
sa_spi= 0x7D544AEA(2102676202),
sa_trans= esp-3des esp-md5-hmac , sa_conn_id= 2001
ISAKMP (0:1): sending packet to {R_ADDR} (I) QM_IDLE
ISAKMP (0:1): deleting node {MID} error FALSE reason ""
ISAKMP (0:1): Node {MID}, Input = IKE_MSG_FROM_PEER, IKE_QM_EXCH
Old State = IKE_QM_I_QM1 New State = IKE_QM_PHASE2_COMPLETE
"""

RESPONDER_EXPECTED = f"""
ISAKMP (0:0): received packet from {I_ADDR} (N) NEW SA
ISAKMP: local port 500, remote port 500
ISAKMP (0:1): Input = IKE_MSG_FROM_PEER, IKE_MM_EXCH
Old State = IKE_READY New State = IKE_R_MM1
ISAKMP (0:1): processing SA payload. message ID = 0
ISAKMP (0:1): found peer pre-shared key matching {I_ADDR}
ISAKMP (0:1): Checking ISAKMP transform 1 against priority 1 policy
ISAKMP: encryption 3DES-CBC
ISAKMP: hash SHA
ISAKMP: default group 1
ISAKMP: auth pre-share
ISAKMP: life type in seconds
ISAKMP: life duration (VPI) of 0x0 0x1 0x51 0x80
ISAKMP (0:1): atts are acceptable. Next payload is 0
ISAKMP (0:1): processing vendor id payload
ISAKMP (0:1): vendor ID is DPD
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE
Old State = IKE_R_MM1 New State = IKE_R_MM1
ISAKMP (0:1): sending packet to {I_ADDR} (R) MM_SA_SETUP
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE
Old State = IKE_R_MM1 New State = IKE_R_MM2
ISAKMP (0:1): received packet from {I_ADDR} (R) MM_SA_SETUP
ISAKMP (0:1): Input = IKE_MSG_FROM_PEER, IKE_MM_EXCH
Old State = IKE_R_MM2 New State = IKE_R_MM3
ISAKMP (0:1): processing KE payload. message ID = 0
ISAKMP (0:1): processing NONCE payload. message ID = 0
ISAKMP (0:1): found peer pre-shared key matching {I_ADDR}
ISAKMP (0:1): SKEYID state generated
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE
Old State = IKE_R_MM3 New State = IKE_R_MM3
ISAKMP (0:1): sending packet to {I_ADDR} (R) MM_KEY_EXCH
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE
Old State = IKE_R_MM3 New State = IKE_R_MM4
ISAKMP (0:1): received packet from {I_ADDR} (R) MM_KEY_EXCH
ISAKMP (0:1): Input = IKE_MSG_FROM_PEER, IKE_MM_EXCH
Old State = IKE_R_MM4 New State = IKE_R_MM5
ISAKMP (0:1): processing ID payload. message ID = 0
ISAKMP (0:1): processing HASH payload. message ID = 0
ISAKMP (0:1): SA has been authenticated with {I_ADDR}
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_MAIN_MODE
Old State = IKE_R_MM5 New State = IKE_R_MM5
ISAKMP (0:1): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR
ISAKMP (1): ID payload
next-payload : 8
type : 1
protocol : 0
port : 0
length : 8
ISAKMP (1): Total payload length: 12
ISAKMP (0:1): sending packet to {I_ADDR} (R) QM_IDLE
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PROCESS_COMPLETE
Old State = IKE_R_MM5 New State = IKE_P1_COMPLETE
ISAKMP (0:1): Input = IKE_MSG_INTERNAL, IKE_PHASE1_COMPLETE
Old State = IKE_P1_COMPLETE New State = IKE_P1_COMPLETE
ISAKMP (0:1): received packet from {I_ADDR} (R) QM_IDLE
ISAKMP (0:1): processing HASH payload. message ID = {MID}
ISAKMP (0:1): processing SA payload. message ID = {MID}
ISAKMP (0:1): Checking IPsec proposal 1
ISAKMP: transform 1, ESP_3DES
ISAKMP: attributes in transform:
ISAKMP: authenticator is HMAC-MD5
ISAKMP: encaps is 3
ISAKMP: SA life type in seconds
ISAKMP: SA life duration (basic) of 3600
ISAKMP (0:1): atts are acceptable.
IPSEC(validate_proposal_request): proposal part #1,
(key eng. msg.) INBOUND local= {R_ADDR}, remote= {I_ADDR},
local_proxy= {PROXY_R},
remote_proxy= {PROXY_I},
protocol= ESP, transform= esp-3des esp-md5-hmac ,
lifedur= 0s and 0kb,
spi= 0x0(0), conn_id= 0, keysize= 0, flags= 0x4
ISAKMP (0:1): processing NONCE payload. message ID = {MID}
ISAKMP (0:1): processing ID payload. message ID = {MID}
ISAKMP (0:1): processing ID payload. message ID = {MID}
ISAKMP (0:1): asking for 1 spis from ipsec
ISAKMP (0:1): Node {MID}, Input = IKE_MSG_FROM_PEER, IKE_QM_EXCH
Old State = IKE_QM_READY New State = IKE_QM_SPI_STARVE
IPSEC(key_engine): got a queue event...
IPSEC(spi_response): getting spi 2102676202 for SA
from {I_ADDR} to {R_ADDR} for prot 3
ISAKMP: received ke message (2/1)
ISAKMP (0:1): sending packet to {I_ADDR} (R) QM_IDLE
ISAKMP (0:1): Node {MID}, Input = IKE_MSG_FROM_IPSEC, IKE_SPI_REPLY
Old State = IKE_QM_SPI_STARVE New State = IKE_QM_R_QM2
ISAKMP (0:1): received packet from {I_ADDR} (R) QM_IDLE
ISAKMP (0:1): Creating IPsec SAs
inbound SA from {I_ADDR} to {R_ADDR}
(proxy 10.1.0.0 to 10.2.0.0)
has spi 0x7D544AEA and conn_id 2000 and flags 4
lifetime of 3600 seconds
lifetime of 4608000 kilobytes
outbound SA from {R_ADDR} to {I_ADDR}
(proxy 10.2.0.0 to 10.1.0.0)
has spi -874796130 and conn_id 2001 and flags C
lifetime of 3600 seconds
lifetime of 4608000 kilobytes
ISAKMP (0:1): deleting node {MID} error FALSE reason "quick mode done (await())"
ISAKMP (0:1): Node {MID}, Input = IKE_MSG_FROM_PEER, IKE_QM_EXCH
Old State = IKE_QM_R_QM2 New State = IKE_QM_PHASE2_COMPLETE
IPSEC(key_engine): got a queue event...
IPSEC(initialize_sas): ,
(key eng. msg.) INBOUND local= {R_ADDR}, remote= {I_ADDR},
local_proxy= {PROXY_R},
remote_proxy= {PROXY_I},
protocol= ESP, transform= esp-3des esp-md5-hmac ,
lifedur= 3600s and 4608000kb,
spi= 0x7D544AEA(2102676202), conn_id= 2000, keysize= 0, flags= 0x4
IPSEC(initialize_sas): ,
(key eng. msg.) OUTBOUND local= {R_ADDR}, remote= {I_ADDR},
local_proxy= {PROXY_R},
remote_proxy= {PROXY_I},
protocol= ESP, transform= esp-3des esp-md5-hmac ,
lifedur= 3600s and 4608000kb,
spi= 0xCBDBAB9E(3420171166), conn_id= 2001, keysize= 0, flags= 0xC
IPSEC(create_sa): sa created,
(sa) sa_dest= {R_ADDR}, sa_prot= 50,
sa_spi= 0x7D544AEA(2102676202),
sa_trans= esp-3des esp-md5-hmac , sa_conn_id= 2000
IPSEC(create_sa): sa created,
(sa) sa_dest= {I_ADDR}, sa_prot= 50,
sa_spi= 0xCBDBAB9E(3420171166),
sa_trans= esp-3des esp-md5-hmac , sa_conn_id= 2001
ISAKMP (0:1): purging node {MID}
"""


@lru_cache(maxsize=2)
def _report(with_keys: bool):  # noqa: ANN202
    keyring = load_key_file(str(KEYS_DIR / f"{NAME}.toml")) if with_keys else None
    return analyze_path(CAPTURES_DIR / f"{NAME}.pcap", keyring)


def normalise(line: str) -> str:
    """Without the IOS timestamp, with single spaces (the book's text is reflowed)."""
    return re.sub(r"\s+", " ", STAMP.sub("", line)).replace(" )", ")").strip()


def rendered(perspective: str, with_keys: bool = True) -> list[str]:
    return [
        normalise(line) for line in render_cisco(_report(with_keys), perspective=perspective).splitlines()
    ]


def expected(text: str) -> list[str]:
    return [normalise(line) for line in text.strip().splitlines()]


def assert_in_order(lines: list[str], wanted: list[str]) -> None:
    position = 0
    for line in wanted:
        try:
            position = lines.index(line, position) + 1
        except ValueError:
            context = "\n".join(lines[max(0, position - 3) : position + 3])
            pytest.fail(f"missing (in order) after line {position}: {line!r}\n--- around there:\n{context}")


def test_initiator_debug_has_example_13_3_events_in_order():
    assert_in_order(rendered("initiator"), expected(INITIATOR_EXPECTED))


def test_responder_debug_has_example_13_5_events_in_order():
    assert_in_order(rendered("responder"), expected(RESPONDER_EXPECTED))


def test_spis_and_lifetimes_are_the_captures():
    report = _report(True)
    spis = {sa.spi for sa in report.ipsec_sas}
    assert spis == {I_SPI, R_SPI}
    text = render_cisco(report)
    created = set(re.findall(r"sa_spi= 0x([0-9A-F]+)\(", text))
    assert {int(s, 16) for s in created} == spis
    assert "lifetime of 3600 seconds" in text and "life duration (VPI) of  0x0 0x1 0x51 0x80" in text


def test_successful_negotiation_prints_no_failure_line():
    for perspective in ("initiator", "responder"):
        output = render_cisco(_report(True), perspective=perspective).splitlines()
        text = "\n".join(line for line in output if not line.startswith("!"))  # "!" lines are the header
        for bad in ("%CRYPTO", "not acceptable", "retransmitting", "(encrypted", "Death by"):
            assert bad not in text, (perspective, bad)


def test_every_stamped_line_carries_the_capture_time():
    lines = render_cisco(_report(True)).splitlines()
    stamped = [line for line in lines if line.startswith("*")]
    assert stamped and all(STAMP.match(line) for line in stamped)
    assert stamped[0].startswith("*Nov 22 08:00:55.011: ")  # frame 1, 2026-11-22 08:00:55.011874 UTC
    assert lines[-1].startswith("*Nov 22 08:00:58.294: ")  # frame 27, the IKE delete


def test_without_keys_the_output_says_where_it_cannot_follow():
    lines = rendered("initiator", with_keys=False)
    assert "ISAKMP (0:1): (encrypted: no keys) MM6 payloads not shown" in lines
    assert "ISAKMP (0:1): (encrypted: no keys) QM2 accepted proposal, nonce and proxy IDs not shown" in lines
    # the clear-text main mode is still complete, the quick mode still shows its message ID
    assert_in_order(lines, expected(INITIATOR_EXPECTED)[7:42])
    assert f"ISAKMP (0:1): beginning Quick Mode exchange, M-ID of {MID}" in lines
    assert not any("Creating IPsec SAs" in line or "sa_spi=" in line for line in lines)
