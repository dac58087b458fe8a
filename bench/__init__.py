"""Benchmark scripts; each module is run with ``python -m bench.<name>`` and documents itself."""
