"""Benchmarks (not tests): see bench/README.md; the latest numbers are in bench/RESULTS.md."""
