"""``debug crypto ipsec`` blocks: the key engine messages of Examples 13-3 and 13-5 (seed)."""

from __future__ import annotations

from ikedecode.render.cisco import vocabulary as v
from ikedecode.render.cisco.child import ChildPart, LocalChild, offered_parts
from ikedecode.render.cisco.context import SaContext
from ikedecode.render.cisco.lines import signed32

INDENT = "  "


def _spi(spi: int | None) -> str:
    """``0x8EAB0B22(2393574178)`` (seed)."""
    value = spi or 0
    return f"0x{value:X}({value})"


def _proxies(child: LocalChild) -> list[str]:
    local = child.local_proxy.key_engine if child.local_proxy else "0.0.0.0/0.0.0.0/0/0 (type=1)"
    remote = child.remote_proxy.key_engine if child.remote_proxy else "0.0.0.0/0.0.0.0/0/0 (type=1)"
    return [f"{INDENT}  local_proxy= {local},", f"{INDENT}  remote_proxy= {remote},"]


def _key_engine(
    ctx: SaContext,
    child: LocalChild,
    part: ChildPart,
    direction: str,
    lifedur: str,
    spi: int | None,
    conn_id: int,
    flags: str,
    keysize: str = "keysize",
) -> list[str]:
    return [
        f"{INDENT}(key eng. msg.) {direction} local= {ctx.local}, remote= {ctx.remote},",
        *_proxies(child),
        f"{INDENT}  protocol= {part.protocol.upper()}, transform= {part.transform_set} ,",
        f"{INDENT}  lifedur= {lifedur},",
        f"{INDENT}  spi= {_spi(spi)}, conn_id= {conn_id}, {keysize}= 0, flags= {flags}",
    ]


def _lifedur(part: ChildPart) -> str:
    return f"{part.seconds}s and {part.kilobytes}kb"


def sa_request(ctx: SaContext, time: float, child: LocalChild) -> None:
    """``IPSEC(sa_request)``: the initiator's crypto map asks IKE for SAs (Example 13-3)."""
    for part in offered_parts(child):
        ctx.log.say(
            time,
            "IPSEC(sa_request): ,",
            *_key_engine(
                ctx, child, part, "OUTBOUND", _lifedur(part), part.inbound_spi, 0, v.SA_REQUEST_FLAGS
            ),
        )


def validate_proposal(ctx: SaContext, time: float, child: LocalChild) -> None:
    for n, part in enumerate(child.parts, 1):
        ctx.log.say(
            time,
            f"IPSEC(validate_proposal_request): proposal part #{n},",
            *_key_engine(ctx, child, part, "INBOUND", "0s and 0kb", 0, 0, "0x4"),
        )


def spi_response(ctx: SaContext, time: float, child: LocalChild) -> None:
    """The quick-mode responder's SPI allocation (Example 13-5)."""
    ctx.log.isakmp(time, f"asking for {len(child.parts)} spis from ipsec")


def spi_response_from_ipsec(ctx: SaContext, time: float, child: LocalChild) -> None:
    ctx.log.say(time, "IPSEC(key_engine): got a queue event...")
    for part in child.parts:
        ctx.log.say(
            time,
            f"IPSEC(spi_response): getting spi {part.inbound_spi or 0} for SA",
            f"{INDENT}from {ctx.remote} to {ctx.local} for prot {v.KEY_ENGINE_PROTOCOL[part.protocol]}",
        )
    ctx.log.say(time, "ISAKMP: received ke message (2/1)")


def creating_sas(ctx: SaContext, time: float, child: LocalChild) -> None:
    """``Creating IPsec SAs`` with the inbound and outbound SA, SPIs and lifetimes (Example 13-3)."""
    local_addr = child.local_proxy.address if child.local_proxy else ctx.local
    remote_addr = child.remote_proxy.address if child.remote_proxy else ctx.remote
    for part in child.parts:
        ctx.log.isakmp(time, "Creating IPsec SAs")
        cookies = ctx.sa.cookies
        conn_in = ctx.view.conn_id(cookies, child.message_id, part.number, "in")
        conn_out = ctx.view.conn_id(cookies, child.message_id, part.number, "out")
        say = ctx.log.say
        say(
            time,
            f"{INDENT}inbound SA from {ctx.remote} to {ctx.local}",
            f"{INDENT} (proxy {remote_addr} to {local_addr})",
        )
        say(
            time,
            f"{INDENT}has spi 0x{part.inbound_spi or 0:X} and conn_id {conn_in} and flags {v.INBOUND_FLAGS}",
        )
        _lifetime_lines(ctx, time, part)
        say(
            time,
            f"{INDENT}outbound SA from {ctx.local} to {ctx.remote}",
            f"{INDENT} (proxy {local_addr} to {remote_addr})",
        )
        say(
            time,
            f"{INDENT}has spi {signed32(part.outbound_spi or 0)} and conn_id {conn_out} "
            f"and flags {v.OUTBOUND_FLAGS}",
        )
        _lifetime_lines(ctx, time, part)


def _lifetime_lines(ctx: SaContext, time: float, part: ChildPart) -> None:
    ctx.log.say(time, f"{INDENT}lifetime of {part.seconds} seconds")
    ctx.log.say(time, f"{INDENT}lifetime of {part.kilobytes} kilobytes")


def initialize_sas(ctx: SaContext, time: float, child: LocalChild) -> None:
    """``IPSEC(initialize_sas)`` and ``IPSEC(create_sa)`` for each SA (Examples 13-3, 13-5)."""
    ctx.log.say(time, "IPSEC(key_engine): got a queue event...")
    cookies = ctx.sa.cookies
    for part in child.parts:
        conn_in = ctx.view.conn_id(cookies, child.message_id, part.number, "in")
        conn_out = ctx.view.conn_id(cookies, child.message_id, part.number, "out")
        ctx.log.say(
            time,
            "IPSEC(initialize_sas): ,",
            *_key_engine(ctx, child, part, "INBOUND", _lifedur(part), part.inbound_spi, conn_in, "0x4"),
        )
        ctx.log.say(
            time,
            "IPSEC(initialize_sas): ,",
            *_key_engine(ctx, child, part, "OUTBOUND", _lifedur(part), part.outbound_spi, conn_out, "0xC"),
        )
    for part in child.parts:
        for dest, spi, direction in (
            (ctx.local, part.inbound_spi, "in"),
            (ctx.remote, part.outbound_spi, "out"),
        ):
            ctx.log.say(
                time, "IPSEC(create_sa): sa created,", *_sa_lines(ctx, child, part, dest, spi, direction)
            )


def _sa_lines(
    ctx: SaContext, child: LocalChild, part: ChildPart, dest: str, spi: int | None, direction: str
) -> list[str]:
    conn = ctx.view.conn_id(ctx.sa.cookies, child.message_id, part.number, direction)
    return [
        f"{INDENT}(sa) sa_dest= {dest}, sa_prot= {v.PROTOCOL_NUMBER[part.protocol]},",
        f"{INDENT}  sa_spi= {_spi(spi)},",
        f"{INDENT}  sa_trans= {part.transform_set} , sa_conn_id= {conn}",
    ]


def delete_sas(ctx: SaContext, time: float, child: LocalChild) -> None:
    """``IPSEC(delete_sa): deleting SA,`` for both SAs of each part."""
    for part in child.parts:
        for dest, spi, direction in (
            (ctx.local, part.inbound_spi, "in"),
            (ctx.remote, part.outbound_spi, "out"),
        ):
            ctx.log.say(
                time, "IPSEC(delete_sa): deleting SA,", *_sa_lines(ctx, child, part, dest, spi, direction)
            )
