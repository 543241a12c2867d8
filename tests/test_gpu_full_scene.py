"""benchmarks/gpu_full_scene.py (issue 21): its ``--dry-run`` runs every method and code path but the CUDA
calls on CPU in seconds, and its JSON has every method with finite numbers and the parity record.

Run in a subprocess (the script sets the torch thread count for its whole process)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_full_scene.py"
METHODS = ["FaSUn", "SUnS", "MiSiSUn", "SUnSAL", "CLSUnSAL", "S2WSU", "SUnAA", "FCLS"]


def _run(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "gpu_full_scene.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    root = str(SCRIPT.parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else root
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--device", "cpu", "--threads", "2",
                           "--out", str(out), *extra], capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.fixture(scope="module")
def dry(tmp_path_factory) -> dict:
    return _run(tmp_path_factory.mktemp("gpu_full_scene"))


def test_dry_run_records_every_method_on_both_scenes(dry):
    assert dry["dry_run"] is True and dry["device"]["cuda"] is False
    assert set(dry["methods"]) == set(METHODS)
    assert dry["skipped"] == []
    for name, m in dry["methods"].items():
        for scene in ("dc1", "full"):
            r = m[scene]
            assert r["status"] == "ran", (name, scene, r)
            assert r["device"] == "cpu"
            for key in ("wall_s", "per_iteration_s", "sre_db", "peak_rss_b"):
                assert _finite(r[key]), (name, scene, key, r)
                assert key == "sre_db" or r[key] >= 0, (name, scene, key, r)
            if METHODS.index(name) < 7:       # the iterative methods ran their probes and 5 iterations
                assert r["probe"]["sizes"] == [1, 2] and _finite(r["probe"]["per_iteration_marginal_s"])
                assert r["iterations"] == 5, (name, scene, r["iterations"])


def test_dry_run_parity_fields(dry):
    for name, m in dry["methods"].items():
        p = m["parity"]
        assert "cuda" in p and "threads" in p, name
        assert p["cuda"]["max_abs_diff"] is None and p["cuda"]["reason"]   # no CUDA in a CPU dry run
        if name == "CLSUnSAL":
            assert p["threads"]["max_abs_diff"] is None and p["threads"]["reason"]
            continue
        for dt in ("float32", "float64"):
            assert _finite(p["threads"][dt]["max_abs_diff"]), (name, dt)
            assert all(_finite(s) for s in p["threads"][dt]["sre_db"]), (name, dt)
        # float64 results do not depend on the thread count; the pixel-chunked CPU solvers hardly in float32
        # (the FaSUn family does: its float32 iterates amplify rounding, see the script's docstring)
        assert p["threads"]["float64"]["max_abs_diff"] < 1e-8, name
        if name not in ("FaSUn", "SUnS", "MiSiSUn"):
            assert p["threads"]["float32"]["max_abs_diff"] < 1e-5, name


def test_dry_run_targets_are_stated_and_unassessed_on_cpu(dry):
    t = dry["targets"]
    assert t["dc1_fasun_T10000_s"]["target_s"] == 2.0 and t["dc1_fasun_T10000_s"]["met"] is None
    assert set(t["full_scene_s"]) == set(METHODS)
    assert all(v["target_s"] == 60.0 and v["met"] is None for v in t["full_scene_s"].values())


def test_cap_and_budget_guards(tmp_path):
    """A run projected beyond --cap-s is not made (its projection is recorded); past --budget-s, skipped."""
    rec = _run(tmp_path, "--methods", "SUnSAL", "FCLS", "--scenes", "dc1", "--cap-s", "1e-9")
    r = rec["methods"]["SUnSAL"]["dc1"]
    assert r["status"] == "projected" and _finite(r["wall_s"]) and r["wall_s"] == r["probe"]["projected_wall_s"]
    assert r["iterations"] == 5 and _finite(r["sre_db"])
    assert rec["methods"]["FCLS"]["dc1"]["status"] == "ran"          # not iterative: no probe, no cap
    rec = _run(tmp_path, "--methods", "SUnSAL", "--scenes", "dc1", "--budget-s", "0")
    assert rec["methods"]["SUnSAL"]["dc1"]["status"] == "skipped"
    assert rec["skipped"] and rec["skipped"][0]["method"] == "SUnSAL"
    assert "skipped" in rec["methods"]["SUnSAL"]["parity"]
