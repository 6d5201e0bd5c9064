"""IpsecSa addresses: written as ipaddress writes them, whichever spelling came first (the canonical
text of each spelling is kept, esp/sa.py), and an invalid one refused every time it is given."""

import pytest

from ikedecode.esp import InvalidSa, IpsecSa


def test_each_spelling_of_an_address_gives_the_canonical_text_every_time():
    spellings = ["2001:DB8:0:0::7", "2001:db8::7", " 2001:0db8::0007 "]
    for _ in range(2):
        for spelling in spellings:
            sa = IpsecSa("esp", 9, spelling, "192.0.2.9")
            assert (sa.src, sa.dst) == ("2001:db8::7", "192.0.2.9")


@pytest.mark.parametrize("address", ["192.0.2.300", "not-an-address", "192.0.2.01"])
def test_an_invalid_address_is_refused_each_time_it_is_given(address):
    IpsecSa("esp", 9, "192.0.2.9")  # a valid address known first
    for _ in range(2):
        with pytest.raises(InvalidSa, match="is not an IP address"):
            IpsecSa("esp", 9, address)
