"""A traffic selector's address range reads as one prefix exactly when ipaddress summarizes it to one."""

from __future__ import annotations

import ipaddress

import pytest

from ikedecode.ike.registry.ikev2 import TS_IPV4_ADDR_RANGE, TS_IPV6_ADDR_RANGE
from ikedecode.ike.v2.payloads import TrafficSelector


def summarized(start: str, end: str) -> str:
    """The text the selector had when made with ``ipaddress.summarize_address_range``."""
    if start == end:
        return start
    try:
        networks = list(
            ipaddress.summarize_address_range(ipaddress.ip_address(start), ipaddress.ip_address(end))
        )
    except (ValueError, TypeError):
        return f"{start}-{end}"
    return str(networks[0]) if len(networks) == 1 else f"{start}-{end}"


RANGES = [
    ("10.1.0.0", "10.1.255.255"),  # /16
    ("10.1.0.1", "10.1.255.255"),  # not aligned
    ("10.1.0.0", "10.1.2.255"),  # not a power of two
    ("0.0.0.0", "255.255.255.255"),
    ("192.0.2.7", "192.0.2.7"),
    ("192.0.2.8", "192.0.2.9"),  # /31
    ("192.0.2.9", "192.0.2.8"),  # end before start
    ("10.0.0.0", "::1"),  # two families
    ("not an address", "10.0.0.1"),
    ("10.01.0.0", "10.1.255.255"),  # a leading zero: no address for ipaddress
    ("10.1.0.0", "10.1.255.256"),
    ("10.1.0.\u0661", "10.1.0.3"),  # a digit, not an ASCII one
    ("::ffff:10.1.0.0", "::ffff:10.1.255.255"),
    ("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"),  # /64
    ("2001:0db8:0000::", "2001:db8::ffff"),  # spelled long
    ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("::1", "0::1"),  # one address spelled twice
    ("2001:db8::1", "2001:db8::ff"),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_range_text_matches_summarize_address_range(start, end):
    ts_type = TS_IPV6_ADDR_RANGE if ":" in start + end else TS_IPV4_ADDR_RANGE
    selector = TrafficSelector(ts_type, 0, 0, 65535, start, end)
    assert selector.text() == summarized(start, end)
    assert selector.text() == selector.text()  # kept, not made again differently


WIRE_RANGES = [
    ("10.1.0.0", "10.1.255.255"),
    ("10.1.0.1", "10.1.255.255"),
    ("192.0.2.7", "192.0.2.7"),
    ("192.0.2.9", "192.0.2.8"),
    ("0.0.0.0", "255.255.255.255"),
    ("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"),
    ("2001:db8::1", "2001:db8::ff"),
    ("::ffff:10.1.0.0", "::ffff:10.1.255.255"),
]


@pytest.mark.parametrize(("start", "end"), WIRE_RANGES)
def test_a_decoded_selector_reads_as_one_made_from_its_address_text(start, end):
    first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
    ts_type = TS_IPV6_ADDR_RANGE if first.version == 6 else TS_IPV4_ADDR_RANGE
    decoded = TrafficSelector.from_wire(ts_type, 6, 443, 443, first.packed, last.packed)
    made = TrafficSelector(ts_type, 6, 443, 443, str(first), str(last))
    assert decoded == made
    assert decoded.text() == made.text()
