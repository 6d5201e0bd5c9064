"""Word-list rules: the simple mangling people do to a word to make a "password".

Pass 1 tries every word as it is; pass 2 tries each word's variants: other letter cases, and one
or two digits appended (to the word and to each case variant). A rule set names what pass 2 does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

CASES: tuple[tuple[str, Callable[[bytes], bytes]], ...] = (
    ("as-is", lambda w: w),
    ("lower", bytes.lower),
    ("upper", bytes.upper),
    ("capitalize", bytes.capitalize),
)
DIGITS: tuple[bytes, ...] = tuple(str(i).encode() for i in range(10)) + tuple(
    f"{i:02d}".encode() for i in range(100)
)

# rule set -> (case variants beyond as-is, suffixes)
RULE_SETS: dict[str, tuple[bool, tuple[bytes, ...]]] = {
    "none": (False, ()),
    "case": (True, ()),
    "digits": (False, DIGITS),
    "all": (True, DIGITS),
}


def variants_per_word(rule_set: str) -> int:
    """The most pass-2 candidates one word can give (for progress estimates)."""
    cases, suffixes = RULE_SETS[rule_set]
    n_cases = len(CASES) if cases else 1
    return (n_cases - 1) + n_cases * len(suffixes)


def variants(word: bytes, rule_set: str) -> Iterator[tuple[bytes, str]]:
    """Pass-2 candidates of ``word`` with the rule that made each (the word itself excluded)."""
    cases, suffixes = RULE_SETS[rule_set]
    seen = {word}
    forms = [("as-is", word)]
    if cases:
        for name, fn in CASES[1:]:
            form = fn(word)
            if form not in seen:
                seen.add(form)
                forms.append((name, form))
                yield form, name
    for name, form in forms:
        for suffix in suffixes:
            candidate = form + suffix
            if candidate not in seen:
                seen.add(candidate)
                yield candidate, f"{name} + {suffix.decode()!r}"
