"""``debug crypto ipsec`` blocks for IKEv2 Child SAs: the key engine message and the SA lines
(the same shapes as for IKEv1, seed Examples 13-3 and 13-5; docs/cisco.md, IKEv2)."""

from __future__ import annotations

from ikedecode.render.cisco import ikev2_words as w
from ikedecode.render.cisco.ikev2_child import Ikev2LocalChild

INDENT = "  "


def dotted_mask(bits: int) -> str:
    mask = (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0
    return ".".join(str((mask >> shift) & 255) for shift in (24, 16, 8, 0))


def proxy(ts: str) -> str:
    """``10.1.0.0/24`` -> ``10.1.0.0/255.255.255.0/256/0`` (IOS: any protocol is 256)."""
    first = ts.split(",")[0].strip().split("[")[0]
    if "/" in first:
        address, bits = first.split("/", 1)
        if bits.isdigit() and ":" not in address:
            return f"{address}/{dotted_mask(int(bits))}/256/0"
        return f"{first}/256/0"
    return f"{first or '0.0.0.0/0.0.0.0'}/256/0"


def keysize(child: Ikev2LocalChild) -> int:
    return w.encryption_with_keysize(child.transforms)[1] or 0


def key_engine(
    local: str, remote: str, child: Ikev2LocalChild, direction: str, spi: int | None, conn: int
) -> list[str]:
    """``(key eng. msg.) INBOUND local= ..., remote= ...`` and its continuation lines."""
    mode = "Tunnel" if child.mode == "tunnel" else "Transport"
    return [
        f"{INDENT}(key eng. msg.) {direction} local= {local}:0, remote= {remote}:0,",
        f"{INDENT}  local_proxy= {proxy(child.local_ts)},",
        f"{INDENT}  remote_proxy= {proxy(child.remote_ts)},",
        f"{INDENT}  protocol= {child.protocol.upper()}, "
        f"transform= {w.esp_transform_set(child.transforms)}  ({mode}), ",
        f"{INDENT}  lifedur= 0s and 0kb, ",
        f"{INDENT}  spi= 0x{spi or 0:X}({spi or 0}), conn_id= {conn}, keysize= {keysize(child)}, flags= 0x0",
    ]


def sa_lines(child: Ikev2LocalChild, dest: str, spi: int | None, conn: int) -> list[str]:
    """``(sa) sa_dest= ..., sa_proto= 50,`` ... of ``IPSEC(create_sa)`` / ``IPSEC(delete_sa)``."""
    number = 51 if child.protocol == "ah" else 50
    return [
        f"{INDENT}(sa) sa_dest= {dest}, sa_proto= {number}, ",
        f"{INDENT}  sa_spi= 0x{spi or 0:X}({spi or 0}), ",
        f"{INDENT}  sa_trans= {w.esp_transform_set(child.transforms)} , sa_conn_id= {conn},",
        f"{INDENT}  sa_lifetime(k/sec)= "
        f"({w.DEFAULT_CHILD_LIFETIME_KILOBYTES}/{w.DEFAULT_CHILD_LIFETIME_SECONDS}),",
    ]
