"""The aggregation key blanks a finding's sentence a word at a time (analysis/diagnose.py,
``_blank``): the result must be what the one regex gives over the whole sentence, spaces,
addresses, cookies, ports and Unicode digits included."""

from __future__ import annotations

import random

from ikedecode.analysis import diagnose

SENTENCES = [
    "quick mode 0x6545a296 between 192.0.2.1 and 198.51.100.1 completed but no ESP/AH between them follows",
    "MM5 from 2001:db8::1 was sent 3 times (frames 5, 7, 9 over 4.0 s) and no MM6 came",
    "cookies 33e46cd1c15f8254/cf3d043df8643be5  (two spaces) and a trailing space ",
    " leading space, deadbeefcafe, DEADBEEF, fe80::1%eth0, 10.0.0.1:4500, ::, a:b, \u0661\u0662 digits",
    "",
    "   ",
]


def test_word_by_word_blanking_is_the_regex_over_the_sentence() -> None:
    for sentence in SENTENCES:
        assert diagnose._blank(sentence) == diagnose._VARYING.sub("#", sentence)
    rng = random.Random(19)
    alphabet = list("0123456789abcdefABCDEFxX:.-/()gq_\t\n\u0661\u00e9") + [" "] * 4
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert diagnose._blank(text) == diagnose._VARYING.sub("#", text), repr(text)


def test_the_word_cache_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(diagnose, "_BLANKED", {})
    monkeypatch.setattr(diagnose, "_BLANKED_MAX", 10)
    for i in range(25):
        assert diagnose._blank(f"word{i} 0x{i:08x}") == diagnose._VARYING.sub("#", f"word{i} 0x{i:08x}")
        assert len(diagnose._BLANKED) <= 10
