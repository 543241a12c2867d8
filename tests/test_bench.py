"""hysupp bench: suites as data, resumable atomic records, tables from records."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hysupp.bench import aggregate, available_suites, load_records, load_suite, render_markdown, run_suite
from hysupp.bench.report import render_csv, render_latex
from hysupp.cli import main
from hysupp.errors import InputError, OutputExistsError

SUITE = """
name = "tiny"
kind = "unmixing"
seeds = 2
snrs = [30, "inf"]
metrics = ["sre_db", "armse"]

[[datasets]]
name = "D"
recipe = "dirichlet"
params = { p = 3, height = 8, width = 8, seed = 1 }
endmembers = "truth"

[[methods]]
name = "FCLS"

[[methods]]
name = "SUnSAL"
per_snr = true
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    return load_suite(path)


def test_builtin_suites_load_and_name_registered_methods():
    from hysupp.methods.registry import get_method

    names = available_suites()
    for required in ("hysupp-semi", "hysupp-blind", "hysupp-supervised", "purity", "pansharpening-wv2",
                     "hsms-pavia"):
        assert required in names
    semi = load_suite("hysupp-semi")
    assert len(semi.runs()) == 2 * 3 * 9 * 5
    for name in names:
        for m in load_suite(name).methods:
            get_method(m["name"])          # every method of every suite exists


def test_runs_expand_with_per_snr_settings_and_stable_ids(tiny):
    runs = tiny.runs()
    assert len(runs) == 1 * 2 * 2 * 2
    sunsal30 = [r for r in runs if r.method == "SUnSAL" and r.condition == "30"][0]
    assert sunsal30.params == {"lam": 0.1}
    assert len({r.run_id for r in runs}) == len(runs) and runs[0].run_id == tiny.runs()[0].run_id
    assert len(tiny.runs(methods=["fcls"], seeds=1, snrs=["inf"])) == 1
    with pytest.raises(InputError, match="no method"):
        tiny.runs(methods=["VCA"])


def test_run_resume_and_report(tiny, tmp_path):
    out = tmp_path / "out"
    partial = run_suite(tiny, out, methods=["FCLS"])
    assert partial == {**partial, "total": 4, "ok": 4, "failed": 0, "skipped": 0}
    with pytest.raises(OutputExistsError, match="--resume"):
        run_suite(tiny, out)
    rest = run_suite(tiny, out, resume=True, jobs=2)
    assert rest["skipped"] == 4 and rest["ok"] == 4
    records = load_records(out)
    assert len(records) == 8 and len({r["bench"]["run_id"] for r in records}) == 8
    r0 = records[0]
    assert {"protocol", "environment", "method", "bench"} <= set(r0) and r0["bench"]["seed"] in (0, 1)
    rows = aggregate(records, ["sre_db", "armse"])
    assert {(r["condition"], r["method"]) for r in rows} == {(c, m) for c in ("30", "inf") for m in ("FCLS", "SUnSAL")}
    md = render_markdown(rows, title="tiny")
    assert md == render_markdown(aggregate(load_records(out), ["sre_db", "armse"]), title="tiny")   # reproducible
    assert "## D, 30 dB" in md and "**" in md and "±" in md
    assert render_csv(rows).startswith("dataset,condition,method,metric,mean,std,n")
    assert "\\begin{tabular}" in render_latex(rows)


def test_a_failing_run_is_recorded_and_the_suite_goes_on(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(SUITE.replace('endmembers = "truth"', 'endmembers = "truth"\nfile_missing = 1')
                    .replace('recipe = "dirichlet"', 'file = "/nonexistent/scene.mat"').replace(
                        'params = { p = 3, height = 8, width = 8, seed = 1 }', ''))
    summary = run_suite(load_suite(path), tmp_path / "o", methods=["FCLS"], seeds=1, snrs=["inf"])
    assert summary["failed"] == 1
    rec = load_records(tmp_path / "o")[0]
    assert rec["bench"]["status"] == "failed" and "scene.mat" in rec["bench"]["error"]
    assert "1 failed" in render_markdown(aggregate([rec]))


def test_cli_bench_run_resume_and_report(tiny, tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(SUITE)
    out = tmp_path / "cli"
    runner = CliRunner()
    res = runner.invoke(main, ["bench", str(suite), "--methods", "FCLS", "--seeds", "1", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.splitlines()[-1] if res.stdout.strip().startswith("{") is False else res.stdout)
    again = runner.invoke(main, ["bench", str(suite), "--methods", "FCLS", "--seeds", "1", "--out", str(out)])
    assert again.exit_code == 2 and "--resume" in again.output
    res = runner.invoke(main, ["bench", str(suite), "--seeds", "1", "--out", str(out), "--resume",
                               "--param", "SUnSAL.max_iter=50"])
    assert res.exit_code == 0, res.output
    rep = runner.invoke(main, ["bench", "report", str(out)])
    assert rep.exit_code == 0 and "SUnSAL" in rep.output and (out / "table.md").read_text().strip() == \
        rep.output.strip()
    bad = runner.invoke(main, ["bench", "no-such-suite"])
    assert bad.exit_code == 2 and "unknown suite" in bad.output
