"""Aggressive-mode pre-shared keys: verify, recover from a word list, export for psk-crack / hashcat.

``params`` reads the HASH_R inputs from a decoded IKE SA, ``formats`` writes and reads the
psk-crack / hashcat line, ``rules`` makes word variants, ``search`` tests candidates on all cores,
``wordlist`` reads the word list file, ``findings`` turns results into report findings.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> submodule: imported when first used (PEP 562), so that importing one submodule, as the
# CLI does for its options, does not import the word-list search and its dependencies
_EXPORTS = {
    "FormatError": "formats",
    "hashcat_line": "formats",
    "parse_params_line": "formats",
    "psk_crack_line": "formats",
    "PskParams": "params",
    "params_of_sa": "params",
    "params_of_sas": "params",
    "CrackResult": "search",
    "crack": "search",
    "estimate_candidates": "search",
    "WordListError": "wordlist",
    "count_lines": "wordlist",
    "read_words": "wordlist",
}

__all__ = [
    "CrackResult",
    "FormatError",
    "PskParams",
    "WordListError",
    "count_lines",
    "crack",
    "estimate_candidates",
    "hashcat_line",
    "params_of_sa",
    "params_of_sas",
    "parse_params_line",
    "psk_crack_line",
    "read_words",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
