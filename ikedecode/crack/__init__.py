"""Aggressive-mode pre-shared keys: verify, recover from a word list, export for psk-crack / hashcat.

``params`` reads the HASH_R inputs from a decoded IKE SA, ``formats`` writes and reads the
psk-crack / hashcat line, ``rules`` makes word variants, ``search`` tests candidates on all cores,
``wordlist`` reads the word list file, ``findings`` turns results into report findings.
"""

from ikedecode.crack.formats import FormatError, hashcat_line, parse_params_line, psk_crack_line
from ikedecode.crack.params import PskParams, params_of_sa, params_of_sas
from ikedecode.crack.search import CrackResult, crack, estimate_candidates
from ikedecode.crack.wordlist import WordListError, count_lines, read_words

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
