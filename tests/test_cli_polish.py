"""Issue 20, deliverables 2-4: did-you-mean, --dry-run, --config, help texts, `hysupp list` maths,
shell completion, simulate's truth beside a GeoTIFF, bench report metrics, suite names."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import InputError
from hysupp.methods.registry import get_method


def cli(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def error(res, fragment):
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert fragment in res.output, res.output
    assert "Traceback" not in res.output


# ---------------------------------------------------------------------------------------------- did you mean
def test_did_you_mean_method_lists_close_matches_not_all_methods():
    res = cli("run", "-m", "FLCS")
    error(res, "unknown method 'FLCS'; did you mean FCLS? `hysupp list` shows all")
    assert "MiSiCNet" not in res.output and "SUnSAL" not in res.output
    error(cli("run", "--extractor", "vac"), "no extractor method named 'vac'; did you mean VCA?")
    error(cli("list", "mtf-glpp"), "did you mean MTF-GLP")


def test_did_you_mean_parameter():
    error(cli("run", "-m", "SUnSAL", "--param", "lamda=1"), "SUnSAL: unknown parameter 'lamda'; did you mean 'lam'?")
    with pytest.raises(hysupp.ParameterError, match=r"did you mean 'max_iter'\?"):
        get_method("SUnSAL")(maxiter=3)


def test_did_you_mean_suite_recipe_metric_and_suite_method(tmp_path):
    error(cli("bench", "hysupp-blnd"), "unknown suite 'hysupp-blnd'; did you mean hysupp-blind")
    error(cli("simulate", "dirichlt", "--out", tmp_path / "x.npz"), "did you mean dirichlet?")
    error(cli("bench", "hysupp-blind", "--methods", "VAC", "--dry-run"), "has no method(s) VAC; did you mean VCA?")


# ---------------------------------------------------------------------------------------------- --dry-run
@pytest.fixture()
def no_compute(monkeypatch):
    """Every method hook raises: a dry run must not call any."""
    from hysupp.methods.registry import available

    def boom(*args, **kwargs):
        raise AssertionError("a dry run computed")

    for cls in available():
        for hook in ("_unmix", "_extract", "_fuse", "_super_resolve"):
            if hook in vars(cls):
                monkeypatch.setattr(cls, hook, boom)


def test_run_dry_run_computes_and_writes_nothing(tmp_path, no_compute, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = cli("run", "-m", "FCLS", "--out", tmp_path / "out", "--dry-run")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("dry run: hysupp run -- nothing computed, nothing written")
    for fragment in ("method:   FCLS (supervised)", "step 1:   VCA: extract 5 endmembers from 5625 pixels",
                     "output:   ", "(new, not created by the dry run)", "time:     about"):
        assert fragment in res.stdout, res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []          # no --out, no hysupp-out/
    plan = json.loads(cli("run", "-m", "SUnSAL", "--library", "usgs1995", "--dry-run", "--json").stdout)
    assert plan["dry_run"] is True and plan["method"]["params"]["lam"] == 0.001
    assert plan["estimate"]["seconds"] > 0 and plan["estimate"]["low"] < plan["estimate"]["high"]
    assert plan["output"]["folder"].startswith("hysupp-out/dc1-SUnSAL-") and not (tmp_path / "hysupp-out").exists()


def test_dry_run_validates_like_the_run(tmp_path, no_compute):
    error(cli("run", "-m", "FCLS", "--param", "tol=-1", "--dry-run"), "FCLS: parameter 'tol'")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    error(cli("run", "--out", tmp_path / "full", "--dry-run"), "exists and is not empty")
    cube = tmp_path / "cube.npy"
    np.save(cube, np.random.default_rng(0).random((6, 5, 4)).astype(np.float32))
    error(cli("run", "-m", "SUnSAL", "--data", cube, "--dry-run"), "needs a spectral library")


def test_fuse_sr_bench_dry_runs(tmp_path, no_compute):
    rng = np.random.default_rng(0)
    ms, pan = tmp_path / "ms.tif", tmp_path / "pan.tif"
    hysupp.save(100 + rng.random((4, 16, 16)).astype(np.float32), ms)
    hysupp.save(100 + rng.random((64, 64)).astype(np.float32), pan)
    res = cli("fuse", "-m", "MTF-GLP", "--ms", ms, "--pan", pan, "--ratio", "4", "--protocol", "rr", "--out",
              tmp_path / "f", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "MTF-GLP fuses the degraded pair into 4 x 16 x 16" in res.stdout and not (tmp_path / "f").exists()
    res = cli("sr", "-m", "Bicubic", "--data", ms, "--ratio", "2", "--out", tmp_path / "s", "--dry-run", "--json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["command"] == "sr" and plan["estimate"]["seconds"] > 0 and not (tmp_path / "s").exists()
    res = cli("bench", "hysupp-blind", "--methods", "VCA,N-FINDR", "--seeds", "2", "--out", tmp_path / "b",
              "--dry-run")
    assert res.exit_code == 0, res.output
    assert "run(s) of VCA" in res.stdout and "time:     about" in res.stdout and not (tmp_path / "b").exists()


def test_time_estimates_come_from_the_committed_benchmarks():
    from hysupp.runs.plan import estimate_seconds
    from hysupp.runs.time_table import TIME_TABLE

    entry = TIME_TABLE["FCLS"]
    est = estimate_seconds([("FCLS", 1e9), ("NoSuchNet", 1e9)])
    assert est["seconds"] == pytest.approx(entry["seconds_per_unit"] * 1e9)
    assert est["missing"] == ["NoSuchNet"] and est["low"] < est["seconds"] < est["high"]
    assert estimate_seconds([("NoSuchNet", 1.0)])["seconds"] is None


# ---------------------------------------------------------------------------------------------- --config
def test_config_file_options_overrides_and_record(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('method = "SUnSAL"\nlibrary = "usgs1995"\nalign-by = "sad"\nseed = 4\n'
                      '[params]\nlam = 0.01\nmax_iter = 30\n')
    out = tmp_path / "out"
    res = cli("run", "--config", config, "--param", "max_iter=20", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    record = json.loads((out / "run.json").read_text())
    assert record["method"]["name"] == "SUnSAL"
    assert record["method"]["params"]["lam"] == 0.01 and record["method"]["params"]["max_iter"] == 20   # CLI wins
    assert record["protocol"]["align_by"] == "sad" and record["protocol"]["seed"] == 4
    assert record["config"]["path"] == str(config) and record["config"]["sha256"] == hashlib.sha256(
        config.read_bytes()).hexdigest()
    assert record["config"]["values"]["params"] == {"lam": 0.01, "max_iter": 30}
    assert record["config"]["options"]["params"] == ["lam=0.01", "max_iter=20"]
    res = cli("run", "--config", config, "-m", "CLSUnSAL", "--dry-run", "--json")   # an option overrides the file
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["method"]["name"] == "CLSUnSAL"


def test_config_unknown_key_and_bad_toml(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('methd = "FCLS"\n')
    error(cli("run", "--config", bad), "unknown key 'methd'; did you mean method?")
    bad.write_text("method = \n")
    error(cli("run", "--config", bad), "is not valid TOML")
    bad.write_text('[extractor_params]\nseed = 1\n')
    error(cli("fuse", "--config", bad), "unknown key 'extractor_params'")


def test_fuse_config(tmp_path):
    rng = np.random.default_rng(0)
    ms, pan = tmp_path / "ms.tif", tmp_path / "pan.tif"
    hysupp.save(100 + rng.random((4, 32, 32)).astype(np.float32), ms)
    hysupp.save(100 + rng.random((128, 128)).astype(np.float32), pan)
    config = tmp_path / "fuse.toml"
    config.write_text(f'method = "BT"\nms = "{ms}"\npan = "{pan}"\nratio = 4\nprotocol = "rr"\nsensor = "QB"\n')
    res = cli("fuse", "--config", config, "--out", tmp_path / "f")
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "f" / "run.json").read_text())
    assert record["method"]["name"] == "BT" and record["protocol"]["name"] == "rr"
    assert record["config"]["values"]["ratio"] == 4


# ---------------------------------------------------------------------------------------------- help and list
COMMANDS = [["run"], ["fuse"], ["sr"], ["train"], ["simulate"], ["list"], ["bench"], ["bench", "run"],
            ["bench", "report"], ["bench", "list"]]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_full_help_with_an_example(command):
    res = cli(*command, "--help")
    assert res.exit_code == 0
    assert "Example" in res.output and f"hysupp {command[0]}" in res.output.split("Example", 1)[1]


def test_short_helps_are_whole_sentences():
    res = cli("--help")
    commands = res.output.split("Commands:", 1)[1]
    assert "..." not in commands and "e.g." not in commands, commands


def test_list_renders_maths_as_text_and_keeps_whole_titles():
    res = cli("list")
    assert res.exit_code == 0
    assert ":math:" not in res.output and "\\widehat" not in res.output and "``" not in res.output
    assert "GIHS: generalised IHS, M̂_l = M̃_l + (P_I - I)" in res.output
    gsa_hs = next(line for line in res.output.splitlines() if line.startswith("GSA-HS"))
    assert gsa_hs.rstrip().endswith("runs with MS band k as the PAN:")       # the whole first paragraph
    detail = cli("list", "SUnSAL").output
    assert "SUnSAL (semi-supervised)" in detail and "lam" in detail


# ---------------------------------------------------------------------------------------------- completion
@pytest.mark.parametrize("words, cword, expected", [
    ("hysupp run --method FC", 3, "FCLS"),
    ("hysupp run --extractor V", 3, "VCA"),
    ("hysupp bench hysupp-b", 2, "hysupp-blind"),
    ("hysupp bench run hysupp-s", 3, "hysupp-semi"),
    ("hysupp simulate dir", 2, "dirichlet"),
    ("hysupp train Fusion", 2, "FusionNet"),
    ("hysupp fuse -m MTF-GLP-F", 3, "MTF-GLP-FS"),
])
def test_shell_completion_of_names(words, cword, expected):
    res = CliRunner().invoke(main, [], prog_name="hysupp",
                             env={"_HYSUPP_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert res.exit_code == 0
    assert f"plain,{expected}" in res.output.splitlines(), res.output


def test_completion_script_is_available():
    res = CliRunner().invoke(main, [], prog_name="hysupp", env={"_HYSUPP_COMPLETE": "bash_source"})
    assert "_HYSUPP_COMPLETE=bash_complete" in res.output


# ---------------------------------------------------------------------------------------------- simulate, bench
def test_simulate_geotiff_writes_the_truth_beside_the_image(tmp_path):
    out = tmp_path / "mix.tif"
    res = cli("simulate", "dirichlet", "--param", "p=3", "--param", "height=6", "--param", "width=7", "--out", out)
    assert res.exit_code == 0, res.output
    truth = tmp_path / "mix.tif.truth.npz"
    assert f"the ground truth is in {truth}: hysupp run --data {out} --truth {truth}" in res.output
    scene = hysupp.load(out, truth=truth)
    direct = hysupp.simulate("dirichlet", p=3, height=6, width=7)
    np.testing.assert_allclose(scene.abundances, direct.abundances, rtol=1e-6)
    np.testing.assert_allclose(scene.endmembers, direct.endmembers, rtol=1e-6)
    res = cli("run", "--data", out, "--truth", truth, "--out", tmp_path / "run", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["metrics"]["sad_mean_deg"] < 5
    error(cli("simulate", "dirichlet", "--out", out), "exists")          # data, truth and protocol checked first


def _bench_folder(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text('name = "tiny"\nkind = "unmixing"\nmetrics = ["sre_db"]\n[[datasets]]\nname = "mix"\n'
                     'recipe = "dirichlet"\nparams = { p = 3, height = 8, width = 8 }\nendmembers = "truth"\n'
                     '[[methods]]\nname = "FCLS"\n')
    res = cli("bench", suite, "--snr", "inf", "--seeds", "1", "--out", tmp_path / "b", "-q")
    assert res.exit_code == 0, res.output
    return tmp_path / "b"


def test_bench_report_refuses_unknown_metrics(tmp_path):
    folder = _bench_folder(tmp_path)
    error(cli("bench", "report", folder, "--metrics", "sre_db,foo"), "unknown metric(s) 'foo'")
    error(cli("bench", "report", folder, "--metrics", "sre"), "did you mean sre_db")
    res = cli("bench", "report", folder, "--metrics", "sre_db,time_s")
    assert res.exit_code == 0 and "sre_db" in res.output


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden", "", "x y"])
def test_suite_names_are_plain_folder_names(tmp_path, name):
    from hysupp.bench.suite import load_suite

    suite = tmp_path / "s.toml"
    suite.write_text(f'name = "{name}"\nkind = "unmixing"\n[[datasets]]\nname = "d"\nrecipe = "dc1"\n'
                     f'[[methods]]\nname = "FCLS"\n')
    with pytest.raises(InputError, match="is not a plain folder name"):
        load_suite(suite)
    suite.write_text(suite.read_text().replace(f'name = "{name}"', 'name = "ok-name_1.2"'))
    assert load_suite(suite).name == "ok-name_1.2"
