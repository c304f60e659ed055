"""Benchmarks: run with `make bench`; results go to bench/results/ (ignored by git)."""
