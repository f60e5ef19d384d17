"""Benchmarks of the portal, run by `make bench` (`python -m bench`); see bench/common.py."""
