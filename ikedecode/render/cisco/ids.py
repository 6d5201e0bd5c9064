"""Connection ids, which IOS takes from its own state and the capture cannot show (docs/cisco.md).

They are synthesised the same way for ``--format cisco`` and ``--format show``: IKE SAs count
from 1 in capture order (``ISAKMP (0:1)``), IPsec SAs from 2000 in the order their quick modes
completed, inbound before outbound (``conn_id 2000`` / ``2001``, as the seed's Example 13-26).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ikedecode.ike.records import IkeSa
from ikedecode.ike.v1.exchanges import Role
from ikedecode.render.cisco import vocabulary as v
from ikedecode.render.cisco.child import LocalChild, build_children
from ikedecode.render.cisco.perspective import addresses


@dataclass(slots=True)
class LocalView:
    """Everything the renderers need about the local router's SAs."""

    sas: list[tuple[IkeSa, Role, int]] = field(default_factory=list)  # (SA, role, IKE conn id)
    children: dict[str, list[LocalChild]] = field(default_factory=dict)  # cookies -> quick modes
    ipsec_ids: dict[tuple[str, int, int, str], int] = field(
        default_factory=dict
    )  # (cookies, mid, part, in/out)

    def conn_id(self, cookies: str, message_id: int, part: int, direction: str) -> int:
        return self.ipsec_ids.get((cookies, message_id, part, direction), 0)


def local_view(sas: list[tuple[IkeSa, Role]]) -> LocalView:
    view = LocalView()
    created: list[tuple[float, int, str, LocalChild]] = []
    for n, (sa, role) in enumerate(sas):
        view.sas.append((sa, role, v.FIRST_IKE_CONN_ID + n))
        local, remote = addresses(sa, role)
        children = build_children(sa, local, remote)
        view.children[sa.cookies] = children
        for child in children:
            if child.complete and child.readable and child.created is not None:
                created.append((child.created, n, sa.cookies, child))
    next_id = v.FIRST_IPSEC_CONN_ID
    for _, _, cookies, child in sorted(created, key=lambda item: (item[0], item[1])):
        for part in child.parts:
            for direction in ("in", "out"):
                view.ipsec_ids[(cookies, child.message_id, part.number, direction)] = next_id
                next_id += 1
    return view
