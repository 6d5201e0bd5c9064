"""Recovering the aggressive-mode PSK of the real ike-scan probe from word lists, on all cores."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikedecode.crack import crack, estimate_candidates, parse_params_line, read_words
from ikedecode.crack.rules import variants, variants_per_word
from ikedecode.crack.search import _Tester, read_range

from .wordlists import CAPTURES_DIR, PROBE, PROBE_PSK, write_word_list

PARAMS = parse_params_line((CAPTURES_DIR / "lab/runs" / PROBE / "psk-crack.txt").read_text(), PROBE)
LINE = 73_102


@pytest.fixture(scope="module")
def hundred_thousand(tmp_path_factory):  # noqa: ANN001, ANN201
    path = tmp_path_factory.mktemp("words") / "words.txt"
    return write_word_list(path, 100_000, {LINE: PROBE_PSK})


def test_the_psk_is_recovered_from_100000_words_on_all_cores(hundred_thousand):
    seen = []
    result = crack(PARAMS, hundred_thousand, rule_set="all", workers=2, progress=seen.append)
    assert result.found and result.psk == PROBE_PSK
    assert (result.line, result.rule, result.tried) == (LINE, "as-is", LINE)
    assert sum(seen) == result.tried and len(seen) > 1  # the progress bar moved in steps
    assert result.workers == 2 and result.rate > 0


def test_one_worker_finds_the_same_line(hundred_thousand):
    result = crack(PARAMS, hundred_thousand, rule_set="none", workers=1)
    assert (result.psk, result.line) == (PROBE_PSK, LINE)


def test_a_word_list_without_the_key_tries_every_candidate(tmp_path):
    words = write_word_list(tmp_path / "w.txt", 300, {})
    lines = words.read_bytes().split()
    assert len(lines) == 300 and all(w.isalpha() and w.islower() for w in lines)
    result = crack(PARAMS, words, rule_set="case", workers=2)
    assert not result.found and result.line is None
    # each all-lower-case word as it is, then its two other cases (upper, capitalised; lower is itself)
    assert result.tried == 300 + 300 * 2 <= estimate_candidates(300, "case")


@pytest.mark.parametrize(
    ("word", "rule_set", "rule"),
    [
        (PROBE_PSK.upper(), "case", "lower"),
        (b"Ikedecode-lab-psk-ikescan-aggressive-pskcrack", "case", "lower"),
        (PROBE_PSK[:-1], "none", None),  # no rules: the truncated word stays wrong
    ],
)
def test_rules_find_case_variants(tmp_path, word, rule_set, rule):
    words = write_word_list(tmp_path / "w.txt", 50, {20: word})
    result = crack(PARAMS, words, rule_set=rule_set, workers=1)
    assert result.rule == rule and (result.line == 20) == (rule is not None)


def test_appended_digits_and_keys_longer_than_the_hmac_block(reference_dir, tmp_path):
    # screenos-5.4 with a 65-character PSK: the word list holds it without its last digit
    params = parse_params_line(
        (reference_dir / "ike-scan/psk-params/screenos-5.4_sha1_psk-65chars.txt").read_text()
    )
    psk = b"1234567890" * 6 + b"12345"
    words = write_word_list(tmp_path / "w.txt", 30, {7: psk[:-1]})
    result = crack(params, words, rule_set="digits", workers=1)
    assert (result.psk, result.line, result.rule) == (psk, 7, "as-is + '5'")


def test_rule_sets_are_what_the_docs_say():
    assert list(variants(b"abc", "case")) == [(b"ABC", "upper"), (b"Abc", "capitalize")]
    digits = [c for c, _ in variants(b"abc", "digits")]
    assert digits[:3] == [b"abc0", b"abc1", b"abc2"] and b"abc07" in digits and len(digits) == 110
    assert variants_per_word("all") == 3 + 4 * 110 and variants_per_word("none") == 0


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256", "sha512"])
@pytest.mark.parametrize("key", [b"", b"k", b"x" * 64, b"y" * 65, b"z" * 200])
def test_the_hand_made_hmac_equals_the_standard_one(name, key):
    nonces, message = b"N" * 52, b"M" * 444
    skeyid = hmac.digest(key, nonces, name)
    target = hmac.digest(skeyid, message, name)
    tester = _Tester(name, nonces, message, target)
    assert tester.first_match([b"other", key]) == (2, key)
    assert tester.first_match([b"other"]) == (1, None)
    assert hashlib.new(name).block_size in (64, 128)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=40),
    step=st.integers(min_value=1, max_value=50),
    crlf=st.booleans(),
)
def test_byte_ranges_cover_every_line_exactly_once(tmp_path, lines, step, crlf):
    path = tmp_path / "w.txt"
    ending = b"\r\n" if crlf else b"\n"
    path.write_bytes(b"".join(line + ending for line in lines))
    size = path.stat().st_size
    pieces = [read_range(str(path), start, min(start + step, size)) for start in range(0, size, step)]
    expected = [line.rstrip(b"\r") for line in lines]
    assert [w for piece in pieces for w in piece] == expected == list(read_words(path))
