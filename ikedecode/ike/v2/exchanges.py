"""IKEv2 exchange shapes as data (RFC 7296 1.2-1.5, 2.6, 3; RFC 5723; RFC 9242; RFC 9370).

Per exchange type and direction (request or response): which payloads may appear, how often, and
whether the message must be protected by an SK (or SKF) payload. ``check_shape`` compares a
message's payloads with its rule and says what is missing or unexpected; ``message_label`` names
a message ("IKE_AUTH request"). An error notify (or a COOKIE / INVALID_KE_PAYLOAD answer) replaces
the usual payloads of a response, so their minimums do not apply to it (RFC 7296 2.21).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ikedecode.ike.registry import ikev2 as reg

MANY = 255


class PayloadRule(NamedTuple):
    payload_type: int
    minimum: int
    maximum: int


@dataclass(frozen=True, slots=True)
class ExchangeRule:
    exchange_type: int
    response: bool
    encrypted: bool  # the payloads must be inside SK / SKF
    payloads: tuple[PayloadRule, ...]
    by_type: dict[int, PayloadRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_type", {r.payload_type: r for r in reversed(self.payloads)})

    def rule_for(self, payload_type: int) -> PayloadRule | None:
        return self.by_type.get(payload_type)


def _rule(exchange_type: int, response: bool, encrypted: bool, *rules: tuple[int, int, int]) -> ExchangeRule:
    return ExchangeRule(exchange_type, response, encrypted, tuple(PayloadRule(*r) for r in rules))


N, V = (reg.PT_NOTIFY, 0, MANY), (reg.PT_VENDOR_ID, 0, MANY)
_ALL = (
    # RFC 7296 1.2: HDR, SAi1, KEi, Ni [, N(COOKIE)] [, CERTREQ] ; HDR, SAr1, KEr, Nr, [CERTREQ]
    _rule(reg.IKE_SA_INIT, False, False, (reg.PT_SA, 1, 1), (reg.PT_KE, 1, 1), (reg.PT_NONCE, 1, 1), N, V,
          (reg.PT_CERTREQ, 0, MANY)),
    _rule(reg.IKE_SA_INIT, True, False, (reg.PT_SA, 1, 1), (reg.PT_KE, 1, 1), (reg.PT_NONCE, 1, 1), N, V,
          (reg.PT_CERTREQ, 0, MANY)),
    # RFC 7296 1.2, 2.16 (EAP: the later IKE_AUTH requests carry EAP or AUTH only), RFC 6023
    # (childless: no SA/TS)
    _rule(reg.IKE_AUTH, False, True, (reg.PT_IDI, 0, 1), (reg.PT_CERT, 0, MANY), (reg.PT_CERTREQ, 0, MANY),
          (reg.PT_IDR, 0, 1), (reg.PT_AUTH, 0, 1), (reg.PT_SA, 0, 1), (reg.PT_TSI, 0, 1), (reg.PT_TSR, 0, 1),
          (reg.PT_CP, 0, 1), (reg.PT_EAP, 0, 1), N, V),
    _rule(reg.IKE_AUTH, True, True, (reg.PT_IDR, 0, 1), (reg.PT_CERT, 0, MANY), (reg.PT_AUTH, 0, 1),
          (reg.PT_SA, 0, 1), (reg.PT_TSI, 0, 1), (reg.PT_TSR, 0, 1), (reg.PT_CP, 0, 1), (reg.PT_EAP, 0, 1),
          N, V),
    # RFC 7296 1.3
    _rule(reg.CREATE_CHILD_SA, False, True, (reg.PT_SA, 1, 1), (reg.PT_NONCE, 1, 1), (reg.PT_KE, 0, 1),
          (reg.PT_TSI, 0, 1), (reg.PT_TSR, 0, 1), N, V),
    _rule(reg.CREATE_CHILD_SA, True, True, (reg.PT_SA, 1, 1), (reg.PT_NONCE, 1, 1), (reg.PT_KE, 0, 1),
          (reg.PT_TSI, 0, 1), (reg.PT_TSR, 0, 1), N, V),
    # RFC 7296 1.4
    _rule(reg.INFORMATIONAL, False, True, N, (reg.PT_DELETE, 0, MANY), (reg.PT_CP, 0, 1), V),
    _rule(reg.INFORMATIONAL, True, True, N, (reg.PT_DELETE, 0, MANY), (reg.PT_CP, 0, 1), V),
    # RFC 5723 4.1: HDR, Ni, N(TICKET_OPAQUE) [,N+] ; HDR, Nr [,N+]
    _rule(reg.IKE_SESSION_RESUME, False, False, (reg.PT_NONCE, 1, 1), N, V),
    _rule(reg.IKE_SESSION_RESUME, True, False, (reg.PT_NONCE, 1, 1), N, V),
    # RFC 9242 3: whatever the extension carries (RFC 9370: KE); RFC 9370 2.2.4 IKE_FOLLOWUP_KE
    _rule(reg.IKE_INTERMEDIATE, False, True, (reg.PT_KE, 0, 1), N, V),
    _rule(reg.IKE_INTERMEDIATE, True, True, (reg.PT_KE, 0, 1), N, V),
    _rule(reg.IKE_FOLLOWUP_KE, False, True, (reg.PT_KE, 1, 1), N, V),
    _rule(reg.IKE_FOLLOWUP_KE, True, True, (reg.PT_KE, 1, 1), N, V),
)  # fmt: skip
RULES: dict[tuple[int, bool], ExchangeRule] = {(rule.exchange_type, rule.response): rule for rule in _ALL}
PROTECTED_EXCHANGES = frozenset(rule.exchange_type for rule in _ALL if rule.encrypted)
ANSWER_NOTIFIES = frozenset({reg.N_COOKIE, reg.N_INVALID_KE_PAYLOAD})  # replace an IKE_SA_INIT response
ENCRYPTED = frozenset({reg.PT_SK, reg.PT_SKF})  # the envelope, not a payload the rules count


def message_label(exchange_type: int, response: bool) -> str:
    """``IKE_SA_INIT request``, ``INFORMATIONAL response``, ``UNKNOWN (99) request``."""
    return f"{reg.EXCHANGE_TYPES.name(exchange_type)} {'response' if response else 'request'}"


def check_shape(
    exchange_type: int,
    response: bool,
    payload_types: Sequence[int],
    notify_types: Sequence[int],
    *,
    encrypted: bool,
) -> list[str]:
    """What is wrong with a message of this shape; [] when it follows its exchange's rule.

    ``payload_types``: the payloads in order (the inner ones of a decrypted SK payload, the outer
    ones otherwise); ``notify_types``: the types of its Notify payloads; ``encrypted``: whether the
    message was protected by SK / SKF.
    """
    return list(shape_problems(exchange_type, response, tuple(payload_types), tuple(notify_types), encrypted))


@functools.lru_cache(maxsize=1024)
def shape_problems(
    exchange_type: int,
    response: bool,
    payload_types: tuple[int, ...],
    notify_types: tuple[int, ...],
    encrypted: bool,
) -> tuple[str, ...]:
    """``check_shape``'s answer, once per distinct shape (the messages of a capture repeat a few)."""
    rule = RULES.get((exchange_type, response))
    if rule is None:
        return ()
    problems: list[str] = []
    label = message_label(exchange_type, response)
    if rule.encrypted and not encrypted:
        problems.append(f"{label} is not encrypted (RFC 7296 requires an SK payload)")
    if not rule.encrypted and encrypted:
        problems.append(f"{label} has an encrypted payload, which this exchange does not use")
    answered = any(reg.is_error_notify(t) or t in ANSWER_NOTIFIES for t in notify_types)
    counts: dict[int, int] = {}
    for payload_type in payload_types:
        counts[payload_type] = counts.get(payload_type, 0) + 1
    by_type = rule.by_type
    for payload_type, count in counts.items():
        payload_rule = by_type.get(payload_type)
        if payload_rule is not None and count <= payload_rule.maximum or payload_type in ENCRYPTED:
            continue
        name = reg.PAYLOAD_TYPES.short_name(payload_type)
        if payload_rule is None:
            problems.append(f"unexpected {name} payload in {label}")
        else:
            problems.append(f"{count} {name} payloads in {label} (at most {payload_rule.maximum})")
    if not (answered and response):
        for payload_rule in rule.payloads:
            if payload_rule.minimum and counts.get(payload_rule.payload_type, 0) < payload_rule.minimum:
                problems.append(
                    f"{label} lacks its {reg.PAYLOAD_TYPES.short_name(payload_rule.payload_type)} payload"
                )
    return tuple(problems)
