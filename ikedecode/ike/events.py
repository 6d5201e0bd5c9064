"""What the IKE engine hands back for each datagram: small finished records (h11's events).

``IkeEngine.receive(datagram)`` (``ikedecode.ike.engine``) returns a list of these, in the order
they happened, and ``IkeEngine.finish()`` returns the last ones (the findings only the end of the
capture can tell, then every IKE SA). The caller never polls the engine for anything else: there is
no side channel. Both version engines (``ike.v1.engine.Ikev1Engine``, the IKEv2 one) speak this.

- ``MessageDecoded``: one IKE message (or a fragment, a malformed datagram) as a record, once per
  datagram (a fragment that completes a message: the fragment's record, then the whole message's).
- ``IpsecSaKeyed``: key material for one direction of one IPsec SA (IKEv1 quick mode, IKEv2 IKE_AUTH
  or CREATE_CHILD_SA); the layer where IKE and ESP meet turns it into an ESP/AH SA before the next
  datagram, so the packets that follow it decrypt in one pass.
- ``FindingRaised``: a finding not tied to one IKE SA (an SA dropped at the cap, a decoder error, a
  malformed datagram). Findings about one IKE SA travel in that SA's record instead. The
  ``state-cap`` finding is raised at the first drop; its count keeps growing with later drops.
- ``IkeSaClosed``: an IKE SA whose record is final, from ``finish``, in order of first appearance.
  The IKEv2 engine also closes an SA its cap drops, during ``receive``: such an SA is left out of
  the report (the IKEv1 engine just forgets it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ikedecode.findings import Finding
    from ikedecode.ike.records import IkeMessage, IkeSa
    from ikedecode.ike.v1.child_sa import ChildSaKeys
    from ikedecode.ike.v2.child_sa import Ikev2ChildSaKeys


class MessageDecoded(NamedTuple):
    message: IkeMessage
    attached: bool  # False: the header could not even name an IKE SA (the report lists it apart)


class IpsecSaKeyed(NamedTuple):
    keys: ChildSaKeys | Ikev2ChildSaKeys  # the same interface: spi, src, dst, origin, message_id, ...


class FindingRaised(NamedTuple):
    finding: Finding


class IkeSaClosed(NamedTuple):
    sa: IkeSa


IkeEvent = MessageDecoded | IpsecSaKeyed | FindingRaised | IkeSaClosed
