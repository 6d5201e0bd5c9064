"""The IKE engine's front: read the ISAKMP header, hand the datagram to the engine of its version.

Sans-IO, like h11: ``IkeEngine.receive(datagram)`` returns what happened as events
(``ikedecode.ike.events``), ``finish()`` the last ones (every IKE SA). The header (RFC 2408 3.1,
RFC 7296 3.1) is the one thing both versions share on the wire; its major version picks the engine:
1 goes to ``ike.v1.engine.Ikev1Engine``, 2 to ``ike.v2.engine.Ikev2Engine``. A datagram that is no ISAKMP
message, or a bug while decoding one, becomes a record listed apart and a finding, never an
exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ikedecode.capture.datagram import Datagram
from ikedecode.ike import messages
from ikedecode.ike.dh_work import DhProvider
from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.events import IkeEvent, IkeSaClosed
from ikedecode.ike.header import parse_header
from ikedecode.ike.messages import DEFAULT_MAX_SAS, malformed_events
from ikedecode.ike.v1.engine import DEFAULT_MAX_PHASE2_PER_SA, Ikev1Engine
from ikedecode.keys.keyring import KeyRing

if TYPE_CHECKING:
    from ikedecode.ike.v2.engine import Ikev2Engine

IKEV2_MAJOR_VERSION = 2  # RFC 7296 3.1; anything else is read as IKEv1 (RFC 2408 3.1: major 1)

__all__ = ["DEFAULT_MAX_PHASE2_PER_SA", "DEFAULT_MAX_SAS", "IkeEngine"]


class IkeEngine:
    def __init__(
        self,
        keyring: KeyRing | None = None,
        *,
        max_sas: int = DEFAULT_MAX_SAS,
        max_phase2_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA,
        dh_provider: DhProvider | None = None,
    ) -> None:
        self.v1 = Ikev1Engine(
            keyring, max_sas=max_sas, max_phase2_per_sa=max_phase2_per_sa, dh_provider=dh_provider
        )
        self.max_sas = max_sas
        self.dh_provider = dh_provider
        self.v2: Ikev2Engine | None = None  # made for the first IKEv2 message (see receive)

    @property
    def computes_dh(self) -> bool:
        """Whether this engine has Diffie-Hellman work to do (the key ring holds private values)."""
        return self.v1.computes_dh

    def use_dh_provider(self, provider: DhProvider | None) -> None:
        """Compute g^xy from private values with ``provider`` from now on (None: in-line)."""
        self.dh_provider = provider
        self.v1.use_dh_provider(provider)
        if self.v2 is not None:
            self.v2.keying.private_secrets.use_provider(provider)

    def anticipate(self, datagram: Datagram) -> None:
        """Look at a datagram ``receive`` will get later, to start its DH work early (never raises)."""
        self.v1.anticipate(datagram)

    def receive(self, datagram: Datagram) -> list[IkeEvent]:
        """Process one IKE datagram; returns what happened, in order (nothing for a NAT-T keepalive)."""
        if datagram.nat_keepalive:
            return []
        try:
            header = parse_header(datagram.payload)
        except MalformedMessage as exc:
            return malformed_events(datagram, str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad message must not end the analysis
            return messages.decoder_error_events(datagram, exc)
        if header.version >> 4 == IKEV2_MAJOR_VERSION:  # the major version (the property's work)
            if self.v2 is None:
                # the IKEv2 engine and its modules (about 20 ms of imports) for captures with IKEv2
                from ikedecode.ike.v2.engine import Ikev2Engine

                self.v2 = Ikev2Engine(self.v1.keyring, self.dh_provider, self.max_sas)
            return self.v2.receive(datagram, header)
        return self.v1.receive(datagram, header)

    def finish(self) -> list[IkeEvent]:
        """Findings only the end of the capture can tell, then every IKE SA (``IkeSaClosed``) in
        order of first appearance: the two versions keep their own SA tables, so with IKEv2 SAs
        the SAs of both are put in the order of the frame that opened each."""
        v1, v2 = self.v1.finish(), self.v2.finish() if self.v2 is not None else []
        closed_v2 = [e for e in v2 if type(e) is IkeSaClosed]
        if not closed_v2:
            return v1 + v2
        closed = [e for e in v1 if type(e) is IkeSaClosed] + closed_v2
        closed.sort(key=_first_frame)
        return [e for e in v1 + v2 if type(e) is not IkeSaClosed] + closed


def _first_frame(event: IkeSaClosed) -> int:
    messages = event.sa.messages
    return messages[0].frame if messages else 0
