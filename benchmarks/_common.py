"""Helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

import subprocess


def uptime() -> str:
    """``uptime``'s line (load averages), recorded beside every timing; empty if unavailable."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""
