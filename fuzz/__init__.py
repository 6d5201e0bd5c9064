"""Fuzzing ikedecode: targets over its packet-level entry points, a mutator, a campaign runner.

``python -m fuzz.run --help`` runs campaigns; ``tests/fuzz/`` runs a bounded budget in CI.
"""
