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
    rest = run_suite(tiny, out, resume=True, jobs=2, threads=1)
    assert rest["skipped"] == 4 and rest["ok"] == 4
    records = load_records(out)
    parallel = [r for r in records if r["bench"]["method"] == "SUnSAL"]
    assert all(r["bench"]["threads"]["OMP_NUM_THREADS"] == "1" for r in parallel)   # set in the spawned workers
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


REFERENCE = """
source = "made-up reference for the test"

[[values]]
dataset = "D"
condition = 30
method = "fcls"
metric = "sre_db"
value = 12.5
"""


def _suite_with_reference(tmp_path, reference: str = REFERENCE):
    (tmp_path / "ref.toml").write_text(reference)
    path = tmp_path / "two_snrs.toml"
    path.write_text(SUITE.replace('snrs = [30, "inf"]', 'snrs = [20, 30]\nreference_values = "ref.toml"'))
    return path


def test_reference_columns_maps_and_figures(tmp_path):
    path = _suite_with_reference(tmp_path)
    suite = load_suite(path)
    assert suite.reference_values["values"][0]["condition"] == "30"       # normalised like the suite's SNRs
    out = tmp_path / "out"
    runner = CliRunner()
    res = runner.invoke(main, ["bench", str(path), "--methods", "FCLS", "--out", str(out)])
    assert res.exit_code == 0, res.output
    maps = sorted((out / "maps").glob("*.npz"))
    assert len(maps) == 2 and all("_s0_" in m.name for m in maps)          # seed 0 of each SNR only
    import numpy as np

    with np.load(maps[0]) as z:
        assert z["estimate"].shape == z["truth"].shape == (3, 8, 8) and z["estimate"].dtype == np.float16
    figs = tmp_path / "figs"
    rep = runner.invoke(main, ["bench", "report", str(out), "--figures", str(figs)])
    assert rep.exit_code == 0, rep.output
    assert "sre_db (ref.)" in rep.stdout and "12.5" in rep.stdout and "made-up reference" in rep.stdout
    assert rep.stdout.strip() == (out / "table.md").read_text().strip()
    pngs = sorted(p.name for p in figs.glob("*.png"))
    assert "D_sre_db_vs_snr.png" in pngs and "D_20_abundances.png" in pngs and "D_30_abundances.png" in pngs
    assert all((figs / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    csv_text = runner.invoke(main, ["bench", "report", str(out), "--format", "csv"]).stdout
    assert ",12.5\n" in csv_text and csv_text.startswith("dataset,condition,method,metric,mean,std,n,reference")
    assert "sre\\_db (ref.)" in runner.invoke(main, ["bench", "report", str(out), "--format", "latex"]).stdout


@pytest.mark.parametrize("text, message", [
    ("[[values]]\ndataset = 'D'\n", "missing 'source'"),
    ("source = 's'\n[[values]]\ndataset = 'D'\ncondition = 30\nmethod = 'FCLS'\nmetric = 'sre_db'\n", "lacks value"),
    ("source = 's'\n[[values]]\ndataset = 'D'\ncondition = 30\nmethod = 'FCLS'\nmetric = 'x'\nvalue = 'a'\n",
     "must be a number"),
])
def test_bad_reference_values_file(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_suite(_suite_with_reference(tmp_path, text))


def test_abundance_maps_keep_the_true_atoms_of_a_library_run():
    from types import SimpleNamespace

    import numpy as np

    from hysupp.bench.runner import abundance_maps
    from hysupp.scene import Scene

    rng = np.random.default_rng(0)
    truth = rng.dirichlet(np.ones(2), 12).T.reshape(2, 3, 4)
    library = rng.random((5, 6))
    scene = Scene(cube=rng.random((5, 3, 4)), abundances=truth, library=library, library_index=np.array([4, 1]),
                  endmember_names=["a", "b"])
    full = np.zeros((6, 3, 4))
    full[4], full[1] = truth[0], truth[1]
    maps = abundance_maps(SimpleNamespace(scene=scene, abundances=full))
    np.testing.assert_allclose(maps["estimate"], truth, atol=1e-3)
    assert list(maps["names"]) == ["a", "b"]
    assert abundance_maps(SimpleNamespace(scene=Scene(cube=scene.cube), abundances=full)) is None


def test_large_info_arrays_are_summarised_in_fusion_records():
    """C-GSA's per-pixel segment labels must not be copied into the run record."""
    import numpy as np

    from hysupp.api import fuse

    rng = np.random.default_rng(0)
    run = fuse(method="C-GSA", ms=rng.random((4, 48, 48)), pan=rng.random((192, 192)), ratio=4, sensor="QB",
               protocol="fr")
    labels = run.record["info"]["labels"]
    assert labels["array"] == "omitted" and labels["shape"] == [192, 192]
    assert len(json.dumps(run.record)) < 20000


def test_abundance_maps_of_an_e_equals_db_method_are_the_library_abundances():
    """FaSUn's own A is (p, N) in its own order; the maps must be the rows of B A at the true atoms,
    on which its SRE is computed."""
    import numpy as np

    import hysupp
    from hysupp.bench.runner import abundance_maps
    from hysupp.metrics import sre

    scene = hysupp.simulate("dc1", dtype="float64")
    run = hysupp.unmix(scene, "FaSUn", params={"T": 100}, snr=40, seed=0)
    maps = abundance_maps(run)
    assert maps["estimate"].shape == scene.abundances.shape
    est = maps["estimate"].astype(np.float64).reshape(scene.abundances.shape[0], -1)
    assert abs(sre(scene.abundance_matrix(), est) - run.metrics["sre_db"]) < 0.05


def test_run_ids_do_not_depend_on_where_the_shared_data_is(tmp_path, monkeypatch):
    path = tmp_path / "file_suite.toml"
    path.write_text(SUITE.replace('recipe = "dirichlet"', 'file = "{shared}/scene.mat"'))
    ids = []
    for folder in ("a", "b"):
        monkeypatch.setenv("HYSUPP_SHARED_DATA", str(tmp_path / folder / "data"))
        runs = load_suite(path).runs(seeds=1, snrs=["inf"])
        assert runs[0].dataset["file"] == str(tmp_path / folder / "data" / "scene.mat")
        ids.append([r.run_id for r in runs])
    assert ids[0] == ids[1]
