"""Benchmarks: each ``bench/<area>.py`` has ``run() -> list[Row]``; ``python -m bench`` runs all.

Targets live here, never in timed unit tests. Where a target is a ratio, the baseline is measured
in the same run, because these machines are noisy.
"""
