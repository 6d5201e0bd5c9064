"""What the IKE engine hands back for each datagram: small finished records (h11's events).

``IkeEngine.receive(datagram)`` returns a list of these, in the order they happened, and
``IkeEngine.finish()`` returns the last ones (every IKE SA, the findings only the end of the capture
can tell). The caller never polls the engine for anything else: there is no side channel.

- ``MessageDecoded``: one IKE message (or a fragment, a malformed datagram) as a record.
- ``IpsecSaKeyed``: key material for one direction of one IPsec SA (IKEv1 quick mode, IKEv2 IKE_AUTH
  or CREATE_CHILD_SA); the layer where IKE and ESP meet turns it into an ESP/AH SA before the next
  datagram, so the packets that follow it decrypt in one pass.
- ``FindingRaised``: a finding not tied to one IKE SA (an SA dropped at the cap, a decoder error).
- ``IkeSaClosed``: an IKE SA whose record is final (at ``finish``, or when the cap drops it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ikedecode.findings import Finding
    from ikedecode.ike.records import IkeMessage, IkeSa
    from ikedecode.ike.v1.child_sa import ChildSaKeys


class MessageDecoded(NamedTuple):
    message: IkeMessage
    attached: bool  # False: the header could not even name an IKE SA (the report lists it apart)


class IpsecSaKeyed(NamedTuple):
    keys: ChildSaKeys  # IKEv2's child key record has the same interface (spi, src, dst, origin, ...)


class FindingRaised(NamedTuple):
    finding: Finding


class IkeSaClosed(NamedTuple):
    sa: IkeSa


IkeEvent = MessageDecoded | IpsecSaKeyed | FindingRaised | IkeSaClosed
