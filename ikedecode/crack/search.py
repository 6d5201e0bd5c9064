"""Testing PSK candidates against HASH_R on all cores (multiprocessing).

The hot loop computes HMAC by hand over hashlib constructors (RFC 2104: H(K^opad | H(K^ipad | m)),
with ``bytes.translate`` doing the XOR): for these short messages that is faster in CPython than
``hmac.digest``, which looks the algorithm up on every call.

Work is split into byte ranges of the word-list file; each worker reads its own range (a range
owns the lines that start inside it), so no word crosses a process boundary. Results come back
in file order, a bounded number of ranges ahead, so the match reported is the first one in the
list and its line number is exact: each range also reports how many lines it held.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ikedecode.crack.ikev2 import Ikev2AuthParams
from ikedecode.crack.params import PskParams
from ikedecode.crack.rules import variants, variants_per_word
from ikedecode.crack.wordlist import WordListError

IPAD = bytes(b ^ 0x36 for b in range(256))
OPAD = bytes(b ^ 0x5C for b in range(256))
BYTES_PER_TASK = 256 * 1024  # about 25,000 words of a typical list: 0.1 s of work, a lively progress bar


@dataclass(slots=True)
class CrackResult:
    params: PskParams | Ikev2AuthParams  # aggressive-mode HASH_R or IKEv2 AUTH (same test)
    psk: bytes | None = None
    line: int | None = None  # 1-based line of the word list the match came from
    rule: str | None = None  # "as-is", "upper", "lower + '7'", ...
    tried: int = 0
    seconds: float = 0.0
    workers: int = 1

    @property
    def found(self) -> bool:
        return self.psk is not None

    @property
    def rate(self) -> float:
        return self.tried / self.seconds if self.seconds > 0 else 0.0


class _Tester:
    """HASH_R(candidate) == target, as fast as CPython allows."""

    def __init__(self, hashlib_name: str, nonces: bytes, message: bytes, target: bytes) -> None:
        self.new = getattr(hashlib, hashlib_name)
        self.block = self.new().block_size
        self.nonces, self.message, self.target = nonces, message, target

    def first_match(self, candidates: Iterator[bytes] | list[bytes]) -> tuple[int, bytes | None]:
        """(candidates tried, the matching one or None)."""
        new, block, nonces, message, target = self.new, self.block, self.nonces, self.message, self.target
        ipad, opad, zero = IPAD, OPAD, b"\0"
        tried = 0
        for psk in candidates:
            tried += 1
            key = (psk if len(psk) <= block else new(psk).digest()).ljust(block, zero)
            skeyid = new(key.translate(opad) + new(key.translate(ipad) + nonces).digest()).digest()
            key = skeyid.ljust(block, zero)
            if new(key.translate(opad) + new(key.translate(ipad) + message).digest()).digest() == target:
                return tried, psk
        return tried, None


def read_range(path: str, start: int, end: int) -> list[bytes]:
    """The lines of ``path`` that start at a byte offset in [start, end), line endings removed."""
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            f.readline()  # the rest of the line that started before ``start`` belongs to the previous range
        lines = []
        while f.tell() < end:
            line = f.readline()
            if not line:
                break
            lines.append(line.rstrip(b"\r\n"))
    return lines


Task = tuple[str, int, int, str | None]  # path, start, end, rule set (None: the words as they are)
Answer = tuple[
    int, int, int, int | None, bytes | None, str | None
]  # start, tried, lines, match index, psk, rule


def _run_task(task: Task, tester: _Tester | None = None) -> Answer:
    tester = tester or _worker_tester
    assert tester is not None
    path, start, end, rule_set = task
    words = read_range(path, start, end)
    if rule_set is None:
        tried, psk = tester.first_match(words)
        return (
            start,
            tried,
            len(words),
            (tried - 1 if psk is not None else None),
            psk,
            "as-is" if psk else None,
        )
    total = 0
    for index, word in enumerate(words):
        forms = list(variants(word, rule_set))
        tried, psk = tester.first_match([f for f, _ in forms])
        total += tried
        if psk is not None:
            return start, total, len(words), index, psk, forms[tried - 1][1]
    return start, total, len(words), None, None, None


_worker_tester: _Tester | None = None


def _init_worker(hashlib_name: str, nonces: bytes, message: bytes, target: bytes) -> None:
    global _worker_tester
    _worker_tester = _Tester(hashlib_name, nonces, message, target)


def _tasks(path: str, size: int, rule_set: str) -> Iterator[Task]:
    """Pass 1: every word as it is; pass 2 (unless rule set 'none'): every word's variants."""
    passes: list[tuple[str | None, int]] = [(None, BYTES_PER_TASK)]
    if variants_per_word(rule_set):
        passes.append((rule_set, max(64, BYTES_PER_TASK // variants_per_word(rule_set))))
    for rules, step in passes:
        for start in range(0, size, step):
            yield path, start, min(start + step, size), rules


def estimate_candidates(lines: int, rule_set: str) -> int:
    """Candidates ``lines`` words give under ``rule_set``: each word, then its variants (at most:
    a variant equal to one already tried is skipped)."""
    return lines * (1 + variants_per_word(rule_set))


def measure_rate(params: PskParams | Ikev2AuthParams, rule_set: str = "none", seconds: float = 0.05) -> float:
    """Candidates per second one core tests against ``params``, variants of ``rule_set`` made as
    the workers make them (timed on made-up words for about ``seconds``): with the number of
    workers, the ETA ``--crack`` announces before it starts."""
    if params.hashlib_name is None:
        return 0.0
    tester = _Tester(params.hashlib_name, params.nonces, params.message, b"")
    tried, start, n = 0, time.perf_counter(), 0
    while True:
        n += 1
        word = b"sample%d" % n
        tried += tester.first_match([word, *(form for form, _ in variants(word, rule_set))])[0]
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return tried / elapsed


def crack(
    params: PskParams | Ikev2AuthParams,
    wordlist: str | Path,
    *,
    rule_set: str = "all",
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> CrackResult:
    """Try every line of ``wordlist`` (and its variants under ``rule_set``) against HASH_R (or an
    IKEv2 AUTH: the same two nested HMACs, ``crack/ikev2.py``)."""
    if params.hashlib_name is None:
        raise ValueError(f"{params.source}: HASH_R uses {params.hash_name}, which cannot be tested here")
    path = str(wordlist)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise WordListError(f"{path}: cannot read the word list: {exc.strerror or exc}") from None
    workers = workers or os.cpu_count() or 1
    args = (params.hashlib_name, params.nonces, params.message, params.hash_r)
    result = CrackResult(params, workers=workers)
    start = time.perf_counter()
    try:
        if workers == 1:
            tester = _Tester(*args)
            _collect(result, (_run_task(t, tester) for t in _tasks(path, size, rule_set)), progress)
        else:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            with context.Pool(workers, _init_worker, args) as pool:
                _collect(result, _ordered(pool, _tasks(path, size, rule_set), ahead=4 * workers), progress)
                pool.terminate()
    except OSError as exc:
        raise WordListError(f"{path}: cannot read the word list: {exc.strerror or exc}") from None
    finally:
        result.seconds = time.perf_counter() - start
    return result


def _ordered(pool: multiprocessing.pool.Pool, tasks: Iterator[Task], ahead: int) -> Iterator[Answer]:
    """Results in task order, never more than ``ahead`` tasks queued."""
    pending: deque[multiprocessing.pool.AsyncResult] = deque()
    for task in tasks:
        pending.append(pool.apply_async(_run_task, (task,)))
        if len(pending) >= ahead:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _collect(result: CrackResult, answers: Iterator[Answer], progress: Callable[[int], None] | None) -> None:
    lines_before = 0  # lines of the word list in the ranges already answered
    for start, tried, lines, index, psk, rule in answers:
        if start == 0:
            lines_before = 0  # a new pass over the list
        result.tried += tried
        if progress is not None:
            progress(tried)
        if psk is not None:
            assert index is not None
            result.psk, result.line, result.rule = psk, lines_before + index + 1, rule
            return
        lines_before += lines
