"""Benchmark faults (issue 10): a killed ``hysupp bench`` leaves only valid records and ``--resume``
completes the suite with exactly one record per run; a method that raises or returns NaN is
recorded as failed with its traceback and the suite goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.bench import load_records, load_suite, run_suite
from hysupp.bench.runner import RECORDS_DIR, STALE_TEMP_S, record_files
from hysupp.cli import main
from hysupp.methods.base import SupervisedUnmixer, UnmixingResult

SUITE = """
name = "faults"
kind = "unmixing"
seeds = 1
snrs = [20, 30, 40, "inf"]
metrics = ["sre_db"]

[[datasets]]
name = "D"
recipe = "dirichlet"
params = { p = 3, height = 6, width = 6, seed = 1 }
endmembers = "truth"

[[methods]]
name = "FCLS"
"""
SEEDS = 25   # 4 SNRs x 25 seeds = 100 runs: far more than finish between the first record and the kill


def test_killed_bench_resumes_with_exactly_one_record_per_run(tmp_path):
    suite = tmp_path / "faults.toml"
    suite.write_text(SUITE)
    out = tmp_path / "out"
    root = Path(hysupp.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", "import sys; from hysupp.cli import main; sys.exit(main())",
           "bench", str(suite), "--seeds", str(SEEDS), "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not record_files(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert record_files(out), "no record appeared"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    total = 4 * SEEDS
    first = {p.name: p.read_bytes() for p in record_files(out)}
    assert 1 <= len(first) < total, f"{len(first)} of {total} runs finished before the kill"
    for blob in first.values():                        # every record on disk is complete JSON
        assert json.loads(blob)["bench"]["status"] == "ok"
    stale = out / RECORDS_DIR / ".deadbeef.json.x1y2.tmp.json"   # what a kill mid-write leaves
    stale.write_text('{"bench": {"run_')
    os.utime(stale, (time.time() - 2 * STALE_TEMP_S,) * 2)
    assert len(load_records(out)) == len(first)        # a temporary file is not a record

    runner = CliRunner()
    again = runner.invoke(main, ["bench", str(suite), "--seeds", str(SEEDS), "--out", str(out)])
    assert again.exit_code == 2 and "--resume" in again.output     # never mixes two runs silently
    res = runner.invoke(main, ["bench", str(suite), "--seeds", str(SEEDS), "--out", str(out), "--resume", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[res.stdout.index("{"):])
    assert summary["skipped"] == len(first) and summary["ok"] == total - len(first) and summary["failed"] == 0
    records = load_records(out)
    ids = [r["bench"]["run_id"] for r in records]
    expected = {s.run_id for s in load_suite(suite).runs(seeds=SEEDS)}
    assert len(ids) == total and set(ids) == expected                  # exactly one record per run
    assert {p.name: p.read_bytes() for p in record_files(out) if p.name in first} == first   # not redone
    assert not stale.exists()
    # the kill may also have interrupted a write: that temporary file is young, so it is left alone (it could
    # be another writer's), but it is not a record; every other file is exactly one record per run
    names = sorted(p.name for p in (out / RECORDS_DIR).iterdir() if not p.name.endswith(".tmp.json"))
    assert names == sorted(f"{i}.json" for i in ids)


class _Raises(SupervisedUnmixer):
    name = "TestRaises"

    def unmix(self, Y, E):
        raise RuntimeError("boom inside the method")


class _ReturnsNaN(SupervisedUnmixer):
    name = "TestNaN"

    def unmix(self, Y, E):
        A = np.full((E.shape[1], Y.shape[1]), 1.0 / E.shape[1])
        A[0, 5] = np.nan
        return UnmixingResult(abundances=A, endmembers=E)


@pytest.fixture
def faulty_methods(monkeypatch):
    from hysupp.methods import registry

    registry.ensure_loaded()
    for cls in (_Raises, _ReturnsNaN):
        monkeypatch.setitem(registry._REGISTRY, (cls.task, cls.name.lower()), cls)


def test_failing_and_nan_methods_are_recorded_and_the_suite_goes_on(tmp_path, faulty_methods):
    path = tmp_path / "s.toml"
    path.write_text(SUITE + '\n[[methods]]\nname = "TestRaises"\n\n[[methods]]\nname = "TestNaN"\n')
    summary = run_suite(load_suite(path), tmp_path / "o", snrs=["inf", "30"])
    assert summary == {**summary, "total": 6, "ok": 2, "failed": 4}
    by_method: dict[str, list[dict]] = {}
    for rec in load_records(tmp_path / "o"):
        by_method.setdefault(rec["bench"]["method"], []).append(rec["bench"])
    assert all(b["status"] == "ok" for b in by_method["FCLS"])
    for b in by_method["TestRaises"]:
        assert b["status"] == "failed" and b["error"] == "RuntimeError: boom inside the method"
        assert "Traceback" in b["traceback"] and 'raise RuntimeError("boom inside the method")' in b["traceback"]
    for b in by_method["TestNaN"]:
        assert b["status"] == "failed"
        assert b["error"].startswith("DivergenceError: TestNaN returned non-finite abundances: 1 of 108 values")
        assert "check_result" in b["traceback"]
