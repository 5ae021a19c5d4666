"""Benchmark helpers shared by benchmarks/*.py, the CLI's `bench` and the autotuner."""
