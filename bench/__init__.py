"""Benchmarks and load generators for healthgraph (not run by the test suite)."""
