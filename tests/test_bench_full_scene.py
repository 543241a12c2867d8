"""benchmarks/bench_full_scene.py (issue 21): every method's bound runs on a tiny problem (NumPy and, where
written, torch), and the markdown table is built from a record. No timing is checked."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_full_scene.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_full_scene", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_method_has_a_bound_that_runs(bench):
    pytest.importorskip("torch")
    for name in bench.METHODS:
        for make in (bench._bound_numpy, bench._bound_torch):
            fn = make(name, 12, 16, 48, 3, (6, 8))
            if fn is None:
                assert make is bench._bound_torch
                continue
            fn()
            assert fn.per >= 1


def test_markdown_table_from_a_record(bench):
    run = {"method": "FaSUn", "N": 5625, "threads": 1, "per_iteration_s": 0.02, "bound": {"bound_s": 0.01},
           "ratio_to_bound": 2.0, "peak_rss_b": 300 * 2 ** 20, "peak_ratio": 4.0, "peak_ratio_method": 2.5}
    text = bench.markdown({"runs": [run, {**run, "threads": 2, "ratio_to_bound": 1.5}]})
    lines = text.splitlines()
    assert lines[0].startswith("| method | N (px) |") and len(lines) == 3
    assert "| FaSUn | 5,625 |" in lines[2] and "**2.00**" in lines[2] and "**1.50**" in lines[2]
    assert "**4.00** (2.50)" in lines[2] and not math.isnan(run["peak_ratio"])
