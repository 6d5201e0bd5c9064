"""Whose router the Cisco-style output is written for: ``--as initiator|responder|ADDRESS``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ikedecode.ike.records import IkeSa
from ikedecode.ike.v1.exchanges import Role

CHOICES = tuple(role.value for role in Role)


class PerspectiveError(ValueError):
    """``--as`` names something that is not a role nor an address of a peer in the capture."""


@dataclass(frozen=True, slots=True)
class Perspective:
    """``role`` for ``initiator``/``responder``; ``address`` for ``--as ADDRESS``."""

    role: Role | None = Role.INITIATOR
    address: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Perspective:
        if text is None or text.strip().lower() == Role.INITIATOR:
            return cls(Role.INITIATOR)
        wanted = text.strip().lower()
        if wanted == Role.RESPONDER:
            return cls(Role.RESPONDER)
        try:
            return cls(None, str(ipaddress.ip_address(wanted)))
        except ValueError:
            raise PerspectiveError(
                f"--as {text!r}: expected 'initiator', 'responder' or a peer's IP address"
            ) from None

    def role_in(self, sa: IkeSa) -> Role | None:
        """The local router's role in ``sa``, or None when the SA is not its business."""
        if self.role is not None:
            return self.role
        if sa.initiator == self.address:
            return Role.INITIATOR
        if sa.responder == self.address:
            return Role.RESPONDER
        return None

    def describe(self) -> str:
        return self.address if self.address is not None else f"the {self.role}"


def local_sas(sas: list[IkeSa], perspective: Perspective, version: int = 1) -> list[tuple[IkeSa, Role]]:
    """The IKE SAs of ``version`` the local router takes part in, with its role in each.

    Raises ``PerspectiveError`` when ``--as ADDRESS`` is not a peer of any IKE SA (of any version).
    """
    out = [
        (sa, role) for sa in sas if sa.version == version and (role := perspective.role_in(sa)) is not None
    ]
    if perspective.address is not None and not out and sas and not any(perspective.role_in(sa) for sa in sas):
        peers = sorted({a for sa in sas for a in (sa.initiator, sa.responder)})
        raise PerspectiveError(
            f"--as {perspective.address}: not a peer of any IKE SA in the capture (peers: {', '.join(peers)})"
        )
    return out


def addresses(sa: IkeSa, role: Role) -> tuple[str, str]:
    """(local, remote) addresses for the router in ``role``."""
    return (sa.initiator, sa.responder) if role is Role.INITIATOR else (sa.responder, sa.initiator)
