"""Helpers the tests (and the benchmarks) share: test data, throw-away databases, a test clinic.

They live here, not in ``src/``, so they never ship in the wheel. ``pytest`` puts ``tests/`` on
the import path (``pythonpath`` in pyproject.toml); a benchmark adds it itself.
"""
