"""Benchmarks: `make bench-api` (bench.api) and `make bench-matching`. Not part of the product."""
