"""Benchmarks of SGDLogisticRegression: ``python -m benchmarks --help``."""
