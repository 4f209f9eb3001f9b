"""A readable summary of a cProfile stats file: where the hub's time goes."""

from __future__ import annotations

import io
import pstats
from pathlib import Path


def summarize(stats_file: Path, top: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(stats_file), stream=out)
    stats.strip_dirs()
    for order in ("tottime", "cumulative"):
        out.write(f"\n=== top {top} by {order} ===\n")
        stats.sort_stats(order).print_stats(top)
    return out.getvalue()
