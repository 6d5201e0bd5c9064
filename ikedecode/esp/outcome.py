"""What opening one ESP packet gives: an *outcome*, a plain tuple read by named indexes.

Outcomes are made for every ESP packet of a capture, in the opener's hottest loops and on worker
processes that send them back, so they are bare tuples (the cheapest to build and to pickle)
rather than NamedTuples; nothing reads them by a number, only by the indexes below. By their
first element (``CODE``):

  (OUTCOME_SHORT_HEADER,)                              fewer than 8 bytes: no SPI and sequence number
  (OUTCOME_NO_KEYS, spi, seq_low)                      no SA matches the flow
  (OUTCOME_SHORT_FOR_SA, spi, seq_low, sa_index)       shorter than the SA's IV + trailer + ICV
  (OUTCOME_UNSUPPORTED, spi, seq_low, sa_index)        the SA's algorithm is not in the backend
  (OUTCOME_OPENED, spi, seq_low, sa_index, seq_hi, icv_ok, problem, pad_length, next_header,
   payload, padding_ok, failed)
      ``seq_hi``: the ESN high bits the ICV was computed with (None without ESN);
      ``icv_ok``: True / False / None (no integrity check); ``problem``: a structural defect,
      or the code of the plaintext check the decrypted payload failed (``plaintext.GARBLED``:
      the payload is then None), "" if none; ``payload``: the inner packet without the ESP
      trailer, or None when the caller did not ask for plaintext (``pad_length``/``next_header``
      are still given) or there is none; ``failed``: when no SA verified and several were
      tried, the indexes of those that failed, in database order (the caller picks whom to blame), else None.
  (OUTCOME_ERROR, spi, seq_low, exception name)        a bug: opening raised
"""

from __future__ import annotations

OUTCOME_SHORT_HEADER = 0
OUTCOME_NO_KEYS = 1
OUTCOME_SHORT_FOR_SA = 2
OUTCOME_UNSUPPORTED = 3
OUTCOME_OPENED = 4
OUTCOME_ERROR = 5

# Indexes into an outcome (those past SEQ_LOW exist only in the outcomes the layout above gives them)
CODE = 0
SPI = 1
SEQ_LOW = 2
SA_INDEX = 3  # the SA's index in the SaDatabase
ERROR_NAME = 3  # OUTCOME_ERROR only: the name of the exception opening raised
SEQ_HI = 4
ICV_OK = 5
PROBLEM = 6
PAD_LENGTH = 7
NEXT_HEADER = 8
PAYLOAD = 9
PADDING_OK = 10
FAILED = 11
OPENED_FIELDS = 12  # length of an OUTCOME_OPENED outcome

Outcome = tuple  # see the module docstring

# Reasons are fixed texts (they key ``EspProcessor.malformed``, which hostile input must not grow).
NO_TRAILER = "no room for the ESP trailer"
