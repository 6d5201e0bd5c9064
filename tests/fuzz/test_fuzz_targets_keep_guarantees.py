"""The CI budget of the fuzz campaign: every target of ``fuzz/targets.py`` on mutated real seeds.

Each target checks issue 7's guarantees itself (nothing raises but the documented one-line
errors, the capture accounting adds up, every malformed frame has a reason, no engine guard had
to catch anything, output renders without leaking a secret) and raises ``FuzzFailure`` when one
breaks. Hypothesis draws the seed and drives the mutator, so a failure shrinks and replays.
Long campaigns: ``python -m fuzz.run`` (fuzz/README.md).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.mutate import Mutator
from fuzz.targets import TARGETS, capture_reader

# Examples per target: about 30 s in all on one core (the slow targets run the whole pipeline).
EXAMPLES = {
    "capture": 600,
    "header": 1000,
    "payloads": 1000,
    "engine-clear": 300,
    "engine-keys": 300,
    "engine-plaintext": 400,
    "engine-random-keys": 300,
    "esp": 600,
    "esp-plaintext": 500,
    "esp-random-sa": 800,
    "key-file": 120,
    "key-log": 30,
    "pipeline": 150,
    "cli": 40,
    "v2-header": 800,
    "v2-payloads": 800,
    "v2-engine-clear": 200,
    "v2-engine-keys": 200,
    "v2-engine-plaintext": 300,
    "v2-fragments": 150,
}
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


def test_every_target_has_a_budget():
    assert set(EXAMPLES) == set(TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_mutated_seeds_keep_the_guarantees(name):
    target = TARGETS[name]
    seeds = target.seeds()
    assert seeds, f"{name} has no seeds: the captures are missing"

    @settings(max_examples=EXAMPLES[name], deadline=None, suppress_health_check=SLOW)
    @given(index=st.integers(0, len(seeds) - 1), rnd=st.randoms(use_true_random=False))
    def run(index, rnd):
        data = Mutator(rnd, seeds, target.max_size).mutate(seeds[index], target.protect)
        target.run(data)

    run()


@settings(max_examples=300, deadline=None)
@given(flags=st.integers(0, 255), data=st.binary(max_size=400))
def test_any_bytes_are_a_one_line_error_or_an_accounted_capture(flags, data):
    capture_reader(bytes([flags, 200]) + data)


@settings(max_examples=150, deadline=None)
@given(
    flags=st.integers(0, 255),
    magic=st.sampled_from(["d4c3b2a1", "a1b2c3d4", "4d3cb2a1", "0a0d0d0a"]),
    data=st.binary(max_size=600),
)
def test_a_valid_magic_followed_by_anything_is_read_or_refused_in_one_line(flags, magic, data):
    capture_reader(bytes([flags, 200]) + bytes.fromhex(magic) + data)
