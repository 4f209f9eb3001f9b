"""``make bench``: performance scenarios against real components on loopback.

Each scenario returns :class:`bench.figures.Figure` rows; ``python -m bench`` prints one JSON line
per figure, a table, and writes ``bench/results/latest.json``. See bench/README.md.
"""
